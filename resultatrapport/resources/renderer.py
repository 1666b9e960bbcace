from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from resultatrapport import settings


class Renderer(ConfigurableResource):
    """Where reports and submissions are written (layout: shared/formats/submissions.md)."""

    out: str = Field(
        default="",
        description="Output folder; empty: $RESULTATRAPPORT_OUT, else var/out in the repo.",
    )

    @property
    def root(self) -> Path:
        return settings.out_dir(self.out)
