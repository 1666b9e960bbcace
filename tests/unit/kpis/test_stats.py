from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from resultatrapport.kpis.stats import (
    bootstrap_mean,
    kish_effective_n,
    largest_remainder,
    nps,
    weighted_share,
    wilson,
)


def test_wilson_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:857-872, table I: 81/263 -> 0.2553 to 0.3662
    est = wilson(81, 263)
    assert est.value == pytest.approx(100 * 81 / 263)
    assert est.low == pytest.approx(25.53, abs=0.01)
    assert est.high == pytest.approx(36.62, abs=0.01)


def test_wilson_extremes_and_empty():
    assert wilson(0, 10).low == 0.0
    assert wilson(10, 10).high == pytest.approx(100.0)
    assert wilson(0, 0).value is None


def test_nps_of_a_known_answer_set():
    # 6 promoters (9-10), 2 passives (7-8), 2 detractors (0-6): NPS = 60 - 20 = 40
    scores = np.array([10, 10, 9, 9, 9, 10, 8, 7, 6, 0])
    est = nps(scores)
    assert est.value == pytest.approx(40.0)
    assert est.n == 10
    # adjusted Wald (Rocks 2016), by hand: n = 13, P = 6.75/13, D = 2.75/13, centre 4/13;
    # var = (9.5/13 - (4/13)^2) / 13 = 0.048930 -> se 0.221201 -> 0.30769 -/+ 0.43355
    assert est.low == pytest.approx(-12.586, abs=1e-3)
    assert est.high == pytest.approx(74.125, abs=1e-3)


def test_nps_interval_is_not_the_plain_normal_one():
    # the plain normal interval of the same answers was 40 -/+ 49.58 (se 0.2530): it is
    # narrower around 40 and misses too often at 10 answers (docs/methods.md)
    est = nps(np.array([10, 10, 9, 9, 9, 10, 8, 7, 6, 0]))
    assert est.high - est.value != pytest.approx(100 * 1.959964 * 0.064**0.5, abs=1e-3)


def test_no_interval_below_ten_answers():
    assert nps(np.array([10, 9, 0])).low is None
    assert nps(np.array([10, 9, 0])).value == pytest.approx(100 / 3)
    assert wilson(3, 9).low is None and wilson(3, 9).value == pytest.approx(100 / 3)
    assert wilson(3, 10).low is not None
    est = weighted_share(np.array([1, 0, 1]), np.array([1.0, 2.0, 1.0]))
    assert est.value == pytest.approx(50.0) and est.low is None and est.high is None


def test_nps_ignores_missing_answers():
    assert nps(np.array([10, np.nan, 0])).value == pytest.approx(0.0)
    assert nps(np.array([np.nan])).value is None


def test_weighted_share_hand_computed():
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 0])
    w = np.array([1.0, 3.0, 1.0, 1.0, 2.0, 1.0, 1.0, 2.0, 2.0, 1.0])
    est = weighted_share(y, w)
    assert est.value == pytest.approx(40.0)  # 6 / 15
    # Kish: n_eff = 15^2 / 27 = 8.3333; Wilson at p = 0.4, n = 8.3333 (z^2 = 3.841459):
    # centre = (0.4 + 0.230488) / 1.460975 = 0.431553, half = 0.276983
    assert kish_effective_n(w) == pytest.approx(225 / 27)
    assert est.low == pytest.approx(15.457, abs=0.01)
    assert est.high == pytest.approx(70.854, abs=0.01)


def test_weighted_share_equal_weights_is_the_wilson_share():
    y = np.array([1] * 30 + [0] * 70)
    est = weighted_share(y, np.ones(100))
    assert est.value == pytest.approx(30.0)
    assert (est.low, est.high) == pytest.approx((wilson(30, 100).low, wilson(30, 100).high))


def test_bootstrap_interval_covers_the_mean_and_is_deterministic():
    d = np.random.default_rng(1).normal(10, 5, size=400)
    a, b = bootstrap_mean(d, seed=3), bootstrap_mean(d, seed=3)
    assert a == b
    assert a.low < d.mean() < a.high
    assert a.high - a.low == pytest.approx(2 * 1.96 * 5 / 20, rel=0.15)


@given(
    total=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=40).filter(
        lambda ws: sum(ws) > 0
    ),
)
def test_largest_remainder_adds_up_exactly(total, weights):
    parts = largest_remainder(total, weights)
    assert sum(parts) == total
    denom = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        assert abs(part - total * w / denom) < 1  # each part is within one krone of its quota


@given(
    total=st.integers(min_value=0, max_value=10**8),
    weights=st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=30).filter(
        lambda ws: sum(ws) > 1e-6
    ),
)
def test_largest_remainder_with_fractional_weights(total, weights):
    assert sum(largest_remainder(total, weights)) == total


def test_largest_remainder_rejects_nonsense():
    with pytest.raises(ValueError):
        largest_remainder(10, [0, 0])
