"""Kind ``effect``: growth of guided firms against matched unguided firms (the estimator is
:mod:`resultatrapport.kpis.effect`)."""

from __future__ import annotations

from typing import Any, Literal

import duckdb
from pydantic import Field

from resultatrapport.contract_base import KindContract, KindKpi, Strict
from resultatrapport.kpis.effect import EffectResult, matched_effect
from resultatrapport.kpis.kinds.base import Kind, Measure, delivered, interval_sentence
from resultatrapport.report.danish import number
from resultatrapport.vocabulary import Segment

# the estimator follows the firms from R-5 (growth before guidance, from B-2) over the
# baseline B = R-3 (register data, CVR) to the report year R, and their cases from R-5 on
READS_BACK = {"financials": 5, "cvr_firms": 3, "crm_cases": 5}


class EffectParams(Strict):
    """Growth of guided firms against matched unguided firms, in percentage points."""

    segment: Segment
    outcome: Literal["turnover", "employment", "productivity"]
    caliper_pp: float = Field(default=10.0, gt=0)  # max gap in pre-guidance growth of a pair


def missing(con: duckdb.DuckDBPyConnection, org: str, year: int) -> list[str]:
    """The partitions the estimator reads that were not delivered, as a reader names them."""
    before, base = year - READS_BACK["financials"], year - READS_BACK["cvr_firms"]
    gone = [f"regnskaber {y}" for y in (before, base, year) if not delivered(con, "financials", y)]
    gone += [] if delivered(con, "cvr_firms", base) else [f"CVR-udtræk {base}"]
    first_case = year - READS_BACK["crm_cases"]
    gone += [
        f"CRM {y}" for y in range(first_case, year + 1) if not delivered(con, "crm_cases", y, org)
    ]
    return gone


def _extra(res: EffectResult) -> dict[str, Any]:
    return {
        "kohorte_slutaar": res.cohort_year,
        "basisaar": res.baseline_year,
        "vejledte_med_data": res.treated,
        "matchede_par": res.matched,
        "kontrolvirksomheder": res.controls,
        "naiv_forskel_pp": res.naive,
        "to_stoerste_andel_pct": res.top2_share,
    }


def remark(matched: int, treated: int, naive: float | None) -> str:
    """What the figure rests on, in words a recipient reads without the method chapter: how
    many of the guided firms were matched (and their share), and the unmatched comparison."""
    share = f" ({number(100 * matched / treated)} %)" if treated else ""
    text = (
        f"{number(matched)} af {number(treated)} vejledte virksomheder med regnskabsdata"
        f"{share} kunne matches med en sammenlignelig virksomhed uden forløb"
    )
    if naive is not None:
        text += (
            f"; uden matchning (alle vejledte mod alle virksomheder uden forløb) er forskellen "
            f"{number(naive, 1)} procentpoint"
        )
    return text


def effect(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    segment: str,
    outcome: Any,
    caliper: float,
) -> Measure:
    gone = missing(con, org, year)
    if gone:
        return Measure(None, remark="Mangler data: " + ", ".join(gone))
    res = matched_effect(con, org, year, segment, outcome, caliper=caliper)
    extra = _extra(res)
    if res.effect.value is None:
        return Measure(None, remark="Ingen vejledte virksomheder kunne matches", extra=extra)
    return Measure(
        res.effect.value,
        n=res.matched,
        low=res.effect.low,
        high=res.effect.high,
        remark=remark(res.matched, res.treated, res.naive),
        extra=extra,
    )


def measure(
    con: duckdb.DuckDBPyConnection, contract: KindContract, kpi: KindKpi[EffectParams], year: int
) -> Measure:
    p = kpi.params
    return effect(con, contract.organisation.slug, year, p.segment, p.outcome, p.caliper_pp)


INTERVAL = "wild cluster bootstrap-interval"
OUTCOMES = {
    "turnover": "omsætning",
    "employment": "beskæftigelse (årsværk)",
    "productivity": "produktivitet (bruttofortjeneste pr. årsværk)",
}


def method(kpi: KindKpi[EffectParams]) -> str:
    p = kpi.params
    return (
        f"For rapportåret R er kohorten {p.segment.lower()}segmentets virksomheder, hvis "
        "vejledningsforløb sluttede i E = R − 2; basisåret er B = E − 1, og udfaldet er "
        f"væksten i {OUTCOMES[p.outcome]} i procent fra B til R. Hver vejledt virksomhed "
        "matches med den virksomhed uden forløb i samme branche (branchekodens to første "
        "cifre), størrelsesgruppe (årsværk i B), aldersgruppe og kommune, der har den "
        "nærmeste omsætningsvækst fra B − 2 til B (højst "
        f"{number(p.caliper_pp, 1 if not float(p.caliper_pp).is_integer() else 0)} "
        "procentpoint fra hinanden); den resterende forskel i forvækst korrigeres "
        "(Abadie og Imbens). Mervæksten er gennemsnittet af parrenes forskel i procentpoint. "
        + interval_sentence(INTERVAL)
    )


KIND = Kind(
    name="effect",
    params=EffectParams,
    measure=measure,
    sources=frozenset({"crm_cases", "cvr_firms", "financials"}),
    reads_back=READS_BACK,
    unit="procentpoint",
    charts={"chart": "over_years"},
    description=EffectParams.__doc__ or "",
    interval=INTERVAL,
    coverage="design",
    method=method,
)
