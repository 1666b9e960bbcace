"""Result contracts as data: typed models for ``contracts/<id>.yaml`` and their loader.

A contract file names its parties, years, budget and KPIs. Each KPI names a *kind* (the
computation, written once in :mod:`resultatrapport.kpis`) and the kind's parameters, typed
per kind: a misspelt parameter, a filter on a column the source does not have, a category
value the data never holds, a missing year or an unknown operator is an error naming the
file and the field, e.g.
``contracts/x.yaml: kpis[3].targets.2026.operator: Input should be '>=', '>', '<=' or '±'``.

Besides the field types, :class:`Contract` checks the rules that span fields: unique KPI
ids (also after ``-`` → ``_``), a target entry (or an explicit ``null``) for every contract
year and no other, the sources each kind reads, that the organisation delivers them, the
unit of each kind, target ranges, paths, and the budget's years. :func:`load_contract` adds
that the file name is the contract id. The field reference is ``contracts/README.md``.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce
from operator import or_
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

import yaml
from pydantic import Field, StrictBool, ValidationError, create_model, model_validator

from resultatrapport.contract_base import (
    Budget,
    IndexedSumBudget,
    NonEmpty,
    Organisation,
    PopulationKeyBudget,
    Strict,
    Year,
)
from resultatrapport.formats import FORMATS
from resultatrapport.kpis.kinds import KINDS
from resultatrapport.kpis.kinds import Kind as KindSpec
from resultatrapport.report.danish import years_text
from resultatrapport.settings import PROJECT_ROOT, contracts_dir, example_contracts
from resultatrapport.vocabulary import SLUG, Operator, Unit

# --- vocabularies -----------------------------------------------------------------------

# the category values, units and operators: resultatrapport.vocabulary
# the sources and the per-organisation deliveries are declared once, by their formats
# (resultatrapport.formats): a contract names them, it does not list them again
DELIVERY_SOURCES: dict[str, str] = {
    f.delivery: f.name for f in FORMATS.values() if f.delivery is not None
}
COMMON_SOURCES = frozenset(f.name for f in FORMATS.values() if f.delivery is None)
if TYPE_CHECKING:
    Source = str
    Delivery = str
else:  # one allowed value per format, as pydantic validates and the JSON schema lists them
    Source = Literal[tuple(FORMATS)]
    Delivery = Literal[tuple(DELIVERY_SOURCES)]

# what each kind reads, its unit and range: its module in resultatrapport.kpis.kinds
ALL_SOURCES = frozenset(FORMATS)


class ContractError(ValueError):
    """A contract file that does not hold a valid contract; the message names file and field.

    ``summary`` is the same in one Danish line for the people running commands: the file,
    the YAML line or the first field in error, how many more errors the file has, and no
    long value from the file."""

    def __init__(self, message: str, summary: str | None = None) -> None:
        super().__init__(message)
        self.summary = _one_line(summary or message)


class ContractWarning(UserWarning):
    """A contract file that is left out (it is broken) while the other contracts are used."""


# --- KPIs ------------------------------------------------------------------------------


class Target(Strict):
    operator: Operator
    value: float = Field(allow_inf_nan=False)


class Baseline(Strict):
    year: Year
    value: float
    source: NonEmpty  # where the figure comes from


KPI_ID = r"^[A-Z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$"

# a kind's parameters model (resultatrapport.kpis.kinds)
P = TypeVar("P", bound=Strict)


class KpiBase(Strict, Generic[P]):
    id: str = Field(pattern=KPI_ID)
    name: NonEmpty
    goal: NonEmpty
    report_section: NonEmpty
    contract_text: NonEmpty
    unit: Unit
    sources: list[Source]
    # every contract year; None: the contract sets no target that year
    targets: dict[int, Target | None]
    baseline: Baseline | None = None
    # linear: in a year without a target, show the way from the baseline to the next
    # target (always labelled a path, never a target)
    path: Literal["linear"] | None = None
    # no ``method``: the kind states how it computes the figure (Kind.method), from params
    interpretation: str = ""
    # per kind (KPI_MODELS): kind: the kind's name; params: its parameters model, so a
    # kind's functions take ``KpiBase[ItsParams]``
    kind: str
    params: P

    @property
    def asset_name(self) -> str:
        """The KPI's part of a Dagster asset key: lower case, ``-`` → ``_``."""
        return self.id.replace("-", "_").lower()

    def target(self, year: int) -> Target | None:
        return self.targets.get(year)


