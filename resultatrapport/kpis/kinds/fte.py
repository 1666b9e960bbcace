"""Kind ``fte``: årsværk registered on a project."""

from __future__ import annotations

import duckdb
from pydantic import Field

from resultatrapport.contract_base import KindContract, KindKpi, NonEmpty, Strict
from resultatrapport.kpis.kinds.base import Kind, Measure, delivered, missing
from resultatrapport.report.danish import number


class FteParams(Strict):
    """Årsværk registered on a project: hours / ``hours_per_fte``
    (inherited from ``settings.hours_per_fte`` unless set here)."""

    project: NonEmpty
    hours_per_fte: float = Field(gt=0)


def full_time_equivalents(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    project: str,
    hours_per_fte: float,
) -> Measure:
    """Årsværk spent on a project: registered hours / hours in one årsværk."""
    if not delivered(con, "time_registration", year, org):
        return Measure(None, remark=missing("time_registration", year))
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


def measure(
    con: duckdb.DuckDBPyConnection, contract: KindContract, kpi: KindKpi[FteParams], year: int
) -> Measure:
    p = kpi.params
    return full_time_equivalents(con, contract.organisation.slug, year, p.project, p.hours_per_fte)


def method(kpi: KindKpi[FteParams]) -> str:
    p = kpi.params
    return (
        f"Timer registreret på projektet »{p.project}« i året i tidsregistreringen, divideret "
        f"med {number(p.hours_per_fte)} timer pr. årsværk."
    )


KIND = Kind(
    name="fte",
    params=FteParams,
    measure=measure,
    sources=frozenset({"time_registration"}),
    unit="årsværk",
    value_range=(0, float("inf")),
    inherits=("settings", "hours_per_fte"),
    charts={"chart": "over_years"},
    description=FteParams.__doc__ or "",
    method=method,
)
