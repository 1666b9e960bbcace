"""KPI, budget and results assets, generated from the contract definition files.

One asset per KPI per contract (``kpi/<contract>/<kpi>``), reading exactly the clean
tables its definition names; a budget asset (``budget/<contract>/distribution``); and the
results asset (``report/<contract>/kpi_results``) that stands for the complete results
table of a contract and year, with a blocking check that every KPI has its row. All of a
contract's assets are partitioned by its contract years only, and backfill a range of years
in one run (``BackfillPolicy.single_run()``): every body works on ``context.partition_keys``.
"""

import re
import warnings
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BetaWarning,
    CodeReferencesMetadataValue,
    Failure,
    LocalFileCodeReference,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    asset,
)

from assets.common import (
    INGESTED,
    RETRY,
    SINGLE_RUN,
    WAREHOUSE_POOL,
    Outcome,
    check_events,
    ingested_spec,
    markdown_text,
    missing_outcomes,
    not_ingested,
    preload,
    unchanged_metadata,
    years_of,
)
from assets.ingestion import ingest_key
from assets.partitions import year_partitions
from resources import Warehouse
from resultatrapport.contracts import AnyKpi, Contract, PopulationKeyBudget, contract_path
from resultatrapport.formats import FORMATS
from resultatrapport.kpis.budget import budget_inputs, budget_lines
from resultatrapport.kpis.budget import still_holds as budget_still_holds
from resultatrapport.kpis.budget import store as store_budget
from resultatrapport.kpis.compute import (
    evaluate,
    inputs_fingerprint,
    kpi_reads,
    measure,
    partitions_read,
    still_holds,
)
from resultatrapport.kpis.kinds import KINDS, Measure
from resultatrapport.kpis.results_table import described_columns, remove_others, store
from resultatrapport.naming import budget_path, ingestion_job_name, kpi_path, report_path
from resultatrapport.report import content
from resultatrapport.report.confidential import confidential_detail, value_may_be_withheld
from resultatrapport.report.danish import number
from resultatrapport.report.rounding import printed_target, printed_value, value_decimals
from resultatrapport.vocabulary import FIRST_YEAR, IKKE_OPFYLDT, OPERATOR_SIGN, OPFYLDT

ANALYSTS = "team:analysts"
# the non-blocking checks of every KPI, named by what they mean so that the asset's badge
# tells a missed target (target_met fails) from a met one whose interval holds the target
# (target_met passes, status_certain fails)
TARGET_MET = "target_met"
STATUS_CERTAIN = "status_certain"
# the blocking check of the results asset: every KPI of the contract has its one row
RESULTS_COMPLETE = "complete"

# what the draft (report.py) renders with
REPORT_MODULES = ("resultatrapport.report.view", "weasyprint")


def contract_partitions(contract: Contract) -> TimeWindowPartitionsDefinition:
    """The contract's years only: a backfill of the contract never touches other years."""
    return year_partitions(contract.period.first, contract.period.last + 1)


def group_name(contract: Contract, stage: str = "kpi") -> str:
    """Groups per stage and contract: ``kpi_<contract>``, ``report_<contract>``."""
    return f"{stage}_{contract.scope}"


def kpi_key(contract: Contract, kpi: AnyKpi) -> AssetKey:
    return AssetKey(kpi_path(contract, kpi.asset_name))


def source_dep(contract: Contract, source: str, back: int = 0) -> AssetDep:
    """The dependency on an ingested source: the same year and the ``back`` years before."""
    org = contract.source_org(source)
    key = ingest_key(FORMATS[source], org)
    mapping = TimeWindowPartitionMapping(
        start_offset=-back, end_offset=0, allow_nonexistent_upstream_partitions=True
    )
    return AssetDep(key, partition_mapping=mapping)


