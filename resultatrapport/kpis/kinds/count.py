"""Kind ``count``: firms, cases or referrals among the year's CRM cases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import duckdb
from pydantic import Field, model_validator

from resultatrapport.contract_base import CrmFilters, KindContract, KindKpi, NonEmpty, Strict
from resultatrapport.kpis.kinds.base import (
    FIRM,
    Filters,
    Kind,
    Measure,
    delivered,
    described,
    missing,
    said,
    where,
)
from resultatrapport.sql import lit, q


class CountParams(Strict):
    """Count among the year's CRM cases: distinct firms, cases, or referrals."""

    filters: CrmFilters = Field(default_factory=CrmFilters)
    # firm: distinct CVR numbers (a founder without CVR counts once per case);
    # case: cases; referral: referral targets registered on the cases (once per case)
    distinct: Literal["firm", "case", "referral"] = "firm"
    # count distinct within each group of this column, then add the groups
    per: Literal["form", "segment", "case_type", "focus_area", "municipality_code"] | None = None
    # distinct: referral only: count only these targets (None: all) and never these
    referral_targets: list[NonEmpty] | None = None
    referral_exclude: list[NonEmpty] = Field(default_factory=list)

    @model_validator(mode="after")
    def _referral_options(self) -> CountParams:
        if self.distinct != "referral" and (self.referral_targets or self.referral_exclude):
            raise ValueError("referral_targets/referral_exclude need distinct: referral")
        return self


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
        return Measure(None, remark=missing("crm_cases", year))
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
        return Measure(None, remark=missing("crm_cases", year))
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


def measure(
    con: duckdb.DuckDBPyConnection, contract: KindContract, kpi: KindKpi[CountParams], year: int
) -> Measure:
    org, p = contract.organisation.slug, kpi.params
    if p.distinct == "referral":
        return count_referrals(con, org, year, p.referral_targets, p.filters, p.referral_exclude)
    return count_cases(con, org, year, p.filters, p.distinct, p.per)


COUNTED = {
    "firm": "Antal forskellige virksomheder (CVR-numre; en iværksætter uden CVR-nummer tæller "
    "én gang pr. forløb)",
    "case": "Antal forløb",
    "referral": "Antal henvisninger registreret på forløbene; hver modtager tæller én gang pr. "
    "forløb",
}
PER = {
    "form": "forløbsform",
    "segment": "segment",
    "case_type": "forløbstype",
    "focus_area": "fokusområde",
    "municipality_code": "kommune",
}


def method(kpi: KindKpi[CountParams]) -> str:
    p = kpi.params
    among = described("crm_cases", p.filters)
    text = COUNTED[p.distinct] + " blandt forløbene startet i året i CRM-udtrækket"
    text += f", hvor {among}" if among else ""
    if p.per:
        text += f"; talt for sig pr. {PER[p.per]} og lagt sammen"
    if p.referral_targets:
        text += f"; kun henvisninger til {said(p.referral_targets)}"
    if p.referral_exclude:
        text += f"; henvisninger til {said(p.referral_exclude)} tæller ikke"
    return text + "."


KIND = Kind(
    name="count",
    params=CountParams,
    measure=measure,
    sources=frozenset({"crm_cases"}),
    unit="antal",
    value_range=(0, float("inf")),
    charts={"chart": "over_years"},
    description=CountParams.__doc__ or "",
    method=method,
)
