"""From a contract's KPI definition to a result row: measure, target, status, path.

:func:`measure` dispatches a KPI to its kind (the only place that knows the mapping from
parameters to the kind's arguments); :func:`evaluate` adds the year's target, the status,
the path towards a later target and the confidentiality rule, as a row of ``kpi.results``
(:mod:`resultatrapport.kpis.results_table` declares and stores it).
"""

from __future__ import annotations

from typing import Any

import duckdb

from resultatrapport.contracts import Contract, PopulationKeyBudget
from resultatrapport.kpis import kinds
from resultatrapport.kpis.effect import matched_effect
from resultatrapport.kpis.kinds import Measure
from resultatrapport.kpis.results_table import RESULTS_ADDED, RESULTS_DDL, KpiResult
from resultatrapport.kpis.status import IKKE_MAALBAR, status, uncertain
from resultatrapport.report.danish import number

DETAILS_DDL = """
CREATE TABLE IF NOT EXISTS kpi.details (
    contract VARCHAR NOT NULL, year INTEGER NOT NULL, kpi_id VARCHAR NOT NULL, row_no INTEGER,
    row JSON
)"""
BUDGET_DDL = """
CREATE TABLE IF NOT EXISTS kpi.budget (
    contract VARCHAR NOT NULL, year INTEGER NOT NULL, position INTEGER, key VARCHAR NOT NULL,
    name VARCHAR NOT NULL, amount BIGINT, population BIGINT, quarter VARCHAR, share_pct DOUBLE,
    remark VARCHAR
)"""

# survey answers and register financials are confidential below the threshold of units
CONFIDENTIAL_SOURCES = {"survey_answers", "awareness", "financials"}

# how many years back a kind reads a source (the effect KPI follows firms from R-5 to R);
# the asset lineage (partition mappings), the CLI and the report's provenance all use this
KIND_READS_BACK = {
    ("effect", "financials"): 5,
    ("effect", "cvr_firms"): 3,
    ("effect", "crm_cases"): 5,
}


def partitions_read(contract: Contract, year: int) -> dict[tuple[str, str | None], list[int]]:
    """The ingested partitions a contract's report of ``year`` rests on: for each (source,
    organisation) the years its KPIs read (the lookback included) and its budget's source."""
    out: dict[tuple[str, str | None], set[int]] = {}
    for kpi in contract.kpis:
        for source in kpi.sources:
            back = KIND_READS_BACK.get((kpi.kind, source), 0)
            out.setdefault((source, contract.source_org(source)), set()).update(
                range(year - back, year + 1)
            )
    out.setdefault((contract.budget.source, None), set()).add(year)
    return {
        pair: sorted(years)
        for pair, years in sorted(out.items(), key=lambda i: (i[0][0], i[0][1] or ""))
    }


def ensure_kpi_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS kpi")
    for ddl in (RESULTS_DDL, DETAILS_DDL, BUDGET_DDL, *RESULTS_ADDED):
        con.execute(ddl)


def population_quarter(contract: Contract, year: int) -> str:
    if isinstance(contract.budget, PopulationKeyBudget):
        return contract.budget.population_quarter[year]
    return f"{year - 1}K1"


def municipality_codes(contract: Contract) -> list[int]:
    if isinstance(contract.budget, PopulationKeyBudget):
        return list(contract.budget.municipalities)
    return []


def measure(con: duckdb.DuckDBPyConnection, contract: Contract, kpi: Any, year: int) -> Measure:
    """Compute a KPI's value for a year with the kind its definition names."""
    org = contract.organisation.slug
    p = kpi.params
    match kpi.kind:
        case "count" if p.distinct == "referral":
            return kinds.count_referrals(
                con, org, year, p.referral_targets, p.filters, p.referral_exclude
            )
        case "count":
            return kinds.count_cases(con, org, year, p.filters, p.distinct, p.per)
        case "young_firms":
            return kinds.young_firms(con, org, year, p.max_age_years, p.filters)
        case "share":
            return kinds.survey_share(con, org, year, p.base, p.positive)
        case "weighted_share":
            hub = contract.organisation.hub or ""
            return kinds.awareness_share(con, year, hub, p.positive, p.base)
        case "nps":
            return kinds.net_promoter_score(con, org, year, p.filters)
        case "fte":
            return kinds.full_time_equivalents(con, org, year, p.project, p.hours_per_fte)
        case "spread":
            return kinds.spread(
                con,
                org,
                year,
                municipality_codes(contract),
                population_quarter(contract, year),
                p.band_pct,
                p.filters,
            )
        case "activity":
            return kinds.activity(con, org, year, p.areas, p.projects)
        case "external":
            return Measure(None, remark=p.reason)
        case "effect":
            return _effect(con, org, year, p.segment, p.outcome, p.caliper_pp)
    raise ValueError(f"{contract.id}/{kpi.id}: unknown kind {kpi.kind}")