def _describe(kpi: AnyKpi) -> str:
    """The KPI as the catalog shows it (Markdown): the contract's own words escaped, so a
    ``>=`` or ``*`` in them renders as written."""
    targets = ", ".join(
        f"{y}: {OPERATOR_SIGN.get(t.operator, t.operator)} {printed_target(t.value, kpi.unit)}"
        if t
        else f"{y}: intet mål"
        for y, t in sorted(kpi.targets.items())
    )
    parts = [
        f"**{markdown_text(kpi.id)} {markdown_text(kpi.name)}** ({markdown_text(kpi.goal)})",
        f"Kontrakten: {markdown_text(kpi.contract_text)}",
        f"Mål: {markdown_text(targets)}",
    ]
    if method := KINDS[kpi.kind].method(kpi):
        parts.append(f"Metode: {markdown_text(method)}")
    if kpi.interpretation:
        parts.append(f"Fortolkning: {markdown_text(kpi.interpretation)}")
    parts.append(
        f"Kind `{kpi.kind}`; definition in `contracts/`, computation in `resultatrapport/kpis/`."
    )
    return "\n\n".join(parts)


def contract_file(contract: Contract) -> Path:
    return contract_path(contract)


def kpi_line(path: Path, kpi_id: str) -> int | None:
    """The line (1-based) of ``- id: <kpi_id>`` in the file's top-level ``kpis:`` list."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    pattern = re.compile(r"^\s*-\s*id:\s*[\"']?" + re.escape(kpi_id) + r"[\"']?\s*(#.*)?$")
    in_kpis = False
    for number_, line in enumerate(lines, start=1):
        if re.match(r"^[A-Za-z_][\w-]*:", line):  # a top-level key starts a new section
            in_kpis = line.startswith("kpis:")
        elif in_kpis and pattern.match(line):
            return number_
    return None


def code_references(contract: Contract, kpi: AnyKpi) -> dict[str, Any]:
    """The KPI's definition in its contract file, for the asset's "View source" link."""
    path = contract_file(contract)
    line = kpi_line(path, kpi.id)
    if line is None:
        return {}
    # code references are beta in Dagster 1.13; relied on knowingly, not warned per asset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        return {
            "dagster/code_references": CodeReferencesMetadataValue(
                code_references=[
                    LocalFileCodeReference(
                        file_path=str(path.resolve()),
                        line_number=line,
                        label=f"{kpi.id} i contracts/{path.name}",
                    )
                ]
            )
        }


def contract_tags(contract: Contract, stage: str) -> dict[str, str]:
    """Tags to filter the catalog by: contract, stage, organisation (valid tag values: the
    ids and slugs are letters, digits and hyphens)."""
    return {"contract": contract.id, "stage": stage, "organisation": contract.organisation.slug}


def _rounded(
    value: float | None, unit: str, target: float | None = None, operator: str | None = None
) -> MetadataValue:
    """A figure as the report rounds it (the unit's decimals, more where fewer would read as
    the other status against the target: resultatrapport/report/rounding.py), typed for the
    UI's plots."""
    if value is None:
        return MetadataValue.null()
    return MetadataValue.float(round(float(value), value_decimals(value, unit, target, operator)))


