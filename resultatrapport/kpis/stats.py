"""Statistics behind the KPIs: intervals, NPS, matched differences, the budget split.

Pure functions on numbers and arrays (the data reduction happens in DuckDB first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

Z95 = 1.959963984540054
# Below this many answers a survey figure gets no interval. Measured with `resultatrapport
# validate-methods` (docs/methods.md): at 5 answers every interval kind here falls below
# 93 % coverage at some true values; from 10 the NPS and weighted-share intervals hold
# 93-97 % at every true value of the grid, and the Wilson interval does on average (its
# coverage swings with the true value at small n, as any binomial interval's does)
MIN_INTERVAL_N = 10


@dataclass(frozen=True)
class Estimate:
    value: float | None
    n: int
    low: float | None = None
    high: float | None = None


def wilson(successes: int, n: int, z: float = Z95) -> Estimate:
    """Share in percent with the Wilson score interval (Wilson 1927; Brown, Cai & DasGupta
    2001). Below :data:`MIN_INTERVAL_N` answers there is no interval."""
    if n <= 0:
        return Estimate(None, 0)
    p = successes / n
    if n < MIN_INTERVAL_N:
        return Estimate(100 * p, n)
    low, high = wilson_bounds(p, n, z)
    return Estimate(100 * p, n, 100 * float(low), 100 * float(high))


def kish_effective_n(w: np.ndarray) -> float:
    """Kish's effective sample size of a weighted sample: (sum w)^2 / sum w^2."""
    w = np.asarray(w, dtype=float)
    return float(w.sum() ** 2 / (w * w).sum()) if w.size and (w * w).sum() > 0 else 0.0


def wilson_bounds(p: ArrayLike, n: ArrayLike, z: float = Z95) -> tuple[Any, Any]:
    """Wilson score bounds (fractions) of a share p observed in n; n may be fractional (an
    effective sample size), and p and n may be numpy arrays (the coverage computations)."""
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return np.maximum(0.0, centre - half), np.minimum(1.0, centre + half)


def weighted_share(y: np.ndarray, w: np.ndarray, z: float = Z95) -> Estimate:
    """Weighted share in percent with a Wilson interval at Kish's effective sample size.

    The share is the ratio estimator sum(w*y)/sum(w). Its interval is the Wilson score
    interval with n replaced by Kish's effective sample size (sum w)^2 / sum w^2, which
    equals n for equal weights and shrinks as the weights grow unequal (Kish 1965; the
    effective-n Wilson interval of Kott & Carr 1997). Unlike the linearised (Wald)
    interval used before, it keeps its coverage at small samples and at shares near 0 or
    100 % (measured: ``resultatrapport validate-methods``, docs/methods.md). Below
    :data:`MIN_INTERVAL_N` answers the share has no interval.
    """
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    n = int(y.size)
    if n == 0 or w.sum() <= 0:
        return Estimate(None, n)
    p = float((w * y).sum() / w.sum())
    if n < MIN_INTERVAL_N:
        return Estimate(100 * p, n)
    low, high = wilson_bounds(p, kish_effective_n(w), z)
    return Estimate(100 * p, n, 100 * float(low), 100 * float(high))


def nps(scores: np.ndarray, z: float = Z95) -> Estimate:
    """Net Promoter Score (% 9-10 minus % 0-6) with the adjusted Wald interval.

    The interval is Rocks' (2016) adjusted Wald interval (The American Statistician 70(4),
    365-372): 3/4 of an answer is added to the promoters and to the detractors and 3 to
    the number of answers, and the normal interval is taken around the adjusted score with
    the variance of a mean of +1/0/-1 answers, (P + D - (P - D)^2) / n. The plain normal
    interval misses one time in ten at 10 answers; the adjusted one holds its 95 % from 10
    answers (measured: ``resultatrapport validate-methods``). The value itself is the plain
    NPS. Below :data:`MIN_INTERVAL_N` answers there is no interval.
    """
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    n = int(s.size)
    if n == 0:
        return Estimate(None, 0)
    promoters = int((s >= 9).sum())
    detractors = int((s <= 6).sum())
    value = 100 * (promoters - detractors) / n
    if n < MIN_INTERVAL_N:
        return Estimate(value, n)
    low, high = adjusted_wald_nps_bounds(promoters, detractors, n, z)
    return Estimate(value, n, 100 * float(low), 100 * float(high))


