"""The report owner's texts as an ingestion asset: ``ingest/<org>/report_texts/<contract>``.

One asset per contract, partitioned by year like the other ingestion assets (group
``ingest``, so the inbox sensor, the schedules and the contract's ingestion job run it). It
reads ``<org>/tekster/<contract-id>_<YYYY>.md`` (:mod:`resultatrapport.texts`) and stores
its sections with the blocking check ``texts_valid``: a file that cannot be used (a heading
no section has, raw HTML, a CPR-shaped number, …) fails it with the located Danish error,
the year keeps the sections of the last good file, and the draft shows the failure and the
sign-off is refused until the file is corrected. A missing file is no error: the draft
shows each missing required section as "Mangler: …".
"""

from collections.abc import Iterator
from pathlib import Path
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

from assets.common import RETRY, SINGLE_RUN, WAREHOUSE_POOL, Outcome, check_events, years_of
from assets.partitions import YEARS
from resources import Inbox, Warehouse
from resultatrapport import texts
from resultatrapport.contracts import Contract
from resultatrapport.inventory import texts_refusal
from resultatrapport.naming import INGEST, texts_path
from resultatrapport.reader import file_sha256

OWNER = "team:report-owners"


def texts_key(contract: Contract) -> AssetKey:
    return AssetKey(texts_path(contract))


def texts_dep(contract: Contract) -> AssetDep:
    """The draft of a contract year reads that year's texts."""
    return AssetDep(
        texts_key(contract),
        partition_mapping=TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True),
    )


def _sha(root: Path, relpath: str) -> str | None:
    path = root / relpath
    inside = path.is_file() and path.resolve().is_relative_to(root.resolve())
    return file_sha256(path) if inside else None


def build_texts_asset(contract: Contract) -> AssetsDefinition:
    key = texts_key(contract)
    pattern = texts.TEXTS_PATH.format(
        org=contract.organisation.slug, contract=contract.id, year="{year}"
    )
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
        with warehouse.connect() as con:
            for year in years_of(context):  # a range of years in one run, each on its own
                metadata, outcomes[str(year)] = _texts_year(context, con, root, contract, year)
                context.add_asset_metadata(metadata, partition_key=str(year))
        yield MaterializeResult()
        yield from check_events(context, key, texts.CHECK, outcomes, blocking=True)

    return texts_asset


def _texts_year(
    context: AssetExecutionContext, con: Any, root: Path, contract: Contract, year: int
) -> tuple[dict[str, Any], Outcome]:
    """Read, check and store the texts of one year: the partition's metadata and the
    outcome of its check."""
    run_id = context.run.run_id
    relpath = texts.relpath(contract, year)
    org = contract.organisation.slug
    # a corrected copy beside the file ('… (kopi).md') blocks, as a misnamed delivery does
    stray = texts_refusal(root, org, contract.id, year, relpath)
    if stray is not None:
        context.log.error(stray)
        texts.refuse(con, contract, year, stray, _sha(root, relpath), run_id)
        return _result(relpath, False, stray, {"problems": [stray]})
    try:
        delivery = texts.read(root, contract, year)
    except texts.TextsError as exc:
        context.log.error(str(exc))
        texts.refuse(con, contract, year, str(exc), _sha(root, relpath), run_id)
        return _result(relpath, False, str(exc), {"problems": exc.messages})
    before, stored = texts.previous(con, contract, year)
    if delivery.missing and before:
        reason = (
            f"filen '{relpath}' er forsvundet fra indbakken; de {stored} afsnit fra "
            "den sidst læste fil bruges fortsat"
        )
        context.log.error(reason)
        texts.refuse(con, contract, year, reason, None, run_id)
        return _result(relpath, False, reason, {"problems": [reason]})
    written = {s.id for s in delivery.sections}
    missing = [n.title for n in texts.missing_required(contract, {i: "x" for i in written})]
    if delivery.missing:
        summary = f"Ingen fil: {relpath}"
        if year in contract.years:  # other years have no report to show texts in
            context.log.warning(f"{relpath}: no texts for {year}")
    else:
        summary = f"{len(written)} afsnit" + (f"; mangler: {', '.join(missing)}" if missing else "")
    texts.commit(con, contract, year, delivery, summary, run_id)
    return _result(
        relpath,
        True,
        summary,
        {
            "sha256": delivery.sha256 or "",
            "sections": sorted(written),
            "missing_required": missing if year in contract.years else [],
        },
        missing=delivery.missing,
    )


def _result(
    relpath: str, passed: bool, summary: str, extra: dict[str, Any], missing: bool = False
) -> tuple[dict[str, Any], Outcome]:
    metadata: dict[str, Any] = {"file": relpath}
    if missing:
        metadata["missing"] = True
    check_md: dict[str, Any] = {"note": MetadataValue.text(summary)}
    for name, value in extra.items():
        if name == "problems":
            check_md["problems"] = MetadataValue.md("\n".join(f"- {p}" for p in value))
        elif isinstance(value, list):
            metadata[name] = MetadataValue.json(value)
        else:
            metadata[name] = value
    outcome = Outcome(
        passed=passed, description="", metadata=check_md, severity=AssetCheckSeverity.ERROR
    )
    return metadata, outcome
