"""Ingestion assets, generated from the declared formats: one pair per source and scope.

``raw/<scope>/<source>`` ingests the delivery for the years of its run
(:func:`resultatrapport.ingestion.ingest_delivery`: read with personal data dropped,
validated with Great Expectations, trusted or not, committed) and turns what the library
did into the materialisations and two check results per year: ``rows_valid`` (warns: rows
that will be quarantined) and ``file_trustworthy`` (blocking: duplicate ids or too many bad
rows). ``ingest/<scope>/<source>`` reports the clean typed rows and the quarantine. The
scope is the organisation (per-organisation sources) or ``register``/``erst``.

A year whose file was not read again (the same content judged by the same rules) is
materialised with ``unchanged_since`` and the file's SHA-256, and its checks with the recorded
outcomes. The file's SHA-256 is the materialisation's data version where the run's years
share one file (a run of one year, a year-less register): Dagster takes one data version per
step output, so a range run over files of their own years gets Dagster's own.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
    asset,
)

from assets.common import (
    RETRY,
    SINGLE_RUN,
    WAREHOUSE_POOL,
    Outcome,
    check_events,
    preload,
    unchanged_metadata,
    years_of,
)
from assets.partitions import YEARS
from resources import Inbox, ValidationSettings, Warehouse
from resultatrapport.formats import FORMATS, REGISTER_SOURCES, SourceFormat
from resultatrapport.gx import RuleOutcome
from resultatrapport.ingest import CleanResult, partition_summary
from resultatrapport.ingestion import (
    FILE_TRUSTWORTHY,
    ROWS_VALID,
    Trust,
    YearIngested,
    ingest_delivery,
)
from resultatrapport.naming import INGEST, RAW, ingest_path, raw_path, source_scope
from resultatrapport.rules import SQL_TYPES

OWNER = "team:data-engineering"


def raw_key(fmt: SourceFormat, org: str | None) -> AssetKey:
    return AssetKey(raw_path(fmt, org))


def ingest_key(fmt: SourceFormat, org: str | None) -> AssetKey:
    return AssetKey(ingest_path(fmt, org))


def scope_tags(fmt: SourceFormat, org: str | None, stage: str) -> dict[str, str]:
    """Tags to filter the catalog by: the stage, and the organisation (a slug) or the
    register the rows come from. The graph labels a node with its key's last part only
    (``crm_cases`` under raw and ingest alike); these and the groups tell them apart."""
    return {"stage": stage, "organisation": org or source_scope(fmt, org)}


def column_schema(fmt: SourceFormat, typed: bool) -> TableSchema:
    cols = [
        TableColumn("org", "VARCHAR", description="organisation slug (NULL for register data)"),
        TableColumn("year", "INTEGER", description="partition year"),
        TableColumn("line", "INTEGER", description="line in the delivered file (header = 1)"),
    ]
    if not typed:
        cols.append(
            TableColumn("parse_error", "VARCHAR", description="why the line was unreadable")
        )
    for c in fmt.kept:
        kind = SQL_TYPES[c.type] if typed else "VARCHAR"
        cols.append(TableColumn(c.name, kind, description=f"'{c.header}' in the delivery"))
    if typed:
        cols += [TableColumn(n, t, description="derived") for n, t, _ in fmt.extra_columns]
    return TableSchema(columns=cols)


def _trust_metadata(verdict: Trust) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "rows_read": verdict.rows,
        "rows_failing": verdict.failing,
        "failing_share": MetadataValue.float(round(verdict.share, 4)),
        "threshold": MetadataValue.float(verdict.threshold),
    }
    if verdict.problems:
        metadata["problems"] = MetadataValue.md(verdict.summary)
    for column, examples in verdict.duplicates.items():
        metadata[f"examples_{column}"] = MetadataValue.json(examples)
    return metadata


def _rows_valid_metadata(outcomes: list[RuleOutcome], rows: int) -> dict[str, Any]:
    failed = [o for o in outcomes if not o.success]
    table = "\n".join(
        ["| regel | kolonne | rækker | årsag | eksempler (linje) |", "|---|---|---|---|---|"]
        + [
            f"| {o.rule} | {o.column or ''} | {o.unexpected_count} | {o.reason} | "
            f"{', '.join(str(e['linje']) for e in o.examples)} |"
            for o in failed
        ]
    )
    metadata: dict[str, Any] = {
        "rows_read": rows,
        "rules_checked": len(outcomes),
        "rules_failed": len(failed),
    }
    if failed:
        metadata["failed_rules"] = MetadataValue.md(table)
        metadata["examples"] = MetadataValue.json({o.rule: o.examples for o in failed})
    return metadata


@dataclass
class YearEvents:
    """What the raw step shows of one year of its run: the partition's metadata and check
    outcomes, and why the delivery was not taken (None: it was, or it is missing)."""

    year: int
    metadata: dict[str, Any]
    checks: dict[str, Outcome]
    refused: str | None = None
    # the content the partition's materialisation stands for: the file's SHA-256
    version: str | None = None


# the data version of a partition whose file was never delivered
NO_FILE = "ingen fil"
# the event tag Dagster reads an AssetMaterialization's data version from
# (dagster._core.definitions.data_version.DATA_VERSION_TAG, not exported)
DATA_VERSION_TAG = "dagster/data_version"


def _year_events_of(done: YearIngested) -> YearEvents:
    """The library's result for a year as the partition's metadata and check outcomes."""
    metadata: dict[str, Any] = {"file": done.file}
    if done.delivery is not None:
        delivery = done.delivery
        metadata = {
            "file": delivery.relpath,
            "sha256": delivery.sha256 or "",
            "encoding": delivery.encoding or "",
            "dagster/row_count": delivery.rows_read,
            "rows_unreadable": delivery.rows_rejected,
            "lines_in_file": delivery.physical_lines,
            "blank_lines": delivery.blank_lines,
            "rows_other_years": delivery.out_of_partition,
        }
        if done.missing:
            metadata["missing"] = True
    elif done.unreadable is not None:  # where
        where = done.unreadable
        metadata = {"file": where.file, "line": where.line or 0, "column": where.column or ""}
    if done.unchanged is not None:  # not read again: the file and rows are those of then
        metadata["sha256"] = done.unchanged.sha256 or ""
        metadata |= unchanged_metadata(done.unchanged.since)
    checks: dict[str, Outcome]
    if done.rules is None or done.trust is None:  # decided before validation, or recorded
        since = unchanged_metadata(done.unchanged.since) if done.unchanged else {}
        checks = {
            c.name: Outcome(
                passed=c.passed,
                description="",
                metadata={"note": MetadataValue.text(c.summary), **since},
                severity=AssetCheckSeverity.ERROR if c.blocking else AssetCheckSeverity.WARN,
            )
            for c in done.checks
        }
    else:
        checks = {
            ROWS_VALID: Outcome(
                passed=done.check(ROWS_VALID).passed,
                description="",
                metadata=_rows_valid_metadata(done.rules, done.trust.rows),
            ),
            FILE_TRUSTWORTHY: Outcome(
                passed=done.trust.trusted,
                description="",
                metadata=_trust_metadata(done.trust),
                severity=AssetCheckSeverity.ERROR,
            ),
        }
    sha = done.unchanged.sha256 if done.unchanged else done.delivery and done.delivery.sha256
    version = None if done.delivery is None and done.unchanged is None else sha or NO_FILE
    return YearEvents(done.year, metadata, checks, done.refused, version)


def build_source_assets(fmt: SourceFormat, org: str | None) -> list[AssetsDefinition]:
    return [_raw_asset(fmt, org), _ingest_asset(fmt, org)]


def _raw_asset(fmt: SourceFormat, org: str | None) -> AssetsDefinition:
    rkey = raw_key(fmt, org)
    where = f" for {org}" if org else ""
    pattern = fmt.path.replace("{org}", org or "")
    rules = "; ".join(
        f"{c.name}: {', '.join(r.kind for r in c.rules)}" for c in fmt.kept if c.rules
    )

    @asset(
        key=rkey,
        partitions_def=YEARS,
        group_name=RAW,
        kinds={"duckdb", fmt.file_type},
        owners=[OWNER],
        tags=scope_tags(fmt, org, "raw"),
        pool=WAREHOUSE_POOL,
        retry_policy=RETRY,
        backfill_policy=SINGLE_RUN,
        description=(
            f"{fmt.title}{where}: rows of `{pattern}` as delivered, personal data removed, "
            f"CPR-shaped text masked. Rules: {rules}."
        ),
        metadata={
            "dagster/column_schema": column_schema(fmt, typed=False),
            "dagster/table_name": f"raw.{fmt.name}",
            "inbox_file": pattern,
        },
        check_specs=[
            AssetCheckSpec(
                ROWS_VALID,
                asset=rkey,
                partitions_def=YEARS,
                description="Every row satisfies the format's rules (Great Expectations); "
                "rows that do not are quarantined and this check warns.",
            ),
            AssetCheckSpec(
                FILE_TRUSTWORTHY,
                asset=rkey,
                partitions_def=YEARS,
                blocking=True,
                description="No duplicate ids and no more bad rows than the threshold; "
                "if it fails, the partition's downstream assets do not run.",
            ),
        ],
    )
    def raw_asset(
        context: AssetExecutionContext,
        inbox: Inbox,
        warehouse: Warehouse,
        validation: ValidationSettings,
    ) -> Iterator[Output | AssetMaterialization | AssetCheckEvaluation | MaterializeResult]:
        yield from _raw_step(context, fmt, org, inbox, warehouse, validation)

    return raw_asset


def _raw_step(
    context: AssetExecutionContext,
    fmt: SourceFormat,
    org: str | None,
    inbox: Inbox,
    warehouse: Warehouse,
    validation: ValidationSettings,
) -> Iterator[Output | AssetMaterialization | AssetCheckEvaluation | MaterializeResult]:
    """Every year of the run, each replaced in its own transaction
    (:func:`resultatrapport.ingestion.ingest_delivery`); then one materialisation and one
    evaluation of each check per year. A year whose delivery is not taken is not
    materialised, and the step fails naming it after the other years are done."""
    root = inbox.existing_root()
    # one connection for the whole step: each open and close of the file costs a
    # checkpoint, and the step holds the warehouse pool slot anyway
    with warehouse.connect() as con:
        done = ingest_delivery(
            con,
            fmt,
            org,
            root,
            years_of(context),
            max_share=validation.max_quarantined_share,
            run_id=context.run.run_id,
            # GX is imported while DuckDB reads the delivery (not at all when none is read)
            reading=lambda: preload("resultatrapport.gx", "great_expectations"),
        )
    for year in done:
        if year.refused and year.delivery is not None and year.rules is None:
            context.log.error(year.refused)  # refused before validation
        elif year.missing:
            context.log.warning(
                f"{year.file}: no delivery for {year.year}; KPIs needing it are not measurable"
            )
    yield from _year_events(context, raw_key(fmt, org), [_year_events_of(d) for d in done])


def _refusals(refused: list[YearEvents]) -> str:
    """Why the years were not taken, once for the years refused alike: 'a_2021.csv,
    a_2022.csv tages ikke ind: …' rather than the same reason once per year."""
    files: dict[str, list[str]] = {}
    for d in refused:
        text = str(d.refused)
        file = str(d.metadata.get("file", ""))
        files.setdefault(text.replace(file, "{file}", 1) if file else text, []).append(file)
    return "; ".join(
        reason.replace("{file}", ", ".join(names), 1) for reason, names in files.items()
    )