def _effect(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    segment: str,
    outcome: Any,
    caliper: float,
) -> Measure:
    missing = [
        f"regnskaber {y}"
        for y in (year - 5, year - 3, year)
        if not kinds.delivered(con, "financials", y)
    ]
    missing += [f"CVR-udtræk {year - 3}"] if not kinds.delivered(con, "cvr_firms", year - 3) else []
    missing += [
        f"CRM {y}"
        for y in range(year - 5, year + 1)
        if not kinds.delivered(con, "crm_cases", y, org)
    ]
    if missing:
        return Measure(None, remark="Mangler data: " + ", ".join(missing))
    res = matched_effect(con, org, year, segment, outcome, caliper=caliper)
    extra = {
        "kohorte_slutaar": res.cohort_year,
        "basisaar": res.baseline_year,
        "vejledte_med_data": res.treated,
        "matchede_par": res.matched,
        "kontrolvirksomheder": res.controls,
        "naiv_forskel_pp": res.naive,
        "to_stoerste_andel_pct": res.top2_share,
    }
    if res.effect.value is None:
        return Measure(None, remark="Ingen vejledte virksomheder kunne matches", extra=extra)
    naive = "" if res.naive is None else f"; naiv forskel {res.naive:.1f} pp".replace(".", ",")
    return Measure(
        res.effect.value,
        n=res.matched,
        low=res.effect.low,
        high=res.effect.high,
        remark=f"{res.matched} matchede par af {res.treated} vejledte{naive}",
        extra=extra,
    )


def path_value(kpi: Any, year: int) -> tuple[float, int] | None:
    """Linear path from the baseline to the next year with a target (value, target year)."""
    if kpi.path != "linear" or kpi.baseline is None or kpi.targets.get(year) is not None:
        return None
    later = sorted(y for y, t in kpi.targets.items() if t is not None and y > year)
    if not later:
        return None
    goal_year = later[0]
    goal = kpi.targets[goal_year].value
    b = kpi.baseline
    return b.value + (goal - b.value) * (year - b.year) / (goal_year - b.year), goal_year


def withheld(contract: Contract, kpi: Any, m: Measure) -> str | None:
    """Why the KPI's value must be withheld for confidentiality (primary suppression), in
    Danish; None when it may be shown. Survey answers and register financials are
    confidential below the contract's threshold of units, and financials also where the two
    largest firms dominate the figure."""
    confidential = CONFIDENTIAL_SOURCES & set(kpi.sources)
    if m.value is None or not confidential:
        return None
    if m.n < contract.settings.suppression_threshold:
        unit = "besvarelser" if confidential - {"financials"} else "virksomheder"
        return f"For få {unit} (n={m.n}); tallet er diskretioneret"
    top2 = m.extra.get("to_stoerste_andel_pct")
    dominance = contract.settings.dominance_pct
    if "financials" in confidential and top2 is not None and top2 > dominance:
        return (
            f"De to største virksomheder udgør {top2:.0f} % af grundlaget (over "
            f"{dominance:.0f} %); tallet er diskretioneret"
        )
    return None


def path_remark(value: float, goal_year: int) -> str:
    """The remark that shows the path towards a later target (Danish number format)."""
    shown = number(value, 0, grouping=False)
    return f"sti mod målet for {goal_year}: {shown} (en sti, ikke et mål)"


def evaluate(contract: Contract, kpi: Any, year: int, m: Measure) -> KpiResult:
    target = kpi.targets.get(year)
    reason = withheld(contract, kpi, m)
    suppressed = reason is not None
    value, low, high = (None, None, None) if suppressed else (m.value, m.low, m.high)
    goal, operator = (target.value, target.operator) if target else (None, None)
    state = IKKE_MAALBAR if suppressed else status(value, goal, operator)
    doubt = None if suppressed else uncertain(goal, operator, low, high)
    path = path_value(kpi, year)
    remarks = [reason or m.remark, path_remark(*path) if path else ""]
    remark = "; ".join(r for r in remarks if r)
    return KpiResult(
        contract=contract.id,
        year=year,
        kpi_id=kpi.id,
        position=contract.kpis.index(kpi),
        name=kpi.name,
        goal=kpi.goal,
        report_section=kpi.report_section,
        kind=kpi.kind,
        unit=kpi.unit,
        value=value,
        target=target.value if target else None,
        operator=target.operator if target else None,
        status=state,
        uncertain=doubt,
        n=m.n if m.value is not None or m.n else None,
        low=low,
        high=high,
        suppressed=suppressed,
        remark=remark,
        path_value=path[0] if path else None,
        extra=m.extra,
    )
