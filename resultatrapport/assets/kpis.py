"""KPI, budget and results assets, generated from the contract definition files.

One asset per KPI per contract (``kpi/<contract>/<kpi>``), reading exactly the clean
tables its definition names; a budget asset (``budget/<contract>/distribution``); and the
results asset (``report/<contract>/kpi_results``) that stands for the complete results
table of a contract and year, with a blocking check that every KPI has its row. All of a
contract's assets are partitioned by its contract years only.
"""

from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    asset,
)

from resultatrapport.assets.ingestion import OWNER, ingest_key
from resultatrapport.contracts import Contract, IndexedSumBudget, PopulationKeyBudget
from resultatrapport.formats import FORMATS, ORGANISATION_SOURCES
from resultatrapport.kpis.budget import BudgetError, indexed_sum, population_key
from resultatrapport.kpis.compute import KIND_READS_BACK as LOOKBACK
from resultatrapport.kpis.compute import evaluate, measure, store
from resultatrapport.pipelines.partitions import FIRST_YEAR
from resultatrapport.report.danish import number
from resultatrapport.resources import Warehouse

PER_ORG = set(ORGANISATION_SOURCES.values())


def contract_partitions(contract: Contract) -> TimeWindowPartitionsDefinition:
    """The contract's years only: a backfill of the contract never touches other years."""
    return TimeWindowPartitionsDefinition(
        start=str(contract.period.first),
        end=str(contract.period.last + 1),
        cron_schedule="0 0 1 1 *",
        fmt="%Y",
        timezone="Europe/Copenhagen",
        end_offset=1,
    )


def group_name(contract: Contract) -> str:
    return f"contract_{contract.scope}"


def kpi_key(contract: Contract, kpi: Any) -> AssetKey:
    return AssetKey(["kpi", contract.scope, kpi.asset_name])


def source_dep(contract: Contract, kind: str, source: str) -> AssetDep:
    org = contract.organisation.slug if source in PER_ORG else None
    key = ingest_key(FORMATS[source], org)
    back = LOOKBACK.get((kind, source), 0)
    mapping = TimeWindowPartitionMapping(
        start_offset=-back, end_offset=0, allow_nonexistent_upstream_partitions=True
    )
    return AssetDep(key, partition_mapping=mapping)


def lookback_years(contract: Contract) -> int:
    return max([LOOKBACK.get((k.kind, s), 0) for k in contract.kpis for s in k.sources] or [0])


def _describe(kpi: Any) -> str:
    targets = ", ".join(
        f"{y}: {t.operator} {number(t.value)}" if t else f"{y}: intet mål"
        for y, t in sorted(kpi.targets.items())
    )
    parts = [
        f"**{kpi.id} {kpi.name}** ({kpi.goal})",
        f"Kontrakten: {kpi.contract_text}",
        f"Mål: {targets}",
    ]
    if kpi.method:
        parts.append(f"Metode: {kpi.method}")
    if kpi.interpretation:
        parts.append(f"Fortolkning: {kpi.interpretation}")
    parts.append(
        f"Kind `{kpi.kind}`; definition in `contracts/`, computation in `resultatrapport/kpis/`."
    )
    return "\n\n".join(parts)