def _kpi_model(kind: KindSpec) -> type[AnyKpi]:
    """A kind's KPI model: ``kind: <its name>`` and its ``params`` (which a KPI may leave
    out when every parameter has a default)."""
    tag: Any = Literal[kind.name]
    default = kind.params() if kind.params_optional else ...
    return create_model(
        kind.params.__name__.removesuffix("Params") + "Kpi",
        # the kind's parameters model is known at run time only
        __base__=KpiBase[kind.params],  # type: ignore[name-defined]
        __module__=__name__,
        kind=(tag, ...),
        params=(kind.params, default),
    )


# one KPI model per kind of the registry, by kind; a KPI is one of them (by its ``kind``)
AnyKpi = KpiBase[Any]  # a KPI of any kind
KPI_MODELS: dict[str, type[AnyKpi]] = {name: _kpi_model(kind) for name, kind in KINDS.items()}
if TYPE_CHECKING:
    Kpi = AnyKpi
else:
    Kpi = Annotated[reduce(or_, KPI_MODELS.values()), Field(discriminator="kind")]


# --- contract ----------------------------------------------------------------------------


class Party(Strict):
    name: NonEmpty
    role: Literal["opdragsgiver", "operatør"]
    description: str = ""


class Period(Strict):
    first: Year
    last: Year

    @property
    def years(self) -> list[int]:
        return list(range(self.first, self.last + 1))


class Signatory(Strict):
    name: NonEmpty
    party: NonEmpty
    title: str = ""


class Signed(Strict):
    date: dt.date | None = None  # None: the contract text carries no date
    in_force: dt.date | None = None
    signatories: list[Signatory] = Field(default_factory=list)


class DueDate(Strict):
    """A deadline as a rule that gives a date for each report year: day ``day`` (or the last
    day) of month ``month`` in the year ``years_after`` years after the report year. Viborg's
    "inden udgangen af januar" (the year after) is ``{years_after: 1, month: 1, day: last}``."""

    years_after: int = Field(ge=1, le=3)  # a final report is due after its year has ended
    month: int = Field(ge=1, le=12)
    day: Annotated[int, Field(ge=1, le=31)] | Literal["last"] = "last"

    @model_validator(mode="after")
    def _a_day_every_year_has(self) -> DueDate:
        # the shortest the month is in any year: February 28 days
        if self.day != "last" and self.day > calendar.monthrange(2001, self.month)[1]:
            raise ValueError(f"month {self.month} has no day {self.day} every year (use last)")
        return self

    def on(self, year: int) -> dt.date:
        """The date for the report of ``year``."""
        due_year = year + self.years_after
        last = calendar.monthrange(due_year, self.month)[1]
        return dt.date(due_year, self.month, last if self.day == "last" else self.day)


class Deadline(Strict):
    """When a report year's signed report is due, to whom, in the contract's words, and the
    rule that makes a date of them. ``date_in_contract: false`` marks a date the contract does
    not give (the contract sets an event, "når den kan opgøres"): a setting, and
    ``interpretation`` says how it was chosen."""

    title: NonEmpty  # what is due, in Danish: "Endelig resultatopfyldelse"
    to: Annotated[list[NonEmpty], Field(min_length=1)]  # recipients, among reporting.to
    contract_text: NonEmpty  # the contract's own words
    due: DueDate
    date_in_contract: StrictBool
    interpretation: str = ""

    @model_validator(mode="after")
    def _a_chosen_date_says_why(self) -> Deadline:
        if not self.date_in_contract and not self.interpretation.strip():
            raise ValueError("a date the contract does not give needs an interpretation")
        return self


class Reporting(Strict):
    to: Annotated[list[NonEmpty], Field(min_length=1)]
    contract_text: NonEmpty  # the contract's own words on when and how results are reported
    responsible: str = ""  # who answers for the report, in the contract's words
    # the deadlines of a year's report, each a rule giving a date (at least one)
    deadlines: Annotated[list[Deadline], Field(min_length=1)]


class ContractPoint(Strict):
    """A numbered point of the contract and where the report answers it: KPIs, the report
    owner's written status (narratives), the budget, or not at all, with the reason. Every
    point of the contract is listed, so a reader sees that nothing was left out quietly."""

    point: NonEmpty  # the contract's own number: "5", "6.a", "Bilag a"
    title: NonEmpty
    kpis: list[NonEmpty] = Field(default_factory=list)
    narratives: list[NonEmpty] = Field(default_factory=list)
    budget: bool = False
    not_reported: str = ""  # why the point is not reported on (Danish)

    @model_validator(mode="after")
    def _answered_or_said_why(self) -> ContractPoint:
        answered = bool(self.kpis or self.narratives or self.budget)
        if answered == bool(self.not_reported):
            raise ValueError("a point is answered (kpis, narratives, budget) or not_reported")
        return self


