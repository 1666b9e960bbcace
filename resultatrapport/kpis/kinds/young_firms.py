"""Kind ``young_firms``: guided firms younger than a number of years."""

from __future__ import annotations

import duckdb
from pydantic import Field

from resultatrapport.contract_base import CrmFilters, KindContract, KindKpi, Strict
from resultatrapport.kpis.kinds.base import (
    Filters,
    Kind,
    Measure,
    delivered,
    described,
    missing,
    where,
)


class YoungFirmsParams(Strict):
    """Distinct firms whose CVR start date is less than ``max_age_years`` before the start
    of their (first) guidance case in the year."""

    max_age_years: int = Field(default=3, ge=1)
    filters: CrmFilters = Field(default_factory=CrmFilters)


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
        return Measure(None, remark=missing("crm_cases", year))
    if not delivered(con, "cvr_firms", year):
        return Measure(None, remark=missing("cvr_firms", year))
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


def measure(
    con: duckdb.DuckDBPyConnection,
    contract: KindContract,
    kpi: KindKpi[YoungFirmsParams],
    year: int,
) -> Measure:
    p = kpi.params
    return young_firms(con, contract.organisation.slug, year, p.max_age_years, p.filters)


def method(kpi: KindKpi[YoungFirmsParams]) -> str:
    p = kpi.params
    among = described("crm_cases", p.filters)
    return (
        "Antal forskellige virksomheder (CVR-numre) med et vejledningsforløb startet i året"
        + (f", hvor {among}" if among else "")
        + f", hvis startdato i CVR ligger mindre end {p.max_age_years} år før starten af "
        "virksomhedens første forløb i året; iværksættere uden CVR-nummer tæller ikke."
    )


KIND = Kind(
    name="young_firms",
    params=YoungFirmsParams,
    measure=measure,
    sources=frozenset({"crm_cases", "cvr_firms"}),
    unit="antal",
    value_range=(0, float("inf")),
    charts={"chart": "over_years"},
    description=YoungFirmsParams.__doc__ or "",
    method=method,
)
