"""``ingest.checks``: the latest outcome of each check on a partition's delivery, written by
the ingestion of a source (:mod:`resultatrapport.ingest`) and of the report owner's texts
(:mod:`resultatrapport.texts`) alike; both import it, so neither imports the other."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from resultatrapport.warehouse_tx import transaction, write_attempts

# one partition of a table: register data has no organisation (org NULL)
PARTITION = "org IS NOT DISTINCT FROM $org AND year = $year"


def record_checks(
    con: duckdb.DuckDBPyConnection,
    source: str,
    org: str | None,
    year: int,
    outcomes: list[tuple[str, bool, bool, str]],
    sha256: str | None,
    run_id: str | None = None,
    format_version: str | None = None,
) -> None:
    """Replace the partition's check outcomes alone: for a delivery that was not taken (a
    failed blocking check, an unreadable file), whose rows stay as they were. ``sha256``
    names the file the outcomes are about, ``format_version`` the rules they were decided
    by (None: by more than the file and its rules, so never kept for the same file)."""
    for attempt in write_attempts():
        with attempt, transaction(con):
            replace_checks(con, source, org, year, outcomes, sha256, run_id, format_version)


def replace_checks(
    con: duckdb.DuckDBPyConnection,
    source: str,
    org: str | None,
    year: int,
    outcomes: list[tuple[str, bool, bool, str]],
    sha256: str | None,
    run_id: str | None,
    format_version: str | None = None,
) -> None:
    """The partition's check outcomes replaced, inside the caller's transaction."""
    params = {"org": org, "year": year, "source": source}
    con.execute(f"DELETE FROM ingest.checks WHERE source = $source AND {PARTITION}", params)
    if not outcomes:
        return
    con.executemany(
        "INSERT INTO ingest.checks (source, org, year, check_name, passed, blocking, summary, "
        "checked_at, run_id, sha256, format_version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?)",
        [
            (source, org, year, n, p, b, s, run_id, sha256, format_version)
            for n, p, b, s in outcomes
        ],
    )


@dataclass(frozen=True)
class RecordedCheck:
    """A check's outcome on a partition's delivery as ``ingest.checks`` holds it."""

    name: str
    passed: bool
    blocking: bool
    summary: str
    checked_at: dt.datetime
    sha256: str | None  # the file it is about (None: no file)
    format_version: str | None  # the rules it was decided by (None: more than those)


def recorded_checks(
    con: duckdb.DuckDBPyConnection, source: str, org: str | None, year: int
) -> list[RecordedCheck]:
    """The partition's recorded check outcomes, by name."""
    rows = con.execute(
        "SELECT check_name, passed, blocking, coalesce(summary, ''), checked_at, sha256, "
        f"format_version FROM ingest.checks WHERE source = $source AND {PARTITION} "
        "ORDER BY check_name",
        {"source": source, "org": org, "year": year},
    ).fetchall()
    return [RecordedCheck(*row) for row in rows]
