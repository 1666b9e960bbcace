"""What every KPI kind declares (:class:`Kind`), and the helpers the kinds share.

A kind's computation reduces the data in DuckDB and returns a :class:`Measure`; the
statistics live in :mod:`resultatrapport.kpis.stats`. A computation returns ``value=None``
with a remark when the data it needs is missing; it never raises for missing data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import duckdb

from resultatrapport.contract_base import (
    AwarenessFilters,
    CrmFilters,
    KindContract,
    KindKpi,
    Strict,
    SurveyFilters,
)
from resultatrapport.formats import FORMATS
from resultatrapport.report.danish import listed
from resultatrapport.sql import lit, q

# a KPI's filter on the table it reads, {column: allowed values} (contract_base)
Filters = CrmFilters | SurveyFilters | AwarenessFilters
FIRM = "coalesce(cvr, 'forløb:' || case_id)"  # a would-be founder without CVR counts by case
ANY = (float("-inf"), float("inf"))

# the charts the report can draw for a KPI (resultatrapport.report.view draws them)
Chart = Literal["over_years", "nps_distribution", "municipal_deviation"]


@dataclass
class Measure:
    value: float | None
    n: int = 0  # units the result rests on (firms, answers, cases, respondents)
    low: float | None = None
    high: float | None = None
    remark: str = ""
    detail: list[dict[str, Any]] = field(default_factory=list)  # a table for the report
    extra: dict[str, Any] = field(default_factory=dict)  # method figures (e.g. naive estimate)


# each kind's functions take KindKpi[ItsParams], the KPIs of its kind (contract_base)
# measure(con, contract, kpi, year): the KPI's value for a year of the contract
Measurer = Callable[[duckdb.DuckDBPyConnection, KindContract, KindKpi[Any], int], Measure]
# detail_table(kpi, rows): the KPI's detail rows as the report's table (headers, rows)
DetailTable = Callable[[KindKpi[Any], list[dict[str, Any]]], dict[str, Any]]
# problems(contract, kpi, at): the kind's rules that span the contract, (location, message)
Problems = Callable[[KindContract, KindKpi[Any], str], Iterator[tuple[str, str]]]


def _no_problems(contract: KindContract, kpi: KindKpi[Any], at: str) -> Iterator[tuple[str, str]]:
    return iter(())


def _no_sources(params: Strict) -> frozenset[str]:
    return frozenset()


def _no_method(kpi: KindKpi[Any]) -> str:
    return ""


def missing(source: str, year: int) -> str:
    """The remark of a KPI whose source is not delivered for ``year``, in the source's one name."""
    return f"{FORMATS[source].title} for {year} mangler"


def filter_items(filters: Filters | None) -> list[tuple[str, Sequence[Any]]]:
    """A filter's (column, allowed values): every column's values are a list, which a
    TypedDict's items() types as object."""
    return [(column, cast(Sequence[Any], values)) for column, values in (filters or {}).items()]


def said(values: Sequence[Any]) -> str:
    """A filter's allowed values as Danish prose: 'Vækst eller Drift', 'ja'."""
    shown = [("ja" if v else "nej") if isinstance(v, bool) else str(v) for v in values]
    return listed(shown, alternatives=True)


def described(source: str, filters: Filters | None) -> str:
    """A KPI's filters as Danish prose with the delivery's own column headers:
    '»Segment« er Vækst eller Drift og »Henvist« er ja' ('' without filters)."""
    headers = {c.name: c.header for c in FORMATS[source].columns}
    parts = [f"»{headers[column]}« er {said(values)}" for column, values in filter_items(filters)]
    return " og ".join(parts)


def interval_sentence(interval: str) -> str:
    """The sentence a method text ends with that names the kind's interval."""
    return f"95 %-interval: {interval}."


@dataclass(frozen=True)
class Kind:
    """A KPI kind, declared once in its module and listed in :data:`~.KINDS`."""

    name: str  # the contract's ``kind:``
    params: type[Strict]  # the contract's ``params:`` (a model whose fields all default: optional)
    measure: Measurer
    sources: frozenset[str]  # the sources it reads (the KPI must name them)
    optional_sources: frozenset[str] = frozenset()  # sources the KPI may name besides
    any_source: bool = False  # the KPI may name any source (what an outside goal rests on)
    needs: Callable[[Any], frozenset[str]] = _no_sources  # sources its params add to `sources`
    reads_back: Mapping[str, int] = field(default_factory=dict)  # {source: years before the year}
    unit: str | None = None  # the unit of its result (None: the KPI's own)
    value_range: tuple[float, float] = ANY  # the range a target value can take
    operator: tuple[str, str] | None = None  # the only operator a target may use, and why
    inherits: tuple[str, str] | None = None  # (contract section, parameter) filled in if left out
    problems: Problems = _no_problems  # its rules that span the contract
    detail_table: DetailTable | None = None  # None: the report shows the detail rows as they are
    charts: Mapping[str, Chart] = field(default_factory=dict)  # the report item's slot → chart
    description: str = ""
    # its 95 % interval as the report's method notes name it ("": the kind has none); the
    # interval's coverage is measured in resultatrapport/kpis/coverage.py
    interval: str = ""
    # method(kpi): how the kind computes this KPI's figure, in Danish, built from the KPI's
    # parameters (and naming ``interval``): the report's method notes print it, and the
    # contract file carries no method text of its own that could drift from the code
    method: Callable[[KindKpi[Any]], str] = _no_method
    # how its interval's coverage is measured (resultatrapport/kpis/coverage.py): "answers"
    # by the number of answers behind the figure (below MIN_INTERVAL_N it gets no interval,
    # and the report says there were too few answers), "design" once on generated firms of
    # one simulated design; None without an interval
    coverage: Literal["answers", "design"] | None = None
    # coverage_at(n, replications, rng) of an "answers" kind: its interval's coverage at n
    # answers for each true value of the grid, and the simulated samples per value (0: computed
    # exactly), which resultatrapport/kpis/coverage.py tabulates
    coverage_at: Callable[[int, int, Any], tuple[list[float], int]] | None = None
    # its figure rests on survey answers whose small counts are withheld and protected
    # across KPIs (resultatrapport/report/confidential.py and suppression.py)
    answer_cells: bool = False
    # its detail rows are one per municipality of the contract (the municipality submission)
    per_municipality: bool = False

    @property
    def params_optional(self) -> bool:
        """Whether a KPI may leave ``params`` out (every parameter has a default)."""
        return not any(f.is_required() for f in self.params.model_fields.values())

    def back(self, source: str) -> int:
        """How many years before the report year it reads ``source``."""
        return self.reads_back.get(source, 0)


def delivered(
    con: duckdb.DuckDBPyConnection, source: str, year: int, org: str | None = None
) -> bool:
    """Whether the partition's delivery was read (a missing file is recorded as missing)."""
    row = con.execute(
        "SELECT sha256 IS NOT NULL FROM ingest.deliveries WHERE source = $s AND year = $y "
        "AND org IS NOT DISTINCT FROM $o",
        {"s": source, "y": year, "o": org},
    ).fetchone()
    return bool(row and row[0])


def where(filters: Filters | None, alias: str = "") -> str:
    """SQL conjunction for {column: allowed values}; booleans and lists of text both work."""
    parts = ["true"]
    prefix = f"{alias}." if alias else ""
    for column, values in filter_items(filters):
        rendered = ", ".join(
            str(v).lower()
            if isinstance(v, bool)
            else (str(v) if isinstance(v, int | float) else lit(str(v)))
            for v in values
        )
        parts.append(f"{prefix}{q(column)} IN ({rendered})")
    return " AND ".join(parts)
