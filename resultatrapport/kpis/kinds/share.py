"""Kind ``share``: a share of the user survey's answers, with a Wilson interval."""

from __future__ import annotations

from typing import Any

import duckdb
from pydantic import Field, model_validator

from resultatrapport.contract_base import KindContract, KindKpi, Strict, SurveyFilters
from resultatrapport.kpis.interval_coverage import SHARES, share_coverage
from resultatrapport.kpis.kinds.base import (
    Filters,
    Kind,
    Measure,
    delivered,
    described,
    interval_sentence,
    where,
)
from resultatrapport.kpis.stats import wilson


class ShareParams(Strict):
    """Share (%) of the survey answers in ``base`` that are ``positive``; Wilson interval."""

    base: SurveyFilters = Field(default_factory=SurveyFilters)
    positive: SurveyFilters

    @model_validator(mode="after")
    def _positive_given(self) -> ShareParams:
        if not self.positive:
            raise ValueError("positive: name at least one column")
        return self


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


def measure(
    con: duckdb.DuckDBPyConnection, contract: KindContract, kpi: KindKpi[ShareParams], year: int
) -> Measure:
    p = kpi.params
    return survey_share(con, contract.organisation.slug, year, p.base, p.positive)


INTERVAL = "Wilson-interval"


def method(kpi: KindKpi[ShareParams]) -> str:
    base = described("survey_answers", kpi.params.base)
    return (
        "Andelen af brugerevalueringens besvarelser, hvor "
        + described("survey_answers", kpi.params.positive)
        + (f", blandt besvarelserne, hvor {base}" if base else "")
        + "; der tælles besvarelser. "
        + interval_sentence(INTERVAL)
    )


def _coverage_at(n: int, replications: int, rng: Any) -> tuple[list[float], int]:
    """The Wilson interval's exact coverage at n for each true share of the grid."""
    return [share_coverage(n, p) for p in SHARES], 0


KIND = Kind(
    name="share",
    params=ShareParams,
    measure=measure,
    sources=frozenset({"survey_answers"}),
    unit="pct.",
    value_range=(0, 100),
    charts={"chart": "over_years"},
    description=ShareParams.__doc__ or "",
    interval=INTERVAL,
    coverage="answers",
    coverage_at=_coverage_at,
    method=method,
)
