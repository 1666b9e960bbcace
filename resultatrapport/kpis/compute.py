"""From a contract's KPI definition to a result row: measure, target, status, path.

:func:`measure` hands a KPI to its kind (:data:`resultatrapport.kpis.kinds.KINDS`);
:func:`evaluate` adds the year's target, the status, the path towards a later target and the
confidentiality rule, as a row of ``kpi.results`` (:mod:`resultatrapport.kpis.results_table`
declares and stores it). :func:`still_holds` says when a stored result need not be measured
again: nothing it follows from changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import duckdb

from resultatrapport.contracts import AnyKpi, Contract
from resultatrapport.formats import FORMATS
from resultatrapport.kpis.kinds import KINDS, Measure
from resultatrapport.kpis.results_table import (
    RESULTS_ADDED,
    RESULTS_DDL,
    KpiResult,
    Stored,
    fingerprints,
    settle,
    stored,
)
from resultatrapport.kpis.status import IKKE_MAALBAR, status, uncertain
from resultatrapport.report.danish import number
from resultatrapport.version import code_identity

DETAILS_DDL = """
CREATE TABLE IF NOT EXISTS kpi.details (
    contract VARCHAR NOT NULL, year INTEGER NOT NULL, kpi_id VARCHAR NOT NULL, row_no INTEGER,
    row JSON
)"""
BUDGET_DDL = """
CREATE TABLE IF NOT EXISTS kpi.budget (
    contract VARCHAR NOT NULL, year INTEGER NOT NULL, position INTEGER, key VARCHAR NOT NULL,
    name VARCHAR NOT NULL, amount BIGINT, population BIGINT, quarter VARCHAR, share_pct DOUBLE,
    remark VARCHAR, computed_at TIMESTAMP, inputs_sha256 VARCHAR, code_version VARCHAR
)"""
# columns added since the first warehouses were made: when the year's distribution was
# computed, from what (resultatrapport.kpis.budget.budget_inputs) and by which code
BUDGET_ADDED = (
    "ALTER TABLE kpi.budget ADD COLUMN IF NOT EXISTS computed_at TIMESTAMP",
    "ALTER TABLE kpi.budget ADD COLUMN IF NOT EXISTS inputs_sha256 VARCHAR",
    "ALTER TABLE kpi.budget ADD COLUMN IF NOT EXISTS code_version VARCHAR",
)

# survey answers and register financials are confidential below the threshold of units, as
# their formats declare
CONFIDENTIAL_SOURCES = frozenset(name for name, f in FORMATS.items() if f.confidential)


def partitions_read(contract: Contract, year: int) -> dict[tuple[str, str | None], list[int]]:
    """The ingested partitions a contract's report of ``year`` rests on: for each (source,
    organisation) the years its KPIs read (the lookback its kind declares included) and its
    budget's source. The asset lineage (partition mappings), the CLI and the report's
    provenance all use this."""
    out: dict[tuple[str, str | None], set[int]] = {}
    for kpi in contract.kpis:
        for source, org, y in kpi_reads(contract, kpi, year):
            out.setdefault((source, org), set()).add(y)
    out.setdefault((contract.budget.source, None), set()).add(year)
    return {
        pair: sorted(years)
        for pair, years in sorted(out.items(), key=lambda i: (i[0][0], i[0][1] or ""))
    }


def kpi_reads(contract: Contract, kpi: AnyKpi, year: int) -> list[tuple[str, str | None, int]]:
    """The ingested partitions (source, organisation, year) a KPI reads for ``year``, its
    kind's lookback included."""
    return [
        (source, contract.source_org(source), y)
        for source in kpi.sources
        for y in range(year - KINDS[kpi.kind].back(source), year + 1)
    ]


def delivery_hashes(
    con: duckdb.DuckDBPyConnection, reads: list[tuple[str, str | None, int]]
) -> list[list[Any]]:
    """The content hash of the delivery each of the partitions ``reads`` (source,
    organisation, year) holds, in a fixed order; a partition never delivered has no row."""
    if not reads:
        return []
    rows = con.execute(
        "SELECT source, coalesce(org, ''), year, coalesce(sha256, '') FROM ingest.deliveries "
        "WHERE (source, coalesce(org, ''), year) IN (SELECT * FROM (VALUES "
        + ", ".join("(?, ?, ?)" for _ in reads)
        + ")) ORDER BY ALL",
        [v for source, org, y in reads for v in (source, org or "", y)],
    ).fetchall()
    return [list(r) for r in rows]


