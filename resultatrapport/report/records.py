"""The rows of the two submission files, from the report data (never recomputed).

Keys are the files' Danish headers (``shared/formats/submissions.md``); values are Python
values that :mod:`resultatrapport.report.submissions` writes in the recipients' dialect.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from resultatrapport.contracts import PopulationKeyBudget
from resultatrapport.kpis.budget import basis
from resultatrapport.report.content import ReportData


def result_rows(data: ReportData, signed_by: str, signed_on: dt.date) -> list[dict[str, Any]]:
    c = data.contract
    return [
        {
            "Kontrakt": c.id,
            "Organisation": c.organisation.name,
            "År": data.year,
            "Mål-ID": r["kpi_id"],
            "Målepunkt": r["name"],
            "Enhed": r["unit"],
            "Resultat": r["value"],
            "Målværdi": r["target"],
            "Operator": r["operator"],
            "Status": r["status"],
            "Usikker": r["uncertain"],
            "Grundlag": r["n"],
            "Nedre 95 %": r["low"],
            "Øvre 95 %": r["high"],
            "Diskretioneret": bool(r["suppressed"]),
            "Bemærkning": r["remark"] or None,
            "Godkendt af": signed_by,
            "Godkendt dato": signed_on,
        }
        for r in data.results
    ]


def municipality_rows(data: ReportData) -> list[dict[str, Any]] | None:
    """One row per municipality of the budget key; None where the contract has no key."""
    budget = data.contract.budget
    if not isinstance(budget, PopulationKeyBudget):
        return None
    lines = {b["key"]: b for b in data.budget}
    spread = {d["kommunenr"]: d for d in data.details.get(data.spread_kpi or "", [])}
    names = {d["kommunenr"]: d["kommune"] for d in spread.values()}
    rows = []
    for code in budget.municipalities:
        b = lines.get(str(code), {})
        s = spread.get(code, {})
        rows.append(
            {
                "Kontrakt": data.contract.id,
                "År": data.year,
                "Kommunenr": f"{code:03d}",
                "Kommune": b.get("name") or names.get(code) or str(code),
                "Folketal": b.get("population", s.get("folketal")),
                "Folketal opgjort": b.get("quarter", s.get("folketal_opgjort")),
                "Andel": b.get("share_pct"),
                "Fordelingsgrundlag": basis(budget, data.year),
                "Bevilling": b.get("amount"),
                "Individuelle vejledninger": s.get("individuelle_vejledninger"),
                "Måltal": s.get("maaltal"),
                "Afvigelse": s.get("afvigelse_pct"),
                "Inden for spænd": s.get("inden_for_spaend"),
            }
        )
    return rows