# --- the report owner's written status (the texts delivery) -----------------------------

NARRATIVE_ID = r"^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$"


class KpiPlace(Strict):
    """After a KPI's figures, in the KPI's report section."""

    kpi: NonEmpty


class SectionPlace(Strict):
    """At the end of a report section, after its KPIs."""

    section: NonEmpty


class Narrative(Strict):
    """A section of the report owner's texts (``<org>/tekster/<contract-id>_<YYYY>.md``):
    prose the contract asks for beside the figures. The texts file names it by a level-2
    heading with its ``title`` (optionally preceded by its ``id``, or by the id of the KPI it
    is placed after)."""

    id: str = Field(pattern=NARRATIVE_ID)
    title: Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\r\n#]+$")]
    contract_text: NonEmpty  # the contract's own words asking for it
    required: StrictBool  # a required text that is missing refuses the sign-off
    # where it goes: the foreword (before the summary), after a KPI, or a report section
    place: Literal["foreword"] | KpiPlace | SectionPlace


class Settings(Strict):
    suppression_threshold: int = Field(default=3, ge=1)  # fewer units: the figure is withheld
    # the width (in units) the published figures must leave a withheld figure's feasible
    # interval, or its widest possible where narrower (resultatrapport/report/suppression.py)
    protection_level: int = Field(default=3, ge=1)
    dominance_pct: float = Field(default=85.0, gt=0, le=100)  # two largest firms' share
    hours_per_fte: float | None = Field(default=None, gt=0)  # hours in one årsværk
    # days before a reporting deadline from which a year without a signed final version warns
    deadline_warning_days: int = Field(default=14, ge=1, le=180)


# a generated example contract (``contracts/examples/``) says so in its file: the sentence
# every page of its report shows, beginning with these words, and its id begins with
# EXAMPLE_ID, so that its submissions say it too (their ``Kontrakt``)
EXAMPLE_MARK = "Genereret eksempel"
EXAMPLE_ID = "eksempel-"
EXAMPLES_FOLDER = "examples"
ExampleNote = Annotated[
    str, Field(min_length=len(EXAMPLE_MARK), max_length=300, pattern=rf"^{EXAMPLE_MARK}[^\r\n]*$")
]


class Contract(Strict):
    id: str = Field(pattern=rf"^{SLUG}$")
    title: NonEmpty
    # set: a generated example, not a real contract (the report says so on every page)
    example: ExampleNote | None = None
    parties: Annotated[list[Party], Field(min_length=2)]
    organisation: Organisation
    deliveries: list[Delivery]
    period: Period
    signed: Signed = Signed()
    reporting: Reporting
    budget: Budget
    settings: Settings = Settings()
    report_sections: Annotated[list[NonEmpty], Field(min_length=1)]  # in report order
    kpis: Annotated[list[Kpi], Field(min_length=1)]
    # the report owner's texts, in report order within each place
    narratives: list[Narrative] = Field(default_factory=list)
    # every numbered point of the contract and where the report answers it
    contract_points: list[ContractPoint] = Field(default_factory=list)

    @property
    def scope(self) -> str:
        """The contract's part of a Dagster asset key."""
        return self.id.replace("-", "_")

    @property
    def years(self) -> list[int]:
        return self.period.years

    def deadlines(self, year: int) -> list[tuple[Deadline, dt.date]]:
        """The report of ``year``'s deadlines with their dates, earliest first."""
        return sorted(((d, d.due.on(year)) for d in self.reporting.deadlines), key=lambda x: x[1])

    def deadline(self, year: int) -> dt.date:
        """The first date by which the report of ``year`` is due (its earliest deadline)."""
        return self.deadlines(year)[0][1]

    def kpi(self, kpi_id: str) -> AnyKpi:
        for kpi in self.kpis:
            if kpi.id == kpi_id:
                return kpi
        raise KeyError(kpi_id)

    def source_org(self, source: str) -> str | None:
        """The organisation whose partition of ``source`` the contract reads: its own for
        the per-organisation deliveries, None for the common registers."""
        return self.organisation.slug if source in DELIVERY_SOURCES.values() else None

    def sources(self) -> set[str]:
        """The sources available to the contract: its organisation's deliveries and the
        common registers."""
        return {DELIVERY_SOURCES[d] for d in self.deliveries} | COMMON_SOURCES

    @model_validator(mode="before")
    @classmethod
    def _inherit_settings(cls, data: Any) -> Any:
        """Fill the parameters a contract states once: hours per årsværk (settings) for fte
        KPIs and the band (budget) for spread KPIs, unless a KPI sets its own."""
        if not isinstance(data, dict) or not isinstance(data.get("kpis"), list):
            return data
        settings, budget = (
            part if isinstance(part := data.get(name), dict) else {}
            for name in ("settings", "budget")
        )
        sections = {"settings": settings, "budget": budget}
        inherit = {
            name: (param, sections[section].get(param))
            for name, kind in KINDS.items()
            if kind.inherits
            for section, param in [kind.inherits]
        }
        data = copy.deepcopy(data)
        for kpi in data["kpis"]:
            if not isinstance(kpi, dict) or kpi.get("kind") not in inherit:
                continue
            name, value = inherit[kpi["kind"]]
            params = kpi.setdefault("params", {})
            if isinstance(params, dict) and name not in params and value is not None:
                params[name] = value
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        problems = list(_problems(self))
        if problems:
            raise ValueError("\n".join(f"{where}: {what}" for where, what in problems))
        return self


