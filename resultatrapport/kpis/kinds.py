"""The KPI kinds, each written once. A KPI of a contract is one of these with parameters.

Every function reduces the data in DuckDB and returns a :class:`Measure`; the statistics
live in :mod:`resultatrapport.kpis.stats`. A function returns ``value=None`` with a remark
when the data it needs is missing; it never raises for missing data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np

from resultatrapport.kpis.stats import nps as nps_estimate
from resultatrapport.kpis.stats import weighted_share as weighted_share_estimate
from resultatrapport.kpis.stats import wilson
from resultatrapport.rules import lit, q

Filters = Mapping[str, Sequence[Any]]


@dataclass
class Measure:
    value: float | None
    n: int = 0  # units the result rests on (firms, answers, cases, respondents)
    low: float | None = None
    high: float | None = None
    remark: str = ""
    detail: list[dict[str, Any]] = field(default_factory=list)  # a table for the report
    extra: dict[str, Any] = field(default_factory=dict)  # method figures (e.g. naive estimate)


def delivered(
    con: duckdb.DuckDBPyConnection, source: str, year: int, org: str | None = None
) -> bool:
    """Whether the partition's delivery was read (a missing file is recorded as missing)."""
    row = con.execute(
        "SELECT sha256 IS NOT NULL FROM ingest.deliveries WHERE source = $s AND year = $y "
        "AND org IS NOT DISTINCT FROM $o",
        {"s": source, "y": year, "o": org},
    ).fetchone()
    return bool(row and row[0])


def where(filters: Filters | None, alias: str = "") -> str:
    """SQL conjunction for {column: allowed values}; booleans and lists of text both work."""
    parts = ["true"]
    prefix = f"{alias}." if alias else ""
    for column, values in (filters or {}).items():
        rendered = ", ".join(
            str(v).lower()
            if isinstance(v, bool)
            else (str(v) if isinstance(v, int | float) else lit(str(v)))
            for v in values
        )
        parts.append(f"{prefix}{q(column)} IN ({rendered})")
    return " AND ".join(parts)


FIRM = "coalesce(cvr, 'forløb:' || case_id)"  # a would-be founder without CVR counts by case


def count_cases(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    filters: Filters | None = None,
    distinct: str = "firm",
    per: str | None = None,
) -> Measure:
    """Cases or distinct firms among the year's cases. With ``per``, firms are counted
    distinct within each group and the groups added (a firm guided both individually and
    collectively counts in both)."""
    if not delivered(con, "crm_cases", year, org):
        return Measure(None, remark=f"CRM-udtræk for {year} mangler")
    unit = FIRM if distinct == "firm" else "case_id"
    group = q(per) if per else "NULL"
    rows = con.execute(
        f"""
        SELECT {group} AS grp, count(DISTINCT {unit}) AS n
        FROM ingest.crm_cases WHERE org = $org AND year = $year AND {where(filters)}
        GROUP BY ALL ORDER BY 1
        """,
        {"org": org, "year": year},
    ).fetchall()
    total = sum(int(n) for _, n in rows)
    detail = [{"gruppe": g, "antal": int(n)} for g, n in rows] if per else []
    return Measure(float(total), n=total, detail=detail)


def count_referrals(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    targets: Sequence[str] | None = None,
    filters: Filters | None = None,
    exclude: Sequence[str] = (),
) -> Measure:
    """Referrals registered on the year's cases (each listed target counts once per case),
    optionally only to the given targets and not to the excluded; detail: per target."""
    if not delivered(con, "crm_cases", year, org):
        return Measure(None, remark=f"CRM-udtræk for {year} mangler")
    allowed = f"AND target IN ({', '.join(lit(t) for t in targets)})" if targets else ""
    if exclude:
        allowed += f" AND target NOT IN ({', '.join(lit(t) for t in exclude)})"
    rows = con.execute(
        f"""
        WITH r AS (
            SELECT case_id, unnest(list_distinct(referrals)) AS target
            FROM ingest.crm_cases WHERE org = $org AND year = $year AND {where(filters)}
        )
        SELECT target, count(*) AS n, count(DISTINCT case_id) AS cases
        FROM r WHERE true {allowed} GROUP BY target ORDER BY n DESC, target
        """,
        {"org": org, "year": year},
    ).fetchall()
    total = sum(int(r[1]) for r in rows)
    cases = con.execute(
        f"""
        SELECT count(DISTINCT case_id) FROM (
            SELECT case_id, unnest(list_distinct(referrals)) AS target FROM ingest.crm_cases
            WHERE org = $org AND year = $year AND {where(filters)}
        ) WHERE true {allowed}
        """,
        {"org": org, "year": year},
    ).fetchone()
    return Measure(
        float(total),
        n=int(cases[0]) if cases else 0,
        detail=[{"henvist til": t, "henvisninger": int(n), "forløb": int(c)} for t, n, c in rows],
    )


