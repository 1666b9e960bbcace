"""Report and submission assets of a contract, downstream of its results table and budget.

- ``report/<contract>/draft``: the draft PDF (``…_udkast.pdf``), replaced at each run, with
  its internal data-quality appendix beside it (``…_udkast_datakvalitet_intern.html``, linked
  in the metadata as ``appendix``; for the people who run the pipeline, never sent)
  (:func:`resultatrapport.report.draft.write_draft`); a draft that would show exactly what
  it shows is not drawn again (``unchanged_since`` in the metadata).
- ``report/<contract>/signed`` with ``submission/<contract>/resultatopfyldelse`` (and
  ``submission/<contract>/kommunefordeling`` where the budget is a key over municipalities):
  the sign-off. Materialised with a config naming the signer and the signer's role, its two
  required fields (UI, ``dg launch`` or ``resultatrapport sign-off``; a name that is no
  person's name, or an empty role, is refused before anything is read; the signed report's
  cover says both, the CSVs the name), and ``preliminary: true`` where the signer signs
  preliminary figures (refused otherwise), and the run is tagged ``resultatrapport/signer``
  with the name; writes
  version N once, read-only, never replaces it, and validates each CSV against its table
  schema as a blocking check before anything is published. The files and the record are
  published together (:func:`resultatrapport.report.publish.publish_version`): what a killed
  sign-off left is finished or taken back when the next one starts, and a signed file that
  no longer has its recorded hash refuses the sign-off. Signing data that are signed already
  writes nothing and says by whom and when they were signed.
- check ``report/<contract>/signed:current``: whether the latest signed version still shows
  the current data (it runs with every nightly contract run, after the draft). It also clears
  what a killed sign-off left; it is skipped while nothing is signed (no result: the UI shows
  "skipped", not a green "passed"), warns after a data change, and fails (ERROR) when a
  signed file was changed or is missing.
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    asset,
    multi_asset,
    multi_asset_check,
)
from pydantic import Field

from assets.common import (
    INGESTED,
    RETRY,
    SINGLE_RUN,
    WAREHOUSE_POOL,
    check_events,
    ingested_spec,
    missing_outcomes,
    not_ingested,
    unchanged_metadata,
    years_of,
)
from assets.kpis import contract_tags
from assets.texts import texts_dep
from resources import Clock, Renderer, Warehouse
from resultatrapport import texts
from resultatrapport.contracts import Contract
from resultatrapport.naming import budget_path, ingestion_job_name, report_path, submission_path
from resultatrapport.report import content, publish, signoff
from resultatrapport.report import draft as draft_report
from resultatrapport.report.files import OutputNotWritable
from resultatrapport.vocabulary import TZ

REPORT_OWNERS = "team:report-owners"
# the run tag naming who signed (or tried to sign) in a sign-off run: set by the sign-off step
# itself, so a run launched from the UI, `dg launch` or the CLI carries it alike
SIGNER_TAG = "resultatrapport/signer"
# the metadata of the failure of a sign-off refused because another of the year is under way
BUSY = "another_signoff"


def report_key(contract: Contract, name: str) -> AssetKey:
    return AssetKey(report_path(contract, name))


def submission_key(contract: Contract, name: str) -> AssetKey:
    return AssetKey(submission_path(contract, name))


def _reads(contract: Contract, year: int) -> list[tuple[str, str | None, int]]:
    """Every ingested partition the report of ``year`` rests on: the KPIs' and the budget's
    deliveries (lookback included) and the report owner's texts."""
    reads = [
        (source, org, y)
        for (source, org), years in content.read_by_report(contract, year).items()
        for y in years
    ]
    return [*reads, (texts.source_name(contract.id), contract.organisation.slug, year)]