def _problems(c: Contract) -> Iterator[tuple[str, str]]:
    """The rules that span fields, as (location, message)."""
    if c.period.last < c.period.first:
        yield "period.last", f"{c.period.last} is before period.first {c.period.first}"
        return
    yield from _party_problems(c)
    yield from _example_problems(c)
    yield from _reporting_problems(c)
    if isinstance(c.budget, PopulationKeyBudget):
        yield from _population_budget_problems(c, c.budget)
    else:
        yield from _indexed_budget_problems(c, c.budget)
    yield from _kpis_problems(c)
    yield from _narrative_problems(c)
    yield from _point_problems(c)


def _party_problems(c: Contract) -> Iterator[tuple[str, str]]:
    operators = [p.name for p in c.parties if p.role == "operatør"]
    if c.organisation.name not in operators:
        yield "organisation.name", f"{c.organisation.name!r} is not the party with role operatør"
    names = {p.name for p in c.parties}
    for i, s in enumerate(c.signed.signatories):
        if s.party not in names:
            yield f"signed.signatories[{i}].party", f"{s.party!r} is not one of the parties"
    if len(set(c.deliveries)) != len(c.deliveries):
        yield "deliveries", "a delivery is named twice"
    if len(set(c.report_sections)) != len(c.report_sections):
        yield "report_sections", "a section is named twice"


def _example_problems(c: Contract) -> Iterator[tuple[str, str]]:
    """An example is one by its id too, and only an example has such an id."""
    if c.example is not None and not c.id.startswith(EXAMPLE_ID):
        yield "id", f"an example contract's id begins with {EXAMPLE_ID!r}"
    if c.example is None and c.id.startswith(EXAMPLE_ID):
        yield "example", f"a contract whose id begins with {EXAMPLE_ID!r} is an example: say so"


def _reporting_problems(c: Contract) -> Iterator[tuple[str, str]]:
    """Each deadline's recipients are recipients of the report."""
    for i, deadline in enumerate(c.reporting.deadlines):
        for recipient in deadline.to:
            if recipient not in c.reporting.to:
                yield f"reporting.deadlines[{i}].to", f"{recipient!r} is not in reporting.to"


def _population_budget_problems(
    c: Contract, budget: PopulationKeyBudget
) -> Iterator[tuple[str, str]]:
    years = set(c.years)
    shown = years_text(years)
    if set(budget.totals) != years:
        yield "budget.totals", f"must name every contract year ({shown}), null where none"
    if set(budget.population_quarter) != years:
        yield "budget.population_quarter", f"must name every contract year ({shown})"
    for year, quarter in sorted(budget.population_quarter.items()):
        if int(quarter[:4]) >= year:
            yield (
                f"budget.population_quarter.{year}",
                f"{quarter} is not known before the budget year {year}",
            )
    if len(set(budget.municipalities)) != len(budget.municipalities):
        yield "budget.municipalities", "a municipality is named twice"


def _indexed_budget_problems(c: Contract, budget: IndexedSumBudget) -> Iterator[tuple[str, str]]:
    years = set(c.years)
    shown = years_text(years)
    if budget.base_year > c.period.first:
        yield "budget.base_year", f"{budget.base_year} is after the first contract year"
    for year, earmarks in sorted(budget.earmarks.items()):
        if year not in years:
            yield f"budget.earmarks.{year}", f"{year} is not a contract year ({shown})"
        if sum(e.amount for e in earmarks) > budget.base_amount:
            yield f"budget.earmarks.{year}", "the earmarks exceed the total"


