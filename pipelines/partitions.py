"""Partitions are calendar years with a fixed start (never computed from the clock)."""

from __future__ import annotations

from dagster import TimeWindowPartitionsDefinition

FIRST_YEAR = 2020

# one partition per calendar year from 2020; end_offset=1 includes the current,
# unfinished year so a year-to-date draft can be built
YEARS = TimeWindowPartitionsDefinition(
    start=str(FIRST_YEAR),
    cron_schedule="0 0 1 1 *",
    fmt="%Y",
    timezone="Europe/Copenhagen",
    end_offset=1,
)
