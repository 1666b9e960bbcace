"""A report year's deadline, as the cover prints it and as an alert.

Each contract declares its deadlines as rules (``reporting.deadlines`` in the contract file,
:class:`resultatrapport.contracts.DueDate`): one date per report year. The report's cover
prints them (:func:`cover`). :func:`judge` decides, for a given day, what the year's
deadline asks of the report owner: nothing yet while the deadline is more than
``settings.deadline_warning_days`` away (``far``), a warning from then on while the year has
no signed final version (``near``), an error once the deadline has passed (``overdue``), and
nothing more once the year is signed (``signed``). The day is always given: nothing here
reads the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import duckdb

from resultatrapport.contracts import Contract, Deadline
from resultatrapport.report.content import load
from resultatrapport.report.danish import listed, long_date
from resultatrapport.report.finality import finality

Level = Literal["far", "near", "overdue", "signed"]


def final_signed(con: duckdb.DuckDBPyConnection, contract: Contract, year: int) -> bool:
    """Whether the report of ``year`` has a signed final version: a recorded sign-off whose
    figures were final on the day it was signed (:func:`resultatrapport.report.finality.
    finality`: the year over then, and no delivery of the year missing)."""
    days = [
        signed_at.date()
        for (signed_at,) in con.execute(
            "SELECT signed_at FROM report.signoffs WHERE contract = $c AND year = $y "
            "AND signed_at > $end",
            {"c": contract.id, "y": year, "end": dt.datetime(year + 1, 1, 1)},
        ).fetchall()
    ]
    if not days:
        return False
    data = load(con, contract, year)
    return any(finality(data, day).final for day in days)


def _what(deadline: Deadline) -> str:
    """'Årlig skriftlig afrapportering til Viborg Kommune'."""
    return f"{deadline.title} til {listed(deadline.to)}"


def cover(contract: Contract, year: int) -> list[dict[str, str | bool]]:
    """The deadlines of the report of ``year`` as the cover prints them, earliest first: the
    date in Danish, what is due to whom, and the contract's words where the date is a
    setting the contract does not give."""
    return [
        {
            "date": long_date(on),
            "what": _what(deadline),
            "date_in_contract": deadline.date_in_contract,
            "contract_text": deadline.contract_text,
        }
        for deadline, on in contract.deadlines(year)
    ]


@dataclass(frozen=True)
class Judgment:
    """What the deadline of a report year asks on a given day; ``message`` in Danish."""

    year: int
    deadline: dt.date
    warn_from: dt.date
    level: Level
    message: str

    @property
    def passed(self) -> bool:
        return self.level in ("far", "signed")


def _days(n: int) -> str:
    return "1 dag" if n == 1 else f"{n} dage"


def judge(contract: Contract, year: int, signed: bool, today: dt.date) -> Judgment:
    """The deadline of the report of ``year`` (its earliest) on ``today``, given whether the
    year has a signed final version (:func:`final_signed`)."""
    dated = contract.deadlines(year)
    deadline = dated[0][1]
    what = listed([_what(d) for d, on in dated if on == deadline])
    warn_from = deadline - dt.timedelta(days=contract.settings.deadline_warning_days)
    due = long_date(deadline)
    if signed:
        level: Level = "signed"
        message = f"Årsrapporten for {year} er godkendt. Fristen: {due} ({what})."
    elif today < warn_from:
        level = "far"
        message = (
            f"Fristen for årsrapporten for {year} er {due} ({what}); der advares fra "
            f"{long_date(warn_from)}, hvis den ikke er godkendt."
        )
    elif today <= deadline:
        level = "near"
        left = (deadline - today).days
        when = "i dag" if left == 0 else f"om {_days(left)}"
        message = (
            f"Årsrapporten for {year} har ingen godkendt endelig version, og fristen er "
            f"{due}, {when} ({what})."
        )
    else:
        level = "overdue"
        message = (
            f"Fristen for årsrapporten for {year} var {due} ({what}), og den har ingen "
            f"godkendt endelig version: fristen er overskredet med {_days((today - deadline).days)}."
        )
    return Judgment(year, deadline, warn_from, level, message)