def kpi_metadata(kpi: AnyKpi, result: Any, m: Any) -> dict[str, Any]:
    """One year's materialisation metadata: numbers as numbers (plotted per partition).
    Nothing before suppression: a confidential KPI's detail table (counts before small
    cells and their complements are withheld) is never shown, and the value of a KPI that
    the report may withhold to protect another figure not either (the report decides that
    over all the year's KPIs; `report/<contract>/kpi_results` shows the published value)."""
    hidden = value_may_be_withheld(kpi, result.year)
    shown = None if hidden else result
    metadata: dict[str, Any] = {
        "value": _rounded(shown and result.value, result.unit, result.target, result.operator),
        "target": MetadataValue.float(float(result.target))
        if result.target is not None
        else MetadataValue.null(),
        "operator": MetadataValue.text(result.operator or ""),
        "status": MetadataValue.text(result.status),
        "uncertain": MetadataValue.bool(result.uncertain)
        if result.uncertain is not None
        else MetadataValue.null(),
        "low": _rounded(shown and result.low, result.unit, result.target, result.operator),
        "high": _rounded(shown and result.high, result.unit, result.target, result.operator),
        "unit": MetadataValue.text(result.unit),
        "n": MetadataValue.int(result.n if result.n is not None else 0),
        "remark": MetadataValue.text(result.remark),
    }
    if result.path_value is not None:
        metadata["path_value"] = _rounded(result.path_value, result.unit)
    for name, value in result.extra.items():
        if isinstance(value, int | float) and value is not None:
            metadata[f"method/{name}"] = value
    if hidden:
        metadata["confidential"] = MetadataValue.text(
            "Værdien vises i rapporten og i report/…/kpi_results, efter diskretionering"
        )
    if m.detail and not result.suppressed and not confidential_detail(kpi):
        metadata["detail"] = MetadataValue.json(m.detail[:50])
    return metadata


def _said(result: Any) -> str:
    sign = OPERATOR_SIGN.get(result.operator, result.operator)
    unit, target, op = result.unit, result.target, result.operator
    value = printed_value(result.value, unit, target, op)  # as the report prints them
    return f"{value} {unit}, mål {sign} {printed_target(target, unit)}"


def _status_metadata(result: Any) -> dict[str, Any]:
    unit, target, op = result.unit, result.target, result.operator
    return {
        "status": MetadataValue.text(result.status),
        "uncertain": MetadataValue.bool(bool(result.uncertain)),
        "value": _rounded(result.value, unit, target, op),
        "target": MetadataValue.float(float(target)),
        "operator": MetadataValue.text(result.operator or ""),
    }


def target_outcome(result: Any) -> Outcome | None:
    """``target_met``: passes when the year's target is met, warns when it is missed (however
    sure); none (skipped) without a target or a value."""
    if result.status not in (OPFYLDT, IKKE_OPFYLDT):
        return None
    return Outcome(
        passed=result.status == OPFYLDT,
        description=f"{result.status}: {_said(result)}",
        metadata=_status_metadata(result),
    )


def certainty_outcome(result: Any) -> Outcome | None:
    """``status_certain``: passes when the 95 % interval lies on one side of the target (or
    the figure is a count with no interval), warns when it holds the target, so the status
    could be the other one; none (skipped) where ``target_met`` is skipped."""
    if result.status not in (OPFYLDT, IKKE_OPFYLDT):
        return None
    unit, target, op = result.unit, result.target, result.operator
    if result.uncertain:
        low, high = (printed_value(b, unit, target, op) for b in (result.low, result.high))
        description = (
            f"Usikkert ({result.status}): 95 %-intervallet {low} – {high} rummer målet "
            f"({_said(result)})"
        )
    elif result.low is None:
        description = f"Sikkert ({result.status}): en optælling uden interval ({_said(result)})"
    else:
        description = f"Sikkert ({result.status}): 95 %-intervallet ligger på samme side af målet"
    return Outcome(
        passed=not result.uncertain, description=description, metadata=_status_metadata(result)
    )


