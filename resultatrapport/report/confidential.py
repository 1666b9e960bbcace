"""What a year's report and submissions withhold for confidentiality: the figures resting on
too few units, and the figures that would give those away.

*Primary*: a KPI value on a confidential source (survey answers, the awareness survey,
register financials) resting on fewer units than the threshold is withheld when it is
computed (:func:`resultatrapport.kpis.compute.evaluate`; its detail table is then not
stored at all); a count in such a KPI's detail table below the threshold (but above 0) is
withheld here (:func:`withhold_small_cells`).

*Complementary*: :func:`protect` declares the relations between the published figures once
and lets :func:`resultatrapport.report.suppression.protect` withhold what else must go, so
that no withheld figure can be worked out by adding and subtracting published ones. The
NPS KPIs are the confidential KPIs with detail tables; their relations are:

- a KPI's answers per score 0-10 add up to its number of answers (``n``, printed as
  "Grundlag" in the report and the CSV, always published);
- its value and 95 % interval give away its number of detractors (0-6), passives (7-8)
  and promoters (9-10): NPS · n is promoters minus detractors, and the interval's width
  gives promoters plus detractors (:func:`resultatrapport.kpis.stats.nps`). So the three
  groups are figures of their own, each the sum of its scores and together ``n``, published
  or withheld together with the value (linked);
- a KPI whose respondents are those of other KPIs together (M3's segments Vækst and Drift
  are M3-V's and M3-D's) has each score, each group and ``n`` as the sum of theirs. A
  segment whose value is withheld has no published table, so all its figures are unknown
  and must stay so.

A KPI with a target this year keeps its value (its groups stay published): the contract is
about that figure, and a segment without a target gives way instead. The number of answers
is never withheld. A KPI value withheld to protect another is withheld like a primary one
in the report, the charts and ``resultatopfyldelse`` (empty, ``Diskretioneret`` = ``Ja``),
with its own remark.

The other tables hold no confidential figure, so there is nothing to protect: the
municipality table and ``kommunefordeling`` (CRM cases and population), the focus areas
(CRM cases and registered hours), referrals and the budget. A confidential table added
later must declare its relations here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from resultatrapport.contracts import AnyKpi, Contract, KpiBase
from resultatrapport.kpis.compute import CONFIDENTIAL_SOURCES
from resultatrapport.kpis.kinds import KINDS
from resultatrapport.kpis.kinds.base import filter_items
from resultatrapport.kpis.kinds.nps import NpsParams
from resultatrapport.report.suppression import Relation
from resultatrapport.report.suppression import protect as protect_cells
from resultatrapport.vocabulary import IKKE_MAALBAR

# a figure: (KPI id, "svar", score), (KPI id, "gruppe", group name) or (KPI id, "n", None)
Key = tuple[str, str, int | str | None]
SCORES = range(11)
GROUPS = {"kritikere": range(0, 7), "passive": range(7, 9), "anbefalere": range(9, 11)}
REMARK = "Tallet er diskretioneret, fordi et andet diskretioneret tal ellers kunne regnes ud"


def confidential_detail(kpi: AnyKpi) -> bool:
    """Whether a KPI's detail table holds confidential counts: it is published only
    through :func:`protect` (small cells and their complements withheld), so nothing but
    the report, the submissions and the commands that read them through
    :func:`resultatrapport.report.content.published` may show it (not the Dagster UI)."""
    return bool(CONFIDENTIAL_SOURCES & set(kpi.sources))


def value_may_be_withheld(kpi: AnyKpi, year: int) -> bool:
    """Whether a KPI's value may be withheld to protect another figure (complementary
    suppression, decided over all the year's KPIs together): an NPS KPI without a target
    that year. Until then only :func:`protect`'s result may show it."""
    answers = KINDS[kpi.kind].answer_cells
    return answers and confidential_detail(kpi) and kpi.targets.get(year) is None


def withhold_small_cells(
    rows: list[dict[str, Any]], threshold: int
) -> tuple[list[dict[str, Any]], int]:
    """Counts of answers below the threshold (but above 0) are withheld: None."""
    withheld = 0
    out = []
    for row in rows:
        new = dict(row)
        for key in ("antal",):
            value = new.get(key)
            if isinstance(value, int) and 0 < value < threshold:
                new[key] = None
                withheld += 1
        out.append(new)
    return out, withheld


def segment_partitions(contract: Contract) -> list[tuple[str, list[str]]]:
    """(total, parts) of NPS KPIs whose filters are equal but on one column, where the
    total's values are the parts' values without overlap: M3 over Vækst and Drift is
    M3-V plus M3-D."""
    nps = [k for k in contract.kpis if KINDS[k.kind].answer_cells]

    def filters(kpi: KpiBase[NpsParams]) -> dict[str, set[Any]]:
        return {column: set(values) for column, values in filter_items(kpi.params.filters)}

    found = []
    for total in nps:
        whole = filters(total)
        by_column: dict[str, list[Any]] = {}
        for part in nps:
            piece = filters(part)
            if part is total or piece.keys() != whole.keys():
                continue
            differ = [c for c in whole if whole[c] != piece[c]]
            if len(differ) == 1 and piece[differ[0]] < whole[differ[0]]:
                by_column.setdefault(differ[0], []).append(part)
        for column, parts in by_column.items():
            values = [v for p in parts for v in filters(p)[column]]
            if len(values) == len(set(values)) and set(values) == whole[column]:
                found.append((total.id, [p.id for p in parts]))
    return found


