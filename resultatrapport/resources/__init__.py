"""Dagster resources: the inbox, the DuckDB warehouse and the validation settings."""

from resultatrapport.resources.inbox import Inbox
from resultatrapport.resources.validation import ValidationSettings
from resultatrapport.resources.warehouse import Warehouse

__all__ = ["Inbox", "ValidationSettings", "Warehouse"]
