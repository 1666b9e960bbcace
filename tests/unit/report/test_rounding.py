"""One rounding, declared once: a value is printed with its unit's decimals, or with more where
fewer would make its row read as contradicting its status (issue 25, case 3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from resultatrapport.kpis.status import meets, status
from resultatrapport.report import rounding
from resultatrapport.report.rounding import (
    UNIT_DECIMALS,
    printed_target,
    printed_value,
    rounded,
    target_decimals,
    value_decimals,
)
from resultatrapport.vocabulary import OPERATORS, OPFYLDT, UNITS


def test_the_decimals_of_every_unit_are_declared_once_as_the_recipients_format_says():
    # shared/formats/submissions.md, column Resultat
    assert UNIT_DECIMALS == {
        "antal": 0, "kr.": 0, "pct.": 1, "NPS": 1, "procentpoint": 1, "årsværk": 2,
    }  # fmt: skip
    assert set(UNIT_DECIMALS) == set(UNITS)
    with pytest.raises(ValueError, match="unknown unit"):
        value_decimals(1.0, "stk.")


@pytest.mark.parametrize(
    ("value", "unit", "target", "operator", "shown"),
    [
        # V2 of viborg-ver-2020 2021: 0,977 årsværk against ≥ 1 is printed 0,98 (not 1,0)
        (0.977, "årsværk", 1, ">=", "0,98"),
        # rounded to the unit's 2 decimals it would read 1,00 ≥ 1, yet it is not met
        (0.997, "årsværk", 1, ">=", "0,997"),
        (0.9996, "årsværk", 1, ">=", "0,9996"),
        (1.0, "årsværk", 1, ">=", "1,00"),
        (1.004, "årsværk", 1, ">=", "1,00"),  # met, and reads met
        (4.96, "pct.", 5, ">=", "4,96"),
        (4.94, "pct.", 5, ">=", "4,9"),
        (49.96, "NPS", 50, ">", "50,0"),  # not met, and 50,0 > 50 reads not met either
        (50.04, "NPS", 50, ">", "50,04"),  # met: 50,0 > 50 would read not met
        (5.04, "procentpoint", 5, "<=", "5,04"),
        (4.96, "procentpoint", 5, "<=", "5,0"),  # met, and 5,0 ≤ 5 reads met
        (10.04, "pct.", 10, "±", "10,04"),  # a deviation outside the band
        (-10.04, "pct.", 10, "±", "\u221210,04"),
        (-9.96, "pct.", 10, "±", "\u221210,0"),  # inside, and reads inside
        (4999.6, "antal", 5000, ">=", "4.999,6"),
        (4999.4, "antal", 5000, ">=", "4.999"),
        (2_899_999.5, "kr.", 2_900_000, ">=", "2.899.999,5"),
        (0.997, "årsværk", None, None, "1,00"),  # no target: nothing to contradict
    ],
)
def test_a_printed_value_never_reads_as_the_other_status(value, unit, target, operator, shown):
    assert printed_value(value, unit, target, operator) == shown
    if target is not None:
        # the figure as printed stands against the target as the value does
        printed = float(shown.replace(".", "").replace(",", ".").replace("\u2212", "-"))
        assert meets(operator, target)(printed) == (status(value, target, operator) == OPFYLDT)


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("operator", OPERATORS)
def test_every_unit_and_operator_print_the_status_they_have(unit, operator):
    step = 10.0 ** -UNIT_DECIMALS[unit]
    target = 5.0
    for offset in (-0.4, -0.04, -0.004, 0.0, 0.004, 0.04, 0.4, 1.0):
        for sign in (1, -1) if operator == "±" else (1,):
            value = sign * (target + offset * step)
            decimals = value_decimals(value, unit, target, operator)
            assert UNIT_DECIMALS[unit] <= decimals <= rounding.MAX_DECIMALS
            assert meets(operator, target)(round(value, decimals)) == meets(operator, target)(
                value
            ), (unit, operator, value, decimals)
            if meets(operator, target)(round(value, UNIT_DECIMALS[unit])) == meets(
                operator, target
            )(value):
                assert decimals == UNIT_DECIMALS[unit]  # more only where needed


@pytest.mark.parametrize(
    ("target", "unit", "shown"),
    [(1, "årsværk", "1"), (50.0, "pct.", "50"), (2.5, "NPS", "2,5"), (0.975, "årsværk", "0,975"),
     (12.25, "pct.", "12,25"), (0.5, "antal", "0,5"), (5000, "antal", "5.000")],
)  # fmt: skip
def test_a_target_is_the_contracts_figure_never_rounded(target, unit, shown):
    assert printed_target(target, unit) == shown
    assert target_decimals(target, unit) == (len(shown.split(",")[1]) if "," in shown else 0)


def test_the_csv_gets_a_decimal_that_keeps_the_printed_decimals():
    assert rounded(0.977, 2) == Decimal("0.98") and str(rounded(0.977, 2)) == "0.98"
    assert str(rounded(0.997, 3)) == "0.997"
    assert str(rounded(80.0, 1)) == "80.0"
    assert str(rounded(-0.04, 1)) == "0.0"  # never -0
    assert str(rounded(44_815_000, 0)) == "44815000"
