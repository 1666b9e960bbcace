"""The GX adapter and the SQL quarantine are two compilations of the same rules: they agree."""

from __future__ import annotations

from resultatrapport.formats import FORMATS
from resultatrapport.gx import validate, value_shape
from resultatrapport.ingest import commit_delivery, stage, staged_frame
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