def adjusted_wald_nps_bounds(
    promoters: ArrayLike, detractors: ArrayLike, n: int, z: float = Z95
) -> tuple[Any, Any]:
    """Adjusted Wald bounds (fractions, -1..1) of an NPS from its counts of promoters and
    detractors among n answers (numpy arrays allowed: the coverage computations)."""
    n_adj = n + 3
    p = (np.asarray(promoters, dtype=float) + 0.75) / n_adj
    d = (np.asarray(detractors, dtype=float) + 0.75) / n_adj
    centre = p - d
    se = np.sqrt(np.maximum(p + d - centre**2, 0.0) / n_adj)
    return np.maximum(-1.0, centre - z * se), np.minimum(1.0, centre + z * se)


def bootstrap_mean(
    diffs: np.ndarray, replicates: int = 2000, seed: int = 0, z_level: float = 0.95
) -> Estimate:
    """Mean of paired differences with a percentile bootstrap interval (pairs resampled)."""
    d = np.asarray(diffs, dtype=float)
    n = int(d.size)
    if n == 0:
        return Estimate(None, 0)
    if n == 1:
        return Estimate(float(d[0]), 1)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(replicates, n))
    means = d[idx].mean(axis=1)
    alpha = (1 - z_level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Estimate(float(d.mean()), n, float(low), float(high))


def wild_cluster_bootstrap(
    diffs: np.ndarray,
    clusters: np.ndarray,
    replicates: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """Mean of matched differences with a wild cluster bootstrap interval.

    Matching with replacement reuses controls, so pairs that share a control share its
    noise; resampling pairs independently would understate the uncertainty. Each replicate
    flips the sign of every cluster's summed residual with a Rademacher weight (clusters =
    the matched control), and the interval is the percentile interval of the replicates.
    """
    d = np.asarray(diffs, dtype=float)
    n = int(d.size)
    if n == 0:
        return Estimate(None, 0)
    mean = float(d.mean())
    if n == 1:
        return Estimate(mean, 1)
    _, index = np.unique(np.asarray(clusters), return_inverse=True)
    sums = np.bincount(index, weights=d - mean)
    rng = np.random.default_rng(seed)
    draws = []
    for start in range(0, replicates, 250):  # bounded memory at national scale
        k = min(250, replicates - start)
        signs = rng.integers(0, 2, size=(k, sums.size), dtype=np.int8) * 2 - 1
        draws.append(mean + (signs @ sums) / n)
    alpha = (1 - level) / 2
    low, high = np.quantile(np.concatenate(draws), [alpha, 1 - alpha])
    return Estimate(mean, n, float(low), float(high))


def largest_remainder(total: int, weights: Mapping[str, float] | Sequence[float]) -> list[int]:
    """Split a whole number in proportion to weights; the parts add up exactly to ``total``.

    Hamilton's method: every part gets the floor of its quota, and the units left over go to
    the largest fractional remainders (ties broken by order, so the result is deterministic).
    """
    values = list(weights.values()) if isinstance(weights, Mapping) else list(weights)
    if total < 0:
        raise ValueError("total must not be negative")
    if not values or any(v < 0 for v in values) or sum(values) <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    # exact arithmetic with integers where the weights are whole numbers (populations)
    if all(float(v).is_integer() for v in values):
        ints = [int(v) for v in values]
        denom = sum(ints)
        floors = [total * v // denom for v in ints]
        remainders = [total * v % denom for v in ints]
    else:
        denom_f = float(sum(values))
        quotas = [total * v / denom_f for v in values]
        floors = [math.floor(q) for q in quotas]
        remainders = [q - f for q, f in zip(quotas, floors, strict=True)]  # type: ignore[misc]
    left = total - sum(floors)
    order = sorted(range(len(values)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors
