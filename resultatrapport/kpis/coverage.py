"""How often the KPIs' 95 % intervals hold the true value: measured, not assumed.

Each interval kind of :mod:`resultatrapport.kpis.stats` is run over a grid of sample sizes
and true values, with the project's own functions:

- ``share`` (Wilson, survey shares) and ``nps`` (adjusted Wald): the coverage is computed
  exactly, by summing the binomial or trinomial probability of every possible sample whose
  interval holds the true value, so these figures carry no simulation noise;
- ``weighted_share`` (Wilson at Kish's effective sample size, the awareness survey): by
  simulation, with lognormal weights (σ 0.6, as in the survey) independent of the answer;
- ``effect`` (matched growth effect, wild cluster bootstrap): by simulation on generated
  firms with a planted effect and selection on pre-guidance growth
  (:mod:`resultatrapport.kpis.effect_validation`).

Coverage depends on the true value as well as on n (binomial coverage oscillates at small
n); a row gives the mean over the true values of the grid and the lowest and highest.

``resultatrapport validate-methods`` prints the table; ``--table`` writes the packaged
``coverage.csv`` that the report's method notes read (:func:`measured`), so the report
states the coverage measured at the sample size of each year's figure.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from functools import cache
from pathlib import Path

import numpy as np

from resultatrapport.kpis.kinds import KINDS
from resultatrapport.kpis.stats import MIN_INTERVAL_N

TABLE = Path(__file__).with_name("coverage.csv")
SIZES = (5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000)
BAND = (0.93, 0.97)
# the interval each kind's figure carries, as the report names it (declared by the kind)
METHODS = {name: kind.interval for name, kind in KINDS.items() if kind.interval}
# the kinds whose coverage is measured by sample size here (the effect's is measured on
# generated firms, resultatrapport/kpis/effect_validation.py)
INTERVAL_KINDS = tuple(name for name, kind in KINDS.items() if kind.coverage == "answers")


@dataclass(frozen=True)
class Coverage:
    kind: str
    n: int
    mean: float  # coverage averaged over the true values
    lowest: float
    highest: float
    truths: int  # how many true values
    replications: int  # simulated samples per true value; 0 = computed exactly

    @property
    def within_band(self) -> bool:
        """The mean coverage holds 93-97 % (or no interval is given at this size)."""
        return self.n < MIN_INTERVAL_N or BAND[0] <= self.mean <= BAND[1]


def _row(kind: str, n: int, values: Sequence[float], replications: int) -> Coverage:
    return Coverage(
        kind=kind,
        n=n,
        mean=float(np.mean(values)),
        lowest=float(np.min(values)),
        highest=float(np.max(values)),
        truths=len(values),
        replications=replications,
    )


def interval_coverage(
    sizes: Iterable[int] = SIZES,
    replications: int = 10_000,
    seed: int = 0,
    kinds: Sequence[str] = INTERVAL_KINDS,
    progress: Callable[[str], None] | None = None,
) -> list[Coverage]:
    """The coverage of every interval kind at every sample size (``replications`` is the
    number of simulated samples per true value for the simulated kinds). Sizes below
    :data:`MIN_INTERVAL_N` are measured too, to show why no interval is given there."""
    rng = np.random.default_rng(seed)
    rows: list[Coverage] = []
    for kind in kinds:
        started = time.perf_counter()
        measure = KINDS[kind].coverage_at
        if measure is None:
            raise ValueError(f"{kind!r} has no interval measured by answers")
        for n in sizes:
            values, simulated = measure(n, replications, rng)
            rows.append(_row(kind, n, values, simulated))
        if progress:
            progress(f"{kind}: {time.perf_counter() - started:.1f} s")
    return rows


def write_table(rows: Iterable[Coverage], path: Path = TABLE) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=[f.name for f in fields(Coverage)])
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))


@cache
def read_table(path: Path = TABLE) -> tuple[Coverage, ...]:
    with path.open(encoding="utf-8") as fh:
        return tuple(
            Coverage(
                kind=r["kind"],
                n=int(r["n"]),
                mean=float(r["mean"]),
                lowest=float(r["lowest"]),
                highest=float(r["highest"]),
                truths=int(r["truths"]),
                replications=int(r["replications"]),
            )
            for r in csv.DictReader(fh)
        )


def measured(kind: str, n: int | None, table: Sequence[Coverage] | None = None) -> Coverage | None:
    """The measured coverage of ``kind``'s interval at the sample size of a figure: the row
    at the largest measured size not above n (a smaller sample covers no better here). None
    without an interval (below :data:`MIN_INTERVAL_N`) or for a kind not measured."""
    if n is None or n < MIN_INTERVAL_N:
        return None
    rows = [r for r in (read_table() if table is None else table) if r.kind == kind and r.n <= n]
    return max(rows, key=lambda r: r.n) if rows else None


def effect_measured(table: Sequence[Coverage] | None = None) -> Coverage | None:
    """The effect estimator's measured coverage (one simulated design, not by n)."""
    design = {name for name, kind in KINDS.items() if kind.coverage == "design"}
    rows = [r for r in (read_table() if table is None else table) if r.kind in design]
    return rows[0] if rows else None
