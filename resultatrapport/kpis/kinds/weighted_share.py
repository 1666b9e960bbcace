"""Kind ``weighted_share``: a weighted share of the hub's respondents in the awareness
survey, with a design-based interval."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
from pydantic import Field, model_validator

from resultatrapport.contract_base import AwarenessFilters, KindContract, KindKpi, Strict
from resultatrapport.kpis.interval_coverage import SHARES, weighted_share_coverage
from resultatrapport.kpis.kinds.base import (
    Filters,
    Kind,
    Measure,
    delivered,
    described,
    interval_sentence,
    where,
)
from resultatrapport.kpis.stats import weighted_share as weighted_share_estimate


class WeightedShareParams(Strict):
    """Weighted share (%) of the organisation's hub's respondents in the awareness survey;
    design-based interval."""

    base: AwarenessFilters = Field(default_factory=AwarenessFilters)
    positive: AwarenessFilters

    @model_validator(mode="after")
    def _positive_given(self) -> WeightedShareParams:
        if not self.positive:
            raise ValueError("positive: name at least one column")
        return self


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


def measure(
    con: duckdb.DuckDBPyConnection,
    contract: KindContract,
    kpi: KindKpi[WeightedShareParams],
    year: int,
) -> Measure:
    hub = contract.organisation.hub or ""
    return awareness_share(con, year, hub, kpi.params.positive, kpi.params.base)


def problems(
    contract: KindContract, kpi: KindKpi[WeightedShareParams], at: str
) -> Iterator[tuple[str, str]]:
    if contract.organisation.hub is None:
        yield "organisation.hub", f"{at} reads the awareness survey: name the hub"


INTERVAL = "Wilson-interval ved Kish' effektive stikprøvestørrelse"


def method(kpi: KindKpi[WeightedShareParams]) -> str:
    base = described("awareness", kpi.params.base)
    return (
        "Vægtet andel (med målingens vægte) af respondenterne for erhvervshuset i "
        "Erhvervsstyrelsens kendskabsmåling, hvor "
        + described("awareness", kpi.params.positive)
        + (f", blandt respondenterne, hvor {base}" if base else "")
        + ". "
        + interval_sentence(INTERVAL)
    )


def _coverage_at(n: int, replications: int, rng: Any) -> tuple[list[float], int]:
    """The weighted share's interval, its coverage simulated at n for each true share."""
    return [weighted_share_coverage(n, p, replications, rng) for p in SHARES], replications


KIND = Kind(
    name="weighted_share",
    params=WeightedShareParams,
    measure=measure,
    sources=frozenset({"awareness"}),
    unit="pct.",
    value_range=(0, 100),
    problems=problems,
    charts={"chart": "over_years"},
    description=WeightedShareParams.__doc__ or "",
    interval=INTERVAL,
    coverage="answers",
    coverage_at=_coverage_at,
    method=method,
)
