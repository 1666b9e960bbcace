"""The overview's rows: each hub's figure of each national measure as submitted, and one
pooled row per measure for all hubs (``shared/formats/national.md``, "Pooling across hubs").

- **Counts** (``antal``; pooling ``sum``): the sum of the six hubs' figures; the collective
  Mål 2 target is checked on it. A sum needs every hub: where one has no figure it cannot be
  formed (empty, and the remark names the hubs missing).
- **Shares and NPS** (``weighted``): weighted by ``Grundlag`` (for NPS that is the NPS of all
  the hubs' answers together), over the hubs that submitted a value and its basis; the
  remark names every hub left out and why. Computed from the figures as submitted (rounded
  to a tenth), so it may differ from the exact pooled answers by at most 0,05. Where every
  pooled hub gave a 95 % interval, the pooled figure has one too: the hubs are independent
  samples, so the half-width is the root of the sum of the squared weighted half-widths
  (a normal approximation; ``Usikker`` says whether it holds the target).
- **Effects** (``procentpoint``; ``none``): not pooled (that needs the firms).

**Confidentiality.** A pooled figure is made of published cells only: the ``Resultat`` and
``Grundlag`` of hub rows that are not withheld. A withheld figure (``Diskretioneret = Ja``,
its value empty) never enters a pool: a share or NPS is pooled over the other hubs and the
remark names the withheld one; a sum, which would need it, is itself withheld
(``Diskretioneret = Ja``). So every pooled figure is a function of figures the hubs
published, and with them it gives back nothing they did not: no withheld hub figure can be
recovered from a pooled figure and the other hubs' figures (the sum, the one pool that would
contain it, is withheld with it).

The status of a pooled row is decided on the unrounded pooled figure against the
framework's target; the figure is printed as every report prints it
(:mod:`resultatrapport.report.rounding`). ``Opgørelse`` of a pooled row is ``Foreløbig`` when
any hub's figure of the measure is preliminary or not received, else ``Endelig``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from resultatrapport.kpis.status import status, uncertain
from resultatrapport.national.framework import ALL_HUBS, Framework, Measure
from resultatrapport.national.received import (
    MISSING,
    RECEIVED,
    REFUSED,
    HubSubmission,
    Received,
)
from resultatrapport.report.danish import listed, number
from resultatrapport.report.rounding import rounded, target_decimals, value_decimals
from resultatrapport.vocabulary import ENDELIG, FORELOEBIG, IKKE_MAALBAR

# the range a pooled interval is clipped to, by unit
UNIT_RANGE = {"pct.": (0.0, 100.0), "NPS": (-100.0, 100.0)}


@dataclass(frozen=True)
class Line:
    """One row of the overview: a hub's figure of a measure, or the pooled one."""

    measure_id: str
    name: str
    hub: str
    slug: str | None  # the hub's folder; None on the pooled row
    unit: str
    value: Decimal | None
    target: Decimal | None
    operator: str | None
    status: str
    uncertain: bool | None
    n: int | None
    reckoning: str | None
    withheld: bool
    source: str | None
    remark: str | None
    low: Decimal | None = None  # the 95 % interval (not in the CSV; the PDF shows it)
    high: Decimal | None = None
    exact: float | None = None  # the unrounded pooled figure the status is decided on
    state: str = RECEIVED  # the hub's submission: received, refused or missing

    @property
    def pooled(self) -> bool:
        return self.slug is None

    def csv_row(self, year: int) -> dict[str, Any]:
        """The row of ``maalopfyldelse_national_<YYYY>.csv`` (columns of national.md)."""
        return {
            "År": year,
            "Mål-ID": self.measure_id,
            "Målepunkt": self.name,
            "Erhvervshus": self.hub,
            "Enhed": self.unit,
            "Resultat": self.value,
            "Målværdi": self.target,
            "Operator": self.operator,
            "Status": self.status,
            "Usikker": self.uncertain,
            "Grundlag": self.n,
            "Opgørelse": self.reckoning,
            "Diskretioneret": self.withheld,
            "Kilde": self.source,
            "Bemærkning": self.remark,
        }


@dataclass(frozen=True)
class Overview:
    """Every measure's hub rows and pooled row, in the framework's order."""

    received: Received
    lines: dict[str, list[Line]]  # by national measure id: the hubs', then the pooled row

    @property
    def year(self) -> int:
        return self.received.year

    @property
    def framework(self) -> Framework:
        return self.received.framework

    def rows(self) -> list[dict[str, Any]]:
        return [line.csv_row(self.year) for lines in self.lines.values() for line in lines]


