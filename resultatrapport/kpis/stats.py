"""Statistics behind the KPIs: intervals, NPS, matched differences, the budget split.

Pure functions on numbers and arrays (the data reduction happens in DuckDB first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    value: float | None
    n: int
    low: float | None = None
    high: float | None = None


def wilson(successes: int, n: int, z: float = Z95) -> Estimate:
    """Share in percent with the Wilson score interval."""
    if n <= 0:
        return Estimate(None, 0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Estimate(100 * p, n, 100 * max(0.0, centre - half), 100 * min(1.0, centre + half))


def weighted_share(y: np.ndarray, w: np.ndarray, z: float = Z95) -> Estimate:
    """Weighted share in percent with a design-based (linearised, with-replacement) interval.

    The share is the ratio estimator sum(w*y)/sum(w); its variance is estimated by Taylor
    linearisation, var = n/(n-1) * sum(w_i^2 (y_i - p)^2) / (sum w)^2, which reduces to the
    binomial variance for equal weights and widens with unequal weights (Kish's design effect).
    """
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    n = int(y.size)
    if n == 0 or w.sum() <= 0:
        return Estimate(None, n)
    total = w.sum()
    p = float((w * y).sum() / total)
    if n == 1:
        return Estimate(100 * p, n)
    var = n / (n - 1) * float((w * w * (y - p) ** 2).sum()) / total**2
    se = math.sqrt(var)
    return Estimate(100 * p, n, 100 * max(0.0, p - z * se), 100 * min(1.0, p + z * se))


def nps(scores: np.ndarray, z: float = Z95) -> Estimate:
    """Net Promoter Score (% 9-10 minus % 0-6) with a normal-approximation interval.

    With promoter share P and detractor share D, var(NPS) = (P + D - (P - D)^2) / n (in
    fractions), the variance of the mean of a variable that is +1, 0 or -1.
    """
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    n = int(s.size)
    if n == 0:
        return Estimate(None, 0)
    promoters = float((s >= 9).mean())
    detractors = float((s <= 6).mean())
    value = promoters - detractors
    se = math.sqrt(max(promoters + detractors - value**2, 0.0) / n)
    return Estimate(100 * value, n, 100 * max(-1.0, value - z * se), 100 * min(1.0, value + z * se))


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