def build_kpi_asset(
    contract: Contract, kpi: AnyKpi, partitions: TimeWindowPartitionsDefinition
) -> AssetsDefinition:
    key = kpi_key(contract, kpi)

    @asset(
        key=key,
        partitions_def=partitions,
        group_name=group_name(contract),
        deps=[source_dep(contract, s, KINDS[kpi.kind].back(s)) for s in kpi.sources],
        description=_describe(kpi),
        kinds={"duckdb"},
        owners=[ANALYSTS],
        pool=WAREHOUSE_POOL,
        retry_policy=RETRY,
        backfill_policy=SINGLE_RUN,
        tags={"kpi_kind": kpi.kind, **contract_tags(contract, "kpi")},
        metadata={
            "kpi_id": kpi.id,
            "kind": kpi.kind,
            "unit": kpi.unit,
            "targets": MetadataValue.json(
                {str(y): (t.model_dump() if t else None) for y, t in kpi.targets.items()}
            ),
            **code_references(contract, kpi),
        },
        check_specs=[
            ingested_spec(key, partitions),
            AssetCheckSpec(
                TARGET_MET,
                asset=key,
                partitions_def=partitions,
                description="Target met: passes when the year's result meets the contract's "
                "target, warns when it misses it; skipped when the year has no target or the KPI "
                "is not measurable.",
            ),
            AssetCheckSpec(
                STATUS_CERTAIN,
                asset=key,
                partitions_def=partitions,
                description="Status certain: passes when the 95 % interval lies on one side of "
                "the target (or the figure is a count), warns when it holds the target, so "
                "that met or missed could be the other one; skipped with target_met.",
            ),
        ],
    )
    def kpi_asset(context: AssetExecutionContext, warehouse: Warehouse) -> Any:
        years = years_of(context)
        results = []
        with warehouse.connect() as con:
            lacking = {y: not_ingested(con, kpi_reads(contract, kpi, y)) for y in years}
            ingested, refusal = missing_outcomes(years, lacking, ingestion_job_name(contract.id))
            for year in [] if refusal else years:
                inputs = inputs_fingerprint(con, contract, kpi, year)
                kept = still_holds(con, contract, kpi, year, inputs)
                if kept is not None:  # nothing it follows from changed: not measured again
                    shown = Measure(kept.result.value, detail=kept.detail)
                    results.append((kept.result, shown, unchanged_metadata(kept.computed_at)))
                    continue
                # the draft renders after the KPIs: its libraries load while DuckDB computes
                preload(*REPORT_MODULES)
                m = measure(con, contract, kpi, year)
                result = evaluate(contract, kpi, year, m)
                detail = [] if result.suppressed else m.detail
                store(con, result, detail, context.run.run_id, inputs)
                results.append((result, m, {}))
        if refusal:  # nothing computed: the check names what to ingest, the run fails
            yield from check_events(context, key, INGESTED, ingested, blocking=True)
            raise Failure(description=refusal, allow_retries=False)
        # one materialisation per year, each with its own figures (a range run included)
        for result, m, since in results:
            context.add_asset_metadata(
                {**kpi_metadata(kpi, result, m), **since}, partition_key=str(result.year)
            )
        yield MaterializeResult()
        yield from check_events(context, key, INGESTED, ingested, blocking=True)
        yield from check_events(
            context, key, TARGET_MET, {str(r.year): target_outcome(r) for r, _, _ in results}
        )
        yield from check_events(
            context,
            key,
            STATUS_CERTAIN,
            {str(r.year): certainty_outcome(r) for r, _, _ in results},
        )

    return kpi_asset


