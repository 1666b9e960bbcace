from __future__ import annotations

import datetime as dt

from dagster import ConfigurableResource
from pydantic import Field

from resultatrapport.vocabulary import TZ


class Clock(ConfigurableResource):
    """Today's date for what judges against the calendar (the reporting deadline check): the
    one place such a check takes "today" from, read when the check runs, never at import."""

    # no default value in the run config (None, not ""), so the launchpad does not pre-fill it
    today: str | None = Field(
        default=None,
        description="The date to judge as of (YYYY-MM-DD); unset: today in Europe/Copenhagen "
        "when the check runs.",
    )

    def date(self) -> dt.date:
        if self.today:
            return dt.date.fromisoformat(self.today)
        return dt.datetime.now(TZ).date()
