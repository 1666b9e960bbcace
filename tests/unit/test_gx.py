"""The GX adapter and the SQL quarantine are two compilations of the same rules: they agree."""

from __future__ import annotations

import pytest

from resultatrapport.formats import FORMATS
from resultatrapport.gx import validate, value_shape
from resultatrapport.ingest import commit_delivery, stage, staged_frame
from resultatrapport.rules import failures_sql
from tests.helpers import crm_row, write_crm

CRM = FORMATS["crm_cases"]
ORG = "erhvervshus-midtjylland"


def test_gx_outcomes_match_the_quarantine(con, tmp_path):
    inbox = tmp_path / "inbox"
    rows = [
        crm_row(1),
        crm_row(2, cvr="1234567"),
        crm_row(3, kommune=999),
        crm_row(4, start="05-05-2025"),
        crm_row(1, cvr=39999999),  # duplicate case id
        "EHMJ-2026-00006;broken",
        crm_row(7).replace(";Vækst;", ";Stor;"),
        crm_row(8),
        crm_row(9, refs="Erhvervshus Midtjylland|Ring til Jens"),  # an unknown entry
    ]
    write_crm(inbox, rows)
    delivery = stage(con, CRM, inbox, 2026, ORG)
    outcomes = validate(CRM, staged_frame(con, CRM, 2026), 2026)
    commit_delivery(con, CRM, 2026, ORG, delivery, [])

    gx_lines = {line for o in outcomes if not o.success for line in o.lines}
    sql_lines = {
        r[0] for r in con.execute("SELECT DISTINCT line FROM ingest.quarantine").fetchall()
    }
    assert gx_lines == sql_lines == {2, 3, 4, 5, 6, 7, 8, 10}

    by_rule = {o.rule: o for o in outcomes}
    assert by_rule["case_id.unique.1"].lines == [2, 6]
    assert by_rule["cvr.regex.0"].lines == [3]
    assert by_rule["municipality_code.in_set.1"].lines == [4]
    assert by_rule["start_date.in_year.2"].lines == [5]
    assert by_rule["segment.in_set.0"].lines == [8]
    assert by_rule["parsed_line"].lines == [7]
    assert by_rule["form.in_set.1"].success
    assert by_rule["referrals.known_entries.0"].lines == [10]
    # examples show lines and the shape of a value, never the value itself
    assert by_rule["cvr.regex.0"].examples == [{"linje": 3, "værdi (form)": "9999999"}]


def test_value_shape_hides_content():
    assert value_shape("12345678") == "99999999"
    assert value_shape("Søren") == "xxxxx"
    assert value_shape(None) == "(tom)"


def _stage_rows(con, fmt, rows: list[dict | None]) -> None:
    """Rows as the reader stages them: None is a line that could not be read (its values
    NULL), a dict the texts of the named kept columns (the others NULL)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _stage (line INTEGER, parse_error VARCHAR, "
        + ", ".join(f'"{c.name}" VARCHAR' for c in fmt.kept)
        + ")"
    )
    for line, row in enumerate(rows, start=2):
        values = [None if row is None else row.get(c.name) for c in fmt.kept]
        error = "Linjen kunne ikke læses" if row is None else None
        con.execute(
            f"INSERT INTO _stage VALUES ({', '.join('?' for _ in range(len(values) + 2))})",
            [line, error, *values],
        )


@pytest.mark.parametrize(
    ("source", "row"),
    [
        # a line that could not be read breaks its own rule only, not 'required'
        ("awareness", None),
        # a quoted field ending in a line break is no CVR number (Python's $ matched before it)
        ("crm_cases", {"cvr": "30000001\n"}),
        ("population", {"quarter": "2024K1\n"}),
        # DuckDB's infinite date is no date, so in no year (GX's twin had it out of range)
        ("survey_answers", {"answered_on": "infinity"}),
    ],
)
def test_gx_and_the_quarantine_judge_a_line_alike(con, source, row):
    fmt = FORMATS[source]
    year = 2024
    _stage_rows(con, fmt, [row])
    gx_broken = {(o.rule, line) for o in validate(fmt, staged_frame(con, fmt, year), year)
                 for line in o.lines}  # fmt: skip
    sql_broken = set(
        con.execute(
            f"SELECT DISTINCT rule, line FROM ({failures_sql(fmt, '_stage', year)})"
        ).fetchall()
    )
    assert gx_broken == sql_broken