def build_budget_asset(
    contract: Contract, partitions: TimeWindowPartitionsDefinition
) -> AssetsDefinition:
    budget = contract.budget
    source = budget.source

    key = AssetKey(budget_path(contract))

    @asset(
        key=key,
        partitions_def=partitions,
        group_name=group_name(contract),
        deps=[source_dep(contract, source)],
        description=markdown_text(f"{budget.title}. {budget.note}".strip()),
        kinds={"duckdb"},
        owners=[ANALYSTS],
        pool=WAREHOUSE_POOL,
        retry_policy=RETRY,
        backfill_policy=SINGLE_RUN,
        tags=contract_tags(contract, "budget"),
        metadata={"dagster/table_name": "kpi.budget"},
        check_specs=[
            ingested_spec(key, partitions),
            AssetCheckSpec(
                "inputs_complete",
                asset=key,
                partitions_def=partitions,
                description="The deliveries the distribution needs hold what it reads (the "
                "population quarter of the key, the price index of the year and the base year). "
                "Fails with ERROR naming the file and what it lacks; the draft says the budget "
                "is not computed and why, and the sign-off is refused.",
            ),
        ],
    )
    def budget_asset(context: AssetExecutionContext, warehouse: Warehouse) -> Any:
        years = years_of(context)
        per_year = []
        lacking: dict[str, str] = {}
        with warehouse.connect() as con:
            org = contract.source_org(source)
            missing = {y: not_ingested(con, [(source, org, y)]) for y in years}
            ingested, refusal = missing_outcomes(years, missing, ingestion_job_name(contract.id))
            for year in [] if refusal else years:
                inputs = budget_inputs(con, contract, year)
                kept = budget_still_holds(con, contract, year, inputs)
                if kept is not None:  # nothing it follows from changed: not computed again
                    distribution, since = kept.distribution, unchanged_metadata(kept.computed_at)
                else:
                    distribution, since = budget_lines(con, budget, year), {}
                    store_budget(con, contract.id, year, distribution, inputs)
                lines, remark = distribution.lines, distribution.remark
                if distribution.incomplete:
                    lacking[str(year)] = remark
                per_year.append((year, lines, remark, since))
        if refusal:  # nothing computed: the check names what to ingest, the run fails
            yield from check_events(context, key, INGESTED, ingested, blocking=True)
            raise Failure(description=refusal, allow_retries=False)
        for year, lines, remark, since in per_year:
            table = "\n".join(
                ["| | beløb (kr.) | folketal | andel |", "|---|---:|---:|---:|"]
                + [
                    f"| {b.name} | {number(b.amount)} | {number(b.population) if b.population else ''} | "
                    f"{number(b.share_pct, 4) if b.share_pct is not None else ''} |"
                    for b in lines
                ]
            )
            total_amount = _total(lines)
            context.add_asset_metadata(
                {
                    "total_kr": MetadataValue.int(int(total_amount))
                    if total_amount is not None
                    else MetadataValue.null(),
                    "distribution": MetadataValue.md(table if lines else remark),
                    "remark": remark,
                    **since,
                },
                partition_key=str(year),
            )
        yield MaterializeResult()
        yield from check_events(context, key, INGESTED, ingested, blocking=True)
        yield from check_events(
            context,
            key,
            "inputs_complete",
            {
                str(y): Outcome(
                    passed=str(y) not in lacking,
                    severity=AssetCheckSeverity.ERROR,
                    description=lacking.get(str(y), "Alle input til fordelingen findes."),
                    metadata={"problems": MetadataValue.text(lacking[str(y)])}
                    if str(y) in lacking
                    else {},
                )
                for y, *_ in per_year
            },
        )

    def _total(lines: list[Any]) -> int | None:
        if not lines:
            return None
        if isinstance(budget, PopulationKeyBudget):
            return sum(b.amount for b in lines)
        return next((b.amount for b in lines if b.key == "total"), None)

    return budget_asset


# the columns of kpi.results as declared once (resultatrapport.kpis.results_table)
RESULTS_SCHEMA = TableSchema(
    columns=[
        TableColumn(name, sql_type, description=doc) for name, sql_type, doc in described_columns()
    ]
)


OVERVIEW_SCHEMA = TableSchema(
    columns=[
        TableColumn("kpi", "string", description="the KPI's id in the contract"),
        TableColumn("status", "string", description="as the report prints it"),
        TableColumn("usikker", "bool", description="the 95 % interval holds the target"),
        TableColumn("vaerdi", "string", description="the published value (– withheld)"),
        TableColumn("maal", "string", description="the year's target"),
    ]
)


