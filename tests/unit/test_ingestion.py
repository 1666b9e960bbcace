"""The ingestion of a delivery as library calls (resultatrapport/ingestion.py): validated,
trusted or not, committed or recorded, and said in plain results, with DuckDB alone."""

from __future__ import annotations

import pytest

from resultatrapport.formats import FORMATS
from resultatrapport.ingestion import (
    FILE_TRUSTWORTHY,
    ROWS_VALID,
    InboxMissing,
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
