"""Jobs per contract: its report for a year (KPIs to draft), the ingestion it reads, and the
sign-off (which needs a config naming the signer, so it is never part of a scheduled run)."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import AssetChecksDefinition, AssetsDefinition, AssetSelection, define_asset_job

from resultatrapport.naming import (
    INGEST,
    INGEST_ALL,
    NATIONAL,
    RAW,
    deadline_job_name,
    ingestion_job_name,
    job_name,
    signoff_job_name,
)


def _with_checks(assets: Sequence[AssetsDefinition]) -> AssetSelection:
    """The assets and every check among them, the standalone ones included."""
    keys = [key for a in assets if not isinstance(a, AssetChecksDefinition) for key in a.keys]
    checks = [key for a in assets for key in a.check_keys]
    return AssetSelection.assets(*keys) | AssetSelection.checks(*checks)


def contract_job(
    contract_id: str, title: str, assets: Sequence[AssetsDefinition]
):  # -> UnresolvedAssetJobDefinition (not exported by dagster)
    """The job for one contract's own assets (KPIs, budget, results, draft report, and the
    check that the signed-off version is still current) for one contract year.

    Its ingestion is a separate job: a job's assets share one partitions definition (Dagster
    1.13's ``define_asset_job`` refuses a selection with two), and a contract's assets exist
    only for its contract years while deliveries cover every year. The UI's launch dialog
    therefore warns "Upstream data missing" for years not ingested; a run launched anyway
    fails the blocking ``inputs_ingested`` checks, which name what to ingest.
    """
    return define_asset_job(
        name=job_name(contract_id),
        selection=_with_checks(assets),
        description=f"Everything the report of {contract_id} ({title}) needs for one year or "
        f"a range of years (one run). Ingest first: the job {ingestion_job_name(contract_id)} for "
        "the same years (and the earlier years an effect KPI reads); a year whose deliveries "
        "were never ingested fails the check inputs_ingested, which names them.",
        tags={"contract": contract_id},
    )


def ingestion_job(contract_id: str, assets: Sequence[AssetsDefinition]):
    """Only the ingestion a contract's assets read (raw + ingest stages), for any year:
    the effect KPI follows firms years back, so earlier years may need ingesting first."""
    keys = [key for a in assets for key in a.keys]
    return define_asset_job(
        name=ingestion_job_name(contract_id),
        selection=AssetSelection.assets(*keys).upstream() & AssetSelection.groups(RAW, INGEST),
        description=f"Ingestion of every delivery {contract_id} reads, for one year.",
        tags={"contract": contract_id},
    )


def signoff_job(contract_id: str, signoff: Sequence[AssetsDefinition]):
    """Sign-off of one year: the signed report and the submissions, then the check that the
    signed version is current. Launched with ``ops: {sign_off_<contract>: {config: {by: …}}}``."""
    return define_asset_job(
        name=signoff_job_name(contract_id),
        selection=_with_checks(signoff),
        description=f"Sign-off of the annual report of {contract_id}: version N, written once.",
        tags={"contract": contract_id},
    )


def deadline_job(contract_id: str, check: AssetChecksDefinition):
    """The reporting deadline check of the contract's signed report, alone: no asset is
    materialised. A run judges every contract year (one evaluation per year's partition: the
    job has no partitions of its own, as Dagster 1.13 takes a job's partitions from its
    assets only) and fails when a deadline has passed unsigned (the check is blocking)."""
    return define_asset_job(
        name=deadline_job_name(contract_id),
        selection=AssetSelection.checks(*check.check_keys),
        description=f"Whether the annual report of {contract_id} for a year is signed by its "
        "reporting deadline (launched daily by the schedule of the same name).",
        tags={"contract": contract_id},
    )


def all_ingestion_job():
    """Every ingestion asset, for any year: what the schedules and the inbox sensor launch
    (each run with the subset of assets it needs)."""
    return define_asset_job(
        name=INGEST_ALL,
        selection=AssetSelection.groups(RAW, INGEST),
        description="Ingestion of deliveries for one year (a subset per request).",
    )


def national_job(national: AssetsDefinition):
    """The national overview of every hub's submissions for one year, with its checks."""
    return define_asset_job(
        name=NATIONAL,
        selection=_with_checks([national]),
        description="Erhvervshusenes målopfyldelse for one year: every hub's submission and the "
        "national figures, as a CSV and a PDF (resultatrapport national).",
    )