def _count_statuses(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for row in rows:
        counted[row[2]] = counted.get(row[2], 0) + 1
    return counted


def overview_table(rows: list[tuple[Any, ...]]) -> MetadataValue:
    """The year's KPIs as a table: one row each, its status and whether it is uncertain."""
    records = []
    for _year, kpi_id, status, value, unit, target, op, uncertain in rows:
        sign = OPERATOR_SIGN.get(op, op or "")
        records.append(
            TableRecord(
                {
                    "kpi": kpi_id,
                    "status": status,
                    "usikker": bool(uncertain),
                    "vaerdi": "–"
                    if value is None
                    else f"{printed_value(value, unit, target, op)} {unit}",
                    "maal": "" if target is None else f"{sign} {printed_target(target, unit)}",
                }
            )
        )
    return MetadataValue.table(records, schema=OVERVIEW_SCHEMA)


def build_results_asset(
    contract: Contract, partitions: TimeWindowPartitionsDefinition, upstream: list[AssetKey]
) -> AssetsDefinition:
    key = AssetKey(report_path(contract, "kpi_results"))

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
        tags=contract_tags(contract, "results"),
        metadata={"dagster/table_name": "kpi.results", "dagster/column_schema": RESULTS_SCHEMA},
        check_specs=[
            AssetCheckSpec(
                RESULTS_COMPLETE,
                asset=key,
                partitions_def=partitions,
                blocking=True,
                description="Every KPI of the contract has exactly one result row for the year.",
            )
        ],
    )
    def results_asset(context: AssetExecutionContext, warehouse: Warehouse) -> Any:
        ids = [k.id for k in contract.kpis]
        missing: dict[str, list[str]] = {}
        duplicated: dict[str, list[str]] = {}
        all_rows: list[tuple[Any, ...]] = []
        with warehouse.connect() as con:
            for year in years_of(context):
                # rows of KPIs no longer in the contract file are stale: remove them
                remove_others(con, contract.id, year, ids)
                # as the report publishes them: a value withheld to protect another is
                # withheld here too (nothing before suppression in the UI)
                rows = [
                    (
                        r["kpi_id"], r["status"], r["value"], r["unit"], r["target"],
                        r["operator"], r["uncertain"],
                    )
                    for r in content.published(con, contract, year)[0]
                ]  # fmt: skip
                present = [r[0] for r in rows]
                if lacking := [i for i in ids if i not in present]:
                    missing[str(year)] = lacking
                if twice := sorted({i for i in present if present.count(i) > 1}):
                    duplicated[str(year)] = twice
                all_rows += [(year, *r) for r in rows]
        # per year, as the catalog's partition view shows it: which KPIs are met, missed or
        # uncertain, without opening each KPI's asset
        for year in years_of(context):
            of_year = [r for r in all_rows if r[0] == year]
            context.add_asset_metadata(
                {
                    "dagster/row_count": len(of_year),
                    "statuses": MetadataValue.json(_count_statuses(of_year)),
                    "kpis": overview_table(of_year),
                },
                partition_key=str(year),
            )
        yield MaterializeResult()
        yield from check_events(
            context,
            key,
            RESULTS_COMPLETE,
            {
                str(y): Outcome(
                    passed=str(y) not in missing and str(y) not in duplicated,
                    severity=AssetCheckSeverity.ERROR,
                    description="; ".join(
                        [f"mangler: {', '.join(missing[str(y)])}"] if str(y) in missing else []
                    )
                    + "; ".join(
                        [f"to gange: {', '.join(duplicated[str(y)])}"]
                        if str(y) in duplicated
                        else []
                    )
                    or "Hver KPI har én række.",
                    metadata={
                        "missing": MetadataValue.json(missing.get(str(y), [])),
                        "duplicated": MetadataValue.json(duplicated.get(str(y), [])),
                    },
                )
                for y in years_of(context)
            },
            blocking=True,
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


def range_of_reads(contract: Contract, years: list[int]) -> list[int]:
    """Every partition year the contract's KPIs read for ``years`` (for the CLI)."""
    return sorted(
        {y for year in years for ys in partitions_read(contract, year).values() for y in ys}
    )
