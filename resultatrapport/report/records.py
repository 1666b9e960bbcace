"""The rows of the two submission files, from the report data (never recomputed).

Keys are the files' Danish headers (``shared/formats/submissions.md``); values are Python
values that :mod:`resultatrapport.report.submissions` writes in the recipients' dialect.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from resultatrapport.contracts import PopulationKeyBudget
from resultatrapport.kpis.budget import basis
from resultatrapport.report.content import ReportData
from resultatrapport.report.finality import finality
from resultatrapport.report.rounding import rounded, target_decimals, value_decimals


def _measured(r: dict[str, Any], column: str) -> Decimal | None:
    """A measured value or bound rounded exactly as the report prints it."""
    value = r[column]
    if value is None:
        return None
    return rounded(value, value_decimals(value, r["unit"], r["target"], r["operator"]))


def _target(r: dict[str, Any]) -> Decimal | None:
    """The target as the report prints it: the contract's figure, never rounded."""
    target = r["target"]
    return None if target is None else rounded(target, target_decimals(target, r["unit"]))


def result_rows(data: ReportData, signed_by: str, signed_on: dt.date) -> list[dict[str, Any]]:
    """One row per KPI; ``Opgørelse`` as of the sign-off's day, as the cover says it."""
    c = data.contract
    reckoning = finality(data, signed_on).word
    return [
        {
            "Kontrakt": c.id,
            "Organisation": c.organisation.name,
            "År": data.year,
            "Opgørelse": reckoning,
            "Mål-ID": r["kpi_id"],
            "Målepunkt": r["name"],
            "Enhed": r["unit"],
            "Resultat": _measured(r, "value"),
            "Målværdi": _target(r),
            "Operator": r["operator"],
            "Status": r["status"],
            "Usikker": r["uncertain"],
            "Grundlag": r["n"],
            "Nedre 95 %": _measured(r, "low"),
            "Øvre 95 %": _measured(r, "high"),
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
