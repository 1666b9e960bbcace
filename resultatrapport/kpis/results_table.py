"""The results table ``kpi.results``, declared once: the fields of :class:`KpiResult`.

Each field carries its SQL type and its description (field metadata); the table's DDL, the
columns the report reads (:data:`PUBLISHED_COLUMNS`), the column schema the Dagster UI
shows (:func:`described_columns`) and the row :func:`store` writes are all derived from it.
A new column is one new field here (and, for warehouses made before it, an entry in
:data:`RESULTS_ADDED`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

import duckdb

from resultatrapport.version import code_identity
from resultatrapport.warehouse_tx import replace_rows, transaction, write_attempts

# Every figure a KPI computes is kept to this many significant digits before it is stored,
# shown or fingerprinted. DuckDB adds up a column in parallel, in whatever order its threads
# finish, so the same data can give sums (and a regression's slope, and the intervals built
# on them) that differ in the last of a double's 15-17 digits from one run to the next:
# enough to change a signed version's data hash while every printed figure stays the same.
# Ten digits is far beyond any figure's meaning (the report prints at most two decimals)
# and far above that noise (about 1e-15 of the value).
SIGNIFICANT_DIGITS = 10

T = TypeVar("T")


def settle(value: T) -> T:
    """``value`` with every float in it (also inside lists, tuples and dicts) rounded to
    :data:`SIGNIFICANT_DIGITS` significant digits; anything else as it is."""
    if isinstance(value, float):
        if value == 0 or not math.isfinite(value):
            return value
        digits = SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(abs(value)))
        return round(value, digits)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {k: settle(v) for k, v in value.items()}  # type: ignore[return-value]
    if isinstance(value, list | tuple):
        return type(value)(settle(v) for v in value)
    return value


def _column(sql: str, doc: str) -> dict[str, str]:
    """A field's metadata: its SQL type and its description."""
    return {"sql": sql, "doc": doc}


@dataclass
class KpiResult:
    contract: str = field(metadata=_column("VARCHAR NOT NULL", "contract id"))
    year: int = field(metadata=_column("INTEGER NOT NULL", "reporting year (partition)"))
    kpi_id: str = field(
        metadata=_column("VARCHAR NOT NULL", "KPI id from the contract file (Mål-ID)")
    )
    position: int = field(metadata=_column("INTEGER", "the KPI's place in the contract file"))
    name: str = field(metadata=_column("VARCHAR NOT NULL", "the KPI's Danish name (Målepunkt)"))
    goal: str = field(metadata=_column("VARCHAR", "the goal the KPI belongs to"))
    report_section: str = field(metadata=_column("VARCHAR", "the report section that shows it"))
    kind: str = field(metadata=_column("VARCHAR NOT NULL", "the KPI kind that computes it"))
    unit: str = field(
        metadata=_column("VARCHAR NOT NULL", "antal, pct., NPS, procentpoint, årsværk, kr.")
    )
    value: float | None = field(
        metadata=_column("DOUBLE", "the result; NULL if not measurable or withheld")
    )
    target: float | None = field(metadata=_column("DOUBLE", "the year's target; NULL if none"))
    operator: str | None = field(metadata=_column("VARCHAR", ">=, >, <= or ± (band)"))
    status: str = field(
        metadata=_column(
            "VARCHAR NOT NULL", "Opfyldt, Ikke opfyldt, Usikker, Ikke målbar, Intet mål i år"
        )
    )
    # the 95 % interval holds the target (None: no interval)
    uncertain: bool | None = field(
        metadata=_column("BOOLEAN", "the 95 % interval holds the target")
    )
    n: int | None = field(metadata=_column("BIGINT", "units the result rests on"))
    low: float | None = field(metadata=_column("DOUBLE", "lower 95 % bound (estimates)"))
    high: float | None = field(metadata=_column("DOUBLE", "upper 95 % bound (estimates)"))
    suppressed: bool = field(metadata=_column("BOOLEAN NOT NULL", "withheld for confidentiality"))
    remark: str = field(metadata=_column("VARCHAR", "the reason, in Danish"))
    path_value: float | None = field(
        metadata=_column("DOUBLE", "the path towards a later target (not a target)")
    )
    extra: dict[str, Any] = field(
        metadata=_column("JSON", "the kind's own figures (e.g. the effect's pairs)")
    )


# written with every row besides the result itself
RUN_COLUMNS = {
    "run_id": "VARCHAR",
    "computed_at": "TIMESTAMP NOT NULL",
    # what the result follows from (resultatrapport.kpis.compute.inputs_fingerprint)
    "inputs_sha256": "VARCHAR",
    # the code that computed it (resultatrapport.version.code_identity)
    "code_version": "VARCHAR",
}
RESULTS_DDL = (
    "CREATE TABLE IF NOT EXISTS kpi.results (\n    "
    + ",\n    ".join(
        [f"{f.name} {f.metadata['sql']}" for f in fields(KpiResult)]
        + [f"{name} {sql}" for name, sql in RUN_COLUMNS.items()]
    )
    + "\n)"
)
# columns added since the first warehouses were made
RESULTS_ADDED = (
    "ALTER TABLE kpi.results ADD COLUMN IF NOT EXISTS uncertain BOOLEAN",
    "ALTER TABLE kpi.results ADD COLUMN IF NOT EXISTS inputs_sha256 VARCHAR",
    "ALTER TABLE kpi.results ADD COLUMN IF NOT EXISTS code_version VARCHAR",
)