def _kpis_problems(c: Contract) -> Iterator[tuple[str, str]]:
    available = c.sources()
    seen: dict[str, int] = {}
    for i, kpi in enumerate(c.kpis):
        at = f"kpis[{i}]"
        key = kpi.asset_name
        if key in seen:
            first = c.kpis[seen[key]].id
            same = "is used twice" if first == kpi.id else f"gives the same asset key as {first!r}"
            yield f"{at}.id", f"KPI id {kpi.id!r} {same} (kpis[{seen[key]}])"
        seen.setdefault(key, i)
        for where, what in _kpi_problems(c, kpi, at, available):
            yield where, f"{what} (KPI {kpi.id})"


def title_key(text: str) -> str:
    """A title as headings are matched to it: case and runs of white space do not count."""
    return " ".join(text.split()).casefold()


def _point_problems(c: Contract) -> Iterator[tuple[str, str]]:
    """Contract points name KPIs and narratives that exist."""
    kpi_ids = {k.id for k in c.kpis}
    narrative_ids = {n.id for n in c.narratives}
    for i, point in enumerate(c.contract_points):
        for kpi_id in point.kpis:
            if kpi_id not in kpi_ids:
                yield f"contract_points[{i}].kpis", f"{kpi_id!r} is not a KPI of the contract"
        for narrative_id in point.narratives:
            if narrative_id not in narrative_ids:
                yield f"contract_points[{i}].narratives", f"{narrative_id!r} is no narrative"


def _narrative_problems(c: Contract) -> Iterator[tuple[str, str]]:
    """Narratives: unique ids and titles (a heading names its section by title), and a place
    that exists."""
    kpi_ids = {k.id for k in c.kpis}
    ids: dict[str, int] = {}
    titles: dict[str, int] = {}
    for i, n in enumerate(c.narratives):
        at = f"narratives[{i}]"
        if (first := ids.setdefault(n.id.casefold(), i)) != i:
            yield f"{at}.id", f"{n.id!r} is used twice (narratives[{first}])"
        if (first := titles.setdefault(title_key(n.title), i)) != i:
            yield f"{at}.title", f"{n.title!r} is used twice (narratives[{first}])"
        if isinstance(n.place, KpiPlace) and n.place.kpi not in kpi_ids:
            yield f"{at}.place.kpi", f"{n.place.kpi!r} is not a KPI of the contract"
        if isinstance(n.place, SectionPlace) and n.place.section not in c.report_sections:
            yield f"{at}.place.section", f"{n.place.section!r} is not in report_sections"


def _kpi_problems(
    c: Contract, kpi: AnyKpi, at: str, available: set[str]
) -> Iterator[tuple[str, str]]:
    kind = KINDS[kpi.kind]
    years = set(c.years)
    if set(kpi.targets) != years:
        shown = years_text(years)
        got = years_text(kpi.targets)
        yield (
            f"{at}.targets",
            f"must name every contract year ({shown}) and no other, null where the "
            f"contract sets no target; got {got or 'none'}",
        )
    if kpi.report_section not in c.report_sections:
        yield f"{at}.report_section", f"{kpi.report_section!r} is not in report_sections"
    yield from _source_problems(c, kpi, kind, at, available)
    if kind.unit and kpi.unit != kind.unit:
        yield f"{at}.unit", f"kind {kpi.kind} is measured in {kind.unit!r}, not {kpi.unit!r}"
    yield from _target_problems(kpi, kind, at)
    yield from _path_problems(kpi, at)
    yield from kind.problems(c, kpi, at)


def _source_problems(
    c: Contract, kpi: AnyKpi, kind: KindSpec, at: str, available: set[str]
) -> Iterator[tuple[str, str]]:
    """The KPI names the sources its kind reads, no others, and the contract has them."""
    sources = set(kpi.sources)
    if len(sources) != len(kpi.sources):
        yield f"{at}.sources", "a source is named twice"
    needed = kind.sources | kind.needs(kpi.params)
    if needed - sources:
        yield f"{at}.sources", f"kind {kpi.kind} reads {', '.join(sorted(needed - sources))} too"
    allowed = needed | kind.optional_sources | (ALL_SOURCES if kind.any_source else frozenset())
    if sources - allowed:
        yield (
            f"{at}.sources",
            f"kind {kpi.kind} does not read {', '.join(sorted(sources - allowed))}",
        )
    if sources - available:
        yield (
            f"{at}.sources",
            f"{', '.join(sorted(sources - available))} is not delivered by "
            f"{c.organisation.name} (deliveries: {', '.join(c.deliveries) or 'none'})",
        )


