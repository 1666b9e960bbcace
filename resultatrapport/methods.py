"""`resultatrapport validate-methods`: the KPIs' statistical methods measured on data whose
truth is known, printed as the table docs/methods.md keeps.

- every interval kind over a grid of sample sizes and true values
  (:mod:`resultatrapport.kpis.coverage`);
- the growth-effect estimator on generated firms with a planted effect and selection on
  pre-guidance growth (:mod:`resultatrapport.kpis.effect_validation`): bias, RMSE and the
  coverage of its interval.

With ``--table`` the figures are written to the packaged table the report's method notes
read, so what the report says is what this command measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from resultatrapport.kpis import coverage
from resultatrapport.kpis.coverage import BAND, Coverage
from resultatrapport.kpis.effect_validation import EffectValidation, validate_effect
from resultatrapport.kpis.stats import MIN_INTERVAL_N

# the effect estimator's bias may be at most this share of the planted effect
MAX_EFFECT_BIAS = 0.10


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def interval_table(rows: Sequence[Coverage]) -> list[str]:
    """Markdown: one row per sample size, one column per interval kind (mean, range)."""
    kinds = list(dict.fromkeys(r.kind for r in rows))
    sizes = sorted({r.n for r in rows})
    by = {(r.kind, r.n): r for r in rows}
    lines = [
        "| n | " + " | ".join(f"`{k}` mean (lowest-highest)" for k in kinds) + " |",
        "|---:|" + "---:|" * len(kinds),
    ]
    for n in sizes:
        cells = []
        for k in kinds:
            r = by.get((k, n))
            mark = "" if r is None or r.within_band else " ✗"
            cells.append(
                "" if r is None else f"{pct(r.mean)} ({pct(r.lowest)}-{pct(r.highest)}){mark}"
            )
        shown = f"{n} (no interval given)" if n < MIN_INTERVAL_N else str(n)
        lines.append(f"| {shown} | " + " | ".join(cells) + " |")
    return lines


def effect_row(result: EffectValidation) -> Coverage:
    return Coverage(
        kind="effect",
        n=0,  # one simulated design, not a sample size
        mean=result.coverage,
        lowest=result.coverage,
        highest=result.coverage,
        truths=1,
        replications=result.replications,
    )


def validate(
    replications: int = 10_000,
    effect_replications: int = 500,
    seed: int = 0,
    table: Path | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Measure, print the tables, and (with ``table``) write them for the report.

    Returns 0, or 1 when a measured figure is outside its bound: an interval kind's mean
    coverage outside 93-97 % from n = 10, or the effect's bias at or above 10 % of the
    planted effect. At small replication counts (CI) that says little: the noise is large.
    """
    started = time.perf_counter()
    out(
        f"# Coverage of the 95 % intervals ({replications:,} simulated samples per true "
        "value where simulated; share and nps computed exactly)\n"
    )
    rows = coverage.interval_coverage(
        replications=replications, seed=seed, progress=lambda s: out(f"<!-- {s} -->")
    )
    out("\n".join(interval_table(rows)))
    outside = [r for r in rows if not r.within_band]
    out(
        f"\nBelow n = {MIN_INTERVAL_N} no interval is given. ✗: mean coverage outside "
        f"{pct(BAND[0])}-{pct(BAND[1])} %."
    )

    out(f"\n# Growth effect on generated data ({effect_replications} replications)\n")
    effect = validate_effect(replications=effect_replications, seed=seed)
    out("| planted effect | mean estimate | bias | bias / planted | RMSE | coverage | "
        "mean width | naive bias | seconds |")  # fmt: skip
    out("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    out(
        f"| {effect.planted:.2f} pp | {effect.mean_estimate:.2f} pp | {effect.bias:+.2f} pp | "
        f"{pct(effect.bias_share_of_planted)} % | {effect.rmse:.2f} pp | "
        f"{pct(effect.coverage)} % | {effect.mean_width:.2f} pp | "
        f"{effect.naive_bias:+.2f} pp | {effect.seconds:.1f} |"
    )
    biased = abs(effect.bias_share_of_planted) >= MAX_EFFECT_BIAS
    if table is not None:
        coverage.write_table([*rows, effect_row(effect)], table)
        coverage.read_table.cache_clear()
        out(f"\nWritten: {table}")
    out(f"\nTotal {time.perf_counter() - started:.1f} s")
    if outside or biased:
        what = [f"{r.kind} at n = {r.n}: {pct(r.mean)} %" for r in outside]
        if biased:
            what.append(f"effect bias {pct(effect.bias_share_of_planted)} % of the planted effect")
        out("Outside the bounds: " + "; ".join(what))
        return 1
    return 0


__all__ = ["MAX_EFFECT_BIAS", "effect_row", "interval_table", "validate"]