# what the report and the submissions read of a row: all of the result but its partition
# (contract, year) and the kind's own figures
PUBLISHED_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in fields(KpiResult) if f.name not in {"contract", "year", "extra"}
)


def read(
    con: duckdb.DuckDBPyConnection,
    contract_id: str,
    year: int,
    columns: tuple[str, ...] = PUBLISHED_COLUMNS,
    *,
    through: bool = False,
) -> list[dict[str, Any]]:
    """The stored rows of the contract's ``year`` in the contract file's order (with
    ``through``: of every year up to it, by year), as dicts of ``columns``. The one place the
    results table is read; what a reader may see of it is :mod:`resultatrapport.report.content`'s
    ``published``."""
    unknown = set(columns) - {f.name for f in fields(KpiResult)} - set(RUN_COLUMNS)
    if unknown:
        raise ValueError(f"kpi.results has no column {sorted(unknown)}")
    cursor = con.execute(
        f"SELECT {', '.join(columns)} FROM kpi.results WHERE contract = $c AND year "
        + ("<= $y ORDER BY year, position" if through else "= $y ORDER BY position"),
        {"c": contract_id, "y": year},
    )
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def fingerprints(
    con: duckdb.DuckDBPyConnection, contract_id: str
) -> dict[tuple[str, int], str | None]:
    """(KPI id, year) -> the fingerprint of what its stored result follows from."""
    return {
        (kpi_id, year): inputs
        for kpi_id, year, inputs in con.execute(
            "SELECT kpi_id, year, inputs_sha256 FROM kpi.results WHERE contract = $c",
            {"c": contract_id},
        ).fetchall()
    }


@dataclass(frozen=True)
class Stored:
    """A KPI's stored result of a year with its detail rows, what it follows from
    (``inputs``: its fingerprint), the code that computed it and when."""

    result: KpiResult
    detail: list[dict[str, Any]]
    inputs: str | None
    code_version: str | None
    computed_at: dt.datetime


def stored(
    con: duckdb.DuckDBPyConnection, contract_id: str, year: int, kpi_id: str
) -> Stored | None:
    """The KPI's stored result of ``year`` as :func:`store` wrote it; None if there is none."""
    names = [f.name for f in fields(KpiResult)]
    key = {"c": contract_id, "y": year, "k": kpi_id}
    rows = con.execute(
        f"SELECT {', '.join(names)}, inputs_sha256, code_version, computed_at FROM kpi.results "
        "WHERE contract = $c AND year = $y AND kpi_id = $k",
        key,
    ).fetchall()
    if len(rows) != 1:
        return None
    values = dict(zip(names, rows[0], strict=False))
    values["extra"] = json.loads(values["extra"]) if values["extra"] else {}
    detail = [
        json.loads(row)
        for (row,) in con.execute(
            "SELECT row FROM kpi.details WHERE contract = $c AND year = $y AND kpi_id = $k "
            "ORDER BY row_no",
            key,
        ).fetchall()
    ]
    inputs, code_version, computed_at = rows[0][len(names) :]
    return Stored(KpiResult(**values), detail, inputs, code_version, computed_at)


def remove_others(
    con: duckdb.DuckDBPyConnection, contract_id: str, year: int, ids: list[str]
) -> None:
    """Remove the year's rows of KPIs no longer in the contract file (stale), atomically."""
    for attempt in write_attempts():
        with attempt, transaction(con):
            con.execute(
                "DELETE FROM kpi.results WHERE contract = $c AND year = $y "
                "AND NOT list_contains($ids, kpi_id)",
                {"c": contract_id, "y": year, "ids": ids},
            )


def described_columns() -> list[tuple[str, str, str]]:
    """Every column of the result as (name, SQL type without constraints, description)."""
    return [(f.name, f.metadata["sql"].split()[0], f.metadata["doc"]) for f in fields(KpiResult)]


def store(
    con: duckdb.DuckDBPyConnection,
    result: KpiResult,
    detail: list[dict[str, Any]],
    run_id: str | None,
    inputs: str | None = None,
) -> None:
    """Replace the KPI's row (and detail rows) for the contract and year, atomically;
    ``inputs`` is what the result follows from (its fingerprint). The row records the code
    that computed it: this process's (:func:`resultatrapport.version.code_identity`)."""
    row = asdict(result)
    row["extra"] = json.dumps(row["extra"], ensure_ascii=False, default=str)
    key = {"c": result.contract, "y": result.year, "k": result.kpi_id}
    partition = "contract = $c AND year = $y AND kpi_id = $k"
    columns = list(row)
    for attempt in write_attempts():
        with attempt, transaction(con):
            con.execute(f"DELETE FROM kpi.results WHERE {partition}", key)
            con.execute(
                f"INSERT INTO kpi.results ({', '.join(columns)}, run_id, computed_at, "
                f"inputs_sha256, code_version) VALUES ({', '.join('$' + c for c in columns)}, "
                "$run_id, now()::TIMESTAMP, $inputs, $code)",
                {**row, "run_id": run_id, "inputs": inputs, "code": code_identity()},
            )
            details = [
                (*key.values(), i, json.dumps(d, ensure_ascii=False, default=str))
                for i, d in enumerate(detail)
            ]
            replace_rows(con, "kpi.details", partition, key, details)
