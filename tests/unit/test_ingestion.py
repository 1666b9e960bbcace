"""The ingestion of a delivery as library calls (resultatrapport/ingestion.py): validated,
trusted or not, committed or recorded, and said in plain results, with DuckDB alone."""

from __future__ import annotations

import pytest

from resultatrapport.formats import FORMATS
from resultatrapport.ingestion import (
    FILE_TRUSTWORTHY,
    ROWS_VALID,
    InboxMissing,
    delivery_unchanged,
    ingest_delivery,
)
from tests.helpers import crm_row, write_crm

CRM = FORMATS["crm_cases"]
ORG = "erhvervshus-midtjylland"


def test_a_delivery_is_taken_only_when_it_can_be_trusted_and_the_results_say_why(con, tmp_path):
    inbox = tmp_path / "inbox"
    good = [crm_row(i) for i in range(1, 21)]
    write_crm(inbox, good, year=2026)
    write_crm(inbox, [*good[:9], crm_row(5), crm_row(99, start="31-02-2025")], year=2025)
    done = ingest_delivery(con, CRM, ORG, inbox, [2024, 2025, 2026], run_id="r1")
    never, bad, taken = done

    assert [d.year for d in done] == [2024, 2025, 2026]
    assert never.missing and never.taken and never.rules is None
    assert never.check(FILE_TRUSTWORTHY).passed
    assert never.check(FILE_TRUSTWORTHY).summary == f"Ingen fil: {CRM.relpath(2024, ORG)}"

    # 2025: a duplicated case id, and a date that does not exist (one of 11 rows, over 5 %)
    assert not bad.taken and not bad.trusted and bad.committed is None
    assert bad.trust is not None and bad.trust.rows == 11
    assert list(bad.trust.duplicates) == ["case_id"]
    assert "Forløbs-ID forekommer flere gange i filen: 2 rækker" in bad.trust.problems
    assert bad.refused == f"{CRM.relpath(2025, ORG)} tages ikke ind: {bad.trust.summary}"
    assert not bad.check(ROWS_VALID).passed and not bad.check(ROWS_VALID).blocking
    assert bad.rules is not None and {r.kind for r in bad.rules if not r.success} >= {"unique"}

    assert taken.taken and taken.trusted and taken.trust is not None
    assert taken.trust.problems == [] and taken.trust.summary == ""
    assert taken.committed is not None and taken.committed.rows_clean == 20
    assert taken.delivery is not None and taken.delivery.rows_read == 20

    # what the warehouse holds is what the results say: 2025 kept no rows, its failed
    # checks are recorded against its own file; 2026's passed checks against its file
    assert con.execute(
        "SELECT year, count(*) FROM ingest.crm_cases GROUP BY year ORDER BY year"
    ).fetchall() == [(2026, 20)]
    recorded = con.execute(
        "SELECT year, check_name, passed, blocking, summary, sha256, run_id FROM ingest.checks "
        "WHERE source = 'crm_cases' ORDER BY year, check_name"
    ).fetchall()
    expected = [
        (d.year, c.name, c.passed, c.blocking, c.summary, d.delivery.sha256, "r1")
        for d in done
        for c in sorted(d.checks, key=lambda c: c.name)
        if d.delivery is not None
    ]
    assert recorded == expected


def test_an_inbox_that_does_not_exist_is_refused_before_anything_is_written(con, tmp_path):
    with pytest.raises(InboxMissing, match="findes ikke"):
        ingest_delivery(con, CRM, ORG, tmp_path / "no-such-inbox", [2026])
    assert con.execute("SELECT count(*) FROM ingest.deliveries").fetchone() == (0,)


# --- a file already judged is not read again --------------------------------------------------


def _times(con) -> list[tuple]:
    """When each partition's delivery was read and its checks decided."""
    return con.execute(
        "SELECT 'read', source, year, read_at FROM ingest.deliveries UNION ALL "
        "SELECT check_name, source, year, checked_at FROM ingest.checks ORDER BY ALL"
    ).fetchall()


def _reading_fails(monkeypatch) -> None:
    """Staging and validating a delivery fail from here on: a year that needs either shows."""
    from resultatrapport import ingestion

    def read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the delivery was read again")

    for name in ("stage", "stage_content", "validate", "validate_years"):
        monkeypatch.setattr(ingestion, name, read)


def test_a_second_ingestion_of_the_same_files_reads_validates_and_writes_nothing(
    con, tmp_path, monkeypatch
):
    inbox = tmp_path / "inbox"
    good = [crm_row(i) for i in range(1, 21)]
    path = write_crm(inbox, good, year=2026)
    write_crm(inbox, [*good[:9], crm_row(5)], year=2025)  # a duplicated id: not trusted
    first = ingest_delivery(con, CRM, ORG, inbox, [2024, 2025, 2026], run_id="r1")
    before = _times(con)
    path.write_bytes(path.read_bytes())  # the same bytes written again (a new mtime)

    _reading_fails(monkeypatch)
    again = ingest_delivery(con, CRM, ORG, inbox, [2024, 2025, 2026], run_id="r2")
    assert _times(con) == before
    assert all(d.unchanged is not None for d in again)
    never, bad, taken = again
    # the file never delivered is still missing, the untrusted one refused as it was
    assert never.missing and never.unchanged and never.unchanged.sha256 is None
    assert bad.refused == first[1].refused and bad.checks == first[1].checks
    assert bad.unchanged and bad.unchanged.sha256 == first[1].delivery.sha256
    # the trusted one is what the partition holds, as read by the first run
    assert taken.taken and taken.checks == first[2].checks
    assert taken.delivery == first[2].delivery
    read_at = con.execute(
        "SELECT read_at FROM ingest.deliveries WHERE year = 2026 AND source = 'crm_cases'"
    ).fetchone()
    assert taken.unchanged and taken.unchanged.since == read_at[0]


