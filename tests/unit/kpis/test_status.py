import pytest

from resultatrapport.kpis.status import (
    IKKE_MAALBAR,
    IKKE_OPFYLDT,
    INTET_MAAL,
    OPFYLDT,
    status,
    uncertain,
)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((None, 50, ">="), IKKE_MAALBAR),
        ((None, None, None), IKKE_MAALBAR),
        ((60, None, None), INTET_MAAL),
        ((5000, 5000, ">="), OPFYLDT),
        ((4999, 5000, ">="), IKKE_OPFYLDT),
        ((0.1, 0, ">"), OPFYLDT),
        ((0.0, 0, ">"), IKKE_OPFYLDT),
        ((3, 10, "<="), OPFYLDT),
        ((-9.5, 10, "±"), OPFYLDT),
        ((12, 10, "±"), IKKE_OPFYLDT),
        # the status follows the point estimate: 67.6 against at least 70 is not met,
        # whatever the interval (it used to read "Usikker")
        ((67.6, 70, ">="), IKKE_OPFYLDT),
    ],
)
def test_status_follows_the_point_estimate(args, expected):
    assert status(*args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((50, ">=", 51, 59), False),
        ((50, ">=", 47, 57), True),
        ((50, ">=", 40, 49.9), False),
        ((70, ">=", 63.1, 72.0), True),
        ((10, "±", 7, 11), True),
        ((10, "±", -11, -7), True),
        ((10, "±", 11, 17), False),
        ((10, "±", -5, 5), False),
        ((50, ">=", None, None), None),
        ((None, None, 47, 57), None),
    ],
)
def test_uncertain_when_the_interval_holds_the_target(args, expected):
    assert uncertain(*args) is expected


def test_unknown_operator():
    with pytest.raises(ValueError):
        status(1, 1, "=")
