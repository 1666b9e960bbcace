"""Ingestion assets, generated from the declared formats: one pair per source and scope.

``raw/<scope>/<source>`` reads the delivery (personal data dropped) and validates it with
Great Expectations, returning two check results with the materialisation: ``rows_valid``
(warns: rows that will be quarantined) and ``file_trustworthy`` (blocking: duplicate ids or
too many bad rows). ``ingest/<scope>/<source>`` splits the rows into clean typed rows and
the quarantine. The scope is the organisation (per-organisation sources) or
``register``/``erst``.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
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
    years_of,
)
from assets.partitions import YEARS
from resources import Inbox, ValidationSettings, Warehouse
from resultatrapport.checks_table import record_checks
from resultatrapport.formats import ENTRY_RULES, FORMATS, REGISTER_SOURCES, SourceFormat
from resultatrapport.gx import validate, validate_years
from resultatrapport.ingest import (
    CleanResult,
    commit_delivery,
    delivery_refusal,
    drop_content,
    hold_stage,
    partition_summary,
    record_inbox,
    restore_stage,
    stage,
    stage_content,
    stage_year,
    staged_frame,
    staged_years_frame,
)
from resultatrapport.naming import INGEST, RAW, ingest_path, raw_path, source_scope
from resultatrapport.reader import Delivery, SourceError, file_sha256
from resultatrapport.rules import SQL_TYPES

OWNER = "team:data-engineering"

# the most staged rows validated together: a first run's partitions were validated one by
# one, about 0.3 s of GX each whatever their rows (thirty at scale 1); a year of the largest
# deliveries at scale 100 is over this alone and is validated on its own, as before
BATCH_ROWS = 500_000


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
    # a row with an unknown entry of a list (ENTRY_RULES) stays in use without the entry
    bad_lines = {
        line for o in outcomes if not o.success and o.kind not in ENTRY_RULES for line in o.lines
    }
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


def _outcomes(outcomes: list[tuple[str, bool, bool, str]]) -> dict[str, Outcome]:
    """The check outcomes where they were decided before validation (a missing, refused or
    unreadable delivery)."""
    return {
        name: Outcome(
            passed=passed,
            description="",
            metadata={"note": MetadataValue.text(summary)},
            severity=AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN,
        )
        for name, passed, blocking, summary in outcomes
    }


@dataclass
class YearIngested:
    """What the raw step did with one year of its run: the partition's metadata and check
    outcomes, and why the delivery was not taken (None: it was, or it is missing)."""

    year: int
    metadata: dict[str, Any]
    checks: dict[str, Outcome]
    refused: str | None = None


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
    """Every year of the run, each replaced in its own transaction; then one materialisation
    and one evaluation of each check per year. A year whose delivery is not taken is not
    materialised, and the step fails naming it after the other years are done."""
    # GX is imported while DuckDB reads the delivery
    preload("resultatrapport.gx", "great_expectations")
    root = inbox.existing_root()
    # one connection for the whole step: each open and close of the file costs a
    # checkpoint, and the step holds the warehouse pool slot anyway
    with warehouse.connect() as con:
        record_inbox(con, root)
        steps = YearSteps(con, context, fmt, org, root, validation.max_quarantined_share)
        done = list(steps.run(years_of(context)))
    yield from _year_events(context, raw_key(fmt, org), done)


class YearSteps:
    """The raw step's work for each year of a run on one connection. A year-less register
    (:attr:`SourceFormat.yearless`) is read once and, where its rules do not depend on the
    year, validated once; each year's partition is filled from that one staged copy. A file
    per year is read per year, and the years are validated together (:meth:`batched`)."""

    def __init__(
        self,
        con: Any,
        context: AssetExecutionContext,
        fmt: SourceFormat,
        org: str | None,
        root: Path,
        max_share: float,
    ) -> None:
        self.con, self.log, self.fmt, self.org, self.root = con, context.log, fmt, org, root
        self.run_id = context.run.run_id
        self.max_share = max_share
        self.content: Delivery | None = None
        self.validated: tuple[list, int] | None = None

    def run(self, years: list[int]) -> Iterator[YearIngested]:
        if not self.fmt.yearless:
            yield from self.batched(years)
            return
        try:
            self.content = stage_content(self.con, self.fmt, self.root)
        except SourceError as exc:
            for year in years:
                yield self.unreadable(year, exc)
            return
        try:
            for year in years:
                yield self.year(year)
        finally:
            drop_content(self.con)

    def stage(self, year: int) -> Delivery:
        if self.content is None:
            return stage(self.con, self.fmt, self.root, year, self.org)
        return stage_year(self.con, self.fmt, self.content, year)

    def unreadable(self, year: int, exc: SourceError) -> YearIngested:
        """Nothing of the file is taken; the outcome is recorded against it, and a file that
        cannot be read will not read on a retry either."""
        relpath = self.fmt.relpath(year, self.org)
        sha = file_sha256(self.root / relpath) if _readable(self.root, relpath) else None
        failed = [
            ("rows_valid", False, False, str(exc)),
            ("file_trustworthy", False, True, str(exc)),
        ]
        record_checks(self.con, self.fmt.name, self.org, year, failed, sha, self.run_id)
        error = {"file": exc.file, "line": exc.line or 0, "column": exc.column or ""}
        return YearIngested(year, error, _outcomes(failed), str(exc))

    def batched(self, years: list[int]) -> Iterator[YearIngested]:
        """Each year staged in turn and held (:func:`hold_stage`); the held years validated
        together in one GX validation once they hold :data:`BATCH_ROWS` rows (or at the
        end), then each committed in its own transaction. The years come back in order."""
        done: dict[int, YearIngested] = {}
        held: list[tuple[int, Delivery, dict[str, Any], str]] = []
        rows = 0
        for year in years:
            taken = self.staged(year)
            if isinstance(taken, YearIngested):
                done[year] = taken
                continue
            delivery, metadata = taken
            held.append((year, delivery, metadata, hold_stage(self.con, year)))
            rows += delivery.rows_read
            if rows >= BATCH_ROWS:
                done |= self.validate_held(held)
                held, rows = [], 0
        done |= self.validate_held(held)
        for year in years:
            yield done[year]

    def validate_held(
        self, held: list[tuple[int, Delivery, dict[str, Any], str]]
    ) -> dict[int, YearIngested]:
        if len(held) == 1:  # as one year is validated on its own
            year, delivery, metadata, table = held[0]
            restore_stage(self.con, table)
            return {year: self.validated_year(year, delivery, metadata, self.validate(year))}
        if not held:
            return {}
        frame = staged_years_frame(self.con, self.fmt, {y: t for y, _, _, t in held})
        outcomes = validate_years(self.fmt, frame, tuple(y for y, *_ in held))
        rows = frame["year"].value_counts()
        del frame
        done = {}
        for year, delivery, metadata, table in held:
            restore_stage(self.con, table)
            validated = outcomes[year], int(rows.get(year, 0))
            done[year] = self.validated_year(year, delivery, metadata, validated)
        return done

    def year(self, year: int) -> YearIngested:
        taken = self.staged(year)
        if isinstance(taken, YearIngested):
            return taken
        delivery, metadata = taken
        return self.validated_year(year, delivery, metadata, self.validate(year))

    def staged(self, year: int) -> YearIngested | tuple[Delivery, dict[str, Any]]:
        """The year's delivery staged in ``_stage`` with its metadata, to be validated; or
        the year's result where there is nothing to validate (a file that cannot be read, is
        refused, or was never delivered)."""
        fmt, org, con = self.fmt, self.org, self.con
        relpath = fmt.relpath(year, org)
        try:
            delivery = self.stage(year)
        except SourceError as exc:
            return self.unreadable(year, exc)
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
        refusal = delivery_refusal(con, fmt, self.root, year, org, delivery)
        if refusal:
            self.log.error(f"{relpath}: {refusal}")
            outcomes = [
                ("rows_valid", False, False, refusal),
                ("file_trustworthy", False, True, refusal),
            ]
            record_checks(con, fmt.name, org, year, outcomes, delivery.sha256, self.run_id)
            return YearIngested(year, metadata, _outcomes(outcomes), f"{relpath}: {refusal}")
        if delivery.missing:
            self.log.warning(
                f"{relpath}: no delivery for {year}; KPIs needing it are not measurable"
            )
            metadata["missing"] = True
            missing = f"Ingen fil: {relpath}"
            outcomes = [
                ("rows_valid", True, False, missing),
                ("file_trustworthy", True, True, missing),
            ]
            commit_delivery(con, fmt, year, org, delivery, outcomes, self.run_id)
            return YearIngested(year, metadata, _outcomes(outcomes))
        return delivery, metadata

    def validate(self, year: int) -> tuple[list, int]:
        """GX's outcomes for the staged year and its row count; a year-less register whose
        rules do not depend on the year is validated once for the whole run."""
        if self.validated is not None:
            return self.validated
        frame = staged_frame(self.con, self.fmt, year)
        outcomes = validate(self.fmt, frame, year), len(frame)
        if self.content is not None and not self.fmt.rules_per_year:
            self.validated = outcomes
        return outcomes

    def validated_year(
        self, year: int, delivery: Delivery, metadata: dict[str, Any], validated: tuple[list, int]
    ) -> YearIngested:
        fmt, org, con = self.fmt, self.org, self.con
        gx_outcomes, rows = validated
        trusted, trust_md = _trust(fmt, gx_outcomes, rows, self.max_share)
        valid_md = _rows_valid_metadata(gx_outcomes, rows)
        failed_rules = [f"{o.reason} ({o.unexpected_count})" for o in gx_outcomes if not o.success]
        problems = trust_md.get("problems")
        outcomes = [
            ("rows_valid", not failed_rules, False, "; ".join(failed_rules)),
            ("file_trustworthy", trusted, True, problems.value if problems else ""),
        ]
        if trusted:
            commit_delivery(con, fmt, year, org, delivery, outcomes, self.run_id)
        else:  # the partition keeps its rows; the outcome is recorded against the new file
            record_checks(con, fmt.name, org, year, outcomes, delivery.sha256, self.run_id)
        checks = {
            "rows_valid": Outcome(
                passed=valid_md["rules_failed"] == 0, description="", metadata=valid_md
            ),
            "file_trustworthy": Outcome(
                passed=trusted,
                description="",
                metadata=trust_md,
                severity=AssetCheckSeverity.ERROR,
            ),
        }
        refused = None
        if not trusted:
            refused = f"{fmt.relpath(year, org)} tages ikke ind: " + (
                str(problems.value) if problems else "filen er ikke troværdig"
            )
        return YearIngested(year, metadata, checks, refused)


def _refusals(refused: list[YearIngested]) -> str:
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
    context: AssetExecutionContext, key: AssetKey, done: list[YearIngested]
) -> Iterator[Output | AssetMaterialization | AssetCheckEvaluation | MaterializeResult]:
    """The run's events: a materialisation per year taken (each with its own metadata), one
    evaluation of each check per year, then the failure naming the years not taken. A year
    not taken shows the failure in the UI and keeps the rows it had, instead of a green
    "Materialized" beside a failed blocking check."""
    refused = [d for d in done if d.refused]
    if not refused:
        for d in done:
            context.add_asset_metadata(d.metadata, partition_key=str(d.year))
        yield MaterializeResult()
    else:  # only the years taken are materialised
        for d in done:
            if not d.refused:
                yield AssetMaterialization(key, partition=str(d.year), metadata=d.metadata)
    for name, blocking in (("rows_valid", False), ("file_trustworthy", True)):
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
