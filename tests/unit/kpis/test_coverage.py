"""The interval coverage measurements (issue: intervals that keep their 95 %)."""

from __future__ import annotations

import numpy as np
import pytest

from resultatrapport.kpis import coverage, interval_coverage
from resultatrapport.kpis.coverage import Coverage
from resultatrapport.kpis.stats import MIN_INTERVAL_N, nps, weighted_share, wilson


def test_share_coverage_by_hand():
    # Wilson at n = 10 holds 5 % for x = 0 and 1 only: P(x <= 1) = 0.95^10 + 10 * 0.05 * 0.95^9
    assert interval_coverage.share_coverage(10, 0.05) == pytest.approx(0.95**10 + 0.5 * 0.95**9)


def test_share_coverage_agrees_with_the_report_function():
    # the exact sum over x, against the interval stats.wilson gives for each x
    n, p = 23, 0.3
    held = [
        (lambda e: e.low / 100 <= p <= e.high / 100)(wilson(x, n))  # type: ignore[operator]
        for x in range(n + 1)
    ]
    from scipy.stats import binom

    expected = sum(binom.pmf(x, n, p) for x in range(n + 1) if held[x])
    assert interval_coverage.share_coverage(n, p) == pytest.approx(expected)


def test_nps_coverage_agrees_with_simulating_the_report_function():
    rng = np.random.default_rng(7)
    n, promoters, detractors = 12, 0.6, 0.16
    truth = 100 * (promoters - detractors)
    draws = rng.choice([10, 7, 0], p=[promoters, 1 - promoters - detractors, detractors],
                       size=(20_000, n))  # fmt: skip
    held = 0
    for scores in draws:
        est = nps(scores)
        held += est.low <= truth <= est.high  # type: ignore[operator]
    # exact vs 20,000 simulated samples: standard error 0.0015
    assert interval_coverage.nps_coverage(n, promoters, detractors) == pytest.approx(
        held / len(draws), abs=0.006
    )


def test_weighted_share_coverage_agrees_with_the_report_function():
    rng = np.random.default_rng(3)
    n, p = 15, 0.3
    held = 0
    reps = 4000
    for _ in range(reps):
        w = rng.lognormal(0, interval_coverage.WEIGHT_SIGMA, n)
        y = (rng.random(n) < p).astype(float)
        est = weighted_share(y, w)
        held += est.low <= 100 * p <= est.high  # type: ignore[operator]
    simulated = interval_coverage.weighted_share_coverage(n, p, 20_000, np.random.default_rng(4))
    assert simulated == pytest.approx(held / reps, abs=0.015)  # two independent estimates


def test_the_old_plain_nps_interval_misses_at_ten_answers():
    # what the issue measured, computed exactly: the normal-approximation interval covers
    # about 90 % at n = 10, the adjusted Wald interval 94-96 % at every true value
    from scipy.special import gammaln

    n, promoters, detractors = 10, 0.6, 0.16
    truth = promoters - detractors
    held = 0.0
    for pro in range(n + 1):
        for det in range(n - pro + 1):
            pas = n - pro - det
            prob = np.exp(
                gammaln(n + 1) - gammaln(pro + 1) - gammaln(det + 1) - gammaln(pas + 1)
                + pro * np.log(promoters) + det * np.log(detractors)
                + pas * np.log(1 - promoters - detractors)
            )  # fmt: skip
            p, d = pro / n, det / n
            se = ((p + d - (p - d) ** 2) / n) ** 0.5
            held += prob * (p - d - 1.959964 * se <= truth <= p - d + 1.959964 * se)
    assert held < 0.93
    assert 0.94 <= interval_coverage.nps_coverage(n, promoters, detractors) <= 0.97


def test_packaged_table_is_what_the_code_measures():
    """The exact kinds' rows are deterministic: a stale table (code changed, table not
    regenerated with `validate-methods --table`) fails here."""
    table = coverage.read_table()
    fresh = coverage.interval_coverage(sizes=(10, 50, 300), kinds=("share", "nps"))
    by = {(r.kind, r.n): r for r in table}
    for row in fresh:
        assert by[(row.kind, row.n)].mean == pytest.approx(row.mean, abs=1e-9)
        assert by[(row.kind, row.n)].lowest == pytest.approx(row.lowest, abs=1e-9)