def build_draft_asset(
    contract: Contract, partitions: TimeWindowPartitionsDefinition, group: str
) -> AssetsDefinition:
    key = report_key(contract, "draft")

    @asset(
        key=key,
        partitions_def=partitions,
        group_name=group,
        deps=[
            # the report of a year shows every contract year up to its own
            AssetDep(
                report_key(contract, "kpi_results"),
                partition_mapping=TimeWindowPartitionMapping(
                    start_offset=contract.period.first - contract.period.last,
                    end_offset=0,
                    allow_nonexistent_upstream_partitions=True,
                ),
            ),
            AssetKey(budget_path(contract)),
            texts_dep(contract),
        ],
        kinds={"pdf"},
        owners=[REPORT_OWNERS],
        pool=WAREHOUSE_POOL,
        retry_policy=RETRY,
        backfill_policy=SINGLE_RUN,
        description=(
            f"Draft annual report of {contract.id} (PDF, Danish, UDKAST on every page): summary "
            "of every KPI, a section per goal with charts, the budget, method notes with a "
            "paragraph on data quality, and provenance; beside it the internal data-quality "
            "appendix (HTML: inbox files, quarantine, every check), never sent to recipients. "
            "Reads the results table and the budget only."
        ),
        tags=contract_tags(contract, "report"),
        check_specs=[ingested_spec(key, partitions)],
    )
    def draft(context: AssetExecutionContext, warehouse: Warehouse, renderer: Renderer) -> Any:
        years = years_of(context)
        with warehouse.connect() as con:  # every delivery the year's report rests on
            lacking = {year: not_ingested(con, _reads(contract, year)) for year in years}
        ingested, refusal = missing_outcomes(years, lacking, ingestion_job_name(contract.id))
        if refusal:  # no draft on data that were never loaded: say what to ingest
            yield from check_events(context, key, INGESTED, ingested, blocking=True)
            raise Failure(description=refusal, allow_retries=False)
        drafts = [_draft(context, warehouse, renderer, year) for year in years]
        # one materialisation per year, each with its own file, appendix and data hash (a
        # range run included: the catalog's partition view shows each year's draft)
        for d in drafts:
            context.add_asset_metadata(
                {
                    "path": MetadataValue.path(str(d.path)),
                    "appendix": MetadataValue.path(str(d.appendix)),
                    "pages": d.pages,
                    "render_seconds": MetadataValue.float(round(d.seconds, 2)),
                    # drawn once per change of what they show (charts.ChartCache)
                    "charts_drawn": d.charts_drawn,
                    "charts_reused": d.charts_reused,
                    "data_hash": d.data_hash,
                    "pdf_sha256": d.pdf_sha256,
                    "blocking_failures": MetadataValue.json(d.blocking_failures),
                    **(unchanged_metadata(d.unchanged_since) if d.unchanged_since else {}),
                },
                partition_key=str(d.year),
            )
        yield MaterializeResult()
        yield from check_events(context, key, INGESTED, ingested, blocking=True)

    def _draft(
        context: AssetExecutionContext, warehouse: Warehouse, renderer: Renderer, year: int
    ) -> draft_report.Draft:
        try:
            done = draft_report.write_draft(
                warehouse.connect, contract, year, renderer.root, context.run.run_id
            )
        except OutputNotWritable as error:  # a full disk is tried again, the others are not
            raise Failure(description=str(error), allow_retries=error.transient) from error
        if done.unchanged_since is not None:
            context.log.info(f"Draft unchanged since {done.unchanged_since:%Y-%m-%d %H:%M}")
        else:
            context.log.info(
                f"Draft written: {done.path} ({done.pages} pages, {done.seconds:.1f} s; "
                f"charts drawn {done.charts_drawn}, reused {done.charts_reused})"
            )
        return done

    return draft


class SignOffConfig(Config):
    """What a sign-off run needs to be told, who signs and in what role (everything else
    has a setting), and whether the signer signs preliminary figures."""

    by: str = Field(
        description="Name of the person who signs off the report (Godkendt af): letters, "
        "spaces, hyphens and apostrophes, 2-80 characters."
    )
    role: str = Field(
        description="The signer's role, e.g. direktør (the contract names who answers for the "
        "report); the signed report's cover says it after the name, the CSVs carry the name "
        "alone. Letters, spaces, hyphens, apostrophes, full stops and commas, 2-100 characters."
    )
    preliminary: bool | None = Field(
        default=None,
        description="Foreløbige tal: true when the signer signs figures that may still change "
        "(the year is not over, or a delivery is missing); left out (false), such a sign-off "
        "is refused. A later final sign-off of the year is the next version.",
    )


def _signer(config: SignOffConfig) -> tuple[str, str]:
    """The signer's name and role as published, or a Failure before anything is read or
    written."""
    try:
        return publish.signer_name(config.by), publish.signer_role(config.role)
    except publish.SignOffRefused as refused:
        raise Failure(f"Godkendelsen afvises: {refused}", allow_retries=False) from None


