"""Unchanged data gives byte-identical results: a re-run must not make a signed version stale.

DuckDB adds up a column in parallel, in whatever order its threads finish, so a sum, an
average or a regression slope over more than one row group can differ in its last digit
from one run to the next. The effect estimator aggregates in a fixed order, and every
figure a KPI computes is settled to a declared precision before it is stored and hashed.
"""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from resultatrapport.kpis import effect_validation as world
from resultatrapport.kpis.effect import matched_effect
from resultatrapport.kpis.results_table import SIGNIFICANT_DIGITS, settle
from resultatrapport.report import content


def test_the_effect_estimator_gives_the_same_digits_in_every_run():
    # enough firms for several row groups (122,880 rows each), so DuckDB aggregates the
    # controls in parallel: before the fixed order, the interval and the naive difference
    # moved in their last digits between these runs
    con = duckdb.connect()
    con.execute("SET threads = 4")
    world._ddl(con)
    world.generate(con, 1, treated=300, controls=260_000)
    runs = [
        matched_effect(con, world.ORG, world.REPORT_YEAR, world.SEGMENT, "turnover")
        for _ in range(5)
    ]
    seen = {repr(dataclasses.astuple(run)) for run in runs}
    assert len(seen) == 1, seen


@pytest.mark.parametrize(
    ("raw", "settled"),
    [
        (4.934776630454883, 4.934776630),
        (4.934776630454884, 4.934776630),
        (-6.4000000000000004, -6.4),
        (0.0, 0.0),
        (123456789012.5, 123456789000.0),
        (1.2345678905e-7, 1.234567891e-7),
    ],
)
def test_a_figure_is_settled_to_the_declared_significant_digits(raw, settled):
    assert SIGNIFICANT_DIGITS == 10
    assert settle(raw) == settled


def test_settling_reaches_into_tables_and_leaves_the_rest():
    value = {"a": [1.00000000000001, ("x", 2)], "b": None, "c": True, "d": 3}
    assert settle(value) == {"a": [1.0, ("x", 2)], "b": None, "c": True, "d": 3}
    assert isinstance(settle(value)["a"][1], tuple)


def test_a_last_digit_does_not_change_the_data_hash(kkr):
    row = {"kpi_id": "M5-B", "value": 6.3257470964949185, "low": 4.934776630454883}

    def data(low: float) -> content.ReportData:
        return content.ReportData(
            contract=kkr, year=2026, results=[row | {"low": low}], history={}, details={},
            withheld_cells={}, budget=[], deliveries=[], quarantine=[], checks=[],
        )  # fmt: skip

    assert content.data_hash(data(4.934776630454883)) == content.data_hash(data(4.934776630454884))
    assert content.data_hash(data(4.934776630454883)) != content.data_hash(data(4.9347766305))
