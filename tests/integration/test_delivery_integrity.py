"""Nothing good lost, nothing false kept: the deliveries users and hostile files really send.

Each test is a reproduction from the integrity issue: a stray quote, dates DuckDB cannot
cast, empty, vanished and misnamed files, repeated time registrations, personal data in
kept columns, NUL bytes, UTF-16, multi-line fields, huge header lines and links out of
the inbox.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from resultatrapport.formats import FORMATS, SourceFormat
from resultatrapport.gx import validate
from resultatrapport.ingest import (
    commit_delivery,
    delivery_refusal,
    ingest_file,
    stage,
    staged_frame,
)
from resultatrapport.reader import SourceError, excerpt, map_records
from tests.helpers import crm_row, write_crm

CRM = FORMATS["crm_cases"]
TIME = FORMATS["time_registration"]
ORG = "erhvervshus-midtjylland"


def crm_rows(n: int) -> list[str]:
    return [crm_row(i) for i in range(1, n + 1)]


def lines_of(con: duckdb.DuckDBPyConnection, table: str) -> list[int]:
    return [r[0] for r in con.execute(f"SELECT line FROM {table} ORDER BY line").fetchall()]


# --- 1. every physical line accounted for -------------------------------------------------


def test_a_stray_quote_blocks_the_file_at_its_line_instead_of_dropping_the_rest(con, tmp_path):
    inbox = tmp_path / "inbox"
    rows = crm_rows(284)  # 285 lines with the header
    rows[199] = crm_row(200, note='"opfølgning')  # line 201: a quote opens the Note field
    write_crm(inbox, rows)
    with pytest.raises(SourceError) as err:
        ingest_file(con, CRM, inbox, 2026, ORG)
    assert err.value.line == 201
    assert "anførselstegn" in str(err.value)
    # nothing of the file was kept
    assert con.execute("SELECT count(*) FROM raw.crm_cases").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM ingest.deliveries").fetchone() == (0,)


def test_a_stray_quote_closed_by_a_later_one_is_caught_where_it_swallows_rows(con, tmp_path):
    inbox = tmp_path / "inbox"
    rows = crm_rows(40)
    rows[9] = crm_row(10, note='"opfølgning')  # line 11 opens a quoted field ...
    rows[29] = crm_row(30, note='slut"')  # ... that line 31 closes: 20 rows in one field
    write_crm(inbox, rows)
    with pytest.raises(SourceError) as err:
        ingest_file(con, CRM, inbox, 2026, ORG)
    assert err.value.line == 11


def test_line_numbers_after_a_quoted_multi_line_field_are_the_physical_lines(con, tmp_path):
    inbox = tmp_path / "inbox"
    rows = [
        crm_row(1),
        crm_row(2, note='"ring tilbage\r\nom en uge"'),  # lines 3-4
        crm_row(3, kommune=999),  # line 5, quarantined
        "EHMJ-2026-00004;too;few",  # line 6, unreadable
        "",  # line 7, blank
        crm_row(5),  # line 8
    ]
    write_crm(inbox, rows)
    delivery, result = ingest_file(con, CRM, inbox, 2026, ORG)
    assert lines_of(con, "raw.crm_cases") == [2, 3, 5, 6, 8]
    assert lines_of(con, "ingest.crm_cases") == [2, 3, 8]
    assert sorted({r[0] for r in con.execute("SELECT line FROM ingest.quarantine").fetchall()}) == [
        5,
        6,
    ]
    assert (delivery.physical_lines, delivery.blank_lines, delivery.records) == (8, 1, 5)
    # the balance: every data record is a raw row (clean, quarantined or of another year)
    assert result.rows_clean + result.rows_quarantined == delivery.records


def test_the_record_map_counts_lines_blank_lines_and_multi_line_records(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b'h;i\r\n1;"a\r\nb"\r\n\r\n2;"x""y"\r\n3;z')
    m = map_records(path)
    assert m.physical_lines == 6 and m.blank_lines == 1 and m.unclosed_from is None
    assert m.records.to_pydict() == {
        "rec": [1, 2, 3],
        "line": [2, 5, 6],
        "lines": [2, 1, 1],
        "byte": [5, 17, 27],
    }


# --- 2. dates and numbers DuckDB cannot cast are quarantined, never a crash --------------


@pytest.mark.parametrize("date", ["05-03-20", "05-03-202", "05-03-2300", "31-02-2026"])
def test_dates_duckdb_cannot_cast_are_quarantined_with_line_and_column(con, tmp_path, date):
    inbox = tmp_path / "inbox"
    write_crm(inbox, [crm_row(1), crm_row(2, start=date), crm_row(3)])
    delivery = stage(con, CRM, inbox, 2026, ORG)
    outcomes = validate(CRM, staged_frame(con, CRM, 2026), 2026)  # the GX frame casts too
    commit_delivery(con, CRM, 2026, ORG, delivery, [])
    bad = {o.rule for o in outcomes if not o.success}
    assert bad and all(rule.startswith("start_date.") for rule in bad)
    assert con.execute(
        "SELECT DISTINCT file, line, column_name FROM ingest.quarantine"
    ).fetchall() == [(CRM.relpath(2026, ORG), 3, "start_date")]


# --- 3. a year that had data does not lose it quietly -------------------------------------


def test_a_header_only_file_a_vanished_file_and_a_misnamed_file_are_refused(con, tmp_path):
    inbox = tmp_path / "inbox"
    path = write_crm(inbox, crm_rows(5))
    ingest_file(con, CRM, inbox, 2026, ORG)

    write_crm(inbox, [])  # header only
    delivery = stage(con, CRM, inbox, 2026, ORG)
    reason = delivery_refusal(con, CRM, inbox, 2026, ORG, delivery)
    assert reason and "kun overskriftsrækken" in reason and "5 rækker" in reason

    path.unlink()  # vanished
    delivery = stage(con, CRM, inbox, 2026, ORG)
    reason = delivery_refusal(con, CRM, inbox, 2026, ORG, delivery)
    assert reason and "forsvundet" in reason and path.name in reason

    copy = path.with_name("vejledningsforloeb_2026 (kopi).csv")  # misnamed in its place
    write_crm(inbox, crm_rows(5)).rename(copy)
    delivery = stage(con, CRM, inbox, 2026, ORG)
    reason = delivery_refusal(con, CRM, inbox, 2026, ORG, delivery)
    assert reason and copy.name in reason

    # the rows of the year were never touched
    assert con.execute("SELECT count(*) FROM ingest.crm_cases").fetchone() == (5,)


def test_a_corrected_copy_beside_the_real_file_blocks_its_own_year_only(con, tmp_path):
    inbox = tmp_path / "inbox"
    for year in (2025, 2026):
        write_crm(inbox, [crm_row(1, start=f"03-02-{year}")], year=year)
    rettet = inbox / ORG / "crm" / "vejledningsforloeb_2025_rettet.csv"
    rettet.write_text("x", encoding="utf-8")
    for year, refused in ((2025, True), (2026, False)):
        delivery = stage(con, CRM, inbox, year, ORG)
        reason = delivery_refusal(con, CRM, inbox, year, ORG, delivery)
        assert bool(reason) is refused
        assert not reason or rettet.name in reason


def test_a_file_never_delivered_stays_an_empty_partition(con, tmp_path):
    delivery = stage(con, CRM, tmp_path / "inbox", 2026, ORG)
    assert delivery.missing
    assert delivery_refusal(con, CRM, tmp_path / "inbox", 2026, ORG, delivery) is None


# --- 4. time registration: repeated rows and impossible days ------------------------------


def write_time(inbox: Path, rows: list[str]) -> Path:
    path = inbox / TIME.relpath(2026, ORG)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\r\n".join([";".join(TIME.headers), *rows]) + "\r\n", encoding="utf-8")
    return path


def test_repeated_time_registrations_are_quarantined_and_block_the_file(con, tmp_path):
    inbox = tmp_path / "inbox"
    good = [f"M{i:02d};0{1 + i % 9}-03-2026;Start Up Viborg;3,5" for i in range(40)]
    write_time(inbox, good + ["M01;02-03-2026;Karriereby Viborg;7,5"] * 10_000)
    delivery = stage(con, TIME, inbox, 2026, ORG)
    outcomes = validate(TIME, staged_frame(con, TIME, 2026), 2026)
    repeat = next(o for o in outcomes if o.kind == "repeat")
    assert repeat.unexpected_count == 9_999  # the first registration stands
    commit_delivery(con, TIME, 2026, ORG, delivery, [])
    hours = con.execute("SELECT sum(hours) FROM ingest.time_registration").fetchone()[0]
    assert hours < 40 * 3.5 + 7.5 + 0.01  # not 10,000 × 7.5


def test_more_hours_a_day_than_a_person_works_is_quarantined(con, tmp_path):
    inbox = tmp_path / "inbox"
    write_time(
        inbox,
        [
            "M01;02-03-2026;Start Up Viborg;9",
            "M01;02-03-2026;Invest in Viborg;9",  # 18 hours that day
            "M02;02-03-2026;Invest in Viborg;7,5",
        ],
    )
    delivery = stage(con, TIME, inbox, 2026, ORG)
    outcomes = validate(TIME, staged_frame(con, TIME, 2026), 2026)
    commit_delivery(con, TIME, 2026, ORG, delivery, [])
    gx_lines = {line for o in outcomes if not o.success for line in o.lines}
    sql = con.execute("SELECT DISTINCT line, rule FROM ingest.quarantine ORDER BY 1").fetchall()
    assert gx_lines == {line for line, _ in sql} == {2, 3}
    assert {rule for _, rule in sql} == {"hours.group_max.3"}


# --- 8. messages are short and masked; links out of the inbox are not followed -----------


def test_a_huge_header_line_is_never_echoed_whole(con, tmp_path):
    inbox = tmp_path / "inbox"
    header = ";".join(CRM.headers[:3]) + ";" + "Jens Hansen 010190-1234 jens@firma.dk " * 130_000
    write_crm(inbox, [crm_row(1)], header=header)
    with pytest.raises(SourceError) as err:
        ingest_file(con, CRM, inbox, 2026, ORG)
    message = str(err.value)
    assert len(message) < 300
    assert "010190-1234" not in message and "jens@firma.dk" not in message


def test_a_link_out_of_the_inbox_is_not_followed(con, tmp_path):
    inbox = tmp_path / "inbox"
    secret = tmp_path / "elsewhere" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    path = inbox / CRM.relpath(2026, ORG)
    path.parent.mkdir(parents=True)
    path.symlink_to(secret)
    with pytest.raises(SourceError) as err:
        ingest_file(con, CRM, inbox, 2026, ORG)
    assert "ud af indbakken" in str(err.value) and "root" not in str(err.value)


def test_excerpt_masks_and_bounds():
    assert excerpt("x" * 1000).endswith("…") and len(excerpt("x" * 1000)) == 40
    assert excerpt("cprnr0101901234 a@b.dk") == "cprnr[CPR fjernet] [e-mail fjernet]"


# --- 9. personal data masked in every kept column and in the quarantine ------------------

SECRETS = ("0101901234", "010190-1234", "jens.hansen@firma.dk", "Jens Hansen")


def _planted_rows(fmt: SourceFormat) -> list[list[str]]:
    """One row per column, that column holding every secret (glued to other text, as
    'cprnr0101901234'); the personal columns hold the person's own name and e-mail."""
    rows = []
    for target in fmt.columns:
        row = []
        for c in fmt.columns:
            if c.name in ("contact_person", "adviser"):
                row.append("Jens Hansen")
            elif c.name == "contact_email":
                row.append("jens.hansen@firma.dk")
            elif c is target:
                row.append("cprnr0101901234 010190-1234 jens.hansen@firma.dkJens Hansen")
            else:
                row.append("x")
        rows.append(row)
    return rows


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_personal_data_planted_in_every_column_is_masked_everywhere(con, tmp_path, name):
    fmt = FORMATS[name]
    inbox = tmp_path / "inbox"
    path = inbox / fmt.relpath(2026, ORG if fmt.per_organisation else None)
    path.parent.mkdir(parents=True)
    rows = _planted_rows(fmt)
    if fmt.file_type == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = fmt.sheet or "Ark1"
        for row in [fmt.headers, *rows]:
            ws.append(row)
        wb.save(path)
    else:
        text = "\r\n".join(";".join(r) for r in [fmt.headers, *rows]) + "\r\n"
        path.write_text(text, encoding="utf-8")
    ingest_file(con, fmt, inbox, 2026, ORG if fmt.per_organisation else None)
    stored = repr(
        [
            con.execute(f"SELECT * FROM {table}").fetchall()
            for table in (f"raw.{name}", f"ingest.{name}", "ingest.quarantine")
        ]
    )
    for secret in SECRETS:
        if secret == "Jens Hansen" and not any(
            c.name == "contact_person" for c in fmt.columns
        ):  # a name is known as one only where the delivery says whose it is
            continue
        assert secret not in stored, (name, secret)
    assert "[CPR fjernet]" in stored
    assert "[e-mail fjernet]" in stored or "[personoplysning fjernet]" in stored