def young_firms(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    max_age_years: int = 3,
    filters: Filters | None = None,
) -> Measure:
    """Distinct firms (with a CVR number) whose CVR start date lies less than
    ``max_age_years`` before the start of their first guidance case in the year."""
    if not delivered(con, "crm_cases", year, org):
        return Measure(None, remark=f"CRM-udtræk for {year} mangler")
    if not delivered(con, "cvr_firms", year):
        return Measure(None, remark=f"CVR-udtræk for {year} mangler")
    row = con.execute(
        f"""
        WITH first_case AS (
            SELECT cvr, min(start_date) AS started FROM ingest.crm_cases
            WHERE org = $org AND year = $year AND cvr IS NOT NULL AND {where(filters)}
            GROUP BY cvr
        )
        SELECT count(*) FILTER (WHERE f.start_date > fc.started - INTERVAL ({max_age_years}) YEAR),
               count(*), count(*) FILTER (WHERE f.cvr IS NULL)
        FROM first_case fc LEFT JOIN ingest.cvr_firms f ON f.cvr = fc.cvr AND f.year = $year
        """,
        {"org": org, "year": year},
    ).fetchone()
    young, firms, unknown = (int(v) for v in row) if row else (0, 0, 0)
    remark = f"{unknown} vejledte CVR-numre findes ikke i CVR-udtrækket" if unknown else ""
    return Measure(float(young), n=firms, remark=remark)


def survey_share(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    base: Filters,
    positive: Filters,
) -> Measure:
    """Share (in %) of the answers in ``base`` that are ``positive``, Wilson interval."""
    if not delivered(con, "survey_answers", year, org):
        return Measure(None, remark=f"Ingen brugerevaluering for {year}")
    row = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE {where(positive)}), count(*)
        FROM ingest.survey_answers WHERE org = $org AND year = $year AND {where(base)}
        """,
        {"org": org, "year": year},
    ).fetchone()
    hits, n = (int(row[0]), int(row[1])) if row else (0, 0)
    if n == 0:
        return Measure(None, remark="Ingen besvarelser i grundlaget")
    est = wilson(hits, n)
    return Measure(est.value, n=n, low=est.low, high=est.high)


def awareness_share(
    con: duckdb.DuckDBPyConnection,
    year: int,
    hub: str,
    positive: Filters,
    base: Filters | None = None,
) -> Measure:
    """Weighted share (in %) of the hub's respondents, design-based interval."""
    if not delivered(con, "awareness", year):
        return Measure(None, remark=f"Ingen kendskabsmåling i {year}")
    data = con.execute(
        f"""
        SELECT CASE WHEN {where(positive)} THEN 1.0 ELSE 0.0 END AS y, weight AS w
        FROM ingest.awareness WHERE year = $year AND hub = $hub AND {where(base)}
        """,
        {"year": year, "hub": hub},
    ).fetchnumpy()
    est = weighted_share_estimate(np.asarray(data["y"]), np.asarray(data["w"]))
    if est.value is None:
        return Measure(None, remark="Ingen besvarelser i grundlaget")
    return Measure(est.value, n=est.n, low=est.low, high=est.high)


def net_promoter_score(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    filters: Filters | None = None,
) -> Measure:
    """NPS of the answers to 'Anbefaling (0-10)', with its interval and distribution."""
    if not delivered(con, "survey_answers", year, org):
        return Measure(None, remark=f"Ingen brugerevaluering for {year}")
    data = con.execute(
        f"""
        SELECT recommend FROM ingest.survey_answers
        WHERE org = $org AND year = $year AND recommend IS NOT NULL AND {where(filters)}
        """,
        {"org": org, "year": year},
    ).fetchnumpy()
    scores = np.asarray(data["recommend"], dtype=float)
    est = nps_estimate(scores)
    if est.value is None:
        return Measure(None, remark="Ingen besvarelser af anbefalingsspørgsmålet")
    counts = np.bincount(scores.astype(int), minlength=11)
    detail = [{"score": s, "antal": int(c)} for s, c in enumerate(counts)]
    return Measure(est.value, n=est.n, low=est.low, high=est.high, detail=detail)


def full_time_equivalents(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    project: str,
    hours_per_fte: float,
) -> Measure:
    """Årsværk spent on a project: registered hours / hours in one årsværk."""
    if not delivered(con, "time_registration", year, org):
        return Measure(None, remark=f"Tidsregistrering for {year} mangler")
    row = con.execute(
        "SELECT coalesce(sum(hours), 0), count(DISTINCT staff_id) FROM ingest.time_registration "
        "WHERE org = $org AND year = $year AND project = $project",
        {"org": org, "year": year, "project": project},
    ).fetchone()
    hours, staff = (float(row[0]), int(row[1])) if row else (0.0, 0)
    return Measure(
        hours / hours_per_fte,
        n=staff,
        extra={"timer": hours, "timer_pr_aarsvaerk": hours_per_fte},
    )