def _year_events(
    context: AssetExecutionContext, key: AssetKey, done: list[YearEvents]
) -> Iterator[Output | AssetMaterialization | AssetCheckEvaluation | MaterializeResult]:
    """The run's events: a materialisation per year taken (each with its own metadata), one
    evaluation of each check per year, then the failure naming the years not taken. A year
    not taken shows the failure in the UI and keeps the rows it had, instead of a green
    "Materialized" beside a failed blocking check."""
    refused = [d for d in done if d.refused]
    if not refused:
        for d in done:
            context.add_asset_metadata(d.metadata, partition_key=str(d.year))
        # one data version for every partition of the step: only where they share one file
        versions = {d.version for d in done}
        version = versions.pop() if len(versions) == 1 else None
        yield MaterializeResult(data_version=DataVersion(version) if version else None)
    else:  # only the years taken are materialised, each with its own data version
        for d in done:
            if not d.refused:
                tags = {DATA_VERSION_TAG: d.version} if d.version else None
                yield AssetMaterialization(
                    key, partition=str(d.year), metadata=d.metadata, tags=tags
                )
    for name, blocking in ((ROWS_VALID, False), (FILE_TRUSTWORTHY, True)):
        outcomes: dict[str, Outcome | None] = {str(d.year): d.checks[name] for d in done}
        yield from check_events(context, key, name, outcomes, blocking=blocking)
    if refused:
        metadata = refused[0].metadata if len(refused) == 1 else {}
        raise Failure(
            description=_refusals(refused),
            metadata={**metadata, "years_not_taken": [d.year for d in refused]},
            allow_retries=False,
        )


