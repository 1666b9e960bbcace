"""Does the growth-effect estimator find an effect that is known to be there? (issue 17)

:func:`generate` writes a synthetic register world into an in-memory DuckDB connection: the
three ``ingest`` tables that :func:`resultatrapport.kpis.effect.matched_effect` reads, with
only the columns it reads. Firms fall in 24 cells (3 industries x 2 size bands x 2 age
bands x 2 municipalities). Each firm has a turnover growth before guidance (B - 2 to B) whose
mean depends on the cell, and an outcome growth (B to R) that depends on the cell and, within
the cell, on the growth before (slope ``BETA``) plus noise. Guided firms (a case of the
organisation's segment that ended in the cohort year E) are drawn with probability rising in
the growth before and higher in one industry, so the naive comparison is biased upwards; a
guided firm's turnover growth B -> R is raised by exactly ``planted`` percentage points. The
effect on the treated is then ``planted`` for every guided firm, which is the estimand of the
matched estimator. Around them: firms guided in other years or segments (neither treated nor
controls) and firms without a complete register (dropped by the estimator).

:func:`validate_effect` runs the real estimator on many such worlds, each with its own seed,
and reports bias, RMSE, the coverage of its 95 % interval and the naive comparison's bias.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from resultatrapport.kpis.effect import matched_effect

ORG = "validering"
SEGMENT = "Vækst"
REPORT_YEAR = 2025

INDUSTRIES = np.array(["10", "46", "62"])  # food, wholesale, IT: cell effects below
MUNICIPALITIES = np.array([751, 791])
# turnover growth before guidance (B-2 -> B, %): mean by industry, + for young firms
PRE_INDUSTRY = np.array([-2.0, 0.0, 3.0])
PRE_YOUNG = 4.0
PRE_SD = np.array([8.0, 12.0])  # old, young firms
# outcome growth (B -> R, %): level by industry, + for young and for small firms, plus
# BETA per point of growth before (momentum, within the cell), plus noise
OUT_INDUSTRY = np.array([-1.0, 0.0, 4.0])
OUT_YOUNG = 3.0
OUT_SMALL = 1.0
BETA = 0.5
OUT_SD = 8.0
# selection into guidance: log-odds per point of growth before, and for the IT industry
SELECT_PRE = 0.12
SELECT_IT = 0.5
OTHER_GUIDED = 0.03  # share of the other firms with a case in another year or segment
INCOMPLETE = 0.02  # share of firms missing the report year's accounts


@dataclass(frozen=True)
class EffectValidation:
    replications: int
    planted: float  # the effect on the treated, percentage points of turnover growth
    mean_estimate: float
    bias: float  # mean estimate - planted
    bias_share_of_planted: float  # |bias| / planted
    rmse: float
    coverage: float  # share of replications whose 95 % interval holds the planted effect
    mean_width: float  # mean width of that interval, percentage points
    naive_bias: float  # mean of naive - planted: the selection bias matching removes
    seconds: float  # wall time of all replications


def _ddl(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS ingest")
    con.execute(
        "CREATE OR REPLACE TABLE ingest.financials (cvr VARCHAR, year INTEGER NOT NULL, "
        "turnover DOUBLE, gross_profit DOUBLE, fte DOUBLE)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE ingest.cvr_firms (cvr VARCHAR, year INTEGER NOT NULL, "
        "start_date DATE, municipality_code INTEGER, industry_code VARCHAR)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE ingest.crm_cases (org VARCHAR, year INTEGER NOT NULL, "
        "cvr VARCHAR, end_date DATE, segment VARCHAR)"
    )


def generate(
    con: duckdb.DuckDBPyConnection,
    seed: int | np.random.SeedSequence,
    *,
    report_year: int = REPORT_YEAR,
    treated: int = 150,
    controls: int = 3000,
    planted: float = 5.0,
    selection: float = 1.0,
) -> None:
    """Write one synthetic world (years B - 2 .. R) into ``con``'s ``ingest`` tables.

    ``treated`` firms get a case of ``ORG``/``SEGMENT`` ending in E = R - 2; of the others,
    about ``controls`` stay unguided. ``selection`` scales the selection into guidance (0 =
    guided at random, so the naive difference of means is the planted effect).
    """
    rng = np.random.default_rng(seed)
    cohort = report_year - 2
    base = cohort - 1
    before = base - 2
    n = treated + round(controls / (1 - OTHER_GUIDED))

    ind = rng.integers(0, INDUSTRIES.size, n)
    mun = rng.integers(0, MUNICIPALITIES.size, n)
    young = rng.random(n) < 0.3
    small = rng.random(n) < 0.6
    # size band by årsværk in B: < 5 (band 1) or 10 .. 50 (band 3)
    fte_b = np.where(small, rng.uniform(1.0, 4.9, n), rng.uniform(10.0, 49.0, n))
    # age band in B: started in B - 2 (band 1, < 3 years) or 1990 .. 2010 (band 3)
    start = np.where(
        young,
        np.datetime64(f"{before}-01-01") + rng.integers(0, 180, n).astype("timedelta64[D]"),
        np.datetime64("1990-01-01") + rng.integers(0, 20 * 365, n).astype("timedelta64[D]"),
    )

    pre = PRE_INDUSTRY[ind] + PRE_YOUNG * young + PRE_SD[young.astype(int)] * rng.normal(size=n)
    y0 = (
        OUT_INDUSTRY[ind]
        + OUT_YOUNG * young
        + OUT_SMALL * small
        + BETA * pre
        + OUT_SD * rng.normal(size=n)
    )

    # guided firms: successive sampling without replacement with weights exp(score), by
    # the Gumbel top-k trick (vectorised); score rises with growth before and for IT
    score = selection * (SELECT_PRE * pre + SELECT_IT * (INDUSTRIES[ind] == "62"))
    keys = score + rng.gumbel(size=n)
    order = np.argsort(-keys)
    is_treated = np.zeros(n, dtype=bool)
    is_treated[order[:treated]] = True
    is_other = ~is_treated & (rng.random(n) < OTHER_GUIDED)
    y = y0 + planted * is_treated  # the planted effect on turnover growth B -> R

    # turnover path, thousand DKK: B-2 -> B by pre, B -> R by y, geometric in between
    t0 = np.exp(np.log(800.0 * fte_b) + 0.5 * rng.normal(size=n))
    t_b = t0 * (1 + pre / 100)
    t_r = t_b * (1 + y / 100)
    years = np.arange(before, report_year + 1)
    frac = np.clip((years - before) / 2, 0, 1)[:, None]  # years x firms, 0..1 before B
    after = np.clip((years - base) / (report_year - base), 0, 1)[:, None]
    turnover = np.where(
        years[:, None] <= base,
        t0 * (t_b / t0) ** frac,
        t_b * (t_r / t_b) ** after,
    )
    fte = fte_b * (turnover / t_b) ** 0.5
    margin = rng.uniform(0.2, 0.4, n)
    cvr = np.char.add("4", np.char.zfill((np.arange(n) + 1).astype(str), 7))
    keep = np.ones((years.size, n), dtype=bool)
    keep[-1] = rng.random(n) >= INCOMPLETE  # no accounts in R: dropped by the estimator
    fin = pd.DataFrame(
        {
            "cvr": np.broadcast_to(cvr, turnover.shape)[keep],
            "year": np.broadcast_to(years[:, None], turnover.shape)[keep],
            "turnover": turnover[keep],
            "gross_profit": (turnover * margin)[keep],
            "fte": fte[keep],
        }
    )
    firms = pd.DataFrame(
        {
            "cvr": np.tile(cvr, years.size),
            "year": np.repeat(years, n),
            "start_date": np.tile(start, years.size),
            "municipality_code": np.tile(MUNICIPALITIES[mun], years.size),
            "industry_code": np.tile(np.char.add(INDUSTRIES[ind], "1100"), years.size),
        }
    )
    # cases: the cohort's end in E; other guided firms' in B or R - 1, or in E in the other
    # segment (the estimator keeps them out of both groups)
    which = rng.integers(0, 3, n)
    case_year = np.where(is_treated, cohort, np.array([base, report_year - 1, cohort])[which])
    segment = np.where(is_treated | (which != 2), SEGMENT, "Drift")
    guided = is_treated | is_other
    end = np.array([f"{yr}-06-30" for yr in years], dtype="datetime64[D]")[case_year - before]
    cases = pd.DataFrame(
        {
            "org": ORG,
            "year": case_year[guided],
            "cvr": cvr[guided],
            "end_date": end[guided],
            "segment": segment[guided],
        }
    )
    _ddl(con)
    for table, frame in (("financials", fin), ("cvr_firms", firms), ("crm_cases", cases)):
        con.register("_frame", frame)
        con.execute(f"INSERT INTO ingest.{table} BY NAME SELECT * FROM _frame")
        con.unregister("_frame")


def validate_effect(
    replications: int = 200,
    seed: int = 0,
    planted: float = 5.0,
    bootstrap_replicates: int = 999,
) -> EffectValidation:
    """Run :func:`matched_effect` (turnover) on ``replications`` fresh worlds with a planted
    effect and summarise how close it comes and how often its interval holds the truth."""
    started = time.perf_counter()
    estimates, naive, widths = [], [], []
    covered = 0
    for child in np.random.SeedSequence(seed).spawn(replications):
        con = duckdb.connect()
        try:
            generate(con, child, planted=planted)
            res = matched_effect(
                con,
                ORG,
                REPORT_YEAR,
                SEGMENT,
                "turnover",
                replicates=bootstrap_replicates,
                seed=int(child.generate_state(1)[0]),
            )
        finally:
            con.close()
        est = res.effect
        if est.value is None or est.low is None or est.high is None or res.naive is None:
            raise RuntimeError(
                f"no estimate in a replication (seed {seed}, spawn key {child.spawn_key})"
            )
        estimates.append(est.value)
        naive.append(res.naive)
        widths.append(est.high - est.low)
        covered += est.low <= planted <= est.high
    values = np.asarray(estimates)
    bias = float(values.mean() - planted)
    return EffectValidation(
        replications=replications,
        planted=planted,
        mean_estimate=float(values.mean()),
        bias=bias,
        bias_share_of_planted=abs(bias) / planted if planted else float("nan"),
        rmse=float(np.sqrt(np.mean((values - planted) ** 2))),
        coverage=covered / replications,
        mean_width=float(np.mean(widths)),
        naive_bias=float(np.mean(naive) - planted),
        seconds=time.perf_counter() - started,
    )
