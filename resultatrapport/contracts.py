"""Result contracts as data: typed models for `contracts/<id>.yaml` and their loader.

A contract names its parties, years, budget and KPIs. Each KPI names a kind (written once,
in :mod:`resultatrapport.kpis.kinds`) and the kind's parameters; a typo in a parameter, a
missing year or an unknown operator is an error that names the file and the field.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from resultatrapport.settings import PROJECT_ROOT

ENV_CONTRACTS = "RESULTATRAPPORT_CONTRACTS"

Unit = Literal["antal", "pct.", "NPS", "procentpoint", "årsværk", "kr."]
Operator = Literal[">=", ">", "<=", "±"]
Source = Literal[
    "crm_cases",
    "survey_answers",
    "awareness",
    "time_registration",
    "cvr_firms",
    "financials",
    "population",
    "price_index",
]
FilterValue = str | bool | int
Filters = dict[str, list[FilterValue]]


class ContractError(ValueError):
    """A contract file that does not hold a valid contract; the message names file and field."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- KPI parameters, one model per kind ------------------------------------------------


class CountParams(Strict):
    filters: Filters = {}
    distinct: Literal["firm", "case"] = "firm"
    per: str | None = None  # count distinct firms within each group, then add the groups


class ReferralParams(Strict):
    targets: list[str] | None = None  # None: every referral target
    exclude: list[str] = []
    filters: Filters = {}


class YoungFirmsParams(Strict):
    max_age_years: int = 3
    filters: Filters = {}


class ShareParams(Strict):
    base: Filters
    positive: Filters


class WeightedShareParams(Strict):
    base: Filters = {}
    positive: Filters


class NpsParams(Strict):
    filters: Filters = {}


class FteParams(Strict):
    project: str
    hours_per_fte: float = Field(gt=0)


class EffectParams(Strict):
    segment: Literal["Vækst", "Drift"]
    outcome: Literal["turnover", "employment", "productivity"]
    caliper_pp: float = Field(default=10.0, gt=0)


class SpreadParams(Strict):
    band_pct: float = Field(gt=0)
    filters: Filters = {}


class ActivityParams(Strict):
    areas: list[str]
    projects: list[str] = []


class ExternalParams(Strict):
    reason: str


class Target(Strict):
    operator: Operator
    value: float


class Baseline(Strict):
    year: int
    value: float
    note: str = ""


class KpiBase(Strict):
    id: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$")
    name: str
    goal: str
    report_section: str
    contract_text: str
    unit: Unit
    sources: list[Source]
    targets: dict[int, Target | None]
    baseline: Baseline | None = None
    path: Literal["linear"] | None = None  # show the way from the baseline to a later target
    interpretation: str = ""
    method: str = ""

    @property
    def asset_name(self) -> str:
        return self.id.replace("-", "_").lower()


class CountKpi(KpiBase):
    kind: Literal["count"]
    params: CountParams = CountParams()


class ReferralKpi(KpiBase):
    kind: Literal["referrals"]
    params: ReferralParams = ReferralParams()


class YoungFirmsKpi(KpiBase):
    kind: Literal["young_firms"]
    params: YoungFirmsParams = YoungFirmsParams()


class ShareKpi(KpiBase):
    kind: Literal["share"]
    params: ShareParams


class WeightedShareKpi(KpiBase):
    kind: Literal["weighted_share"]
    params: WeightedShareParams


class NpsKpi(KpiBase):
    kind: Literal["nps"]
    params: NpsParams = NpsParams()


class FteKpi(KpiBase):
    kind: Literal["fte"]
    params: FteParams


class EffectKpi(KpiBase):
    kind: Literal["effect"]
    params: EffectParams


class SpreadKpi(KpiBase):
    kind: Literal["spread"]
    params: SpreadParams


class ActivityKpi(KpiBase):
    kind: Literal["activity"]
    params: ActivityParams


class ExternalKpi(KpiBase):
    kind: Literal["external"]
    params: ExternalParams


Kpi = Annotated[
    CountKpi
    | ReferralKpi
    | YoungFirmsKpi
    | ShareKpi
    | WeightedShareKpi
    | NpsKpi
    | FteKpi
    | EffectKpi
    | SpreadKpi
    | ActivityKpi
    | ExternalKpi,
    Field(discriminator="kind"),
]

# the sources each kind reads (a KPI must name at least these)
KIND_SOURCES: dict[str, set[str]] = {
    "count": {"crm_cases"},
    "referrals": {"crm_cases"},
    "young_firms": {"crm_cases", "cvr_firms"},
    "share": {"survey_answers"},
    "weighted_share": {"awareness"},
    "nps": {"survey_answers"},
    "fte": {"time_registration"},
    "effect": {"crm_cases", "cvr_firms", "financials"},
    "spread": {"crm_cases", "population"},
    "activity": {"crm_cases"},
    "external": set(),
}

# --- budget -----------------------------------------------------------------------------


