"""The code location: every asset, check, job and resource, built in one place.

Importing this module reads nothing: :func:`defs` is a lazy code location
(``@dagster.definitions``) that Dagster's tools (``dg``, ``dagster dev``, the code server)
call when they load it, and :func:`build_definitions` is what the command line and the tests
call with their own settings. Building reads the contract files (they are part of the code:
they decide which assets exist) and one setting from the environment: whether the schedules
and sensors start running (``$RESULTATRAPPORT_AUTOMATION``, default stopped). Resources
resolve their paths when a run builds them (see :mod:`resultatrapport.settings`), unless
the caller passes them built (the command line's ``--inbox``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from dagster import BetaWarning, Definitions, PreviewWarning, definitions, in_process_executor

from assets.deadlines import build_deadline_check
from assets.ingestion import build_ingestion_assets
from assets.kpis import build_contract_assets, contract_partitions, group_name
from assets.national import build_national_asset
from assets.report import build_draft_asset, build_signoff_assets
from assets.texts import build_texts_asset
from pipelines import automation, dagster_patches
from pipelines.jobs import (
    all_ingestion_job,
    contract_job,
    deadline_job,
    ingestion_job,
    national_job,
    signoff_job,
)
from resources import Clock, Inbox, Renderer, Submissions, ValidationSettings, Warehouse
from resultatrapport import settings
from resultatrapport.contracts import ContractError, ContractWarning, load_contract_folder
from resultatrapport.formats import ORGANISATION_SOURCES
from resultatrapport.national.framework import FrameworkError, frameworks_dir, load_frameworks

dagster_patches.apply()  # a run waiting for a pool slot sleeps instead of spinning a core

# partitioned asset checks (AssetCheckSpec.partitions_def) are a preview feature in 1.13;
# the project relies on them knowingly, so the warning is not repeated in every run log
warnings.filterwarnings(
    "ignore", category=PreviewWarning, message=".*partitions_def on an AssetCheckSpec"
)
# likewise a KPI reading years before the first partition (the effect KPI looks five years
# back from 2020) relies on allow_nonexistent_upstream_partitions, beta in 1.13
warnings.filterwarnings(
    "ignore", category=BetaWarning, message=".*allow_nonexistent_upstream_partitions"
)
# and a contract's assets backfill a range of years in one run (backfill_policy, beta)
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy")


def build_definitions(
    contracts_dir: Path | None = None,
    automation_running: bool | None = None,
    inbox: Inbox | None = None,
    submissions: Submissions | None = None,
    renderer: Renderer | None = None,
) -> Definitions:
    """The code location's definitions from the valid contracts of the folder. A broken
    contract file does not take the others down: it is left out with a
    :class:`ContractWarning` (in the code server's log) and listed in the definitions'
    metadata under ``broken_contracts``. (Dagster 1.13 shows a code location as loaded or
    as failed, nothing in between, and does not show the definitions' metadata in the UI;
    when no contract file is valid, the location fails with their errors.)

    The schedules and sensors start running when ``automation_running`` says so, or when it
    is None and ``$RESULTATRAPPORT_AUTOMATION`` is ``running`` (production); else stopped.
    ``inbox`` is the inbox resource the runs read (the command line's ``--inbox``); by
    default the one of the environment (:func:`resultatrapport.settings.inbox_dir`); likewise
    ``submissions`` (the national overview's ``--submissions``) and ``renderer`` (``--out``).

    The national overview (group ``national``) is built from the framework agreements in
    ``national/`` of the contracts folder, when it has any."""
    if automation_running is None:
        automation_running = settings.automation_running()
    folder = load_contract_folder(contracts_dir)
    for message in folder.broken.values():
        warnings.warn(
            f"{message} – kontrakten er udeladt af Dagster-definitionerne",
            ContractWarning,
            stacklevel=2,
        )
    if not folder.contracts:
        raise ContractError(
            "no valid contract file:\n" + "\n".join(str(e) for e in folder.errors.values()),
            "ingen gyldig kontraktfil: " + "; ".join(folder.broken.values()),
        )
    contracts = folder.contracts
    deliveries: dict[str, set[str]] = {}
    for contract in contracts.values():
        org = contract.organisation.slug
        deliveries.setdefault(org, set()).update(
            ORGANISATION_SOURCES[d] for d in contract.deliveries
        )
    assets = build_ingestion_assets(deliveries)
    jobs = []
    contract_jobs = []
    deadline_jobs = []
    for contract in contracts.values():
        partitions, group = contract_partitions(contract), group_name(contract, "report")
        contract_assets = build_contract_assets(contract)
        draft = build_draft_asset(contract, partitions, group)
        signoff, current = build_signoff_assets(contract, partitions, group)
        deadline = build_deadline_check(contract, partitions)
        assets += [*contract_assets, build_texts_asset(contract), draft, signoff, current, deadline]
        contract_jobs.append(
            contract_job(contract.id, contract.title, [*contract_assets, draft, current])
        )
        # the draft too: its upstream holds the report owner's texts
        jobs.append(ingestion_job(contract.id, [*contract_assets, draft]))
        jobs.append(signoff_job(contract.id, [signoff, current]))
        deadline_jobs.append(deadline_job(contract.id, deadline))
    try:
        frameworks = load_frameworks(frameworks_dir(contracts_dir))
    except FrameworkError as broken:  # like a broken contract: the rest loads all the same
        warnings.warn(
            f"{broken.summary} – landsoverblikket er udeladt af Dagster-definitionerne",
            ContractWarning,
            stacklevel=2,
        )
        frameworks = []
    if frameworks:
        national = build_national_asset(frameworks)
        assets.append(national)
        jobs.append(national_job(national))
    ingest_all = all_ingestion_job()
    return Definitions(
        assets=assets,
        jobs=[ingest_all, *contract_jobs, *jobs, *deadline_jobs],
        schedules=[
            *automation.build_schedules(contracts, ingest_all, automation_running),
            *automation.build_deadline_schedules(contracts, deadline_jobs, automation_running),
        ],
        sensors=[
            automation.build_inbox_sensor(contracts, ingest_all, automation_running),
            automation.build_cascade_sensor(contracts, contract_jobs, automation_running),
        ],
        resources={
            "inbox": inbox or Inbox(),
            "warehouse": Warehouse(),
            "validation": ValidationSettings(),
            "renderer": renderer or Renderer(),
            "clock": Clock(),
            "submissions": submissions or Submissions(),
        },
        # one process for the whole run: a process per step costs ~2 s each and would
        # import pandas, DuckDB and Great Expectations again in every step
        executor=in_process_executor,
        metadata={"broken_contracts": folder.broken},
    )


@definitions
def defs() -> Definitions:
    """The code location as Dagster's tools load it (``tool.dg``/``tool.dagster`` in
    pyproject.toml), built when they call it, not at import."""
    return build_definitions()