def _schema_failures(contract: Contract, problems: dict[str, list[str]]) -> Any:
    """The schema checks of submissions that break their table schema, then the Failure."""
    for kind, found in problems.items():
        yield AssetCheckResult(
            asset_key=submission_key(contract, kind),
            check_name="schema_valid",
            passed=not found,
            severity=AssetCheckSeverity.ERROR,
            metadata={"problems": MetadataValue.json(found[:20])},
        )
    raise Failure(
        "Indberetningsfilerne overholder ikke deres skema; intet er offentliggjort.",
        metadata={"problems": MetadataValue.json(problems)},
        allow_retries=False,
    )


def build_signoff_assets(
    contract: Contract, partitions: TimeWindowPartitionsDefinition, group: str
) -> list[AssetsDefinition]:
    signed_key = report_key(contract, "signed")
    draft_key = report_key(contract, "draft")
    kinds = signoff.submission_kinds(contract)
    specs = [
        AssetSpec(
            signed_key,
            deps=[draft_key],
            group_name=group,
            kinds={"pdf"},
            owners=[REPORT_OWNERS],
            description=(
                f"Signed-off annual report of {contract.id}, version N (PDF/A-3a and PDF/UA-1 with the "
                "submission CSVs attached). Written once, read-only, never replaced. "
                "Materialise with the config `by: <name>` and `role: <role>`; refused while a "
                "blocking check fails or a signed file differs from its recorded hash."
            ),
        )
    ] + [
        AssetSpec(
            submission_key(contract, kind),
            deps=[signed_key],
            group_name=group,
            kinds={"csv"},
            owners=[REPORT_OWNERS],
            description=f"`{kind}_{contract.id}_<YYYY>_v<N>.csv` to KL and Erhvervsstyrelsen, "
            "from the signed-off version only (docs/formats/submissions.md).",
        )
        for kind in kinds
    ]
    checks = [
        AssetCheckSpec(
            "schema_valid",
            asset=submission_key(contract, kind),
            partitions_def=partitions,
            blocking=True,
            description="The CSV matches its shipped table schema, byte format included; "
            "nothing is published otherwise.",
        )
        for kind in kinds
    ]

    @multi_asset(
        name=f"sign_off_{contract.scope}",
        specs=specs,
        check_specs=checks,
        partitions_def=partitions,
        pool=WAREHOUSE_POOL,
    )
    def sign_off(
        context: AssetExecutionContext,
        config: SignOffConfig,
        warehouse: Warehouse,
        renderer: Renderer,
    ) -> Any:
        year = int(context.partition_key)
        signer, role = _signer(config)
        # the run names its signer in the runs list, whoever launched it and how
        context.instance.add_run_tags(context.run.run_id, {SIGNER_TAG: signer})
        request = signoff.Request(
            contract=contract,
            year=year,
            signer=signer,
            role=role,
            directory=publish.year_dir(renderer.root, contract.id, year),
            run_id=context.run.run_id,
            now=dt.datetime.now(TZ),
            preliminary=bool(config.preliminary),
        )

        def render(data: content.ReportData, data_hash: str, **signed: Any) -> tuple[bytes, int]:
            rendered = draft_report.render_report(
                data,
                context.run.run_id,
                data_hash,
                draft=False,
                charts=draft_report.chart_folder(contract.id, year),
                **signed,
            )
            return rendered.pdf, rendered.pages

        try:
            done = signoff.sign_off(warehouse.connect, request, render, context.log.warning)
        except signoff.Refused as refused:
            findings = refused.findings if isinstance(refused, signoff.PdfInvalid) else []
            raise Failure(
                description=str(refused),
                metadata={"reasons": MetadataValue.json(refused.reasons)}
                | ({"findings": MetadataValue.json(findings)} if findings else {}),
                allow_retries=False,
            ) from None
        except publish.SignOffBusy as busy:
            raise Failure(
                description=str(busy), metadata={BUSY: True}, allow_retries=False
            ) from None
        except signoff.SubmissionsInvalid as invalid:
            yield from _schema_failures(contract, invalid.problems)
        except OutputNotWritable as error:  # a full disk is tried again, the others are not
            raise Failure(description=str(error), allow_retries=error.transient) from error
        if done.new:
            context.log.info(f"Signed off: {done.message} ({done.directory})")
        else:
            context.log.info(done.message)
        yield from _results(contract, kinds, done)

    # a check that may yield no result (can_subset): while nothing is signed it has nothing to
    # judge, and the UI shows it as skipped instead of a green "passed"
    @multi_asset_check(
        name=f"signed_current_{contract.scope}",
        specs=[
            AssetCheckSpec(
                "current",
                asset=signed_key,
                additional_deps=[draft_key],
                partitions_def=partitions,
                description="The latest signed-off version shows the current data and its "
                "files are as signed; skipped while nothing is signed, warns after a data "
                "change (a new sign-off makes version N+1), fails when a signed file was "
                "changed or is missing.",
            )
        ],
        can_subset=True,
        pool=WAREHOUSE_POOL,
    )
    def current(
        context: AssetCheckExecutionContext, warehouse: Warehouse, renderer: Renderer, clock: Clock
    ) -> Iterator[AssetCheckResult]:
        keys = (
            context.partition_keys if context.has_partition_key_range else [context.partition_key]
        )
        with warehouse.connect() as con:
            judged = {
                key: signoff.current(
                    con,
                    contract,
                    int(key),
                    publish.year_dir(renderer.root, contract.id, int(key)),
                    context.log.warning,
                    on=clock.date(),  # a version signed as preliminary may be final now
                )
                for key in keys
            }
        yield from _current_result(context, signed_key, judged)

    return [sign_off, current]


