"""Kind ``nps``: the Net Promoter Score of the user survey, with its distribution."""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
from pydantic import Field

from resultatrapport.contract_base import KindContract, KindKpi, Strict, SurveyFilters
from resultatrapport.kpis.interval_coverage import NPS_TRUTHS, nps_coverage
from resultatrapport.kpis.kinds.base import (
    Filters,
    Kind,
    Measure,
    delivered,
    described,
    interval_sentence,
    where,
)
from resultatrapport.kpis.stats import nps as nps_estimate
from resultatrapport.report.danish import number


class NpsParams(Strict):
    """Net Promoter Score of the answers to 'Anbefaling (0-10)' in ``filters``."""

    filters: SurveyFilters = Field(default_factory=SurveyFilters)


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


def measure(
    con: duckdb.DuckDBPyConnection, contract: KindContract, kpi: KindKpi[NpsParams], year: int
) -> Measure:
    return net_promoter_score(con, contract.organisation.slug, year, kpi.params.filters)


def detail_table(kpi: KindKpi[NpsParams], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One row: the number of answers per score."""
    headers = ["Svar", *(str(r["score"]) for r in rows)]
    body = [["Antal", *(number(r["antal"]) for r in rows)]]
    return {"headers": headers, "rows": body, "numeric_from": 1}


INTERVAL = "justeret Wald-interval (Rocks 2016)"


def method(kpi: KindKpi[NpsParams]) -> str:
    among = described("survey_answers", kpi.params.filters)
    return (
        "Net Promoter Score: andelen af brugerevalueringens besvarelser, der svarer 9-10 på "
        "»Anbefaling (0-10)«, minus andelen, der svarer 0-6, i point"
        + (f", blandt besvarelserne, hvor {among}" if among else "")
        + "; ubesvarede tæller ikke med. "
        + interval_sentence(INTERVAL)
    )


def _coverage_at(n: int, replications: int, rng: Any) -> tuple[list[float], int]:
    """The adjusted Wald interval's exact coverage at n for each true NPS of the grid."""
    return [nps_coverage(n, pro, det) for pro, det in NPS_TRUTHS], 0


KIND = Kind(
    name="nps",
    params=NpsParams,
    measure=measure,
    sources=frozenset({"survey_answers"}),
    unit="NPS",
    value_range=(-100, 100),
    detail_table=detail_table,
    charts={"chart": "over_years", "chart2": "nps_distribution"},
    description=NpsParams.__doc__ or "",
    interval=INTERVAL,
    coverage="answers",
    coverage_at=_coverage_at,
    answer_cells=True,
    method=method,
)