def overview(received: Received) -> Overview:
    """The overview of the received submissions (see the module)."""
    lines = {}
    for measure in received.framework.measures:
        hubs = [hub_line(measure, h, received.year) for h in received.hubs]
        lines[measure.id] = [*hubs, pooled_line(measure, hubs, received)]
    return Overview(received, lines)


# --- a hub's row --------------------------------------------------------------------------


def hub_line(measure: Measure, h: HubSubmission, year: int) -> Line:
    """The hub's figure of ``measure`` as submitted, or why there is none."""
    common: dict[str, Any] = {
        "measure_id": measure.id,
        "name": measure.name,
        "hub": h.name,
        "slug": h.hub.slug,
    }
    if h.state != RECEIVED:
        why = (
            f"Ikke modtaget: ingen resultatopfyldelse for {year} i {h.hub.slug}/"
            if h.state == MISSING
            else f"Ikke modtaget i gyldig form: {h.problems[0]}"
        )
        return Line(
            **common, unit=measure.unit, value=None, target=None, operator=None,
            status=IKKE_MAALBAR, uncertain=None, n=None, reckoning=None, withheld=False,
            source=None, remark=why, state=h.state,
        )  # fmt: skip
    used = h.hub.id_of(measure.id)
    row = h.rows.get(used)
    if row is None:
        return Line(
            **common, unit=measure.unit, value=None, target=None, operator=None,
            status=IKKE_MAALBAR, uncertain=None, n=None, reckoning=h.reckoning, withheld=False,
            source=h.file_name, remark=f"Mål-ID {used} findes ikke i indberetningen",
        )  # fmt: skip
    notes = []
    if used != measure.id:
        notes.append(f"Mål-ID i husets kontrakt: {used}")
    if row.unit != measure.unit:
        notes.append(f"Enheden er {row.unit}, ikke {measure.unit}: indgår ikke i landstallet")
    if row.remark:
        notes.append(row.remark)
    return Line(
        **common,
        unit=row.unit,
        value=None if row.withheld else row.value,
        target=row.target,
        operator=row.operator,
        status=row.status,
        uncertain=row.uncertain,
        n=row.n,
        reckoning=row.reckoning,
        withheld=row.withheld,
        source=h.file_name,
        remark="; ".join(notes) or None,
        low=None if row.withheld else row.low,
        high=None if row.withheld else row.high,
    )


# --- the pooled row -----------------------------------------------------------------------


def _why_out(line: Line, measure: Measure) -> str | None:
    """Why a hub's row cannot enter the pool (None: it can)."""
    if line.state == MISSING:
        return "ikke modtaget"
    if line.state == REFUSED:
        return REFUSED
    if line.withheld:
        return "diskretioneret"
    if line.unit != measure.unit:
        return f"enheden er {line.unit}"
    if line.value is None:
        return "intet resultat"
    if measure.pooling == "weighted" and not line.n:
        return "intet grundlag"
    return None


def _named(out: Sequence[tuple[Line, str]]) -> str:
    return listed([f"{line.hub} ({why})" for line, why in out])


def pooled_line(measure: Measure, hubs: list[Line], received: Received) -> Line:
    """The measure's row for all hubs (see the module)."""
    year = received.year
    target = measure.target(year)
    op = target.operator if target else None
    goal = target.value if target else None
    printed_target = None if goal is None else rounded(goal, target_decimals(goal, measure.unit))
    reckoning = ENDELIG if all(h.reckoning == ENDELIG for h in hubs) else FORELOEBIG
    base: dict[str, Any] = {
        "measure_id": measure.id, "name": measure.name, "hub": ALL_HUBS, "slug": None,
        "unit": measure.unit, "target": printed_target, "operator": op, "reckoning": reckoning,
    }  # fmt: skip
    if measure.pooling == "none":
        return Line(
            **base, value=None, status=IKKE_MAALBAR, uncertain=None, n=None, withheld=False,
            source=None,
            remark="Lægges ikke sammen: en mervækst mod en kontrolgruppe kræver virksomhedernes "
            "egne tal; husenes tal står side om side",
        )  # fmt: skip
    out = [(h, why) for h in hubs if (why := _why_out(h, measure)) is not None]
    pooled = [h for h in hubs if _why_out(h, measure) is None]
    if measure.pooling == "sum":
        return _sum_line(measure, hubs, pooled, out, base, year)
    return _weighted_line(measure, pooled, out, base, len(hubs), year)


