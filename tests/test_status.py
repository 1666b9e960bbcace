import pytest

from resultatrapport.kpis.status import (
    IKKE_MAALBAR,
    IKKE_OPFYLDT,
    INTET_MAAL,
    OPFYLDT,
    USIKKER,
    status,
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
        ((55, 50, ">=", 51, 59), OPFYLDT),
        ((52, 50, ">=", 47, 57), USIKKER),
        ((45, 50, ">=", 40, 49.9), IKKE_OPFYLDT),
        ((72, 70, ">=", 68, 76), USIKKER),
        ((3, 10, "<="), OPFYLDT),
        ((-9.5, 10, "±"), OPFYLDT),
        ((12, 10, "±"), IKKE_OPFYLDT),
        ((9, 10, "±", 7, 11), USIKKER),
        ((14, 10, "±", 11, 17), IKKE_OPFYLDT),
    ],
)
def test_status(args, expected):
    assert status(*args) == expected


def test_unknown_operator():
    with pytest.raises(ValueError):
        status(1, 1, "=")
