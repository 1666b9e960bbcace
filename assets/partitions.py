"""Partitions are calendar years with a fixed start (never computed from the clock), in the
project's time zone (both from :mod:`resultatrapport.vocabulary`)."""

from __future__ import annotations

from dagster import TimeWindowPartitionsDefinition

from resultatrapport.vocabulary import FIRST_YEAR, TIME_ZONE


def year_partitions(first: int, end: int | None = None) -> TimeWindowPartitionsDefinition:
    """One partition per calendar year from ``first`` (up to, not including, ``end``);
    end_offset=1 includes the current, unfinished year so a year-to-date draft can be built."""
    return TimeWindowPartitionsDefinition(
        start=str(first),
        end=None if end is None else str(end),
        cron_schedule="0 0 1 1 *",
        fmt="%Y",
        timezone=TIME_ZONE,
        end_offset=1,
    )


# every year from FIRST_YEAR: the deliveries and the report owner's texts
YEARS = year_partitions(FIRST_YEAR)
