from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from resultatrapport import settings


class Renderer(ConfigurableResource):
    """Where reports and submissions are written (layout: docs/formats/submissions.md).

    Unset (no default value in the run config, so the launchpad shows nothing to fill in),
    the folder comes from the environment when a run starts."""

    out: str | None = Field(
        default=None,
        description="Output folder; unset: $RESULTATRAPPORT_OUT, else var/out in the repo.",
    )

    @property
    def root(self) -> Path:
        return settings.out_dir(self.out or "")