def _target_problems(kpi: AnyKpi, kind: KindSpec, at: str) -> Iterator[tuple[str, str]]:
    """Each year's target: an operator the kind allows, a value in the kind's range."""
    low, high = kind.value_range
    for year, target in sorted(kpi.targets.items()):
        if target is None:
            continue
        where = f"{at}.targets.{year}"
        if target.operator == "±":
            yield f"{where}.operator", "± is no target: a band is a spread KPI's band_pct"
        if kind.operator and target.operator != kind.operator[0]:
            yield f"{where}.operator", kind.operator[1]
        if not low <= target.value <= high:
            yield f"{where}.value", f"{target.value:g} is outside {low:g} to {high:g}"


def _path_problems(kpi: AnyKpi, at: str) -> Iterator[tuple[str, str]]:
    """A path starts from a baseline before the years without a target it fills."""
    if kpi.path is None:
        return
    later = [y for y, t in kpi.targets.items() if t is not None]
    gaps = [y for y, t in kpi.targets.items() if t is None and any(x > y for x in later)]
    if kpi.baseline is None:
        yield f"{at}.path", "a path starts from a baseline: add baseline"
    elif not gaps:
        yield f"{at}.path", "no year without a target before a later target: nothing to show"
    elif kpi.baseline.year >= min(gaps):
        yield f"{at}.baseline.year", "the baseline must lie before the years on the path"


# --- loading ------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML loading that refuses a key given twice (PyYAML keeps the last silently)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise _DuplicateKeyError(key, key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


class _DuplicateKeyError(yaml.constructor.ConstructorError):
    def __init__(self, key: Any, mark: yaml.Mark) -> None:
        super().__init__(None, None, f"key {key!r} is given twice", mark)
        self.key = key


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _shown(path: Path) -> str:
    """The file as an error names it: relative to the repository (``contracts/<id>.yaml``),
    else to the working directory, else in full."""
    path = path.resolve()
    for root in (PROJECT_ROOT, Path.cwd()):
        if path.is_relative_to(root):
            return str(path.relative_to(root))
    return str(path)


def _location(loc: tuple[Any, ...], data: Any, error_type: str) -> str:
    """A pydantic error location as a path in the file: ``kpis[3].targets.2026.operator``.

    The location is walked alongside the data, so list positions read ``[i]`` and mapping
    keys (also year keys) ``.key``; the names of union branches, which are not in the file,
    are left out."""
    out = ""
    node = data
    for n, part in enumerate(loc):
        last = n == len(loc) - 1
        if isinstance(node, list) and isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if 0 <= part < len(node) else None
        elif isinstance(node, dict) and part in node:
            out += f".{part}" if out else str(part)
            node = node[part]
        elif last and error_type in {"missing", "extra_forbidden"}:
            out += f".{part}" if out else str(part)
        # else: a union branch's name (e.g. the kind) that is not a key of the file
    if error_type in {"union_tag_invalid", "union_tag_not_found"}:
        out += ".kind" if out else "kind"
    return out


def _kpi_id(loc: tuple[Any, ...], data: Any) -> str | None:
    if len(loc) >= 2 and loc[0] == "kpis" and isinstance(loc[1], int) and isinstance(data, dict):
        kpis = data.get("kpis")
        if isinstance(kpis, list) and 0 <= loc[1] < len(kpis) and isinstance(kpis[loc[1]], dict):
            kpi_id = kpis[loc[1]].get("id")
            return str(kpi_id) if kpi_id is not None else None
    return None


def _messages(shown: str, exc: ValidationError, data: Any) -> list[str]:
    lines = []
    for error in exc.errors():
        loc, message = error["loc"], error["msg"]
        if error["type"] == "value_error" and not loc:
            # the contract's cross-field rules: each line is already "location: message"
            text = message.removeprefix("Value error, ")
            lines += [f"{shown}: {line}" for line in text.splitlines()]
            continue
        message = message.removeprefix("Value error, ")
        where = _location(loc, data, error["type"]) or "(file)"
        kpi_id = _kpi_id(loc, data)
        suffix = f" (KPI {kpi_id})" if kpi_id else ""
        lines.append(f"{shown}: {where}: {message}{suffix}")
    return lines


# --- one Danish line per broken file --------------------------------------------------------

SHOWN_VALUE = 40  # characters of a value from the file a one-line error shows at most
SHOWN_DETAIL = 100  # characters of a validator's own explanation it shows at most
SHOWN_QUOTED = 20  # characters of a value quoted in that explanation