def test_a_file_changed_and_changed_back_is_read_and_validated_each_time(con, tmp_path):
    inbox = tmp_path / "inbox"
    rows = [crm_row(i) for i in range(1, 21)]
    write_crm(inbox, rows)
    ingest_delivery(con, CRM, ORG, inbox, [2026], run_id="r1")
    for run, changed in (("r2", rows[:-1]), ("r3", rows)):  # one case out, and back in
        write_crm(inbox, changed)
        [done] = ingest_delivery(con, CRM, ORG, inbox, [2026], run_id=run)
        assert done.unchanged is None and done.committed is not None
        assert done.committed.rows_clean == len(changed)
        assert con.execute("SELECT DISTINCT run_id FROM ingest.checks").fetchall() == [(run,)]


def test_a_change_of_the_rules_or_a_misnamed_file_beside_it_judges_the_same_file_again(
    con, tmp_path
):
    from dataclasses import replace

    inbox = tmp_path / "inbox"
    path = write_crm(inbox, [crm_row(i) for i in range(1, 21)])
    ingest_delivery(con, CRM, ORG, inbox, [2026], run_id="r1")
    # what a schedule asks first, judged alike with nothing written (pipelines/automation.py)
    assert delivery_unchanged(con, CRM, ORG, inbox, 2026)
    assert not delivery_unchanged(con, CRM, ORG, inbox, 2026, max_share=0.2)
    assert not delivery_unchanged(con, CRM, ORG, inbox, 2025)  # never ingested
    # another threshold of bad rows, and a format whose rules changed (a column's reason)
    [done] = ingest_delivery(con, CRM, ORG, inbox, [2026], max_share=0.2, run_id="r2")
    assert done.unchanged is None and done.rules is not None
    first, *rest = CRM.columns
    changed = replace(CRM, columns=(replace(first, rules=first.rules[:1]), *rest))
    [done] = ingest_delivery(con, changed, ORG, inbox, [2026], max_share=0.2, run_id="r3")
    assert done.unchanged is None and done.rules is not None
    [done] = ingest_delivery(con, changed, ORG, inbox, [2026], max_share=0.2, run_id="r4")
    assert done.unchanged is not None

    stray = path.with_name("vejledningsforloeb_2026 (kopi).csv")
    stray.write_bytes(path.read_bytes())
    assert delivery_unchanged(con, changed, ORG, inbox, 2026, max_share=0.2) is False
    [done] = ingest_delivery(con, changed, ORG, inbox, [2026], max_share=0.2, run_id="r5")
    assert done.unchanged is None and done.refused and stray.name in done.refused
    stray.unlink()  # the refusal rested on the stray, not on the file: decided again
    [done] = ingest_delivery(con, changed, ORG, inbox, [2026], max_share=0.2, run_id="r6")
    assert done.unchanged is None and done.taken and done.trusted


def test_a_year_less_register_is_read_only_when_a_year_needs_it(con, tmp_path, monkeypatch):
    index = FORMATS["price_index"]
    path = tmp_path / "inbox" / index.path
    path.parent.mkdir(parents=True)
    path.write_text("År;Indeks\n2020;100,0\n2021;102,3\n2022;106,1\n", encoding="utf-8")
    ingest_delivery(con, index, None, tmp_path / "inbox", [2020, 2021], run_id="r1")
    # a year never ingested needs the file: read once, and only that year is written
    before = _times(con)
    done = ingest_delivery(con, index, None, tmp_path / "inbox", [2020, 2021, 2022], run_id="r2")
    assert [d.unchanged is not None for d in done] == [True, True, False]
    assert [t for t in _times(con) if t[2] != 2022] == before
    _reading_fails(monkeypatch)
    done = ingest_delivery(con, index, None, tmp_path / "inbox", [2020, 2021, 2022], run_id="r3")
    assert all(d.unchanged is not None and d.taken for d in done)


# --- one delivery ingested once however many ingest it at once ------------------------------


def test_two_ingesting_the_same_register_at_once_read_and_validate_it_once(tmp_path):
    """Two connections to one DuckDB file ingest the same register year at once (two
    threads: a file is written by one process at a time): the second waits for the first
    and finds the delivery it recorded unchanged instead of reading and validating it too.
    The same on a lake, by two processes' worth of connections: test_lake.py."""
    import duckdb

    from resultatrapport.warehouse_schema import ensure_schema
    from tests.helpers import ingested_by_two_at_once

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_schema(con)
        first, second, second_read = ingested_by_two_at_once(
            lambda: duckdb.connect(str(path)), tmp_path / "inbox"
        )
        assert first.unchanged is None and first.committed is not None
        assert not second_read, "the second read the register while the first did"
        assert second.unchanged is not None and second.taken and second.trusted
        assert second.delivery == first.delivery and second.checks == first.checks
        recorded = con.execute("SELECT DISTINCT run_id FROM ingest.checks").fetchall()
        assert recorded == [("first",)]
        [(read_at,)] = con.execute("SELECT read_at FROM ingest.deliveries").fetchall()
        assert second.unchanged.since == read_at
