import datetime as dt

from resultatrapport.report.danish import csv_number, long_date, number


def test_numbers_in_danish():
    assert number(1234.5, 1) == "1.234,5"
    assert number(44815000) == "44.815.000"
    assert number(-3.25, 2) == "\u22123,25"  # the minus sign, not a hyphen
    assert number(-0.04, 1) == "0,0"  # rounds to zero: no sign
    assert csv_number(-6.4, 1) == "-6,4"  # a program reads the CSV: ASCII hyphen-minus
    assert number(None) == "–"
    assert csv_number(1234.5, 1) == "1234,5"
    assert csv_number(None) == ""


def test_dates_in_danish():
    assert long_date(dt.date(2025, 12, 19)) == "19. december 2025"
    assert long_date(dt.date(2026, 1, 1)) == "1. januar 2026"


def test_years_are_said_one_way_everywhere():
    """One formatter of years (messages, run names, contract errors): consecutive years as a
    span, two of them too ('2019-2020', where the command line once said '2019, 2020' and the
    asset checks '2019-2020')."""
    from resultatrapport.report.danish import years_text

    assert years_text([2019, 2020]) == "2019-2020"
    assert years_text([2017, 2015, 2016, 2019, 2019]) == "2015-2017, 2019"
    assert years_text([2026]) == "2026"
    assert years_text(range(2020, 2024)) == "2020-2023"


def test_no_module_spells_a_span_of_years_itself():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    own = re.compile(r'f"\{(first|years\[0\]|s\[0\])\}-\{(last|years\[-1\]|s\[-1\])\}"')
    found = [
        f"{path.relative_to(root)}:{n}"
        for package in ("resultatrapport", "assets", "pipelines", "commands", "resources")
        for path in sorted((root / package).rglob("*.py"))
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if own.search(line) and path.name != "danish.py"
    ]
    assert found == [], found