def _path_note(measure: Measure, year: int) -> str:
    """Mål 2's collective target or path in the year, in words."""
    c = measure.collective
    last = measure.collective_year()
    if c is None or last is None:
        return ""
    end = measure.targets[last]
    assert end is not None
    if year == c.baseline_year:
        return f"Rammeaftalens fordeling {year}: {number(c.total)} i alt"
    path = measure.path(year)
    if year == last:
        return (
            f"Fælles mål: {number(end.value)} ({number(c.multiplier)} × {number(c.total)} i "
            f"{c.baseline_year})"
        )
    if path is None:
        return ""
    return (
        f"Fælles sti fra {number(c.total)} ({c.baseline_year}) til {number(end.value)} "
        f"({last}): {number(path)} i {year}; ikke et mål"
    )


def _sum_line(
    measure: Measure,
    hubs: list[Line],
    pooled: list[Line],
    out: list[tuple[Line, str]],
    base: dict[str, Any],
    year: int,
) -> Line:
    notes = [_path_note(measure, year)] if measure.collective else []
    withheld = [line for line, why in out if why == "diskretioneret"]
    if out:
        if withheld:
            said = listed([line.hub for line in withheld])
            reason = (
                f"Summen offentliggøres ikke: {said} er diskretioneret og kunne ellers regnes ud "
                "af summen og de andre huses tal"
            )
            others = [(line, why) for line, why in out if why != "diskretioneret"]
            if others:
                reason += f"; desuden mangler {_named(others)}"
        else:
            reason = f"Summen kan ikke dannes uden alle huse: {_named(out)} mangler"
        return Line(
            **base, value=None, status=IKKE_MAALBAR, uncertain=None, n=None,
            withheld=bool(withheld), source=None, remark=". ".join([reason, *notes]),
        )  # fmt: skip
    total = sum((line.value for line in pooled if line.value is not None), Decimal(0))
    exact = float(total)
    target, op = _target_of(measure, year)
    ns = [line.n for line in pooled]
    n = sum(x for x in ns if x is not None) if all(x is not None for x in ns) else None
    return Line(
        **base,
        value=rounded(exact, value_decimals(exact, measure.unit, target, op)),
        status=status(exact, target, op),
        uncertain=None,
        n=n,
        withheld=False,
        source=f"{len(pooled)} af {len(hubs)} erhvervshuse",
        remark=". ".join(["Summen af husenes tal", *notes]),
        exact=exact,
    )


def _target_of(measure: Measure, year: int) -> tuple[float | None, str | None]:
    t = measure.target(year)
    return (t.value, t.operator) if t else (None, None)


def _weighted_line(
    measure: Measure,
    pooled: list[Line],
    out: list[tuple[Line, str]],
    base: dict[str, Any],
    count: int,
    year: int,
) -> Line:
    left_out = f"; {_named(out)} indgår ikke" if out else ""
    if not pooled:
        return Line(
            **base, value=None, status=IKKE_MAALBAR, uncertain=None, n=None, withheld=False,
            source=f"0 af {count} erhvervshuse",
            remark=f"Intet hus har et resultat med grundlag at lægge sammen{left_out}",
        )  # fmt: skip
    weights = [(Fraction(line.n or 0), Fraction(line.value or 0)) for line in pooled]
    n = sum(w for w, _ in weights)
    exact = float(sum(w * v for w, v in weights) / n)
    goal, op = _target_of(measure, year)
    low, high = _interval(measure, pooled, exact, int(n))
    decimals = value_decimals(exact, measure.unit, goal, op)
    return Line(
        **base,
        value=rounded(exact, decimals),
        status=status(exact, goal, op),
        uncertain=uncertain(goal, op, low, high),
        n=int(n),
        withheld=False,
        source=f"{len(pooled)} af {count} erhvervshuse",
        remark=f"Vægtet med grundlaget over {len(pooled)} af {count} huse{left_out}",
        low=None if low is None else rounded(low, value_decimals(low, measure.unit, goal, op)),
        high=None if high is None else rounded(high, value_decimals(high, measure.unit, goal, op)),
        exact=exact,
    )


def _interval(
    measure: Measure, pooled: list[Line], exact: float, n: int
) -> tuple[float | None, float | None]:
    """The pooled 95 % interval where every pooled hub gave one (see the module)."""
    if any(line.low is None or line.high is None for line in pooled):
        return None, None
    squares = sum(
        (float(line.n or 0) / n) ** 2 * (float(line.high or 0) - float(line.low or 0)) ** 2 / 4
        for line in pooled
    )
    half = math.sqrt(squares)
    lowest, highest = UNIT_RANGE.get(measure.unit, (-math.inf, math.inf))
    return max(lowest, exact - half), min(highest, exact + half)
