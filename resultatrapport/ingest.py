"""Ingestion of one partition: delivery -> raw rows -> clean rows + quarantine.

Each step replaces exactly its partition's rows in one transaction, so a failure at any
point leaves the previous good rows in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from resultatrapport.formats import Column, Rule, SourceFormat
from resultatrapport.reader import Delivery, stage_file
from resultatrapport.rules import SQL_TYPES, clean_select_sql, failures_sql, q, typed_expr

PARTITION = "org IS NOT DISTINCT FROM $org AND year = $year"

# Arrow text columns become pandas' Arrow-backed str dtype (NaN for missing, like "str")
_STR = pd.StringDtype("pyarrow", na_value=np.nan)
_ARROW_STRINGS = {pa.string(): _STR, pa.large_string(): _STR, pa.string_view(): _STR}

# rules GX checks on the typed twin of a column; the others read the delivered text
TYPED_RULES = ("between", "in_year")
# the types pandas gets for GX's range checks (see raw_frame)
GX_TYPES = {
    "int": "DOUBLE",
    "date_dmy": "TIMESTAMP_NS",
    "date_iso": "TIMESTAMP_NS",
    "date_excel": "TIMESTAMP_NS",
}


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def load_raw(
    con: duckdb.DuckDBPyConnection,
    fmt: SourceFormat,
    inbox: Path,
    year: int,
    org: str | None,
    run_id: str | None = None,
) -> Delivery:
    """Read the partition's delivery and replace its raw rows and delivery record."""
    relpath = fmt.relpath(year, org)
    delivery = stage_file(con, fmt, inbox / relpath, relpath, year, "_stage")
    params = {"org": org, "year": year}
    with transaction(con):
        con.execute(f"DELETE FROM raw.{fmt.name} WHERE {PARTITION}", params)
        con.execute(f"INSERT INTO raw.{fmt.name} SELECT $org, $year, * FROM _stage", params)
        con.execute(
            f"DELETE FROM ingest.deliveries WHERE source = $source AND {PARTITION}",
            {**params, "source": fmt.name},
        )
        con.execute(
            "INSERT INTO ingest.deliveries VALUES "
            "($source, $org, $year, $file, $sha, $enc, $rows, $rej, now()::TIMESTAMP, $run)",
            {
                **params,
                "source": fmt.name,
                "file": relpath,
                "sha": delivery.sha256,
                "enc": delivery.encoding,
                "rows": delivery.rows_read,
                "rej": delivery.rows_rejected,
                "run": run_id,
            },
        )
    con.execute("DROP TABLE _stage")
    return delivery


def frame_column(column: Column, rule: Rule) -> str:
    """The column of GX's frame that ``rule`` reads: the delivered text, or for a range rule
    the typed twin ``<column>__typed``."""
    return column.name + "__typed" if rule.kind in TYPED_RULES else column.name


def raw_frame(
    con: duckdb.DuckDBPyConnection, fmt: SourceFormat, year: int, org: str | None
) -> pd.DataFrame:
    """The partition's raw rows as GX validates them: ``line``, ``parse_error`` and the
    columns the rules read (:func:`frame_column`), nothing else (the frame and GX's work grow
    with every column handed over).

    The twins are typed so that GX compares them vectorised: numbers as float64 and dates as
    datetime64[ns]. A nullable Int32 or a datetime64[us] column makes GX's range check call a
    Python function per row (measured: 283,060 calls for five validations of one year's
    financial rows).
    """
    read = {frame_column(c, r) for c in fmt.kept for r in c.rules}
    cols = ["line", "parse_error"]
    for c in fmt.kept:
        if c.name in read:
            cols.append(q(c.name))
    for c in fmt.kept:
        if c.name + "__typed" in read:
            target = GX_TYPES.get(c.type, SQL_TYPES[c.type])
            cols.append(f"CAST({typed_expr(c)} AS {target}) AS {q(c.name + '__typed')}")
    # through Arrow: text stays Arrow-backed (pandas' own str dtype, no copy), where .df()
    # made a Python object per cell first (measured on 5.65 million financial rows: 12.4 s
    # against 2.2 s)
    table = con.sql(
        f"SELECT {', '.join(cols)} FROM raw.{fmt.name} WHERE {PARTITION} ORDER BY line",
        params={"org": org, "year": year},
    ).to_arrow_table()
    return table.to_pandas(types_mapper=_ARROW_STRINGS.get)


@dataclass
class CleanResult:
    rows_read: int
    rows_clean: int
    rows_quarantined: int
    rows_out_of_scope: int
    by_reason: dict[str, int] = field(default_factory=dict)


def build_clean(
    con: duckdb.DuckDBPyConnection, fmt: SourceFormat, year: int, org: str | None
) -> CleanResult:
    """Split the partition's raw rows into clean typed rows and quarantined rows."""
    params = {"org": org, "year": year}
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _raw_part AS "
        f"SELECT * EXCLUDE (org, year) FROM raw.{fmt.name} WHERE {PARTITION}",
        params,
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _failures AS {failures_sql(fmt, '_raw_part', year)}")
    clean = clean_select_sql(fmt, "_raw_part", "_failures", year)
    extras = "".join(f", {expr} AS {q(name)}" for name, _, expr in fmt.extra_columns)
    relpath = fmt.relpath(year, org)
    with transaction(con):
        con.execute(f"DELETE FROM ingest.{fmt.name} WHERE {PARTITION}", params)
        con.execute(
            f"INSERT INTO ingest.{fmt.name} SELECT $org, $year, *{extras} FROM ({clean})", params
        )
        con.execute(
            f"DELETE FROM ingest.quarantine WHERE source = $source AND {PARTITION}",
            {**params, "source": fmt.name},
        )
        con.execute(
            "INSERT INTO ingest.quarantine SELECT $source, $org, $year, $file, line, column_name, "
            "rule, reason, value FROM _failures ORDER BY line, rule",
            {**params, "source": fmt.name, "file": relpath},
        )
    rows_read = _scalar(con, "SELECT count(*) FROM _raw_part")
    rows_quarantined = _scalar(con, "SELECT count(DISTINCT line) FROM _failures")
    rows_clean = _scalar(con, f"SELECT count(*) FROM ingest.{fmt.name} WHERE {PARTITION}", params)
    by_reason = dict(
        con.execute(
            "SELECT reason, count(DISTINCT line) FROM _failures GROUP BY reason ORDER BY 2 DESC"
        ).fetchall()
    )
    con.execute("DROP TABLE _raw_part; DROP TABLE _failures")
    return CleanResult(
        rows_read=rows_read,
        rows_clean=rows_clean,
        rows_quarantined=rows_quarantined,
        rows_out_of_scope=rows_read - rows_quarantined - rows_clean,
        by_reason=by_reason,
    )


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> int:
    row = con.execute(sql, params or {}).fetchone()
    return int(row[0]) if row else 0


def record_checks(
    con: duckdb.DuckDBPyConnection,
    source: str,
    org: str | None,
    year: int,
    outcomes: list[tuple[str, bool, bool, str]],
    run_id: str | None = None,
) -> None:
    """Replace the partition's check outcomes: (check name, passed, blocking, summary)."""
    params = {"org": org, "year": year, "source": source}
    with transaction(con):
        con.execute(f"DELETE FROM ingest.checks WHERE source = $source AND {PARTITION}", params)
        con.executemany(
            "INSERT INTO ingest.checks VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?)",
            [(source, org, year, n, p, b, s, run_id) for n, p, b, s in outcomes],
        )
