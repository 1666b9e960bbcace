from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from resultatrapport.ingestion import MAX_QUARANTINED_SHARE


class ValidationSettings(ConfigurableResource):
    """Thresholds of the blocking checks on deliveries."""

    max_quarantined_share: float = Field(
        default=MAX_QUARANTINED_SHARE,
        ge=0.0,
        le=1.0,
        description="A file with a larger share of quarantined rows cannot be trusted (blocking).",
    )
