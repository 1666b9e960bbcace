from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from resultatrapport import settings


class Inbox(ConfigurableResource):
    """The folder deliveries arrive in (layout: shared/formats/sources.md)."""

    path: str = Field(
        default="",
        description="Inbox folder; empty: $RESULTATRAPPORT_INBOX, else var/inbox in the repo.",
    )

    @property
    def root(self) -> Path:
        return settings.inbox_dir(self.path)

    def file(self, relpath: str) -> Path:
        return self.root / relpath
