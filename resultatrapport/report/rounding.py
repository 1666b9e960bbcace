"""How many decimals a figure is printed with, declared once for the report, both CSVs, the
command line and the Dagster UI (``shared/formats/submissions.md``, column Resultat).

A measured value is printed with its unit's decimals (:data:`UNIT_DECIMALS`), and with more
where that rounding would make it read as contradicting its status: the status is decided
on the unrounded value, so 0,997 against ``≥ 1`` is *Ikke opfyldt* and is printed 0,997,
never 1,00 (:func:`value_decimals`). The bounds of its 95 % interval likewise, so that the
printed interval holds the target exactly when *usikker* says so. A target is the
contract's figure and is never rounded: whole targets are printed whole, others with at
least the unit's decimals and as many as the contract gives (:func:`target_decimals`).
"""

from __future__ import annotations

from decimal import Decimal

from resultatrapport.kpis.status import meets
from resultatrapport.report.danish import number

# decimals a measured value is printed with, per unit (tables, charts, CSVs, the UI)
UNIT_DECIMALS = {"antal": 0, "kr.": 0, "pct.": 1, "NPS": 1, "procentpoint": 1, "årsværk": 2}
# every figure is settled to ten significant digits before it is stored: at this many
# decimals a value is printed as stored (kpis/results_table.py, SIGNIFICANT_DIGITS)
MAX_DECIMALS = 10


def unit_decimals(unit: str) -> int:
    """The decimals of a unit; an unknown unit is an error (the units are declared once)."""
    try:
        return UNIT_DECIMALS[unit]
    except KeyError:
        raise ValueError(f"unknown unit {unit!r}; expected one of {list(UNIT_DECIMALS)}") from None


def decimals_for(
    value: float | None, target: float | None, operator: str | None, decimals: int
) -> int:
    """The fewest decimals, at least ``decimals``, at which ``value`` rounded stands against
    ``target`` as the unrounded value does (met or not met); ``decimals`` without a value
    or a target. Works at any scale (a chart in millions passes its scaled figures)."""
    if value is None or target is None or operator is None:
        return decimals
    test = meets(operator, float(target))
    truth = test(float(value))
    for shown in range(decimals, MAX_DECIMALS + 1):
        if test(round(float(value), shown)) == truth:
            return shown
    return max(decimals, MAX_DECIMALS)


def value_decimals(
    value: float | None, unit: str, target: float | None = None, operator: str | None = None
) -> int:
    """Decimals a measured value (or a bound of its interval) is printed with: its unit's,
    or more where the rounded figure would read as meeting a target it does not meet, or
    the other way round."""
    return decimals_for(value, target, operator, unit_decimals(unit))


def own_decimals(value: float) -> int:
    """The decimals a figure has as given (0.975 -> 3, 5.0 -> 0), at most
    :data:`MAX_DECIMALS`."""
    if float(value).is_integer():
        return 0
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return min(-exponent, MAX_DECIMALS) if isinstance(exponent, int) else 0


def target_decimals(target: float, unit: str) -> int:
    """Decimals a target is printed with: none for a whole target (``≥ 50``), else at least
    the unit's and as many as the contract's figure has (a target is never rounded)."""
    if float(target).is_integer():
        return 0
    return max(unit_decimals(unit), own_decimals(target))


def rounded(value: float, decimals: int) -> Decimal:
    """``value`` rounded to ``decimals`` as printed, as a Decimal that keeps them (the CSV
    writer prints a Decimal with exactly its own decimals); never -0."""
    figure = Decimal(repr(round(float(value), decimals))).quantize(Decimal(1).scaleb(-decimals))
    return abs(figure) if figure == 0 else figure


def printed_value(
    value: float, unit: str, target: float | None = None, operator: str | None = None
) -> str:
    """A measured value (or a bound) in Danish as every reader sees it: '0,98', '0,997'."""
    return number(value, value_decimals(value, unit, target, operator))


def printed_target(target: float, unit: str) -> str:
    """A target in Danish as every reader sees it: '1', '5', '2,5'."""
    return number(target, target_decimals(target, unit))
