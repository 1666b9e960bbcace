"""Kind ``activity``: a status table of cases, firms and hours per focus area."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
from pydantic import Field

from resultatrapport.contract_base import FocusAreas, KindContract, KindKpi, NonEmpty, Strict
from resultatrapport.kpis.kinds.base import FIRM, Kind, Measure, delivered, missing, said
from resultatrapport.report.danish import number
from resultatrapport.sql import lit


class ActivityParams(Strict):
    """Status table: cases, firms and hours per focus area (and hours per project)."""

    areas: FocusAreas
    projects: list[NonEmpty] = Field(default_factory=list)


def activity(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    areas: Sequence[str],
    projects: Sequence[str] = (),
) -> Measure:
    """Status table: cases, firms and hours per focus area (and hours per project)."""
    if not delivered(con, "crm_cases", year, org):
        return Measure(None, remark=missing("crm_cases", year))
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


def measure(
    con: duckdb.DuckDBPyConnection, contract: KindContract, kpi: KindKpi[ActivityParams], year: int
) -> Measure:
    p = kpi.params
    return activity(con, contract.organisation.slug, year, p.areas, p.projects)


def needs(params: ActivityParams) -> frozenset[str]:
    """Hours per project come from the time registration."""
    return frozenset({"time_registration"}) if params.projects else frozenset()


def detail_table(kpi: KindKpi[ActivityParams], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Focus areas with cases, firms and hours; a project has hours only, and its cases and
    firms cells are empty, never '–' (which says *withheld* everywhere in the report)."""
    body = []
    for r in rows:
        project = r["forløb"] is None
        body.append(
            [
                f"{r['område']} (projekt: kun timer)" if project else str(r["område"]),
                "" if project else number(r["forløb"]),
                "" if project else number(r["virksomheder"]),
                number(r["timer"], 1 if not float(r["timer"]).is_integer() else 0),
            ]
        )
    return {"headers": ["Område", "Forløb", "Virksomheder", "Timer"], "rows": body,
            "numeric_from": 1}  # fmt: skip


def method(kpi: KindKpi[ActivityParams]) -> str:
    p = kpi.params
    text = (
        f"Statusopgørelse uden mål: forløb, virksomheder og timer i CRM-udtrækket pr. "
        f"indsatsområde ({said(p.areas)}) for forløbene startet i året"
    )
    if p.projects:
        text += f", og timer pr. projekt i tidsregistreringen ({said(p.projects)})"
    return text + "."


KIND = Kind(
    name="activity",
    params=ActivityParams,
    measure=measure,
    sources=frozenset({"crm_cases"}),
    optional_sources=frozenset({"time_registration"}),  # hours per project
    needs=needs,
    unit="antal",
    value_range=(0, float("inf")),
    description=ActivityParams.__doc__ or "",
    detail_table=detail_table,
    method=method,
)
