"""The code location: every asset, check, job and resource, built in one place.

Nothing here reads the environment: resources resolve their paths when a run builds them
(see :mod:`resultatrapport.settings`). The contract files are part of the code: they
decide which assets exist.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from dagster import Definitions, PreviewWarning, in_process_executor

from resultatrapport.assets.ingestion import build_ingestion_assets, ingest_key
from resultatrapport.contracts import load_contracts
from resultatrapport.formats import FORMATS, ORGANISATION_SOURCES, REGISTER_SOURCES
from resultatrapport.pipelines.jobs import contract_job
from resultatrapport.resources import Inbox, ValidationSettings, Warehouse

# partitioned asset checks (AssetCheckSpec.partitions_def) are a preview feature in 1.13;
# the project relies on them knowingly, so the warning is not repeated in every run log
warnings.filterwarnings(
    "ignore", category=PreviewWarning, message=".*partitions_def on an AssetCheckSpec"
)


def build_definitions(contracts_dir: Path | None = None) -> Definitions:
    contracts = load_contracts(contracts_dir)
    deliveries: dict[str, set[str]] = {}
    for contract in contracts.values():
        org = contract.organisation.slug
        deliveries.setdefault(org, set()).update(
            ORGANISATION_SOURCES[d] for d in contract.deliveries
        )
    assets = build_ingestion_assets(deliveries)
    by_key = {key: a for a in assets for key in a.keys}
    jobs = []
    for contract in contracts.values():
        org = contract.organisation.slug
        wanted = [ingest_key(FORMATS[s], None) for s in REGISTER_SOURCES]
        wanted += [ingest_key(FORMATS[ORGANISATION_SOURCES[d]], org) for d in contract.deliveries]
        jobs.append(contract_job(contract.id, contract.title, [by_key[k] for k in wanted]))
    return Definitions(
        assets=assets,
        jobs=jobs,
        resources={
            "inbox": Inbox(),
            "warehouse": Warehouse(),
            "validation": ValidationSettings(),
        },
        # one process for the whole run: a process per step costs ~2 s each and would
        # import pandas, DuckDB and Great Expectations again in every step
        executor=in_process_executor,
    )


defs = build_definitions()