def build_kpi_asset(
    contract: Contract, kpi: Any, partitions: TimeWindowPartitionsDefinition
) -> AssetsDefinition:
    @asset(
        key=kpi_key(contract, kpi),
        partitions_def=partitions,
        group_name=group_name(contract),
        deps=[source_dep(contract, kpi.kind, s) for s in kpi.sources],
        description=_describe(kpi),
        kinds={"duckdb"},
        owners=[OWNER],
        metadata={
            "kpi_id": kpi.id,
            "kind": kpi.kind,
            "unit": kpi.unit,
            "targets": MetadataValue.json(
                {str(y): (t.model_dump() if t else None) for y, t in kpi.targets.items()}
            ),
        },
    )
    def kpi_asset(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        year = int(context.partition_key)
        with warehouse.connect() as con:
            m = measure(con, contract, kpi, year)
            result = evaluate(contract, kpi, year, m)
            store(con, result, [] if result.suppressed else m.detail, context.run.run_id)
        metadata: dict[str, Any] = {
            "value": MetadataValue.float(result.value)
            if result.value is not None
            else MetadataValue.null(),
            "target": MetadataValue.text(
                f"{result.operator} {number(result.target)}"
                if result.target is not None
                else "Intet mål i år"
            ),
            "status": result.status,
            "n": result.n if result.n is not None else 0,
            "interval_95": MetadataValue.text(
                f"{number(result.low, 1)} – {number(result.high, 1)}"
                if result.low is not None
                else ""
            ),
            "remark": result.remark,
        }
        if result.path_value is not None:
            metadata["path_value"] = MetadataValue.float(result.path_value)
        for name, value in result.extra.items():
            if isinstance(value, int | float) and value is not None:
                metadata[f"method/{name}"] = value
        if m.detail and not result.suppressed:
            metadata["detail"] = MetadataValue.json(m.detail[:50])
        return MaterializeResult(metadata=metadata)

    return kpi_asset


def build_budget_asset(
    contract: Contract, partitions: TimeWindowPartitionsDefinition
) -> AssetsDefinition:
    budget = contract.budget
    source = "population" if isinstance(budget, PopulationKeyBudget) else "price_index"

    @asset(
        key=AssetKey(["budget", contract.scope, "distribution"]),
        partitions_def=partitions,
        group_name=group_name(contract),
        deps=[source_dep(contract, "budget", source)],
        description=f"{budget.title}. {budget.note}".strip(),
        kinds={"duckdb"},
        owners=[OWNER],
    )
    def budget_asset(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        year = int(context.partition_key)
        remark = ""
        lines = []
        with warehouse.connect() as con:
            try:
                if isinstance(budget, PopulationKeyBudget):
                    total = budget.totals[year]
                    if total is None:
                        remark = f"Kontrakten angiver ikke bevillingen for {year}"
                    else:
                        lines = population_key(
                            con, year, total, budget.population_quarter[year], budget.municipalities
                        )
                else:
                    assert isinstance(budget, IndexedSumBudget)
                    earmarks = {e.name: e.amount for e in budget.earmarks.get(year, [])}
                    lines = indexed_sum(con, budget.base_amount, budget.base_year, year, earmarks)
            except BudgetError as exc:
                remark = str(exc)
            con.execute("BEGIN TRANSACTION")
            con.execute(
                "DELETE FROM kpi.budget WHERE contract = $c AND year = $y",
                {"c": contract.id, "y": year},
            )
            rows: list[tuple[Any, ...]] = [
                (
                    contract.id,
                    year,
                    i,
                    b.key,
                    b.name,
                    b.amount,
                    b.population,
                    b.quarter,
                    b.share_pct,
                    None,
                )
                for i, b in enumerate(lines)
            ] or [(contract.id, year, 0, "none", "Ikke opgjort", None, None, None, None, remark)]
            con.executemany("INSERT INTO kpi.budget VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            con.execute("COMMIT")
        table = "\n".join(
            ["| | beløb (kr.) | folketal | andel |", "|---|---:|---:|---:|"]
            + [
                f"| {b.name} | {number(b.amount)} | {number(b.population) if b.population else ''} | "
                f"{number(b.share_pct, 4) if b.share_pct is not None else ''} |"
                for b in lines
            ]
        )
        if isinstance(budget, PopulationKeyBudget):
            total_amount = sum(b.amount for b in lines) if lines else None
        else:
            total_amount = next((b.amount for b in lines if b.key == "total"), None)
        return MaterializeResult(
            metadata={
                "total_kr": MetadataValue.int(int(total_amount))
                if total_amount is not None
                else MetadataValue.null(),
                "distribution": MetadataValue.md(table if lines else remark),
                "remark": remark,
            }
        )

    return budget_asset


def build_results_asset(
    contract: Contract, partitions: TimeWindowPartitionsDefinition, upstream: list[AssetKey]
) -> AssetsDefinition:
    key = AssetKey(["report", contract.scope, "kpi_results"])

    @asset(
        key=key,
        partitions_def=partitions,
        group_name=group_name(contract),
        deps=upstream,
        description=(
            f"Every KPI result of {contract.id} for the year: the table `kpi.results`, the single "
            "source of the report and the submissions (id, name, unit, value, target, operator, "
            "status, n, interval, suppressed, remark)."
        ),
        kinds={"duckdb"},
        owners=[OWNER],
        metadata={"dagster/table_name": "kpi.results"},
        check_specs=[
            AssetCheckSpec(
                "complete",
                asset=key,
                partitions_def=partitions,
                blocking=True,
                description="Every KPI of the contract has exactly one result row for the year.",
            )
        ],
    )
    def results_asset(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        year = int(context.partition_key)
        ids = [k.id for k in contract.kpis]
        with warehouse.connect() as con:
            # rows of KPIs no longer in the contract file are stale: remove them
            con.execute(
                f"DELETE FROM kpi.results WHERE contract = $c AND year = $y AND kpi_id NOT IN "
                f"({', '.join(repr(i) for i in ids)})",
                {"c": contract.id, "y": year},
            )
            rows = con.execute(
                "SELECT kpi_id, status, value, unit FROM kpi.results WHERE contract = $c AND year = $y "
                "ORDER BY position",
                {"c": contract.id, "y": year},
            ).fetchall()
        present = [r[0] for r in rows]
        missing = [i for i in ids if i not in present]
        duplicated = sorted({i for i in present if present.count(i) > 1})
        statuses: dict[str, int] = {}
        for r in rows:
            statuses[r[1]] = statuses.get(r[1], 0) + 1
        table = "\n".join(
            ["| KPI | status | værdi |", "|---|---|---:|"]
            + [
                f"| {k} | {s} | {number(v, 1) if v is not None else '–'} {u} |"
                for k, s, v, u in rows
            ]
        )
        check = AssetCheckResult(
            check_name="complete",
            passed=not missing and not duplicated,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "missing": MetadataValue.json(missing),
                "duplicated": MetadataValue.json(duplicated),
            },
        )
        return MaterializeResult(
            metadata={
                "dagster/row_count": len(rows),
                "statuses": MetadataValue.json(statuses),
                "results": MetadataValue.md(table),
            },
            check_results=[check],
        )

    return results_asset


def build_contract_assets(contract: Contract) -> list[AssetsDefinition]:
    partitions = contract_partitions(contract)
    kpi_assets = [build_kpi_asset(contract, kpi, partitions) for kpi in contract.kpis]
    budget = build_budget_asset(contract, partitions)
    results = build_results_asset(contract, partitions, [k for a in kpi_assets for k in a.keys])
    return [*kpi_assets, budget, results]


def first_year_needed(contract: Contract, year: int) -> int:
    """The earliest partition the contract's KPIs read for ``year`` (for the CLI)."""
    return max(FIRST_YEAR, year - lookback_years(contract))