# what a pydantic error type says about the field, in Danish
_DANISH: dict[str, str] = {
    "missing": "mangler",
    "extra_forbidden": "er ikke et kendt felt",
    "literal_error": "har en værdi, der ikke er tilladt",
    "enum": "har en værdi, der ikke er tilladt",
    "union_tag_invalid": "har en ukendt værdi",
    "union_tag_not_found": "mangler kind",
    "int_type": "skal være et heltal",
    "int_parsing": "skal være et heltal",
    "int_from_float": "skal være et heltal",
    "float_type": "skal være et tal",
    "float_parsing": "skal være et tal",
    "finite_number": "skal være et endeligt tal",
    "bool_type": "skal være true eller false",
    "bool_parsing": "skal være true eller false",
    "string_type": "skal være tekst",
    "list_type": "skal være en liste",
    "dict_type": "skal være en mapping af felter",
    "model_type": "skal være en mapping af felter",
    "model_attributes_type": "skal være en mapping af felter",
    "too_short": "er tom eller for kort",
    "string_too_short": "må ikke være tom",
    "too_long": "er for lang",
    "greater_than": "skal være større end {gt}",
    "greater_than_equal": "skal være mindst {ge}",
    "less_than": "skal være mindre end {lt}",
    "less_than_equal": "må højst være {le}",
    "string_pattern_mismatch": "har ikke den krævede form",
    "date_type": "skal være en dato (åååå-mm-dd)",
    "date_parsing": "skal være en dato (åååå-mm-dd)",
    "date_from_datetime_parsing": "skal være en dato (åååå-mm-dd)",
    "date_from_datetime_inexact": "skal være en dato (åååå-mm-dd)",
}


