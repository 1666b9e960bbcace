"""The report's content as the template shows it: Danish words, Danish numbers, charts.

Built from :class:`resultatrapport.report.content.ReportData` only; every figure printed
comes from the results table, the budget or the ingestion records.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from resultatrapport import texts as owner_texts
from resultatrapport.contracts import AnyKpi, Contract, KpiBase, PopulationKeyBudget
from resultatrapport.kpis import coverage
from resultatrapport.kpis.budget import NOT_COMPUTED, basis
from resultatrapport.kpis.kinds import KINDS
from resultatrapport.kpis.kinds.spread import SpreadParams
from resultatrapport.kpis.stats import MIN_INTERVAL_N
from resultatrapport.report import charts, deadlines, quality
from resultatrapport.report.content import ReportData
from resultatrapport.report.danish import DASH, long_date, number, quarter_start
from resultatrapport.report.finality import finality
from resultatrapport.report.rounding import printed_target, printed_value
from resultatrapport.vocabulary import (
    IKKE_MAALBAR,
    IKKE_OPFYLDT,
    INTET_MAAL,
    OPERATOR_SIGN,
    OPFYLDT,
)

STATUS_CLASS = {OPFYLDT: "ok", IKKE_OPFYLDT: "fail", IKKE_MAALBAR: "na", INTET_MAAL: "none"}
TOO_FEW_FOR_INTERVAL = "for få besvarelser til et interval"


def fmt_value(
    value: float | None, unit: str, target: float | None = None, operator: str | None = None
) -> str:
    """A measured value (or a bound of its interval) with its unit's decimals, or more
    where fewer would make it read as meeting its target when it does not, or the other way
    round (``report/rounding.py``)."""
    return DASH if value is None else printed_value(value, unit, target, operator)


def shown_value(row: dict[str, Any]) -> str:
    """A result as the reader sees it; '–' means withheld and nothing else (a result that
    could not be measured shows no figure: its status says why)."""
    if row["value"] is not None:
        return fmt_value(row["value"], row["unit"], row["target"], row["operator"])
    return DASH if row["suppressed"] else ""


def contract_points(contract: Contract) -> list[dict[str, str]]:
    """Every numbered point of the contract and where the report answers it."""
    narratives = {n.id: n for n in contract.narratives}
    rows = []
    for p in contract.contract_points:
        answers = []
        if p.kpis:
            answers.append("Målepunkt " + ", ".join(p.kpis))
        if p.narratives:
            titles = "; ".join(narratives[n].title for n in p.narratives)
            answers.append(f"Skriftlig status: {titles}")
        if p.budget:
            answers.append("Økonomi: budgettabellen")
        shown = " · ".join(answers) or f"Afrapporteres ikke: {p.not_reported}"
        rows.append({"point": p.point, "title": p.title, "answer": shown})
    return rows


def report_state(data: ReportData, on: dt.date) -> str:
    """Whether the figures are final or preliminary on the day ``on``, and why (the first
    page says it, as the submissions' column Opgørelse does)."""
    return finality(data, on).sentence


def fmt_target(row: dict[str, Any]) -> str:
    """'≥ 50': the contract's target, never rounded (a whole target is shown whole, others
    with at least the unit's decimals)."""
    target = row["target"]
    if target is None:
        return ""
    op = OPERATOR_SIGN[row["operator"]]
    return f"{op} {printed_target(target, row['unit'])}"


def fmt_interval(row: dict[str, Any], kind: str | None = None) -> str:
    """'12,3 – 45,6'; a survey figure on too few answers for an interval says so."""
    if row["low"] is None or row["high"] is None:
        few = row["n"] is not None and row["n"] < MIN_INTERVAL_N
        by_answers = kind is not None and KINDS[kind].coverage == "answers"
        if by_answers and few and row["value"] is not None:
            return TOO_FEW_FOR_INTERVAL
        return ""
    target, operator = row.get("target"), row.get("operator")
    low, high = (fmt_value(row[b], row["unit"], target, operator) for b in ("low", "high"))
    return f"{low} – {high}"


def pct(share: float) -> str:
    return f"{number(100 * share, 1)} %"


def interval_coverage(
    contract: Contract, results: dict[str, dict[str, Any]]
) -> list[dict[str, str]]:
    """Each KPI interval's coverage as measured at the sample size of the year's figure."""
    rows = []
    for kpi in contract.kpis:
        r = results.get(kpi.id)
        measured_by = KINDS[kpi.kind].coverage
        if r is None or r["value"] is None or measured_by is None:
            continue
        if measured_by == "design":
            measured = coverage.effect_measured()
            at = f"{number(measured.replications)} simulerede datasæt" if measured else ""
        else:
            measured = coverage.measured(kpi.kind, r["n"])
            at = f"{number(measured.n)} besvarelser" if measured else ""
        if measured is None:
            shown = TOO_FEW_FOR_INTERVAL if measured_by == "answers" else "ikke målt"
            spread = ""
        else:
            shown = pct(measured.mean)
            spread = (
                f"{pct(measured.lowest)}–{pct(measured.highest)}" if measured.truths > 1 else ""
            )
        rows.append(
            {
                "id": kpi.id,
                "method": KINDS[kpi.kind].interval,
                "n": number(r["n"]) if r["n"] is not None else "",
                "at": at,
                "coverage": shown,
                "spread": spread,
            }
        )
    return rows


def _kpi_chart(data: ReportData, kpi: AnyKpi) -> str:
    years = data.contract.years
    by_year = {r["year"]: r for r in data.history.get(kpi.id, [])}
    rows = [by_year.get(y) for y in years]
    return charts.kpi_over_years(
        years=years,
        values=[r["value"] if r else None for r in rows],
        targets=[t.value if (t := kpi.targets.get(y)) else None for y in years],
        operator_by_year=[t.operator if (t := kpi.targets.get(y)) else None for y in years],
        path=[r["path_value"] if r else None for r in rows],
        unit=kpi.unit,
        title=f"{kpi.id}: resultat og mål i kontraktperioden",
        low=[r["low"] if r else None for r in rows],
        high=[r["high"] if r else None for r in rows],
        withheld=[bool(r and r["suppressed"]) for r in rows],
        report_year=data.year,
    )


def _has_target(kpi: AnyKpi) -> bool:
    return any(t is not None for t in kpi.targets.values())


def _over_years(data: ReportData, kpi: AnyKpi, rows: list[dict[str, Any]]) -> str:
    return _kpi_chart(data, kpi) if _has_target(kpi) else ""


def _nps_distribution(data: ReportData, kpi: AnyKpi, rows: list[dict[str, Any]]) -> str:
    if not (rows and _has_target(kpi)):
        return ""
    return charts.nps_distribution(
        {int(d["score"]): d["antal"] for d in rows},  # None: withheld
        f"{kpi.id}: fordeling af svar på anbefalingsspørgsmålet",
    )


def _municipal_deviation(
    data: ReportData, kpi: KpiBase[SpreadParams], rows: list[dict[str, Any]]
) -> str:
    if not rows:
        return ""
    band = kpi.params.band_pct
    return charts.municipal_deviation(
        [d["kommune"] for d in rows],
        [float(d["afvigelse_pct"]) for d in rows],
        band,
        f"{kpi.id}: afvigelse fra måltal pr. kommune (spænd ±{number(band)} %)",
    )


# the charts a kind can name (its ``charts``); each draws nothing ("") when it has nothing
CHARTS: dict[str, Callable[[ReportData, AnyKpi, list[dict[str, Any]]], str]] = {
    "over_years": _over_years,
    "nps_distribution": _nps_distribution,
    "municipal_deviation": _municipal_deviation,
}


def _charts(data: ReportData, kpi: AnyKpi, rows: list[dict[str, Any]]) -> dict[str, str]:
    """The KPI item's charts by slot ("chart", "chart2"), as its kind names them."""
    drawn = {slot: CHARTS[chart](data, kpi, rows) for slot, chart in KINDS[kpi.kind].charts.items()}
    return {slot: svg for slot, svg in drawn.items() if svg}


def years_table(data: ReportData, kpi: AnyKpi) -> dict[str, Any] | None:
    """The KPI's figures for every contract year the report shows (its own and the earlier
    ones), as numbers: the chart's text equivalent. A year without a figure says why (its
    remark), a withheld one shows '–'. None when the report shows one year only."""
    shown = [y for y in data.contract.years if y <= data.year]
    if len(shown) < 2:
        return None
    by_year = {int(r["year"]): r for r in data.history.get(kpi.id, [])}
    rows = []
    for year in shown:
        r = by_year.get(year)
        if r is None:  # a run computes every shown year; this says so if one is left out
            rows.append([str(year), "", "", "Ikke beregnet", "året er ikke kørt"])
            continue
        row = {**r, "unit": kpi.unit}
        rows.append(
            [
                str(year),
                shown_value(row),
                fmt_target(row),
                r["status"] or "",
                "" if r["value"] is not None or r["suppressed"] else (r["remark"] or ""),
            ]
        )
    headers = ["År", f"Resultat ({kpi.unit})", "Mål", "Status", "Hvorfor intet tal"]
    if not any(row[4] for row in rows):
        headers, rows = headers[:4], [row[:4] for row in rows]
    return {"headers": headers, "rows": rows, "numeric_from": 1}


def _detail_table(kpi: AnyKpi, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A KPI's detail rows as a table: Danish headers, formatted cells (the kind's own table,
    else the rows as they are)."""
    table = KINDS[kpi.kind].detail_table
    if table is not None:
        return table(kpi, rows)
    headers = [h[:1].upper() + h[1:] for h in rows[0]]
    body = [
        [number(v, 1 if isinstance(v, float) and not v.is_integer() else 0)
         if isinstance(v, int | float) and not isinstance(v, bool) else (DASH if v is None else str(v))
         for v in r.values()]
        for r in rows
    ]  # fmt: skip
    return {"headers": headers, "rows": body, "numeric_from": 1}


def build(
    data: ReportData,
    *,
    draft: bool,
    provenance: dict[str, Any],
    signed_by: str | None = None,
    signed_role: str | None = None,
    signed_on: dt.date | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    contract = data.contract
    results = {r["kpi_id"]: r for r in data.results}
    summary = []
    footnotes: list[str] = []
    for kpi in contract.kpis:
        r = results.get(kpi.id)
        if r is None:
            continue
        summary.append(
            {
                "id": kpi.id,
                "name": r["name"],
                "value": shown_value(r),
                "unit": r["unit"],
                "target": fmt_target(r),
                "status": r["status"],
                "status_class": STATUS_CLASS[r["status"]],
                "uncertain": bool(r["uncertain"]),
                "interval": fmt_interval(r, kpi.kind),
                "n": number(r["n"]) if r["n"] is not None else "",
                "suppressed": r["suppressed"],
            }
        )
    # a footnote only where its mark is: the summary's withheld values carry the mark; a
    # withheld cell of a detail table is explained beneath its own table
    if any(s["suppressed"] for s in summary):
        footnotes.append(
            "– betyder, at tallet er diskretioneret: det hviler på færre end "
            f"{contract.settings.suppression_threshold} besvarelser eller virksomheder, eller "
            "et andet diskretioneret tal kunne ellers regnes ud af det."
        )

    shown = owner_texts.placed(contract, data.texts, data.year)
    sections = []
    for section in contract.report_sections:
        goals: dict[str, list[dict[str, Any]]] = {}
        for kpi in contract.kpis:
            r = results.get(kpi.id)
            if kpi.report_section != section or r is None:
                continue
            rows = data.details.get(kpi.id, [])
            item: dict[str, Any] = {
                "id": kpi.id,
                "name": kpi.name,
                "contract_text": kpi.contract_text,
                "value": shown_value(r),
                "unit": r["unit"],
                "target": fmt_target(r) or "Intet mål i år",
                "status": r["status"],
                "status_class": STATUS_CLASS[r["status"]],
                "uncertain": bool(r["uncertain"]),
                "interval": fmt_interval(r, kpi.kind),
                "n": number(r["n"]) if r["n"] is not None else "",
                "remark": r["remark"] or "",
                "interpretation": kpi.interpretation,
                "chart": "",
                "years": years_table(data, kpi),
                "detail": _detail_table(kpi, rows) if rows else None,
                "withheld": data.withheld_cells.get(kpi.id, 0),
                "texts": shown.by_kpi.get(kpi.id, []),
            }
            item.update(_charts(data, kpi, rows))
            goals.setdefault(kpi.goal, []).append(item)
        sections.append(
            {"title": section, "goals": goals, "texts": shown.by_section.get(section, [])}
        )

    budget = contract.budget
    # an indexed sum's earmarks and rest are parts of its total: 'heraf', indented beneath it
    parts_of_total = not isinstance(budget, PopulationKeyBudget)

    def part(b: dict[str, Any]) -> bool:
        return parts_of_total and b["key"] not in ("total", NOT_COMPUTED, "none")

    budget_rows = [
        {
            # the rest's name is a common noun ("heraf øvrige aktiviteter"), an earmark's a name
            "name": (
                f"heraf {b['name'][:1].lower() + b['name'][1:] if b['key'] == 'rest' else b['name']}"
                if part(b)
                else b["name"]
            ),
            "part": part(b),
            "population": number(b["population"]) if b["population"] is not None else "",
            "share": f"{number(b['share_pct'], 4)} %" if b["share_pct"] is not None else "",
            "amount": number(b["amount"]) if b["amount"] is not None else DASH,
            "remark": b["remark"] or "",
        }
        for b in data.budget
    ]
    budget_total = sum(b["amount"] or 0 for b in data.budget if b["key"] not in ("rest",))
    if not isinstance(budget, PopulationKeyBudget):
        budget_total = next((b["amount"] for b in data.budget if b["key"] == "total"), 0) or 0
    quarter = next((b["quarter"] for b in data.budget if b["quarter"]), None)
    not_computed = next((b["remark"] for b in data.budget if b["key"] == NOT_COMPUTED), "")
    grounds = basis(budget, data.year)
    budget_title = budget.title
    if grounds == "Beregnet":  # not KL's bilag a: the title and a sentence say so
        budget_title = re.sub(r"^Bilag [a-z]:\s*", "", budget.title)
        if quarter:
            budget_title += f", beregnet efter folketallet {quarter_start(quarter)}"

    intervals = interval_coverage(contract, results)
    methods = [
        {"id": k.id, "name": k.name, "method": method}
        for k in contract.kpis
        if k.id in results and (method := KINDS[k.kind].method(k))
    ]
    # the kinds the report's figures come from: the method chapter explains only theirs,
    # naming each interval as the kind declares it
    used = {k.kind for k in contract.kpis if k.id in results}
    intervals_by_kind = {name: KINDS[name].interval for name in used if KINDS[name].interval}
    return {
        "draft": draft,
        "contract": contract,
        "year": data.year,
        "organisation": contract.organisation.name,
        "parties": contract.parties,
        "signed": {
            "date": long_date(contract.signed.date) if contract.signed.date else "",
            "in_force": long_date(contract.signed.in_force) if contract.signed.in_force else "",
            "signatories": contract.signed.signatories,
        },
        "reporting": contract.reporting,
        "deadlines": deadlines.cover(contract, data.year),
        # as of the sign-off's day for a signed version, the day it is drawn for a draft
        "state": report_state(data, signed_on or dt.date.today()),
        "points": contract_points(contract),
        "summary": summary,
        "footnotes": footnotes,
        "foreword": shown.foreword,
        "sections": sections,
        "budget": {
            "title": budget_title,
            "computed": grounds == "Beregnet",
            "not_computed": not_computed,
            "note": budget.note,
            "interpretation": budget.interpretation,
            "rows": budget_rows,
            "total": number(budget_total),
            "quarter": quarter_start(quarter) if quarter else None,
            "by_population": isinstance(budget, PopulationKeyBudget),
        },
        "methods": methods,
        "kinds_used": intervals_by_kind,
        "intervals": intervals,
        "min_interval_n": MIN_INTERVAL_N,
        "threshold": contract.settings.suppression_threshold,
        "dominance_pct": number(contract.settings.dominance_pct),
        # one paragraph for the recipients; the detail is in the internal appendix
        "quality": quality.summary(data),
        "inputs": quality.provenance(data),
        "provenance": provenance,
        "blocking_failures": data.blocking_failures,
        "signed_by": signed_by,
        "signed_role": signed_role,
        "signed_on": long_date(signed_on) if signed_on else "",
        "version": version,
        "generated": long_date(dt.date.today()),
    }
