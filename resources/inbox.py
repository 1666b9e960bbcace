from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from resources.folders import must_exist
from resultatrapport import settings


class Inbox(ConfigurableResource):
    """The folder deliveries arrive in (layout: docs/formats/sources.md)."""

    # no default value in the run config (None, not ""), so the launchpad does not pre-fill it
    # as an empty string to delete: unset, the folder comes from the environment at run time
    path: str | None = Field(
        default=None,
        description="Inbox folder; unset: $RESULTATRAPPORT_INBOX, else var/inbox in the repo.",
    )

    @property
    def root(self) -> Path:
        return settings.inbox_dir(self.path or "")

    def file(self, relpath: str) -> Path:
        return self.root / relpath

    def existing_root(self) -> Path:
        """The inbox folder, or a step failure (no retry) where it does not exist: a wrong
        inbox must never read as every delivery missing."""
        root = self.root
        return must_exist(root, f"Indbakken {root} findes ikke; intet er læst eller ændret.")