def inputs_fingerprint(
    con: duckdb.DuckDBPyConnection, contract: Contract, kpi: AnyKpi, year: int
) -> str:
    """What a KPI's result of ``year`` follows from: its definition in the contract file (kind,
    parameters, targets), the contract's settings and budget, and the content hash of every
    delivery it reads (a delivery never made counts as such). Stored with the result: a
    result whose fingerprint differs from today's is outdated (:func:`outdated`)."""
    payload = {
        "kpi": kpi.model_dump(mode="json"),
        "settings": contract.settings.model_dump(mode="json"),
        # the spread over municipalities follows the budget's municipalities and quarter
        "budget": contract.budget.model_dump(mode="json"),
        "inputs": delivery_hashes(con, kpi_reads(contract, kpi, year)),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def outdated(
    con: duckdb.DuckDBPyConnection, contract: Contract, years: list[int]
) -> dict[int, str]:
    """The ``years`` whose stored KPI results are missing or outdated (a delivery they read,
    or their definition, changed since they were computed), each with the first reason, in
    Danish."""
    stored = fingerprints(con, contract.id)
    found: dict[int, str] = {}
    for year in years:
        for kpi in contract.kpis:
            if (kpi.id, year) not in stored:
                found[year] = f"{kpi.id} er ikke beregnet for {year}"
                break
            if stored[(kpi.id, year)] != inputs_fingerprint(con, contract, kpi, year):
                found[year] = f"{kpi.id} for {year} bygger på ændrede leverancer eller mål"
                break
    return found


def still_holds(
    con: duckdb.DuckDBPyConnection, contract: Contract, kpi: AnyKpi, year: int, inputs: str
) -> Stored | None:
    """The KPI's stored result of ``year`` where measuring it again would give the same row:
    it follows from the same deliveries and definition (``inputs``, today's
    :func:`inputs_fingerprint`), was computed by the same code
    (:func:`resultatrapport.version.code_identity`) and stands at the KPI's place in the
    contract file. None: measure it."""
    kept = stored(con, contract.id, year, kpi.id)
    if (
        kept is None
        or kept.inputs != inputs
        or kept.code_version != code_identity()
        or kept.result.position != contract.kpis.index(kpi)
    ):
        return None
    return kept


def ensure_kpi_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS kpi")
    for ddl in (RESULTS_DDL, DETAILS_DDL, BUDGET_DDL, *RESULTS_ADDED, *BUDGET_ADDED):
        con.execute(ddl)


def measure(con: duckdb.DuckDBPyConnection, contract: Contract, kpi: AnyKpi, year: int) -> Measure:
    """Compute a KPI's value for a year with the kind its definition names, its figures
    settled to the stored precision (:func:`resultatrapport.kpis.results_table.settle`), so
    that unchanged data gives the same result, byte for byte, in every run."""
    m = KINDS[kpi.kind].measure(con, contract, kpi, year)
    return Measure(
        settle(m.value),
        m.n,
        settle(m.low),
        settle(m.high),
        m.remark,
        settle(m.detail),
        settle(m.extra),
    )


def path_value(kpi: AnyKpi, year: int) -> tuple[float, int] | None:
    """Linear path from the baseline to the next year with a target (value, target year)."""
    if kpi.path != "linear" or kpi.baseline is None or kpi.targets.get(year) is not None:
        return None
    later = sorted((y, t.value) for y, t in kpi.targets.items() if t is not None and y > year)
    if not later:
        return None
    goal_year, goal = later[0]
    b = kpi.baseline
    return b.value + (goal - b.value) * (year - b.year) / (goal_year - b.year), goal_year


def withheld(contract: Contract, kpi: AnyKpi, m: Measure) -> str | None:
    """Why the KPI's value must be withheld for confidentiality (primary suppression), in
    Danish; None when it may be shown. Survey answers and register financials are
    confidential below the contract's threshold of units, and financials also where the two
    largest firms dominate the figure."""
    confidential = CONFIDENTIAL_SOURCES & set(kpi.sources)
    if m.value is None or not confidential:
        return None
    if m.n < contract.settings.suppression_threshold:
        unit = "besvarelser" if confidential - {"financials"} else "virksomheder"
        return f"For få {unit} (n={m.n}); tallet er diskretioneret"
    top2 = m.extra.get("to_stoerste_andel_pct")
    dominance = contract.settings.dominance_pct
    if "financials" in confidential and top2 is not None and top2 > dominance:
        return (
            f"De to største virksomheder udgør {top2:.0f} % af grundlaget (over "
            f"{dominance:.0f} %); tallet er diskretioneret"
        )
    return None


def path_remark(value: float, goal_year: int) -> str:
    """The remark that shows the path towards a later target (Danish number format)."""
    shown = number(value, 0)
    return f"sti mod målet for {goal_year}: {shown} (en sti, ikke et mål)"


def evaluate(contract: Contract, kpi: AnyKpi, year: int, m: Measure) -> KpiResult:
    target = kpi.targets.get(year)
    reason = withheld(contract, kpi, m)
    suppressed = reason is not None
    value, low, high = (None, None, None) if suppressed else (m.value, m.low, m.high)
    goal, operator = (target.value, target.operator) if target else (None, None)
    state = IKKE_MAALBAR if suppressed else status(value, goal, operator)
    doubt = None if suppressed else uncertain(goal, operator, low, high)
    path = path_value(kpi, year)
    remarks = [reason or m.remark, path_remark(*path) if path else ""]
    remark = "; ".join(r for r in remarks if r)
    return KpiResult(
        contract=contract.id,
        year=year,
        kpi_id=kpi.id,
        position=contract.kpis.index(kpi),
        name=kpi.name,
        goal=kpi.goal,
        report_section=kpi.report_section,
        kind=kpi.kind,
        unit=kpi.unit,
        value=value,
        target=target.value if target else None,
        operator=target.operator if target else None,
        status=state,
        uncertain=doubt,
        n=m.n if m.value is not None or m.n else None,
        low=low,
        high=high,
        suppressed=suppressed,
        remark=remark,
        path_value=path[0] if path else None,
        extra=m.extra,
    )
