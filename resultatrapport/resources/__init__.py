"""Dagster resources: the inbox, the DuckDB warehouse, the validation settings and the
report output folder."""

from resultatrapport.resources.inbox import Inbox
from resultatrapport.resources.renderer import Renderer
from resultatrapport.resources.validation import ValidationSettings
from resultatrapport.resources.warehouse import Warehouse

__all__ = ["Inbox", "Renderer", "ValidationSettings", "Warehouse"]
