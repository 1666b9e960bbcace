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