def activity(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    areas: Sequence[str],
    projects: Sequence[str] = (),
) -> Measure:
    """Status table: cases, firms and hours per focus area (and hours per project)."""
    if not delivered(con, "crm_cases", year, org):
        return Measure(None, remark=f"CRM-udtræk for {year} mangler")
    rows = con.execute(
        f"""
        WITH a AS (SELECT unnest([{", ".join(lit(x) for x in areas)}]::VARCHAR[]) AS area)
        SELECT a.area, count(c.case_id), count(DISTINCT {FIRM.replace("cvr", "c.cvr").replace("case_id", "c.case_id")}),
               coalesce(sum(c.hours), 0)
        FROM a LEFT JOIN ingest.crm_cases c
          ON c.focus_area = a.area AND c.org = $org AND c.year = $year
        GROUP BY a.area ORDER BY a.area
        """,
        {"org": org, "year": year},
    ).fetchall()
    detail = [
        {"område": area, "forløb": int(n), "virksomheder": int(f), "timer": float(h)}
        for area, n, f, h in rows
    ]
    if projects and delivered(con, "time_registration", year, org):
        for project, hours in con.execute(
            f"SELECT project, sum(hours) FROM ingest.time_registration WHERE org = $org "
            f"AND year = $year AND project IN ({', '.join(lit(p) for p in projects)}) "
            "GROUP BY project ORDER BY project",
            {"org": org, "year": year},
        ).fetchall():
            detail.append(
                {"område": project, "forløb": None, "virksomheder": None, "timer": float(hours)}
            )
    total = sum(d["forløb"] or 0 for d in detail)
    return Measure(float(total), n=total, detail=detail)


def population_by_municipality(
    con: duckdb.DuckDBPyConnection, year: int, quarter: str, codes: Sequence[int]
) -> dict[int, int]:
    """Inhabitants in ``quarter`` as known in the ``year`` partition."""
    rows = con.execute(
        f"SELECT municipality_code, inhabitants FROM ingest.population WHERE year = $year "
        f"AND quarter = $quarter AND municipality_code IN ({', '.join(str(c) for c in codes)})",
        {"year": year, "quarter": quarter},
    ).fetchall()
    return {int(code): int(n) for code, n in rows}


def spread(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    codes: Sequence[int],
    quarter: str,
    band_pct: float,
    filters: Filters | None = None,
) -> Measure:
    """Individual guidance per municipality against its population-proportional måltal.

    Value: the number of municipalities outside the band (the contract's question: are all
    within ±band of their måltal?); detail: one row per municipality, in alphabetical order,
    with cases, måltal, deviation and whether it is inside the band. The remark names the
    municipalities below the band (invited to dialogue) and those above it.
    """
    if not delivered(con, "crm_cases", year, org):
        return Measure(None, remark=f"CRM-udtræk for {year} mangler")
    population = population_by_municipality(con, year, quarter, codes)
    missing = [c for c in codes if c not in population]
    if missing:
        return Measure(None, remark=f"Folketal {quarter} mangler for {len(missing)} kommune(r)")
    cases = dict(
        con.execute(
            f"""
            SELECT municipality_code, count(*) FROM ingest.crm_cases
            WHERE org = $org AND year = $year AND {where(filters)}
              AND municipality_code IN ({", ".join(str(c) for c in codes)})
            GROUP BY 1
            """,
            {"org": org, "year": year},
        ).fetchall()
    )
    names = dict(con.execute("SELECT code, name FROM ref.municipalities").fetchall())
    total_cases = sum(int(v) for v in cases.values())
    if total_cases == 0:
        return Measure(None, remark="Ingen individuelle vejledninger i året")
    total_pop = sum(population.values())
    detail: list[dict[str, Any]] = []
    for code in codes:
        target = total_cases * population[code] / total_pop
        n = int(cases.get(code, 0))
        deviation = 100 * (n - target) / target
        detail.append(
            {
                "kommunenr": code,
                "kommune": names.get(code, str(code)),
                "folketal": population[code],
                "folketal_opgjort": quarter,
                "individuelle_vejledninger": n,
                "maaltal": target,
                "afvigelse_pct": deviation,
                "inden_for_spaend": abs(deviation) <= band_pct,
            }
        )
    detail.sort(key=lambda d: str(d["kommune"]))
    worst = max(detail, key=lambda d: abs(d["afvigelse_pct"]))
    below = [d["kommune"] for d in detail if d["afvigelse_pct"] < -band_pct]
    above = [d["kommune"] for d in detail if d["afvigelse_pct"] > band_pct]
    remarks = []
    if below:
        remarks.append("Under spændet (inviteres til dialog): " + ", ".join(below))
    if above:
        remarks.append("Over spændet: " + ", ".join(above))
    return Measure(
        float(len(below) + len(above)),
        n=total_cases,
        remark="; ".join(remarks) or "Alle kommuner inden for spændet",
        detail=detail,
        extra={
            "under_spaendet": below,
            "over_spaendet": above,
            "stoerste_afvigelse_pct": float(worst["afvigelse_pct"]),
            "population_quarter": quarter,
        },
    )