class Cells:
    """The published and withheld figures of the NPS KPIs and their relations."""

    def __init__(self) -> None:
        self.values: dict[Key, float | None] = {}
        self.relations: list[Relation] = []
        self.primary: set[Key] = set()
        self.fixed: set[Key] = set()
        self.linked: list[list[Key]] = []


def nps_cells(
    contract: Contract,
    results: Sequence[dict[str, Any]],
    raw: dict[str, list[dict[str, Any]]],
    shown: dict[str, list[dict[str, Any]]],
) -> Cells:
    """Cells ``(kpi, "svar", score)``, ``(kpi, "gruppe", name)`` and ``(kpi, "n", None)`` of
    every NPS KPI with answers, and their relations (see the module). ``raw`` are the
    stored detail rows, ``shown`` the same after primary suppression."""
    cells = Cells()
    by_id = {r["kpi_id"]: r for r in results}
    present = [
        k.id
        for k in contract.kpis
        if KINDS[k.kind].answer_cells and (by_id.get(k.id) or {}).get("n")
    ]
    # parts before totals, so that on a tie a segment gives way rather than the total
    partitions = [
        (t, [p for p in parts if p in present])
        for t, parts in segment_partitions(contract)
        if t in present
    ]
    parts_first = sorted(present, key=lambda k: any(t == k for t, _ in partitions))
    for kpi_id in parts_first:
        r = by_id[kpi_id]
        counts = {int(d["score"]): int(d["antal"]) for d in raw.get(kpi_id, [])}
        published = {int(d["score"]): d["antal"] for d in shown.get(kpi_id, [])}
        for s in SCORES:
            cell: Key = (kpi_id, "svar", s)
            cells.values[cell] = counts.get(s, 0) if counts else None
            if published.get(s) is None:  # withheld, or no table published at all
                cells.primary.add(cell)
        groups: list[Key] = []
        for name, scores in GROUPS.items():
            cell = (kpi_id, "gruppe", name)
            groups.append(cell)
            cells.values[cell] = sum(counts.get(s, 0) for s in scores) if counts else None
            cells.relations.append(Relation(cell, tuple((kpi_id, "svar", s) for s in scores)))
            if r["value"] is None:
                cells.primary.add(cell)
            elif r["target"] is not None:
                cells.fixed.add(cell)
        cells.linked.append(groups)
        n: Key = (kpi_id, "n", None)
        cells.values[n] = r["n"]
        cells.fixed.add(n)
        cells.relations.append(Relation(n, tuple(groups)))
    for total, parts in partitions:
        keys: list[tuple[str, int | str | None]] = [
            *(("svar", s) for s in SCORES),
            *(("gruppe", g) for g in GROUPS),
            ("n", None),
        ]
        for kind, key in keys:
            cells.relations.append(
                Relation((total, kind, key), tuple((p, kind, key) for p in parts))
            )
    return cells


def protect(
    contract: Contract,
    results: list[dict[str, Any]],
    details: dict[str, list[dict[str, Any]]],
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], dict[str, int]]:
    """A year's results and detail rows as published: primary and complementary suppression
    applied (new rows; the arguments are not changed). Also returns the number of withheld
    detail cells per KPI."""
    threshold = contract.settings.suppression_threshold
    shown = {kpi_id: [dict(row) for row in rows] for kpi_id, rows in details.items()}
    withheld: dict[str, int] = {}
    for kpi in contract.kpis:
        if kpi.id in details and CONFIDENTIAL_SOURCES & set(kpi.sources):
            shown[kpi.id], withheld[kpi.id] = withhold_small_cells(details[kpi.id], threshold)
    cells = nps_cells(contract, results, details, shown)
    added = (
        protect_cells(
            cells.values,
            cells.relations,
            cells.primary,
            fixed=cells.fixed,
            linked=cells.linked,
            level=contract.settings.protection_level,
        )
        - cells.primary
    )
    hidden_values = set()
    for kpi_id, kind, key in sorted(added, key=repr):
        if kind == "svar":
            for row in shown.get(kpi_id, []):
                if int(row["score"]) == key:
                    row["antal"] = None
                    withheld[kpi_id] = withheld.get(kpi_id, 0) + 1
        elif kind == "gruppe":
            hidden_values.add(kpi_id)
    out = []
    for r in results:
        row = dict(r)
        if row["kpi_id"] in hidden_values:
            row.update(value=None, low=None, high=None, suppressed=True, status=IKKE_MAALBAR)
            if "uncertain" in row:
                row["uncertain"] = None
            row["remark"] = REMARK + (f"; {row['remark']}" if row["remark"] else "")
        out.append(row)
    return out, shown, withheld
