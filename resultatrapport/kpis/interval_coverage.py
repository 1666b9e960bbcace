"""The coverage of each survey interval at n answers and a true value, computed exactly
(Wilson for shares, adjusted Wald for NPS) or simulated (Wilson at Kish's effective size for
weighted shares), over the grid of true values the coverage table uses. The kinds declare
which of these measures theirs (``Kind.coverage_at``); :mod:`resultatrapport.kpis.coverage`
tabulates them."""

from __future__ import annotations

import numpy as np

from resultatrapport.kpis.stats import adjusted_wald_nps_bounds, wilson_bounds

# true values: shares, and NPS as (promoters, detractors) from the harsh to the glowing
SHARES = (0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.7, 0.8, 0.9, 0.95)
NPS_TRUTHS = (
    (0.2, 0.5),
    (0.33, 0.33),
    (0.4, 0.3),
    (0.3, 0.1),
    (0.5, 0.2),
    (0.6, 0.16),  # NPS 44, as the measurement
    (0.7, 0.1),
    (0.8, 0.05),
)
WEIGHT_SIGMA = 0.6


def share_coverage(n: int, p: float) -> float:
    """Exact coverage of the Wilson interval (as :func:`stats.wilson`) at n and true p."""
    # scipy only where coverage is computed: the report and every run import this module for
    # the table alone, and scipy.stats costs each process about a second to import
    from scipy import stats as sps

    x = np.arange(n + 1)
    low, high = wilson_bounds(x / n, n)
    held = (low <= p) & (p <= high)
    return float(sps.binom.pmf(x, n, p)[held].sum())


def nps_coverage(n: int, promoters: float, detractors: float) -> float:
    """Exact coverage of the adjusted Wald NPS interval (as :func:`stats.nps`): the sum of
    the trinomial probabilities of all samples of n whose interval holds the true NPS."""
    from scipy.special import gammaln

    truth = promoters - detractors
    pro, det = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    possible = pro + det <= n
    pro, det = pro[possible], det[possible]
    pas = n - pro - det
    passive = 1 - promoters - detractors
    log_pmf = (
        gammaln(n + 1)
        - gammaln(pro + 1)
        - gammaln(det + 1)
        - gammaln(pas + 1)
        + pro * np.log(promoters)
        + det * np.log(detractors)
        + pas * np.log(passive)
    )
    low, high = adjusted_wald_nps_bounds(pro, det, n)
    held = (low <= truth) & (truth <= high)
    return float(np.exp(log_pmf[held]).sum())


def weighted_share_coverage(n: int, p: float, replications: int, rng: np.random.Generator) -> float:
    """Simulated coverage of the weighted-share interval (as :func:`stats.weighted_share`):
    lognormal weights, answers independent of the weights, true share p."""
    held = 0
    for start in range(0, replications, 2000):  # bounded memory at n = 1,000
        k = min(2000, replications - start)
        w = rng.lognormal(0.0, WEIGHT_SIGMA, size=(k, n))
        y = rng.random((k, n)) < p
        total = w.sum(axis=1)
        phat = (w * y).sum(axis=1) / total
        n_eff = total**2 / (w * w).sum(axis=1)  # kish_effective_n, one per sample
        low, high = wilson_bounds(phat, n_eff)
        held += int(((low <= p) & (p <= high)).sum())
    return held / replications
