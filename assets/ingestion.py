"""Ingestion assets, generated from the declared formats: one pair per source and scope.

``raw/<scope>/<source>`` reads the delivery (personal data dropped) and validates it with
Great Expectations, returning two check results with the materialisation: ``rows_valid``
(warns: rows that will be quarantined) and ``file_trustworthy`` (blocking: duplicate ids or
too many bad rows). ``ingest/<scope>/<source>`` splits the rows into clean typed rows and
the quarantine. The scope is the organisation (per-organisation sources) or
``register``/``erst``.
"""

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from assets.common import RETRY, WAREHOUSE_POOL, preload
from assets.partitions import YEARS
from resources import Inbox, ValidationSettings, Warehouse
from resultatrapport.checks_table import record_checks
from resultatrapport.formats import FORMATS, REGISTER_SOURCES, SourceFormat
from resultatrapport.gx import validate
from resultatrapport.ingest import (
    commit_delivery,
    delivery_refusal,
    partition_summary,
    record_inbox,
    stage,
    staged_frame,
)
from resultatrapport.naming import INGEST, RAW, ingest_path, raw_path, source_scope
from resultatrapport.reader import SourceError, file_sha256
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


def _trust(
    fmt: SourceFormat, outcomes: list, rows: int, max_share: float
) -> tuple[bool, dict[str, Any]]:
    duplicates = [o for o in outcomes if o.kind == "unique" and not o.success]
    bad_lines = {line for o in outcomes if not o.success for line in o.lines}
    share = len(bad_lines) / rows if rows else 0.0
    problems = [f"{o.reason}: {o.unexpected_count} rækker" for o in duplicates]
    if share > max_share:
        problems.append(
            f"{len(bad_lines)} af {rows} rækker ({share:.1%}) kan ikke bruges; grænsen er {max_share:.0%}"
        )
    metadata: dict[str, Any] = {
        "rows_read": rows,
        "rows_failing": len(bad_lines),
        "failing_share": MetadataValue.float(round(share, 4)),
        "threshold": MetadataValue.float(max_share),
    }
    if problems:
        metadata["problems"] = MetadataValue.md("\n".join(f"- {p}" for p in problems))
    for o in duplicates:
        metadata[f"examples_{o.column}"] = MetadataValue.json(o.examples)
    return not problems, metadata


def _rows_valid_metadata(outcomes: list, rows: int) -> dict[str, Any]:
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


def _readable(root: Path, relpath: str) -> bool:
    """A regular file inside the inbox (never hash what a link out of it points to)."""
    path = root / relpath
    return path.is_file() and path.resolve().is_relative_to(root.resolve())


def _checks(outcomes: list[tuple[str, bool, bool, str]]) -> list[AssetCheckResult]:
    """The check results where the outcome was decided before validation (a missing, refused
    or unreadable delivery)."""
    return [
        AssetCheckResult(
            check_name=name,
            passed=passed,
            severity=AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN,
            metadata={"note": MetadataValue.text(summary)},
        )
        for name, passed, blocking, summary in outcomes
    ]


