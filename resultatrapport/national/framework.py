"""The framework agreement (rammeaftalen) as data: its national measures and the six hubs.

``contracts/national/<id>.yaml`` (beside the contract files, in a folder the contract loader
does not read) names the framework's period, the hubs (their folders among the received
submissions, their names, and for each national measure the ``Mål-ID`` the hub's contract
uses, by default the same id), and the national measures (M1 … M6): Danish name, unit, how
the hubs' figures are pooled, the framework's targets per year, and for Mål 2 the collective
target with its 2024 distribution over the hubs and the linear path to it.

The file is validated like a contract file (pydantic, every error naming the file and the
field, :class:`FrameworkError` with a one-line Danish ``summary``). The field reference is
``contracts/README.md`` (*The framework agreement*).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from resultatrapport.contract_base import NonEmpty, Strict
from resultatrapport.contracts import (
    KPI_ID,
    ContractError,
    Period,
    Target,
    _messages,
    _shown,
    _UniqueKeyLoader,
    _validation_summary,
    _yaml_summary,
)
from resultatrapport.settings import contracts_dir
from resultatrapport.vocabulary import Unit

# the folder of framework files, inside the contracts folder
FOLDER = "national"

# how the hubs' figures of a unit make one national figure (shared/formats/national.md,
# "Pooling across hubs"): counts are summed, shares and NPS weighted by their basis, effects
# not pooled (that needs the firms)
Pooling = Literal["sum", "weighted", "none"]
POOLING: dict[str, Pooling] = {
    "antal": "sum",
    "kr.": "sum",
    "årsværk": "sum",
    "pct.": "weighted",
    "NPS": "weighted",
    "procentpoint": "none",
}

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"

# the name of the pooled row of a measure, in place of a hub's (shared/formats/national.md)
ALL_HUBS = "Alle erhvervshuse"


class FrameworkError(ContractError):
    """A framework file that does not hold a valid framework; ``summary`` in one Danish line."""


class Hub(Strict):
    slug: str = Field(pattern=SLUG)  # its folder among the received submissions
    name: NonEmpty  # shown where no valid file gives the name (the files' Organisation)
    # the Mål-ID its contract uses for a national measure, where it is not the same id
    ids: dict[str, str] = Field(default_factory=dict)
    # the contract ids whose submissions count, where the hub's folder may hold several
    contracts: list[str] = Field(default_factory=list)

    def id_of(self, measure: str) -> str:
        return self.ids.get(measure, measure)


class Collective(Strict):
    """A target the hubs meet together (Mål 2: "samlet set"): ``multiplier`` times the
    ``baseline`` year's total of the distribution over the hubs, by the year the measure's
    target is set for, with a linear path in between (a path, never a target)."""

    baseline_year: int
    baseline: dict[str, int]  # by hub slug
    multiplier: float = Field(gt=0)
    source: NonEmpty  # where the distribution comes from

    @property
    def total(self) -> int:
        return sum(self.baseline.values())


class Measure(Strict):
    id: str = Field(pattern=KPI_ID)
    name: NonEmpty
    goal: NonEmpty
    unit: Unit
    pooling: Pooling
    framework_text: NonEmpty
    targets: dict[int, Target | None]  # every framework year; None: no target that year
    collective: Collective | None = None
    interpretation: str = ""

    def target(self, year: int) -> Target | None:
        return self.targets.get(year)

    def collective_year(self) -> int | None:
        """The year the collective target is set for (the measure's last target)."""
        years = [y for y, t in self.targets.items() if t is not None]
        return max(years) if self.collective is not None and years else None

    def path(self, year: int) -> float | None:
        """The collective measure's linear path from the baseline to its target, in
        ``year`` (None outside it, and for a measure without a collective target)."""
        last = self.collective_year()
        if self.collective is None or last is None:
            return None
        first, start = self.collective.baseline_year, self.collective.total
        end = self.targets[last]
        if end is None or not first <= year <= last:
            return None
        step = Fraction(year - first, last - first)
        return float(start + (Fraction(end.value) - start) * step)


class Framework(Strict):
    id: str = Field(pattern=SLUG)
    title: NonEmpty
    source: NonEmpty  # where the framework's goals are read from
    period: Period
    hubs: list[Hub] = Field(min_length=1)
    measures: list[Measure] = Field(min_length=1)

    @property
    def years(self) -> list[int]:
        return self.period.years

    def measure(self, measure_id: str) -> Measure:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)

    def hub(self, slug: str) -> Hub:
        for h in self.hubs:
            if h.slug == slug:
                return h
        raise KeyError(slug)

    @model_validator(mode="after")
    def _consistent(self) -> Framework:
        problems = list(_problems(self))
        if problems:
            raise ValueError("\n".join(f"{where}: {what}" for where, what in problems))
        return self


