"""Ingestion assets, generated from the declared formats: one pair per source and scope.

``raw/<scope>/<source>`` reads the delivery (personal data dropped) and validates it with
Great Expectations, returning two check results with the materialisation: ``rows_valid``
(warns: rows that will be quarantined) and ``file_trustworthy`` (blocking: duplicate ids or
too many bad rows). ``ingest/<scope>/<source>`` splits the rows into clean typed rows and
the quarantine. The scope is the organisation (per-organisation sources) or
``register``/``erst``.
"""

from collections.abc import Iterable, Mapping
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

from resultatrapport.assets.common import RETRY, WAREHOUSE_POOL, preload
from resultatrapport.formats import FORMATS, REGISTER_SOURCES, SourceFormat
from resultatrapport.ingest import build_clean, load_raw, raw_frame, record_checks
from resultatrapport.pipelines.partitions import YEARS
from resultatrapport.reader import SourceError
from resultatrapport.resources import Inbox, ValidationSettings, Warehouse
from resultatrapport.rules import SQL_TYPES

OWNER = "team:data-engineering"


def scope_name(fmt: SourceFormat, org: str | None) -> str:
    if org:
        return org.replace("-", "_")
    return "erst" if fmt.path.startswith("erst/") else "register"


def raw_key(fmt: SourceFormat, org: str | None) -> AssetKey:
    return AssetKey(["raw", scope_name(fmt, org), fmt.name])


def ingest_key(fmt: SourceFormat, org: str | None) -> AssetKey:
    return AssetKey(["ingest", scope_name(fmt, org), fmt.name])


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


def build_source_assets(fmt: SourceFormat, org: str | None) -> list[AssetsDefinition]:
    rkey, ikey = raw_key(fmt, org), ingest_key(fmt, org)
    where = f" for {org}" if org else ""
    pattern = fmt.path.replace("{org}", org or "")
    rules = "; ".join(
        f"{c.name}: {', '.join(r.kind for r in c.rules)}" for c in fmt.kept if c.rules
    )

    @asset(
        key=rkey,
        partitions_def=YEARS,
        group_name="raw",
        kinds={"duckdb", fmt.file_type},
        owners=[OWNER],
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
    ) -> MaterializeResult:
        # GX is imported while DuckDB reads the delivery
        preload("resultatrapport.gx", "great_expectations")
        year = int(context.partition_key)
        # one connection for the whole step: each open and close of the file costs a
        # checkpoint, and the step holds the warehouse pool slot anyway
        with warehouse.connect() as con:
            try:
                delivery = load_raw(con, fmt, inbox.root, year, org, context.run.run_id)
            except SourceError as exc:
                # a file that cannot be read will not read on a retry either
                raise Failure(
                    description=str(exc),
                    metadata={"file": exc.file, "line": exc.line or 0, "column": exc.column or ""},
                    allow_retries=False,
                ) from None
            metadata: dict[str, Any] = {
                "file": delivery.relpath,
                "sha256": delivery.sha256 or "",
                "encoding": delivery.encoding or "",
                "dagster/row_count": delivery.rows_read,
                "rows_unreadable": delivery.rows_rejected,
            }
            if delivery.missing:
                context.log.warning(
                    f"{delivery.relpath}: no delivery for {year}; KPIs needing it are not measurable"
                )
                metadata["missing"] = True
                missing = f"Ingen fil: {delivery.relpath}"
                record_checks(
                    con,
                    fmt.name,
                    org,
                    year,
                    [
                        ("rows_valid", True, False, missing),
                        ("file_trustworthy", True, True, missing),
                    ],
                    context.run.run_id,
                )
                note = {"note": MetadataValue.text(missing)}
                return MaterializeResult(
                    metadata=metadata,
                    check_results=[
                        AssetCheckResult(check_name="rows_valid", passed=True, metadata=note),
                        AssetCheckResult(check_name="file_trustworthy", passed=True, metadata=note),
                    ],
                )
            frame = raw_frame(con, fmt, year, org)
            from resultatrapport.gx import validate

            outcomes = validate(fmt, frame, year)
            rows = len(frame)
            del frame
            trusted, trust_md = _trust(fmt, outcomes, rows, validation.max_quarantined_share)
            valid_md = _rows_valid_metadata(outcomes, rows)
            failed_rules = [f"{o.reason} ({o.unexpected_count})" for o in outcomes if not o.success]
            problems = trust_md.get("problems")
            record_checks(
                con,
                fmt.name,
                org,
                year,
                [
                    ("rows_valid", not failed_rules, False, "; ".join(failed_rules)),
                    ("file_trustworthy", trusted, True, problems.value if problems else ""),
                ],
                context.run.run_id,
            )
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
        return MaterializeResult(metadata=metadata, check_results=checks)

    @asset(
        key=ikey,
        deps=[rkey],
        partitions_def=YEARS,
        group_name="ingest",
        kinds={"duckdb"},
        owners=[OWNER],
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
        with warehouse.connect() as con:
            result = build_clean(con, fmt, year, org)
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

    return [raw_asset, ingest_asset]


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