def _untrusted(
    checks: list[AssetCheckResult], description: str, metadata: dict[str, Any]
) -> Iterator[AssetCheckResult]:
    """A delivery that is not taken: its check results, then the step fails. Nothing is
    materialised, so the partition shows the failure in the UI and keeps the rows it had,
    instead of a green "Materialized" beside a failed blocking check."""
    yield from checks
    raise Failure(description=description, metadata=metadata, allow_retries=False)


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
                "rows_valid",
                asset=rkey,
                partitions_def=YEARS,
                description="Every row satisfies the format's rules (Great Expectations); "
                "rows that do not are quarantined and this check warns.",
            ),
            AssetCheckSpec(
                "file_trustworthy",
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
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        yield from _raw_step(context, fmt, org, inbox, warehouse, validation)

    return raw_asset


def _raw_step(
    context: AssetExecutionContext,
    fmt: SourceFormat,
    org: str | None,
    inbox: Inbox,
    warehouse: Warehouse,
    validation: ValidationSettings,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    # GX is imported while DuckDB reads the delivery
    preload("resultatrapport.gx", "great_expectations")
    year = int(context.partition_key)
    run_id = context.run.run_id
    root = inbox.existing_root()
    # one connection for the whole step: each open and close of the file costs a
    # checkpoint, and the step holds the warehouse pool slot anyway
    with warehouse.connect() as con:
        relpath = fmt.relpath(year, org)
        record_inbox(con, root)
        try:
            delivery = stage(con, fmt, root, year, org)
        except SourceError as exc:
            # nothing of the file is taken; the outcome is recorded against it, and a file
            # that cannot be read will not read on a retry either
            sha = file_sha256(root / relpath) if _readable(root, relpath) else None
            failed = [
                ("rows_valid", False, False, str(exc)),
                ("file_trustworthy", False, True, str(exc)),
            ]
            record_checks(con, fmt.name, org, year, failed, sha, run_id)
            error = {"file": exc.file, "line": exc.line or 0, "column": exc.column or ""}
            yield from _untrusted(_checks(failed), str(exc), error)
        metadata: dict[str, Any] = {
            "file": delivery.relpath,
            "sha256": delivery.sha256 or "",
            "encoding": delivery.encoding or "",
            "dagster/row_count": delivery.rows_read,
            "rows_unreadable": delivery.rows_rejected,
            "lines_in_file": delivery.physical_lines,
            "blank_lines": delivery.blank_lines,
            "rows_other_years": delivery.out_of_partition,
        }
        refusal = delivery_refusal(con, fmt, root, year, org, delivery)
        if refusal:
            context.log.error(f"{relpath}: {refusal}")
            outcomes = [
                ("rows_valid", False, False, refusal),
                ("file_trustworthy", False, True, refusal),
            ]
            record_checks(con, fmt.name, org, year, outcomes, delivery.sha256, run_id)
            yield from _untrusted(_checks(outcomes), f"{relpath}: {refusal}", metadata)
        if delivery.missing:
            context.log.warning(
                f"{relpath}: no delivery for {year}; KPIs needing it are not measurable"
            )
            metadata["missing"] = True
            missing = f"Ingen fil: {relpath}"
            outcomes = [
                ("rows_valid", True, False, missing),
                ("file_trustworthy", True, True, missing),
            ]
            commit_delivery(con, fmt, year, org, delivery, outcomes, run_id)
            yield MaterializeResult(metadata=metadata, check_results=_checks(outcomes))
            return
        frame = staged_frame(con, fmt, year)
        gx_outcomes = validate(fmt, frame, year)
        rows = len(frame)
        del frame
        trusted, trust_md = _trust(fmt, gx_outcomes, rows, validation.max_quarantined_share)
        valid_md = _rows_valid_metadata(gx_outcomes, rows)
        failed_rules = [f"{o.reason} ({o.unexpected_count})" for o in gx_outcomes if not o.success]
        problems = trust_md.get("problems")
        outcomes = [
            ("rows_valid", not failed_rules, False, "; ".join(failed_rules)),
            ("file_trustworthy", trusted, True, problems.value if problems else ""),
        ]
        if trusted:
            commit_delivery(con, fmt, year, org, delivery, outcomes, run_id)
        else:  # the partition keeps its rows; the outcome is recorded against the new file
            record_checks(con, fmt.name, org, year, outcomes, delivery.sha256, run_id)
    checks = [
        AssetCheckResult(
            check_name="rows_valid",
            passed=valid_md["rules_failed"] == 0,
            severity=AssetCheckSeverity.WARN,
            metadata=valid_md,
        ),
        AssetCheckResult(
            check_name="file_trustworthy",
            passed=trusted,
            severity=AssetCheckSeverity.ERROR,
            metadata=trust_md,
        ),
    ]
    if not trusted:
        problem = trust_md.get("problems")
        yield from _untrusted(
            checks,
            f"{fmt.relpath(year, org)} tages ikke ind: "
            + (str(problem.value) if problem else "filen er ikke troværdig"),
            metadata,
        )
    yield MaterializeResult(metadata=metadata, check_results=checks)


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
        year = int(context.partition_key)
        with warehouse.connect() as con:  # the raw step committed the rows; this reports them
            result = partition_summary(con, fmt, year, org)
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
        return MaterializeResult(metadata=metadata)

    return ingest_asset


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
