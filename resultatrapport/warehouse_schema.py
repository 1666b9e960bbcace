"""The warehouse's tables, derived from the declared formats.

- ``raw.<source>``: rows as delivered (text), personal data removed, one partition per
  (org, year); ``org`` is NULL for register data.
- ``ingest.<source>``: typed rows that broke no rule.
- ``ingest.quarantine``: one row per (line, broken rule) with the reason.
- ``ingest.deliveries``: what file was read for a partition, its content hash and counts.
- ``kpi.*`` (results, details, budget) and ``report.*`` (drafts, sign-offs): declared beside
  the code that writes them, created here with the rest (so this module is above them: it
  composes the warehouse's schema, and nothing it imports imports it).
- ``ingest.inbox_files``: the files of the inbox that are no delivery, with the delivery each
  resembles, as last seen by an ingestion step (the internal data-quality appendix lists
  them).
- ``ingest.checks``: the latest outcome of each check on a partition's delivery (the internal
  data-quality appendix and the sign-off's refusal read it), with the file (SHA-256) and the
  rules (format version) it was decided for: the same file under the same rules is not read
  again.
- ``ingest.report_texts``: the sections of the report owner's texts of a contract and year,
  as last read from a good file (declared in :mod:`resultatrapport.texts`).
"""

from __future__ import annotations

import duckdb

from resultatrapport.formats import FORMATS
from resultatrapport.kpis.compute import ensure_kpi_schema
from resultatrapport.municipalities import municipalities
from resultatrapport.report.publish import ensure_report_schema
from resultatrapport.rules import SQL_TYPES
from resultatrapport.sql import q
from resultatrapport.texts import ensure_texts_schema
from resultatrapport.warehouse_tx import transaction

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS ingest.quarantine (
    source VARCHAR NOT NULL, org VARCHAR, year INTEGER NOT NULL, file VARCHAR NOT NULL,
    line INTEGER, column_name VARCHAR, rule VARCHAR NOT NULL, reason VARCHAR NOT NULL,
    value VARCHAR
)"""

DELIVERIES_DDL = """
CREATE TABLE IF NOT EXISTS ingest.deliveries (
    source VARCHAR NOT NULL, org VARCHAR, year INTEGER NOT NULL, file VARCHAR NOT NULL,
    sha256 VARCHAR, encoding VARCHAR, rows_read BIGINT NOT NULL, rows_rejected BIGINT NOT NULL,
    read_at TIMESTAMP NOT NULL, run_id VARCHAR, records BIGINT, physical_lines BIGINT,
    blank_lines BIGINT, out_of_partition BIGINT
)"""

CHECKS_DDL = """
CREATE TABLE IF NOT EXISTS ingest.checks (
    source VARCHAR NOT NULL, org VARCHAR, year INTEGER NOT NULL, check_name VARCHAR NOT NULL,
    passed BOOLEAN NOT NULL, blocking BOOLEAN NOT NULL, summary VARCHAR, checked_at TIMESTAMP
    NOT NULL, run_id VARCHAR, sha256 VARCHAR, format_version VARCHAR
)"""

INBOX_FILES_DDL = """
CREATE TABLE IF NOT EXISTS ingest.inbox_files (
    relpath VARCHAR NOT NULL, source VARCHAR, year INTEGER, resembles VARCHAR, why VARCHAR
)"""

# columns added since the first warehouses were made: a warehouse of an earlier version gets
# them (empty) instead of failing its inserts
ADDED_COLUMNS = (
    "ALTER TABLE ingest.checks ADD COLUMN IF NOT EXISTS sha256 VARCHAR",
    # the rules an outcome was decided by (resultatrapport.ingestion.format_version)
    "ALTER TABLE ingest.checks ADD COLUMN IF NOT EXISTS format_version VARCHAR",
    "ALTER TABLE ingest.deliveries ADD COLUMN IF NOT EXISTS records BIGINT",
    "ALTER TABLE ingest.deliveries ADD COLUMN IF NOT EXISTS physical_lines BIGINT",
    "ALTER TABLE ingest.deliveries ADD COLUMN IF NOT EXISTS blank_lines BIGINT",
    "ALTER TABLE ingest.deliveries ADD COLUMN IF NOT EXISTS out_of_partition BIGINT",
    "ALTER TABLE ingest.inbox_files ADD COLUMN IF NOT EXISTS resembles VARCHAR",
    "ALTER TABLE ingest.inbox_files ADD COLUMN IF NOT EXISTS why VARCHAR",
)


def raw_ddl(name: str) -> str:
    fmt = FORMATS[name]
    cols = ", ".join(f"{q(c.name)} VARCHAR" for c in fmt.kept)
    return (
        f"CREATE TABLE IF NOT EXISTS raw.{name} (org VARCHAR, year INTEGER NOT NULL, "
        f"line INTEGER, parse_error VARCHAR, {cols})"
    )


def ingest_ddl(name: str) -> str:
    fmt = FORMATS[name]
    cols = [f"{q(c.name)} {SQL_TYPES[c.type]}" for c in fmt.kept]
    cols += [f"{q(n)} {t}" for n, t, _ in fmt.extra_columns]
    return (
        f"CREATE TABLE IF NOT EXISTS ingest.{name} (org VARCHAR, year INTEGER NOT NULL, "
        f"line INTEGER, {', '.join(cols)})"
    )


# the table ensure_schema creates last: a file that has it has the rest of the schema (of the
# version that made it); resources/warehouse.py probes it on every connection
LAST_TABLE = "ref.municipalities"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    statements = [f"CREATE SCHEMA IF NOT EXISTS {s}" for s in ("raw", "ingest", "ref")]
    statements += [QUARANTINE_DDL, DELIVERIES_DDL, CHECKS_DDL, INBOX_FILES_DDL, *ADDED_COLUMNS]
    for name in FORMATS:
        statements += [raw_ddl(name), ingest_ddl(name)]
    for statement in statements:
        con.execute(statement)
    ensure_kpi_schema(con)
    ensure_report_schema(con)
    ensure_texts_schema(con)
    if not con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'ref' AND table_name = 'municipalities'"
    ).fetchall():
        # the table and its rows in one transaction: a process killed between them must not
        # leave an empty table that every later connection takes for a finished schema
        with transaction(con):
            con.execute(
                # no PRIMARY KEY: a DuckLake warehouse has no key constraints
                f"CREATE TABLE {LAST_TABLE} (code INTEGER NOT NULL, name VARCHAR NOT NULL, "
                "region_code INTEGER NOT NULL, region VARCHAR NOT NULL)"
            )
            con.executemany(
                f"INSERT INTO {LAST_TABLE} VALUES (?, ?, ?, ?)",
                [(m.code, m.name, m.region_code, m.region) for m in municipalities()],
            )