def _ingest_asset(fmt: SourceFormat, org: str | None) -> AssetsDefinition:
    rkey, ikey = raw_key(fmt, org), ingest_key(fmt, org)
    where = f" for {org}" if org else ""

    @asset(
        key=ikey,
        deps=[rkey],
        partitions_def=YEARS,
        group_name=INGEST,
        kinds={"duckdb"},
        owners=[OWNER],
        tags=scope_tags(fmt, org, "ingest"),
        pool=WAREHOUSE_POOL,
        retry_policy=RETRY,
        backfill_policy=SINGLE_RUN,
        description=(
            f"{fmt.title}{where}: {fmt.description} Typed rows that broke no rule; the others "
            "are in `ingest.quarantine` with file, line and reason."
        ),
        metadata={
            "dagster/column_schema": column_schema(fmt, typed=True),
            "dagster/table_name": f"ingest.{fmt.name}",
        },
    )
    def ingest_asset(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        # the raw step committed the rows of each year; this reports them, year by year
        with warehouse.connect() as con:
            for year in years_of(context):
                result = partition_summary(con, fmt, year, org)
                context.add_asset_metadata(_summary_metadata(result), partition_key=str(year))
        return MaterializeResult()

    return ingest_asset


def _summary_metadata(result: CleanResult) -> dict[str, Any]:
    reasons = "\n".join(f"| {r} | {n} |" for r, n in result.by_reason.items())
    metadata: dict[str, Any] = {
        "dagster/row_count": result.rows_clean,
        "rows_read": result.rows_read,
        "rows_quarantined": result.rows_quarantined,
        "rows_out_of_scope": result.rows_out_of_scope,
    }
    if reasons:
        metadata["quarantined_by_reason"] = MetadataValue.md(
            "| årsag | rækker |\n|---|---|\n" + reasons
        )
    return metadata


def build_ingestion_assets(deliveries: Mapping[str, Iterable[str]]) -> list[AssetsDefinition]:
    """All ingestion assets: the registers once, and each organisation's own sources.

    ``deliveries`` maps an organisation slug to the names of the sources it delivers.
    """
    assets: list[AssetsDefinition] = []
    for name in REGISTER_SOURCES:
        assets += build_source_assets(FORMATS[name], None)
    for org in sorted(deliveries):
        for name in sorted(set(deliveries[org])):
            assets += build_source_assets(FORMATS[name], org)
    return assets
