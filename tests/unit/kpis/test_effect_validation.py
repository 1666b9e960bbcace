"""The effect validation: its generator plants what it says, and the estimator finds it."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from resultatrapport.kpis.effect_validation import (
    ORG,
    REPORT_YEAR,
    SEGMENT,
    generate,
    validate_effect,
)

BASE = REPORT_YEAR - 3
COHORT = REPORT_YEAR - 2

RAW_DIFFERENCE = f"""
WITH growth AS (
    SELECT cvr, 100 * (max(turnover) FILTER (WHERE year = {REPORT_YEAR})
                       / max(turnover) FILTER (WHERE year = {BASE}) - 1) AS y
    FROM ingest.financials GROUP BY cvr
),
cohort AS (
    SELECT cvr FROM ingest.crm_cases
    WHERE org = '{ORG}' AND segment = '{SEGMENT}' AND year(end_date) = {COHORT}
)
SELECT avg(y) FILTER (WHERE cvr IN (SELECT cvr FROM cohort))
       - avg(y) FILTER (WHERE cvr NOT IN (SELECT cvr FROM ingest.crm_cases))
FROM growth WHERE y IS NOT NULL
"""


def _raw_difference(seed: int, **world: Any) -> float:
    """Guided minus never-guided mean turnover growth B -> R, straight from the tables."""
    con = duckdb.connect()
    generate(con, seed, **world)
    (row,) = con.execute(RAW_DIFFERENCE).fetchall()
    con.close()
    return float(row[0])


def test_generator_writes_the_years_and_the_cohort():
    con = duckdb.connect()
    generate(con, 3, treated=150, controls=3000)
    years = con.execute("SELECT DISTINCT year FROM ingest.financials ORDER BY year").fetchall()
    assert [y for (y,) in years] == list(range(BASE - 2, REPORT_YEAR + 1))
    (cohort,) = con.execute(
        "SELECT count(DISTINCT cvr) FROM ingest.crm_cases "
        "WHERE org = $org AND segment = $segment AND year(end_date) = $cohort",
        {"org": ORG, "segment": SEGMENT, "cohort": COHORT},
    ).fetchall()
    assert cohort == (150,)
    (cells,) = con.execute(
        f"SELECT count(DISTINCT (left(industry_code, 2), municipality_code, "
        f"start_date > DATE '2010-12-31')) FROM ingest.cvr_firms WHERE year = {BASE}"
    ).fetchall()
    assert cells == (12,)  # x 2 size bands = the 24 matching cells


def test_generator_plants_the_effect_exactly():
    """Same seed, same firms and same guided ones: only the planted points differ."""
    with_effect = _raw_difference(5, planted=5.0)
    without = _raw_difference(5, planted=0.0)
    assert with_effect - without == pytest.approx(5.0, abs=1e-6)
    assert without > 3.0  # what is left is selection: guided firms grew faster anyway


def test_without_selection_the_naive_difference_is_the_planted_effect():
    difference = _raw_difference(11, planted=5.0, selection=0.0, treated=2000, controls=20000)
    assert difference == pytest.approx(5.0, abs=1.0)  # standard error about 0.25


def test_estimator_recovers_the_planted_effect_over_replications():
    """Few replications: wide bounds only (the figures themselves are in docs/methods.md)."""
    res = validate_effect(replications=20, seed=1, planted=5.0, bootstrap_replicates=399)
    assert res.replications == 20 and res.planted == 5.0
    assert abs(res.bias) < 0.5 * res.planted
    assert 0.5 <= res.coverage <= 1.0
    assert res.naive_bias > 2.0 and abs(res.naive_bias) > abs(res.bias) + 2.0
    assert res.rmse > 0 and res.mean_width > 0 and res.seconds > 0