def test_every_interval_kind_holds_its_95_from_ten_answers():
    table = coverage.read_table()
    kinds = {r.kind for r in table}
    assert {"share", "nps", "weighted_share", "effect"} <= kinds
    for row in table:
        if row.kind in coverage.INTERVAL_KINDS and row.n >= MIN_INTERVAL_N:
            assert 0.93 <= row.mean <= 0.97, row
    effect = coverage.effect_measured()
    assert effect is not None and effect.replications >= 200


def test_measured_takes_the_largest_size_not_above_n():
    table = [
        Coverage("nps", 10, 0.95, 0.94, 0.96, 8, 0),
        Coverage("nps", 20, 0.951, 0.94, 0.96, 8, 0),
        Coverage("share", 15, 0.94, 0.91, 0.98, 10, 0),
    ]
    assert coverage.measured("nps", 19, table).n == 10  # type: ignore[union-attr]
    assert coverage.measured("nps", 20, table).n == 20  # type: ignore[union-attr]
    assert coverage.measured("nps", 5000, table).n == 20  # type: ignore[union-attr]
    assert coverage.measured("nps", 9, table) is None  # no interval below 10
    assert coverage.measured("nps", None, table) is None
    assert coverage.measured("weighted_share", 100, table) is None


def test_report_says_too_few_answers_for_an_interval():
    from resultatrapport.report.view import TOO_FEW_FOR_INTERVAL, fmt_interval

    few = {"value": 40.0, "low": None, "high": None, "n": 7, "unit": "NPS"}
    assert fmt_interval(few, "nps") == TOO_FEW_FOR_INTERVAL == "for få besvarelser til et interval"
    assert fmt_interval(few, "count") == ""  # a count has no interval at all
    assert fmt_interval({**few, "value": None}, "nps") == ""  # withheld: nothing to say
    shown = {"value": 40.0, "low": 12.5, "high": 61.3, "n": 30, "unit": "NPS"}
    assert fmt_interval(shown, "nps") == "12,5 – 61,3"


def test_method_notes_state_the_coverage_at_the_figures_sample_size():
    from types import SimpleNamespace as NS

    from resultatrapport.report.view import interval_coverage

    contract = NS(
        kpis=[
            NS(id="N1", kind="nps"),
            NS(id="N2", kind="nps"),
            NS(id="K1", kind="weighted_share"),
            NS(id="V1", kind="count"),
            NS(id="E1", kind="effect"),
        ]
    )
    results = {
        "N1": {"value": 40.0, "n": 24},
        "N2": {"value": 10.0, "n": 6},
        "K1": {"value": 55.0, "n": 1040},
        "V1": {"value": 12.0, "n": 12},
        "E1": {"value": 3.1, "n": 150},
    }
    rows = {r["id"]: r for r in interval_coverage(contract, results)}
    assert set(rows) == {"N1", "N2", "K1", "E1"}
    n20 = coverage.measured("nps", 24)
    assert n20 is not None and n20.n == 20
    assert rows["N1"]["at"] == "20 besvarelser"
    assert rows["N1"]["coverage"] == f"{100 * n20.mean:.1f} %".replace(".", ",")
    assert rows["N1"]["method"] == "justeret Wald-interval (Rocks 2016)"
    assert rows["N2"]["coverage"] == "for få besvarelser til et interval"
    assert rows["K1"]["at"] == "1.000 besvarelser"
    assert "simulerede datasæt" in rows["E1"]["at"]


def test_the_report_and_the_method_notes_do_not_import_scipy():
    """Every run imports the coverage table through the report; scipy (about a second per
    process) only where coverage is computed."""
    import subprocess
    import sys

    code = (
        "import sys, resultatrapport.report.view, resultatrapport.methods; "
        "print('scipy' in sys.modules)"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
