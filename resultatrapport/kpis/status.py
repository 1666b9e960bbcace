"""Status of a KPI result against its target (the words a report reader sees)."""

from __future__ import annotations

from collections.abc import Callable

OPFYLDT = "Opfyldt"
IKKE_OPFYLDT = "Ikke opfyldt"
USIKKER = "Usikker"
IKKE_MAALBAR = "Ikke målbar"
INTET_MAAL = "Intet mål i år"
STATUSES = (OPFYLDT, IKKE_OPFYLDT, USIKKER, IKKE_MAALBAR, INTET_MAAL)

OPERATORS = (">=", ">", "<=", "±")


def _meets(operator: str, target: float) -> Callable[[float], bool]:
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


def status(
    value: float | None,
    target: float | None,
    operator: str | None,
    low: float | None = None,
    high: float | None = None,
) -> str:
    """`Ikke målbar` without a value; `Intet mål i år` without a target; else judged.

    With an interval (an estimate), the result is `Opfyldt` only when the whole interval
    meets the target, `Ikke opfyldt` when none of it does, and `Usikker` when it spans it.
    """
    if value is None:
        return IKKE_MAALBAR
    if target is None or operator is None:
        return INTET_MAAL
    meets = _meets(operator, target)
    if low is None or high is None:
        return OPFYLDT if meets(value) else IKKE_OPFYLDT
    if operator == "±":
        inside = [meets(low), meets(high)]
        if all(inside):
            return OPFYLDT
        # a band is missed for sure only when the whole interval lies on one side outside
        return IKKE_OPFYLDT if (low > target or high < -target) else USIKKER
    ends = [meets(low), meets(high)]
    if all(ends):
        return OPFYLDT
    if not any(ends):
        return IKKE_OPFYLDT
    return USIKKER
