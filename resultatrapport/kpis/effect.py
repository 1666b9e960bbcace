"""Growth effect of guidance against a matched control group (Mål 5).

For reporting year R the cohort is the organisation's firms whose guidance case (of the
segment) ENDED in E = R - 2. With baseline year B = E - 1, the outcome is the growth in
percent from B to E + 2 = R (turnover, employment in årsværk, or productivity = gross profit
per årsværk); growth before guidance is turnover growth from B - 2 to B.

Controls are firms never guided by the organisation in B - 2 .. R. Each guided firm is
matched to the control in the same cell (industry = first two digits of the industry code,
size band by årsværk in B, age band in B, municipality) with the nearest pre-guidance growth,
with replacement, within a caliper; the remaining gap in pre-guidance growth is corrected
by the controls' regression slope (Abadie & Imbens' bias-corrected matching estimator). The
effect is the mean of the matched differences, with a wild cluster bootstrap interval
(clusters = the matched control, since a control may serve several guided firms); the naive difference of means against all
controls is reported beside it to show the selection bias matching removes.

All the data work is one DuckDB query (nearest neighbour by two ASOF joins per cell), so it
scales to national register volumes; only the vector of pair differences reaches Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb
import numpy as np

from resultatrapport.kpis.stats import Estimate, wild_cluster_bootstrap

Outcome = Literal["turnover", "employment", "productivity"]

SIZE_BAND = (
    "CASE WHEN {fte} < 5 THEN 1 WHEN {fte} < 10 THEN 2 WHEN {fte} < 50 THEN 3 "
    "WHEN {fte} < 250 THEN 4 ELSE 5 END"
)
AGE_BAND = (
    "CASE WHEN date_diff('year', start_date, make_date({year}, 12, 31)) < 3 THEN 1 "
    "WHEN date_diff('year', start_date, make_date({year}, 12, 31)) < 10 THEN 2 ELSE 3 END"
)
OUTCOME_SQL: dict[str, tuple[str, str]] = {
    # (value in B, value in R); growth = value_R / value_B - 1 where value_B > 0
    "turnover": ("t1", "t2"),
    "employment": ("f1", "f2"),
    "productivity": ("g1 / nullif(f1, 0)", "g2 / nullif(f2, 0)"),
}


@dataclass(frozen=True)
class EffectResult:
    effect: Estimate  # mean matched difference in percentage points, bootstrap interval
    naive: float | None  # difference of means against all unguided firms
    treated: int  # guided firms in the cohort with complete register data
    matched: int  # of those, matched to a control
    controls: int  # unguided firms with complete data
    cohort_year: int
    baseline_year: int
    # share (%) of the sum of absolute pair differences made up by the two largest: the
    # dominance rule for financial aggregates (submissions.md, confidentiality)
    top2_share: float | None = None


def matched_effect(
    con: duckdb.DuckDBPyConnection,
    org: str,
    report_year: int,
    segment: str,
    outcome: Outcome,
    caliper: float = 10.0,
    replicates: int = 2000,
    seed: int = 0,
) -> EffectResult:
    cohort = report_year - 2
    base = cohort - 1
    before = base - 2
    v_base, v_out = OUTCOME_SQL[outcome]
    params = {"org": org, "segment": segment, "cohort": cohort, "before": before, "R": report_year}
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _units AS
        WITH wide AS (
            SELECT cvr,
                max(turnover) FILTER (WHERE year = $before) AS t0,
                max(turnover) FILTER (WHERE year = $before + 2) AS t1,
                max(turnover) FILTER (WHERE year = $R) AS t2,
                max(fte) FILTER (WHERE year = $before + 2) AS f1,
                max(fte) FILTER (WHERE year = $R) AS f2,
                max(gross_profit) FILTER (WHERE year = $before + 2) AS g1,
                max(gross_profit) FILTER (WHERE year = $R) AS g2
            FROM ingest.financials
            WHERE year IN ($before, $before + 2, $R)
            GROUP BY cvr
        ),
        firms AS (
            SELECT cvr, left(industry_code, 2) AS ind, municipality_code AS mun,
                   {AGE_BAND.format(year=base)} AS age_band
            FROM ingest.cvr_firms WHERE year = {base}
        ),
        cohort AS (
            SELECT DISTINCT cvr FROM ingest.crm_cases
            WHERE org = $org AND segment = $segment AND year(end_date) = $cohort
              AND cvr IS NOT NULL
        ),
        guided AS (
            SELECT DISTINCT cvr FROM ingest.crm_cases
            WHERE org = $org AND year BETWEEN $before AND $R AND cvr IS NOT NULL
        ),
        measured AS (
            SELECT w.cvr, f.ind, f.mun, f.age_band, {SIZE_BAND.format(fte="w.f1")} AS size_band,
                   100 * (w.t1 / w.t0 - 1) AS pre,
                   100 * (({v_out}) / ({v_base}) - 1) AS y
            FROM wide w JOIN firms f USING (cvr)
            WHERE w.t0 > 0 AND w.t1 > 0 AND w.f1 IS NOT NULL
              AND ({v_base}) > 0 AND ({v_out}) IS NOT NULL
        )
        SELECT m.*, m.cvr IN (SELECT cvr FROM cohort) AS treated,
               m.cvr IN (SELECT cvr FROM guided) AS guided
        FROM measured m
        """,
        params,
    )
    pairs = con.execute(
        """
        WITH t AS (SELECT * FROM _units WHERE treated),
        c AS (SELECT * FROM _units WHERE NOT guided),
        below AS (
            SELECT t.cvr, c.cvr AS control, t.y AS y_t, c.y AS y_c, t.pre - c.pre AS gap
            FROM t ASOF JOIN c
              ON t.ind = c.ind AND t.mun = c.mun AND t.age_band = c.age_band
             AND t.size_band = c.size_band AND t.pre >= c.pre
        ),
        above AS (
            SELECT t.cvr, c.cvr AS control, t.y AS y_t, c.y AS y_c, t.pre - c.pre AS gap
            FROM t ASOF JOIN c
              ON t.ind = c.ind AND t.mun = c.mun AND t.age_band = c.age_band
             AND t.size_band = c.size_band AND t.pre <= c.pre
        ),
        best AS (
            SELECT cvr, control, y_t, y_c, gap,
                   row_number() OVER (PARTITION BY cvr ORDER BY abs(gap), y_c, control) AS rn
            FROM (SELECT * FROM below UNION ALL SELECT * FROM above)
        ),
        -- in a fixed order (cvr): a parallel sum's last digit depends on which thread ends first
        slope AS (SELECT coalesce(regr_slope(y, pre ORDER BY cvr), 0) AS b FROM c)
        -- bias-corrected matching (Abadie & Imbens 2011): remove what the remaining gap in
        -- pre-guidance growth explains, by the controls' slope of outcome on it
        SELECT y_t - y_c - (SELECT b FROM slope) * gap AS diff, control
        FROM best WHERE rn = 1 AND abs(gap) <= $caliper ORDER BY cvr
        """,
        {"caliper": caliper},
    ).fetchnumpy()
    diffs = np.asarray(pairs["diff"], dtype=float)
    controls_used = np.asarray(pairs["control"])
    row = con.execute(
        """
        SELECT count(*) FILTER (WHERE treated), count(*) FILTER (WHERE NOT guided),
               avg(y ORDER BY cvr) FILTER (WHERE treated)
                 - avg(y ORDER BY cvr) FILTER (WHERE NOT guided)
        FROM _units
        """
    ).fetchone()
    con.execute("DROP TABLE _units")
    treated, controls, naive = (int(row[0]), int(row[1]), row[2]) if row else (0, 0, None)
    magnitude = np.sort(np.abs(diffs))[::-1]
    top2 = float(100 * magnitude[:2].sum() / magnitude.sum()) if magnitude.sum() > 0 else None
    return EffectResult(
        effect=wild_cluster_bootstrap(diffs, controls_used, replicates=replicates, seed=seed),
        naive=None if naive is None else float(naive),
        treated=treated,
        matched=int(diffs.size),
        controls=controls,
        cohort_year=cohort,
        baseline_year=base,
        top2_share=top2,
    )
