"""Danish numbers with the locale and pattern parsed once per process: the same text as
Babel's own per-call parsing, for every decimals and grouping the report uses."""

from __future__ import annotations

from babel.numbers import format_decimal

from resultatrapport.report import danish


def test_the_same_text_as_parsing_per_call():
    values = [0, -0.0, 0.5, -0.5, 1e-9, 3.14159, -1234.5678, 44815000, 12345678901.25]
    for value in values:
        for decimals in range(5):
            for grouping in (True, False):
                pattern = ("#,##0" if grouping else "0") + (
                    "." + "0" * decimals if decimals else ""
                )
                # rounded to zero shows no sign; the report's minus is U+2212, the CSV's ASCII
                plain = round(value, decimals) + 0.0
                expected = format_decimal(plain, format=pattern, locale="da_DK")
                expected = expected.replace("-", danish.MINUS) if grouping else expected
                assert danish.number(value, decimals, grouping) == expected


def test_a_pattern_is_parsed_once():
    danish.number(1.5, 3)
    misses = danish._pattern.cache_info().misses, danish._locale.cache_info().misses
    for value in range(100):
        danish.number(value + 0.25, 3)
    assert (danish._pattern.cache_info().misses, danish._locale.cache_info().misses) == misses
