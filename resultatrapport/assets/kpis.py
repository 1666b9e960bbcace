"""KPI, budget and results assets, generated from the contract definition files.

One asset per KPI per contract (``kpi/<contract>/<kpi>``), reading exactly the clean
tables its definition names; a budget asset (``budget/<contract>/distribution``); and the
results asset (``report/<contract>/kpi_results``) that stands for the complete results
table of a contract and year, with a blocking check that every KPI has its row. All of a
contract's assets are partitioned by its contract years only, and backfill a range of years
in one run (``BackfillPolicy.single_run()``): every body works on ``context.partition_keys``.
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
    TableColumn,
    TableSchema,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    asset,
)

from resultatrapport.assets.common import RETRY, SINGLE_RUN, WAREHOUSE_POOL, preload, years_of
from resultatrapport.assets.ingestion import ingest_key
from resultatrapport.contracts import Contract, PopulationKeyBudget
from resultatrapport.formats import FORMATS
from resultatrapport.ingest import transaction
from resultatrapport.kpis.budget import NOT_COMPUTED, budget_lines
from resultatrapport.kpis.compute import KIND_READS_BACK as LOOKBACK
from resultatrapport.kpis.compute import evaluate, measure, partitions_read, store
from resultatrapport.pipelines.partitions import FIRST_YEAR
from resultatrapport.report.danish import number
from resultatrapport.resources import Warehouse

ANALYSTS = "team:analysts"

# what the draft (report.py) renders with
REPORT_MODULES = ("resultatrapport.report.view", "weasyprint")


def by_year_table(rows: list[tuple[int, str, str, str]]) -> str:
    """Markdown table of (year, value, target, status) for the metadata of a range run."""
    lines = ["| år | værdi | mål | status |", "|---|---:|---|---|"]
    return "\n".join(lines + [f"| {y} | {v} | {t} | {s} |" for y, v, t, s in rows])


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


def group_name(contract: Contract, stage: str = "kpi") -> str:
    """Groups per stage and contract: ``kpi_<contract>``, ``report_<contract>``."""
    return f"{stage}_{contract.scope}"


def kpi_key(contract: Contract, kpi: Any) -> AssetKey:
    return AssetKey(["kpi", contract.scope, kpi.asset_name])


def source_dep(contract: Contract, kind: str, source: str) -> AssetDep:
    org = contract.source_org(source)
    key = ingest_key(FORMATS[source], org)
    back = LOOKBACK.get((kind, source), 0)
    mapping = TimeWindowPartitionMapping(
        start_offset=-back, end_offset=0, allow_nonexistent_upstream_partitions=True
    )
    return AssetDep(key, partition_mapping=mapping)


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


def _value(result: Any) -> str:
    return "–" if result.value is None else f"{number(result.value, 1)} {result.unit}"


def _target(result: Any) -> str:
    if result.target is None:
        return "Intet mål i år"
    return f"{result.operator} {number(result.target)}"


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
        owners=[ANALYSTS],
        pool=WAREHOUSE_POOL,
        retry_policy=RETRY,
        backfill_policy=SINGLE_RUN,
        tags={"kpi_kind": kpi.kind},
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
        # the draft renders after the KPIs: its libraries load while DuckDB computes
        preload(*REPORT_MODULES)
        results = []
        with warehouse.connect() as con:
            for year in years_of(context):
                m = measure(con, contract, kpi, year)
                result = evaluate(contract, kpi, year, m)
                store(con, result, [] if result.suppressed else m.detail, context.run.run_id)
                results.append((result, m))
        if len(results) > 1:  # a range run: one materialisation stands for every year
            rows = [(r.year, _value(r), _target(r), r.status) for r, _ in results]
            return MaterializeResult(
                metadata={"results_by_year": MetadataValue.md(by_year_table(rows))}
            )
        result, m = results[0]
        metadata: dict[str, Any] = {
            "value": MetadataValue.float(result.value)
            if result.value is not None
            else MetadataValue.null(),
            "target": MetadataValue.text(_target(result)),
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
    source = budget.source

    @asset(
        key=AssetKey(["budget", contract.scope, "distribution"]),
        partitions_def=partitions,
        group_name=group_name(contract),
        deps=[source_dep(contract, "budget", source)],
        description=f"{budget.title}. {budget.note}".strip(),
        kinds={"duckdb"},
        owners=[ANALYSTS],
        pool=WAREHOUSE_POOL,
        retry_policy=RETRY,
        backfill_policy=SINGLE_RUN,
        metadata={"dagster/table_name": "kpi.budget"},
        check_specs=[
            AssetCheckSpec(
                "inputs_complete",
                asset=AssetKey(["budget", contract.scope, "distribution"]),
                partitions_def=partitions,
                description="The deliveries the distribution needs hold what it reads (the "
                "population quarter of the key, the price index of the year and the base year). "
                "Fails with ERROR naming the file and what it lacks; the draft says the budget "
                "is not computed and why, and the sign-off is refused.",
            )
        ],
    )
    def budget_asset(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        per_year = []
        lacking: dict[str, str] = {}
        with warehouse.connect() as con:
            for year in years_of(context):
                distribution = budget_lines(con, budget, year)
                lines, remark = distribution.lines, distribution.remark
                if distribution.incomplete:
                    lacking[str(year)] = remark
                with transaction(con):
                    con.execute(
                        "DELETE FROM kpi.budget WHERE contract = $c AND year = $y",
                        {"c": contract.id, "y": year},
                    )
                    rows: list[tuple[Any, ...]] = [
                        (contract.id, year, i, b.key, b.name, b.amount, b.population, b.quarter,
                         b.share_pct, None)
                        for i, b in enumerate(lines)
                    ] or [(contract.id, year, 0, NOT_COMPUTED if distribution.incomplete
                           else "none", "Ikke opgjort", None, None, None, None, remark)]  # fmt: skip
                    con.executemany(
                        "INSERT INTO kpi.budget VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
                    )
                per_year.append((year, lines, remark))
        check = AssetCheckResult(
            check_name="inputs_complete",
            passed=not lacking,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "problems": MetadataValue.md("\n".join(f"- {y}: {r}" for y, r in lacking.items()))
            }
            if lacking
            else {},
        )
        if len(per_year) > 1:
            rows_md = [
                (y, number(_total(lines)) + " kr." if lines else "–", "", r or "opgjort")
                for y, lines, r in per_year
            ]
            return MaterializeResult(
                metadata={"total_by_year": MetadataValue.md(by_year_table(rows_md))},
                check_results=[check],
            )
        _, lines, remark = per_year[0]
        table = "\n".join(
            ["| | beløb (kr.) | folketal | andel |", "|---|---:|---:|---:|"]
            + [
                f"| {b.name} | {number(b.amount)} | {number(b.population) if b.population else ''} | "
                f"{number(b.share_pct, 4) if b.share_pct is not None else ''} |"
                for b in lines
            ]
        )
        total_amount = _total(lines)
        return MaterializeResult(
            metadata={
                "total_kr": MetadataValue.int(int(total_amount))
                if total_amount is not None
                else MetadataValue.null(),
                "distribution": MetadataValue.md(table if lines else remark),
                "remark": remark,
            },
            check_results=[check],
        )

    def _total(lines: list[Any]) -> int | None:
        if not lines:
            return None
        if isinstance(budget, PopulationKeyBudget):
            return sum(b.amount for b in lines)
        return next((b.amount for b in lines if b.key == "total"), None)

    return budget_asset


RESULTS_SCHEMA = TableSchema(
    columns=[
        TableColumn("contract", "VARCHAR", description="contract id"),
        TableColumn("year", "INTEGER", description="reporting year (partition)"),
        TableColumn("kpi_id", "VARCHAR", description="KPI id from the contract file (Mål-ID)"),
        TableColumn("name", "VARCHAR", description="the KPI's Danish name (Målepunkt)"),
        TableColumn("unit", "VARCHAR", description="antal, pct., NPS, procentpoint, årsværk, kr."),
        TableColumn(
            "value", "DOUBLE", description="the result; NULL if not measurable or withheld"
        ),
        TableColumn("target", "DOUBLE", description="the year's target; NULL if none"),
        TableColumn("operator", "VARCHAR", description=">=, >, <= or ± (band)"),
        TableColumn(
            "status",
            "VARCHAR",
            description="Opfyldt, Ikke opfyldt, Usikker, Ikke målbar, Intet mål i år",
        ),
        TableColumn("n", "BIGINT", description="units the result rests on"),
        TableColumn("low", "DOUBLE", description="lower 95 % bound (estimates)"),
        TableColumn("high", "DOUBLE", description="upper 95 % bound (estimates)"),
        TableColumn("suppressed", "BOOLEAN", description="withheld for confidentiality"),
        TableColumn("remark", "VARCHAR", description="the reason, in Danish"),
        TableColumn(
            "path_value", "DOUBLE", description="the path towards a later target (not a target)"
        ),
    ]
)


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
        owners=[ANALYSTS],
        pool=WAREHOUSE_POOL,
        retry_policy=RETRY,
        backfill_policy=SINGLE_RUN,
        metadata={"dagster/table_name": "kpi.results", "dagster/column_schema": RESULTS_SCHEMA},
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
        ids = [k.id for k in contract.kpis]
        missing: dict[str, list[str]] = {}
        duplicated: dict[str, list[str]] = {}
        statuses: dict[str, int] = {}
        all_rows = []
        with warehouse.connect() as con:
            for year in years_of(context):
                # rows of KPIs no longer in the contract file are stale: remove them
                con.execute(
                    "DELETE FROM kpi.results WHERE contract = $c AND year = $y "
                    "AND NOT list_contains($ids, kpi_id)",
                    {"c": contract.id, "y": year, "ids": ids},
                )
                rows = con.execute(
                    "SELECT kpi_id, status, value, unit FROM kpi.results "
                    "WHERE contract = $c AND year = $y ORDER BY position",
                    {"c": contract.id, "y": year},
                ).fetchall()
                present = [r[0] for r in rows]
                if lacking := [i for i in ids if i not in present]:
                    missing[str(year)] = lacking
                if twice := sorted({i for i in present if present.count(i) > 1}):
                    duplicated[str(year)] = twice
                for r in rows:
                    statuses[r[1]] = statuses.get(r[1], 0) + 1
                all_rows += [(year, *r) for r in rows]
        table = "\n".join(
            ["| år | KPI | status | værdi |", "|---|---|---|---:|"]
            + [
                f"| {y} | {k} | {s} | {number(v, 1) if v is not None else '–'} {u} |"
                for y, k, s, v, u in all_rows
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
                "dagster/row_count": len(all_rows),
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
    return max(FIRST_YEAR, min(min(ys) for ys in partitions_read(contract, year).values()))