class _Context(dict[str, str]):
    """An error's context for a message template; a bound it lacks reads '?'."""

    def __missing__(self, key: str) -> str:
        return "?"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(value: Any, limit: int = SHOWN_VALUE) -> str:
    """A value or text from the file for a one-line message: on one line, at most ``limit``
    characters."""
    text = _one_line(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _detail(text: str) -> str:
    """A validator's explanation, which may quote values from the file: each quoted value
    clipped, the whole at most SHOWN_DETAIL characters."""
    quoted = re.sub(
        rf"(['\"])([^'\"]{{{SHOWN_QUOTED},}})\1",
        lambda m: m.group(1) + _clip(m.group(2), SHOWN_QUOTED) + m.group(1),
        text,
    )
    return _clip(quoted, SHOWN_DETAIL)


def _more(count: int) -> str:
    return f" (og {count} fejl mere)" if count > 0 else ""


def _validation_summary(shown: str, exc: ValidationError, data: Any) -> str:
    """The first validation error of a file in one Danish line."""
    errors = exc.errors()
    found: list[str] = []
    for error in errors:
        loc, kind, ctx = error["loc"], error["type"], error.get("ctx") or {}
        if kind == "value_error" and not loc:
            # the contract's cross-field rules, one "location: message" per line
            for line in str(error["msg"]).removeprefix("Value error, ").splitlines():
                where, _, what = line.partition(": ")
                found.append(
                    f"{shown}: {_clip(where)}: strider mod kontraktens regler ({_detail(what)})"
                )
            continue
        where = _clip(_location(loc, data, kind) or "(filen)")
        if kind in _DANISH:
            what = _DANISH[kind].format_map(_Context({k: _clip(v) for k, v in ctx.items()}))
        elif kind == "value_error":
            detail = str(error["msg"]).removeprefix("Value error, ")
            what = f"er ugyldig ({_detail(detail)})"
        else:
            what = f"er ugyldig ({kind})"
        allowed = ctx.get("expected") or ctx.get("expected_tags")
        if kind in {"literal_error", "enum", "union_tag_invalid"} and allowed:
            what = f"skal være en af {_clip(str(allowed).replace(' or ', ' eller '), 60)}"
        kpi_id = _kpi_id(loc, data)
        found.append(f"{shown}: {where}: {what}" + (f" (KPI {_clip(kpi_id)})" if kpi_id else ""))
    if not found:
        return f"{shown}: ugyldig kontrakt"
    return found[0] + _more(len(found) - 1)


def _yaml_summary(shown: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    at = f", linje {mark.line + 1}, kolonne {mark.column + 1}" if mark else ""
    if isinstance(exc, _DuplicateKeyError):
        return f"{shown}{at}: nøglen {_clip(exc.key)} står to gange"
    problem = getattr(exc, "problem", None)
    return f"{shown}{at}: ugyldig YAML" + (f" ({_clip(problem, 60)})" if problem else "")


# --- loading files ---------------------------------------------------------------------------


def load_contract(path: Path | str) -> Contract:
    """Read and validate one contract file; :class:`ContractError` names file and field
    (every error, in its ``message``; the first, in Danish, in its ``summary``)."""
    path = Path(path)
    shown = _shown(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(
            f"{shown}: cannot be read: {exc}",
            f"{shown}: filen er ikke UTF-8 (byte {exc.start}) og kan ikke læses",
        ) from None
    except OSError as exc:
        raise ContractError(
            f"{shown}: cannot be read: {exc}",
            f"{shown}: filen kan ikke læses ({_clip(exc.strerror or type(exc).__name__)})",
        ) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        raise ContractError(
            f"{shown}: not valid YAML: {at}{what}", _yaml_summary(shown, exc)
        ) from None
    except yaml.YAMLError as exc:
        raise ContractError(f"{shown}: not valid YAML: {exc}", _yaml_summary(shown, exc)) from None
    if not isinstance(data, dict):
        raise ContractError(
            f"{shown}: must hold a mapping of contract fields",
            f"{shown}: filen skal indeholde kontraktens felter (en YAML-mapping)",
        )
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        raise ContractError(
            "\n".join(_messages(shown, exc, data)), _validation_summary(shown, exc, data)
        ) from None
    if contract.id != path.stem:
        raise ContractError(
            f"{shown}: id: {contract.id!r} must equal the file name {path.stem!r}",
            f"{shown}: id: {_clip(contract.id)} skal være filnavnet {_clip(path.stem)}",
        )
    return contract


@dataclass(frozen=True)
class ContractFolder:
    """The contract files of a folder: the valid contracts by id, and the files that are
    broken by file name without '.yaml' (the contract id they should hold)."""

    contracts: dict[str, Contract]
    errors: dict[str, ContractError]

    @property
    def broken(self) -> dict[str, str]:
        """Each broken file's error in one Danish line, by file name without '.yaml'."""
        return {name: error.summary for name, error in self.errors.items()}


def load_contract_folder(
    directory: Path | str | None = None, examples: bool | None = None
) -> ContractFolder:
    """Every ``*.yaml`` file of the folder (default :func:`contracts_dir`): a broken file is
    collected with its error and the others are loaded all the same. A missing folder or
    one without contract files is an error.

    With ``examples`` (default: :func:`resultatrapport.settings.example_contracts`, the
    environment's choice) the generated example contracts of its ``examples/`` folder too,
    each of which must say it is one (``example``); an id given twice is an error."""
    folder = Path(directory) if directory is not None else contracts_dir()
    if not folder.is_dir():
        raise ContractError(
            f"{folder}: no such folder of contract files",
            f"{folder}: mappen med kontraktfiler findes ikke",
        )
    if examples is None:
        examples = example_contracts()
    paths = sorted(folder.glob("*.yaml"))
    if examples:
        paths += sorted((folder / EXAMPLES_FOLDER).glob("*.yaml"))
    contracts: dict[str, Contract] = {}
    errors: dict[str, ContractError] = {}
    for path in paths:
        try:
            contract = load_contract(path)
            if path.parent.name == EXAMPLES_FOLDER and contract.example is None:
                shown = _shown(path)
                raise ContractError(
                    f"{shown}: example: a contract in {EXAMPLES_FOLDER}/ must say it is a "
                    f"generated example ('{EXAMPLE_MARK} …')",
                    f"{shown}: example mangler: en kontrakt i {EXAMPLES_FOLDER}/ skal sige, at "
                    f"den er et genereret eksempel (»{EXAMPLE_MARK} …«)",
                )
            if contract.id in contracts or contract.id in errors:
                shown = _shown(path)
                raise ContractError(
                    f"{shown}: id: {contract.id!r} is the id of another contract file",
                    f"{shown}: id: {contract.id} er også en anden kontraktfils id",
                )
        except ContractError as exc:
            errors.setdefault(path.stem, exc)
        else:
            contracts[contract.id] = contract
    if not contracts and not errors:
        raise ContractError(
            f"{folder}: no contract files (*.yaml)",
            f"{folder}: mappen har ingen kontraktfiler (*.yaml)",
        )
    return ContractFolder(contracts, errors)


def contract_path(contract: Contract, directory: Path | str | None = None) -> Path:
    """The file a loaded contract was read from: ``<id>.yaml`` in the folder (default
    :func:`contracts_dir`), in its ``examples/`` for a generated example."""
    folder = Path(directory) if directory is not None else contracts_dir()
    if contract.example is not None:
        folder = folder / EXAMPLES_FOLDER
    return folder / f"{contract.id}.yaml"


def load_contracts(
    directory: Path | str | None = None, examples: bool | None = None
) -> dict[str, Contract]:
    """Every ``*.yaml`` contract of the folder (default :func:`contracts_dir`), by id; the
    first broken file is an error (:func:`load_contract_folder` loads the others too).
    ``examples``: as :func:`load_contract_folder`."""
    folder = load_contract_folder(directory, examples)
    if folder.errors:
        raise next(iter(folder.errors.values()))
    return folder.contracts