class PopulationKeyBudget(Strict):
    kind: Literal["population_key"]
    title: str
    totals: dict[int, int | None]  # kroner per year; None: the contract states no amount
    population_quarter: dict[int, str]  # the quarter the key uses, per year (a setting)
    municipalities: list[int]
    note: str = ""


class Earmark(Strict):
    name: str
    amount: int


class IndexedSumBudget(Strict):
    kind: Literal["indexed_sum"]
    title: str
    base_amount: int
    base_year: int
    index: str
    earmarks: dict[int, list[Earmark]] = {}
    note: str = ""


Budget = Annotated[PopulationKeyBudget | IndexedSumBudget, Field(discriminator="kind")]

# --- contract ---------------------------------------------------------------------------


class Party(Strict):
    name: str
    role: str
    signatory: str | None = None


class Organisation(Strict):
    slug: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str
    hub: str | None = None  # the 'Erhvervshus' value in the awareness survey


class Period(Strict):
    first: int
    last: int

    @property
    def years(self) -> list[int]:
        return list(range(self.first, self.last + 1))


class Signed(Strict):
    date: dt.date
    place: str = ""


class Reporting(Strict):
    to: list[str]
    deadline: str


class Settings(Strict):
    suppression_threshold: int = Field(default=3, ge=1)
    dominance_pct: float = Field(default=85.0, gt=0, le=100)


class Contract(Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    parties: list[Party]
    organisation: Organisation
    deliveries: list[Literal["crm", "survey", "time"]]
    period: Period
    signed: Signed | None = None
    reporting: Reporting
    budget: Budget
    settings: Settings = Settings()
    kpis: list[Kpi]

    @property
    def scope(self) -> str:
        return self.id.replace("-", "_")

    def kpi(self, kpi_id: str) -> Any:
        for kpi in self.kpis:
            if kpi.id == kpi_id:
                return kpi
        raise KeyError(kpi_id)

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        if self.period.last < self.period.first:
            raise ValueError("period: last is before first")
        years = set(self.period.years)
        seen: set[str] = set()
        delivered = {"crm": "crm_cases", "survey": "survey_answers", "time": "time_registration"}
        available = {delivered[d] for d in self.deliveries} | {
            "awareness",
            "cvr_firms",
            "financials",
            "population",
            "price_index",
        }
        for i, kpi in enumerate(self.kpis):
            where = f"kpis[{i}] ({kpi.id})"
            if kpi.id in seen or kpi.asset_name in {k.replace("-", "_").lower() for k in seen}:
                raise ValueError(f"{where}.id: KPI id {kpi.id!r} is used twice")
            seen.add(kpi.id)
            if set(kpi.targets) != years:
                raise ValueError(
                    f"{where}.targets: must name every contract year {sorted(years)} "
                    f"(null where the contract sets no target), got {sorted(kpi.targets)}"
                )
            needed = KIND_SOURCES[kpi.kind] - set(kpi.sources)
            if needed:
                raise ValueError(f"{where}.sources: kind {kpi.kind} reads {sorted(needed)} too")
            unavailable = set(kpi.sources) - available
            if unavailable:
                raise ValueError(
                    f"{where}.sources: {sorted(unavailable)} is not delivered by the organisation"
                )
            if kpi.path and not (kpi.baseline and any(t for t in kpi.targets.values())):
                raise ValueError(f"{where}.path: a path needs a baseline and a later target")
        if isinstance(self.budget, PopulationKeyBudget):
            if set(self.budget.totals) != years:
                raise ValueError(f"budget.totals: must name every contract year {sorted(years)}")
            if set(self.budget.population_quarter) != years:
                raise ValueError(f"budget.population_quarter: must name every year {sorted(years)}")
        return self


def contracts_dir() -> Path:
    value = os.environ.get(ENV_CONTRACTS, "")
    return Path(value).expanduser().resolve() if value else PROJECT_ROOT / "contracts"


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {
            "count",
            "referrals",
            "young_firms",
            "share",
            "weighted_share",
            "nps",
            "fte",
            "effect",
            "spread",
            "activity",
            "external",
            "population_key",
            "indexed_sum",
        }:
            continue  # the discriminator's branch name is noise for a reader
        else:
            out += f".{part}" if out else str(part)
    return out


def load_contract(path: Path) -> Contract:
    shown = path.name if path.parent == contracts_dir() else str(path)
    shown = f"contracts/{path.name}" if path.parent == contracts_dir() else shown
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"{shown}: cannot be read as YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ContractError(f"{shown}: must hold a mapping of contract fields")
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        lines = [f"{shown}: {_location(e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise ContractError("\n".join(lines)) from None
    if contract.id != path.stem:
        raise ContractError(f"{shown}: id: {contract.id!r} must equal the file name {path.stem!r}")
    return contract


def load_contracts(directory: Path | None = None) -> dict[str, Contract]:
    folder = directory or contracts_dir()
    contracts = {}
    for path in sorted(folder.glob("*.yaml")):
        contract = load_contract(path)
        contracts[contract.id] = contract
    if not contracts:
        raise ContractError(f"{folder}: no contract files (*.yaml)")
    return contracts
