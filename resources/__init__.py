"""Dagster resources: the inbox, the DuckDB warehouse, the validation settings, the
report output folder, the clock and the folder of received submissions."""

from resources.clock import Clock
from resources.inbox import Inbox
from resources.renderer import Renderer
from resources.submissions import Submissions
from resources.validation import ValidationSettings
from resources.warehouse import Warehouse

__all__ = ["Clock", "Inbox", "Renderer", "Submissions", "ValidationSettings", "Warehouse"]