def _current_result(
    context: AssetCheckExecutionContext, key: AssetKey, judged: dict[str, signoff.Current]
) -> Iterator[AssetCheckResult]:
    """The check's result over the judged years (partition key -> judgment); none while
    nothing is signed and no file is wrong (the UI shows the check as skipped)."""
    errors = [e for j in judged.values() for e in j.errors]
    warnings = [
        j.state if len(judged) == 1 else f"{k}: {j.state}"
        for k, j in judged.items()
        if not j.up_to_date
    ]
    problems = errors + warnings
    metadata: dict[str, Any] = {"state": "; ".join(f"{k}: {j.state}" for k, j in judged.items())}
    if not any(j.signed for j in judged.values()) and not errors:
        context.log.info(f"Skipped: {metadata['state']}")
        return
    if problems:
        metadata["problems"] = MetadataValue.md("\n".join(f"- {p}" for p in problems))
    yield AssetCheckResult(
        asset_key=key,
        check_name="current",
        passed=not problems,
        severity=AssetCheckSeverity.ERROR if errors else AssetCheckSeverity.WARN,
        description=" ".join(problems) or metadata["state"],
        metadata=metadata,
    )


def _results(contract: Contract, kinds: list[str], done: signoff.Signed) -> Any:
    """The materialisations of the signed report and its submissions (with their schema
    checks, on the published files as they are on disk)."""
    record, names = done.record, done.names
    common: dict[str, Any] = {
        "message": done.message,
        "version": record.version,
        "signed_by": record.signed_by,
        **({"signed_role": record.signed_role} if record.signed_role else {}),
        "new_version": done.new,
    }
    yield MaterializeResult(
        asset_key=report_key(contract, "signed"),
        metadata={
            **common,
            "path": MetadataValue.path(str(done.directory / names["report"])),
            "sha256": record.files.get(names["report"], ""),
            "data_hash": record.data_hash,
            # the version's internal data-quality appendix (none for a version signed before
            # the appendix existed)
            **(
                {"appendix": MetadataValue.path(str(done.directory / names["appendix"]))}
                if names["appendix"] in record.files
                else {}
            ),
            **({"pages": done.pages} if done.pages else {}),
        },
    )
    problems = signoff.published_problems(done.directory, names, kinds)
    for kind in kinds:
        yield MaterializeResult(
            asset_key=submission_key(contract, kind),
            metadata={
                **common,
                "path": MetadataValue.path(str(done.directory / names[kind])),
                "sha256": record.files.get(names[kind], ""),
            },
            check_results=[
                AssetCheckResult(
                    asset_key=submission_key(contract, kind),
                    check_name="schema_valid",
                    passed=not problems[kind],
                    severity=AssetCheckSeverity.ERROR,
                    metadata={"problems": MetadataValue.json(problems[kind][:20])},
                )
            ],
        )
