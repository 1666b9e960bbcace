"""Jobs: one per contract, materialising everything its report needs for a year."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import AssetsDefinition, AssetSelection, define_asset_job


def job_name(contract_id: str) -> str:
    return "contract_" + contract_id.replace("-", "_")


def contract_job(
    contract_id: str, title: str, assets: Sequence[AssetsDefinition]
):  # -> UnresolvedAssetJobDefinition (not exported by dagster)
    """The job for one contract: its assets and everything upstream of them."""
    keys = [key for a in assets for key in a.keys]
    return define_asset_job(
        name=job_name(contract_id),
        selection=AssetSelection.assets(*keys).upstream(),
        description=f"Everything the report of {contract_id} ({title}) needs for one year.",
        tags={"contract": contract_id},
    )