# --- 10. the smaller items ---------------------------------------------------------------


def test_a_nul_byte_in_a_field_is_quarantined_and_never_stored(con, tmp_path):
    inbox = tmp_path / "inbox"
    write_time(inbox, ["M01;02-03-2026;Start\x00Up;3", "M02;02-03-2026;Start Up Viborg;3"])
    ingest_file(con, TIME, inbox, 2026, ORG)
    assert "\x00" not in repr(con.execute("SELECT * FROM raw.time_registration").fetchall())
    assert con.execute("SELECT line, reason FROM ingest.quarantine").fetchall() == [
        (2, "Linjen indeholder et kontroltegn (fx NUL) i kolonne 'Projekt'")
    ]


def test_utf16_is_said_to_be_no_delivery_encoding(con, tmp_path):
    inbox = tmp_path / "inbox"
    write_crm(inbox, crm_rows(3), encoding="utf-16")
    with pytest.raises(SourceError, match="UTF-16"):
        ingest_file(con, CRM, inbox, 2026, ORG)


# --- through Dagster: one delivery, one transaction; refusals are blocking checks --------


def _materialize_crm(inbox: Path, db: Path, year: int = 2026):  # type: ignore[no-untyped-def]
    from dagster import DagsterInstance, materialize

    from assets.ingestion import build_source_assets
    from resources import Inbox, ValidationSettings, Warehouse

    return materialize(
        build_source_assets(CRM, ORG),
        partition_key=str(year),
        resources={
            "inbox": Inbox(path=str(inbox)),
            "warehouse": Warehouse(database=str(db)),
            "validation": ValidationSettings(),
        },
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _state(db: Path) -> dict[str, list]:
    with duckdb.connect(str(db), read_only=True) as c:
        return {
            table: c.execute(f"SELECT * EXCLUDE ({drop}) FROM {table} ORDER BY ALL").fetchall()
            for table, drop in (
                ("raw.crm_cases", "year"),
                ("ingest.crm_cases", "year"),
                ("ingest.quarantine", "year"),
                ("ingest.deliveries", "read_at, run_id"),
                ("ingest.checks", "checked_at, run_id"),
            )
        }


@pytest.mark.slow
def test_a_crash_mid_ingestion_leaves_rows_record_and_checks_as_they_were(tmp_path, monkeypatch):
    inbox, db = tmp_path / "inbox", tmp_path / "w.duckdb"
    write_crm(inbox, crm_rows(20))
    assert _materialize_crm(inbox, db).success
    before = _state(db)
    assert before["ingest.deliveries"] and before["ingest.checks"]

    write_crm(inbox, crm_rows(30))  # a new delivery; validation crashes on it
    from resultatrapport import ingestion

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed mid-ingestion")

    # the name the ingestion calls (imported at the top of resultatrapport/ingestion.py)
    monkeypatch.setattr(ingestion, "validate", crash)
    assert not _materialize_crm(inbox, db).success
    assert _state(db) == before  # nothing of the new file; the old checks still its own


@pytest.mark.slow
def test_a_refused_delivery_is_a_failed_blocking_check_and_the_rows_stay(tmp_path):
    inbox, db = tmp_path / "inbox", tmp_path / "w.duckdb"
    path = write_crm(inbox, crm_rows(20))
    assert _materialize_crm(inbox, db).success
    for spoil in (
        lambda: write_crm(inbox, []),  # header only
        lambda: path.rename(path.with_name("vejledningsforloeb_2026 (kopi).csv")),
    ):
        spoil()
        result = _materialize_crm(inbox, db)
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert not checks["file_trustworthy"].passed
        with duckdb.connect(str(db), read_only=True) as c:
            assert c.execute("SELECT count(*) FROM ingest.crm_cases").fetchone() == (20,)
            failed = c.execute(
                "SELECT summary FROM ingest.checks WHERE check_name = 'file_trustworthy' "
                "AND NOT passed"
            ).fetchall()
        assert len(failed) == 1 and path.name in failed[0][0]


@pytest.mark.slow
def test_a_run_on_an_inbox_that_does_not_exist_is_refused_before_anything_runs(tmp_path, capsys):
    from commands.cli import main

    code = main(["run", "--contract", "viborg-ver-2020", "--year", "2021", "--inbox", "/no/such"])
    assert code == 2
    assert "findes ikke" in capsys.readouterr().err
    assert not (tmp_path / "warehouse.duckdb").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(["run", "--contract", "viborg-ver-2020", "--year", "2021", "--inbox", str(empty)])
    assert code == 2
    assert "ingen af kontraktens leverancer" in capsys.readouterr().err


def test_a_draft_can_never_rest_on_a_delivery_whose_checks_did_not_pass_for_that_file(
    con, tmp_path
):
    """The provenance re-verification the draft and the sign-off share: every delivery the
    report names must have passed its blocking check as that very file (its SHA-256)."""
    from resultatrapport.checks_table import record_checks
    from resultatrapport.contracts import load_contracts
    from resultatrapport.report.content import blocking_failures

    contract = load_contracts()["kkr-midtjylland-2026"]
    inbox = tmp_path / "inbox"
    write_crm(inbox, crm_rows(5))
    delivery = stage(con, CRM, inbox, 2026, ORG)
    passed = [("rows_valid", True, False, ""), ("file_trustworthy", True, True, "")]
    commit_delivery(con, CRM, 2026, ORG, delivery, passed)
    assert not [f for f in blocking_failures(con, contract, 2026) if "CRM" in f]

    # the checks on record are about another file than the one the rows come from (a crash
    # between the steps of the old code, or a warehouse from before the hash was recorded)
    record_checks(con, "crm_cases", ORG, 2026, passed, "0" * 64)
    failures = [f for f in blocking_failures(con, contract, 2026) if "CRM" in f]
    assert len(failures) == 1 and "ingen bestået kontrol" in failures[0]
    assert CRM.relpath(2026, ORG) in failures[0]