def _problems(f: Framework) -> Iterator[tuple[str, str]]:
    if f.period.last < f.period.first:
        yield "period", f"last ({f.period.last}) is before first ({f.period.first})"
    slugs = [h.slug for h in f.hubs]
    ids = [m.id for m in f.measures]
    for name, values in (("hubs", slugs), ("measures", ids)):
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            yield name, f"given twice: {', '.join(twice)}"
    names = [h.name for h in f.hubs]
    if len(set(names)) != len(names):
        yield "hubs", "two hubs have the same name"
    for i, hub in enumerate(f.hubs):
        for measure, used in hub.ids.items():
            if measure not in ids:
                yield f"hubs[{i}].ids.{measure}", "is no national measure of the framework"
            if not _is_kpi_id(used):
                yield f"hubs[{i}].ids.{measure}", f"{used!r} is no Mål-ID (e.g. M3, M5-O)"
        for contract in hub.contracts:
            if not _is_slug(contract):
                yield f"hubs[{i}].contracts", f"{contract!r} is no contract id"
    for i, m in enumerate(f.measures):
        yield from _measure_problems(f, m, f"measures[{i}]")


def _is_kpi_id(text: str) -> bool:
    return re.fullmatch(KPI_ID.strip("^$"), text) is not None


def _is_slug(text: str) -> bool:
    return re.fullmatch(SLUG.strip("^$"), text) is not None


def _measure_problems(f: Framework, m: Measure, at: str) -> Iterator[tuple[str, str]]:
    if m.pooling != POOLING[m.unit]:
        yield (
            f"{at}.pooling",
            f"a measure in {m.unit} is pooled by {POOLING[m.unit]!r} "
            f"(shared/formats/national.md), not {m.pooling!r}",
        )
    if sorted(m.targets) != f.years:
        got = ", ".join(map(str, sorted(m.targets))) or "none"
        yield (
            f"{at}.targets",
            f"must name every framework year ({f.period.first}-{f.period.last}) and no other, "
            f"null where the framework sets no target; got {got}",
        )
    c = m.collective
    if c is None:
        return
    if m.pooling != "sum":
        yield f"{at}.collective", "a collective target needs a measure whose figures add up"
    if sorted(c.baseline) != sorted(h.slug for h in f.hubs):
        yield f"{at}.collective.baseline", "must give a figure for every hub and no other"
    last = m.collective_year()
    if last is None:
        yield f"{at}.collective", "needs a target year: a target in targets"
        return
    target = m.targets[last]
    assert target is not None
    if not f.period.first <= c.baseline_year < last:
        yield f"{at}.collective.baseline_year", f"must lie in the period before {last}"
    if target.value != c.multiplier * c.total:
        yield (
            f"{at}.targets.{last}",
            f"{target.value:g} is not {c.multiplier:g} × {c.total} "
            "(collective.multiplier × the baseline's total)",
        )
    if any(t is not None for y, t in m.targets.items() if y != last):
        yield f"{at}.targets", "a collective measure has one target, in its last year"


def load_framework(path: Path | str) -> Framework:
    """Read and validate one framework file; :class:`FrameworkError` names file and field."""
    path = Path(path)
    shown = _shown(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise FrameworkError(
            f"{shown}: cannot be read: {exc}", f"{shown}: filen kan ikke læses"
        ) from None
    except yaml.YAMLError as exc:
        raise FrameworkError(f"{shown}: not valid YAML: {exc}", _yaml_summary(shown, exc)) from None
    if not isinstance(data, dict):
        raise FrameworkError(
            f"{shown}: must hold a mapping of framework fields",
            f"{shown}: filen skal indeholde rammeaftalens felter (en YAML-mapping)",
        )
    try:
        framework = Framework.model_validate(data)
    except ValidationError as exc:
        summary = _validation_summary(shown, exc, data)
        summary = summary.replace("kontraktens regler", "rammeaftalens regler")
        summary = summary.replace("ugyldig kontrakt", "ugyldig rammeaftale")
        raise FrameworkError("\n".join(_messages(shown, exc, data)), summary) from None
    if framework.id != path.stem:
        raise FrameworkError(
            f"{shown}: id: {framework.id!r} must equal the file name {path.stem!r}",
            f"{shown}: id: {framework.id} skal være filnavnet {path.stem}",
        )
    return framework


def frameworks_dir(contracts: Path | None = None) -> Path:
    """The framework files: ``national/`` in the contracts folder."""
    return (contracts or contracts_dir()) / FOLDER


def load_frameworks(directory: Path | None = None) -> list[Framework]:
    """Every framework file of the folder (default :func:`frameworks_dir`), by period; the
    first broken file is an error, and so are two frameworks sharing a year."""
    folder = directory or frameworks_dir()
    frameworks = sorted(
        (load_framework(p) for p in sorted(folder.glob("*.yaml"))),
        key=lambda f: f.period.first,
    )
    for before, after in itertools.pairwise(frameworks):
        if after.period.first <= before.period.last:
            raise FrameworkError(
                f"{folder}: {before.id} and {after.id} both cover {after.period.first}",
                f"{folder}: {before.id} og {after.id} dækker begge {after.period.first}",
            )
    return frameworks


def framework_for(year: int, frameworks: list[Framework]) -> Framework | None:
    """The framework whose period holds ``year``."""
    return next((f for f in frameworks if year in f.years), None)
