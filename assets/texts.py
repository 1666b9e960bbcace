"""The report owner's texts as an ingestion asset: ``ingest/<org>/report_texts/<contract>``.

One asset per contract, partitioned by year like the other ingestion assets (group
``ingest``, so the inbox sensor, the schedules and the contract's ingestion job run it). It
reads ``<org>/tekster/<contract-id>_<YYYY>.md`` and stores its sections
(:func:`resultatrapport.ingestion.ingest_texts`), and shows what was done with the blocking
check ``texts_valid``: a file that cannot be used (a heading
no section has, raw HTML, a CPR-shaped number, …) fails it with the located Danish error,
the year keeps the sections of the last good file, and the draft shows the failure and the
sign-off is refused until the file is corrected. A missing file is no error: the draft
shows each missing required section as "Mangler: …".
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    Output,
    TimeWindowPartitionMapping,
    asset,
)

from assets.common import (
    RETRY,
    SINGLE_RUN,
    WAREHOUSE_POOL,
    Outcome,
    check_events,
    unchanged_metadata,
    years_of,
)
from assets.partitions import YEARS
from resources import Inbox, Warehouse
from resultatrapport import texts
from resultatrapport.contracts import Contract
from resultatrapport.formats import TEXTS_PATH
from resultatrapport.ingestion import TextsIngested, ingest_texts
from resultatrapport.naming import INGEST, texts_path

OWNER = "team:report-owners"


def texts_key(contract: Contract) -> AssetKey:
    return AssetKey(texts_path(contract))


def texts_dep(contract: Contract) -> AssetDep:
    """The draft of a contract year reads that year's texts."""
    return AssetDep(
        texts_key(contract),
        partition_mapping=TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True),
    )


def build_texts_asset(contract: Contract) -> AssetsDefinition:
    key = texts_key(contract)
    pattern = TEXTS_PATH.format(org=contract.organisation.slug, contract=contract.id, year="{year}")
    titles = ", ".join(n.title + ("" if n.required else " (valgfri)") for n in contract.narratives)

    @asset(
        key=key,
        partitions_def=YEARS,
        group_name=INGEST,
        kinds={"duckdb", "markdown"},
        owners=[OWNER],
        pool=WAREHOUSE_POOL,
        retry_policy=RETRY,
        backfill_policy=SINGLE_RUN,
        description=(
            f"The report owner's texts for {contract.id}: `{pattern}` (Markdown, one `## …` "
            f"heading per section the contract declares), stored in `ingest.report_texts`. "
            f"Sections: {titles or 'none declared'}."
        ),
        metadata={"dagster/table_name": "ingest.report_texts", "inbox_file": pattern},
        check_specs=[
            AssetCheckSpec(
                texts.CHECK,
                asset=key,
                partitions_def=YEARS,
                blocking=True,
                description="Every heading names a declared section, once; no raw HTML, "
                "images, CPR or phone numbers or e-mail addresses in the text as printed; no "
                "file named like the texts file beside it. A failure names file, line and heading; the "
                "year keeps the last good file's texts and its sign-off is refused.",
            )
        ],
    )
    def texts_asset(
        context: AssetExecutionContext, inbox: Inbox, warehouse: Warehouse
    ) -> Iterator[Output | AssetCheckEvaluation | MaterializeResult]:
        root = inbox.existing_root()
        outcomes: dict[str, Outcome | None] = {}
        with warehouse.connect() as con:  # a range of years in one run, each on its own
            done = ingest_texts(con, root, contract, years_of(context), run_id=context.run.run_id)
        for year in done:
            if not year.passed:
                context.log.error(year.summary)
            elif year.missing and year.year in contract.years:
                # other years have no report to show texts in
                context.log.warning(f"{year.file}: no texts for {year.year}")
            metadata, outcomes[str(year.year)] = _translated(year)
            context.add_asset_metadata(metadata, partition_key=str(year.year))
        yield MaterializeResult()
        yield from check_events(context, key, texts.CHECK, outcomes, blocking=True)

    return texts_asset


def _translated(done: TextsIngested) -> tuple[dict[str, Any], Outcome]:
    """The library's result for a year as the partition's metadata and check outcome."""
    metadata: dict[str, Any] = {"file": done.file}
    check_md: dict[str, Any] = {"note": MetadataValue.text(done.summary)}
    if not done.passed:
        check_md["problems"] = MetadataValue.md("\n".join(f"- {p}" for p in done.problems))
    else:
        if done.missing:
            metadata["missing"] = True
        metadata["sha256"] = done.sha256
        metadata["sections"] = MetadataValue.json(done.sections)
        metadata["missing_required"] = MetadataValue.json(done.missing_required)
        if done.unchanged_since is not None:  # the same file as stored: nothing written
            metadata |= unchanged_metadata(done.unchanged_since)
    outcome = Outcome(
        passed=done.passed, description="", metadata=check_md, severity=AssetCheckSeverity.ERROR
    )
    return metadata, outcome
