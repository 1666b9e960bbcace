from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from resources.folders import must_exist
from resultatrapport import settings


class Submissions(ConfigurableResource):
    """The folder of every hub's received submissions, one folder per hub (layout:
    docs/formats/national.md): what the national overview reads."""

    # no default value in the run config (None, not ""), so the launchpad does not pre-fill it
    # as an empty string to delete: unset, the folder comes from the environment at run time
    path: str | None = Field(
        default=None,
        description="Folder of received submissions; unset: $RESULTATRAPPORT_SUBMISSIONS, "
        "else var/submissions in the repo.",
    )

    @property
    def root(self) -> Path:
        return settings.submissions_dir(self.path or "")

    def existing_root(self) -> Path:
        """The folder, or a step failure (no retry) where it does not exist: a wrong folder
        must never read as every hub's submission missing."""
        root = self.root
        return must_exist(root, f"Mappen med indberetninger {root} findes ikke; intet er skrevet.")
