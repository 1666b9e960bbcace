from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from resultatrapport import settings


class Renderer(ConfigurableResource):
    """Where reports and submissions are written (layout: docs/formats/submissions.md)."""

    # no default value in the run config (None, not ""), so the launchpad does not pre-fill it
    # as an empty string to delete: unset, the folder comes from the environment at run time
    out: str | None = Field(
        default=None,
        description="Output folder; unset: $RESULTATRAPPORT_OUT, else var/out in the repo.",
    )

    @property
    def root(self) -> Path:
        return settings.out_dir(self.out or "")
