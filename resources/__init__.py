"""Dagster resources: the inbox, the DuckDB warehouse, the validation settings and the
report output folder."""

from resources.inbox import Inbox
from resources.renderer import Renderer
from resources.validation import ValidationSettings
from resources.warehouse import Warehouse

__all__ = ["Inbox", "Renderer", "ValidationSettings", "Warehouse"]
