"""Status of a KPI result against its target (the words a report reader sees).

The status follows the point estimate (`Opfyldt` / `Ikke opfyldt`); where the result is an
estimate with a 95 % interval, :func:`uncertain` says beside it whether the interval
contains the target, so the status could be the other one. A status never flatters: a
result below its target is `Ikke opfyldt`, however wide its interval.
"""

from __future__ import annotations

from collections.abc import Callable

from resultatrapport.vocabulary import IKKE_MAALBAR, IKKE_OPFYLDT, INTET_MAAL, OPFYLDT


def meets(operator: str, target: float) -> Callable[[float], bool]:
    """Whether a value meets the target under the operator (the status's one rule; the
    printed figures are held to it too, ``report/rounding.py``)."""
    match operator:
        case ">=":
            return lambda x: x >= target
        case ">":
            return lambda x: x > target
        case "<=":
            return lambda x: x <= target
        case "±":  # the value is a deviation that must stay within the band
            return lambda x: abs(x) <= target
    raise ValueError(f"unknown operator {operator!r}")


def status(value: float | None, target: float | None, operator: str | None) -> str:
    """`Ikke målbar` without a value; `Intet mål i år` without a target; else the value
    against the target."""
    if value is None:
        return IKKE_MAALBAR
    if target is None or operator is None:
        return INTET_MAAL
    return OPFYLDT if meets(operator, target)(value) else IKKE_OPFYLDT


def uncertain(
    target: float | None, operator: str | None, low: float | None, high: float | None
) -> bool | None:
    """True when the 95 % interval holds values on both sides of the target (the status
    could be the other one), False when the whole interval lies on one side; None where
    there is no interval or no target."""
    if low is None or high is None or target is None or operator is None:
        return None
    met = meets(operator, target)
    if operator == "±":  # the band's edges may lie inside the interval on either side
        edges = [x for x in (-target, target) if low < x < high]
        return bool(edges) or met(low) != met(high)
    return met(low) != met(high)
