"""Kind ``spread``: individual guidance per municipality against its population-proportional
måltal."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
from pydantic import Field

from resultatrapport.contract_base import (
    CrmFilters,
    KindContract,
    KindKpi,
    PopulationKeyBudget,
    Strict,
)
from resultatrapport.kpis.kinds.base import (
    Filters,
    Kind,
    Measure,
    delivered,
    described,
    missing,
    where,
)
from resultatrapport.report.danish import number


class SpreadParams(Strict):
    """Cases per municipality against the population-proportional måltal; the band is the
    budget's ``band_pct`` (inherited unless set here, and then it must be the same)."""

    band_pct: float = Field(gt=0)
    filters: CrmFilters = Field(default_factory=CrmFilters)


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


def _cases(
    con: duckdb.DuckDBPyConnection,
    org: str,
    year: int,
    codes: Sequence[int],
    filters: Filters | None,
) -> dict[int, int]:
    rows = con.execute(
        f"""
        SELECT municipality_code, count(*) FROM ingest.crm_cases
        WHERE org = $org AND year = $year AND {where(filters)}
          AND municipality_code IN ({", ".join(str(c) for c in codes)})
        GROUP BY 1
        """,
        {"org": org, "year": year},
    ).fetchall()
    return {int(code): int(n) for code, n in rows}


def _remark(below: list[str], above: list[str]) -> str:
    remarks = []
    if below:
        remarks.append("Under spændet (inviteres til dialog): " + ", ".join(below))
    if above:
        remarks.append("Over spændet: " + ", ".join(above))
    return "; ".join(remarks) or "Alle kommuner inden for spændet"


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
        return Measure(None, remark=missing("crm_cases", year))
    population = population_by_municipality(con, year, quarter, codes)
    absent = [c for c in codes if c not in population]
    if absent:
        return Measure(None, remark=f"Folketal {quarter} mangler for {len(absent)} kommune(r)")
    cases = _cases(con, org, year, codes, filters)
    names = dict(con.execute("SELECT code, name FROM ref.municipalities").fetchall())
    total_cases = sum(cases.values())
    if total_cases == 0:
        return Measure(None, remark="Ingen individuelle vejledninger i året")
    total_pop = sum(population.values())
    detail: list[dict[str, Any]] = []
    for code in codes:
        target = total_cases * population[code] / total_pop
        n = cases.get(code, 0)
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
    return Measure(
        float(len(below) + len(above)),
        n=total_cases,
        remark=_remark(below, above),
        detail=detail,
        extra={
            "under_spaendet": below,
            "over_spaendet": above,
            "stoerste_afvigelse_pct": float(worst["afvigelse_pct"]),
            "population_quarter": quarter,
        },
    )


def _population_budget(contract: KindContract) -> PopulationKeyBudget | None:
    """The contract's budget if it is split by population (it names the municipalities and
    the quarter whose population counts), else None."""
    budget = contract.budget
    return budget if budget.kind == "population_key" else None


def population_quarter(contract: KindContract, year: int) -> str:
    if budget := _population_budget(contract):
        return str(budget.population_quarter[year])
    return f"{year - 1}K1"


def municipality_codes(contract: KindContract) -> list[int]:
    budget = _population_budget(contract)
    return list(budget.municipalities) if budget else []


def measure(
    con: duckdb.DuckDBPyConnection, contract: KindContract, kpi: KindKpi[SpreadParams], year: int
) -> Measure:
    return spread(
        con,
        contract.organisation.slug,
        year,
        municipality_codes(contract),
        population_quarter(contract, year),
        kpi.params.band_pct,
        kpi.params.filters,
    )


def problems(
    contract: KindContract, kpi: KindKpi[SpreadParams], at: str
) -> Iterator[tuple[str, str]]:
    budget = _population_budget(contract)
    if budget is None:
        yield f"{at}.kind", "spread needs a population_key budget (municipalities, quarter)"
    elif kpi.params.band_pct != budget.band_pct:
        yield f"{at}.params.band_pct", f"differs from budget.band_pct {budget.band_pct:g}"


def _place(r: dict[str, Any]) -> str:
    if r["inden_for_spaend"]:
        return "Inden for"
    return "Under: inviteres til dialog" if r["afvigelse_pct"] < 0 else "Over"


def detail_table(kpi: KindKpi[SpreadParams], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Alphabetical; each municipality's place said in words."""
    band = number(kpi.params.band_pct)
    headers = ["Kommune", "Folketal", "Måltal", "Individuelle vejledninger", "Afvigelse",
               f"Spændet ±{band} %"]  # fmt: skip
    body = [
        [
            r["kommune"],
            number(r["folketal"]),
            number(r["maaltal"], 1),
            number(r["individuelle_vejledninger"]),
            f"{number(r['afvigelse_pct'], 1)} %",
            _place(r),
        ]
        for r in sorted(rows, key=lambda r: str(r["kommune"]))
    ]
    return {"headers": headers, "rows": body, "numeric_from": 1}


def method(kpi: KindKpi[SpreadParams]) -> str:
    p = kpi.params
    among = described("crm_cases", p.filters)
    return (
        "Forløb startet i året pr. kommune i CRM-udtrækket"
        + (f", hvor {among}" if among else "")
        + ", mod kommunens måltal: forløbene i alt fordelt efter kommunernes folketal i "
        f"budgettets kvartal. Resultatet er antallet af kommuner, hvis afvigelse fra måltallet "
        f"er større end ±{number(p.band_pct)} %."
    )


KIND = Kind(
    name="spread",
    params=SpreadParams,
    measure=measure,
    sources=frozenset({"crm_cases", "population"}),
    unit="antal",
    operator=("<=", "kind spread counts the municipalities outside its band: <= (at most N)"),
    inherits=("budget", "band_pct"),
    problems=problems,
    detail_table=detail_table,
    charts={"chart": "municipal_deviation"},
    description=SpreadParams.__doc__ or "",
    method=method,
    per_municipality=True,
)
