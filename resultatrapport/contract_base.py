"""The pydantic building blocks a contract file is typed with, shared by the contract schema
(:mod:`resultatrapport.contracts`) and the KPI kinds (:mod:`resultatrapport.kpis.kinds`),
which both import them from here (the contract schema is built from the kinds, so the kinds
cannot import it): the kinds' parameters, and the parts of a contract a kind reads
(:class:`KindContract`, :class:`KindKpi`: its organisation, its budget, a KPI's parameters).

A filter is ``{column: [allowed values]}`` on a clean table, typed per table: a plain dict
at run time (the kinds turn it into SQL), while validation knows each table's filterable
columns and their values, so a misspelt column or category fails when the file is loaded.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator, with_config
from typing_extensions import TypedDict

from resultatrapport.vocabulary import (
    SLUG,
    CaseType,
    Degree,
    FocusArea,
    Form,
    Hub,
    JaNejVedIkke,
    Segment,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


NonEmpty = Annotated[str, Field(min_length=1)]
MunicipalityCode = Annotated[int, Field(ge=101, le=999)]
Year = Annotated[int, Field(ge=2000, le=2100)]
Quarter = Annotated[str, Field(pattern=r"^[0-9]{4}K[1-4]$")]

# non-empty lists of allowed values, per filterable column
Forms = Annotated[list[Form], Field(min_length=1)]
Segments = Annotated[list[Segment], Field(min_length=1)]
CaseTypes = Annotated[list[CaseType], Field(min_length=1)]
FocusAreas = Annotated[list[FocusArea], Field(min_length=1)]
MunicipalityCodes = Annotated[list[MunicipalityCode], Field(min_length=1)]
Scores = Annotated[list[Annotated[int, Field(ge=0, le=10)]], Field(min_length=1)]
Bools = Annotated[list[StrictBool], Field(min_length=1)]
Answers = Annotated[list[JaNejVedIkke], Field(min_length=1)]
Degrees = Annotated[list[Degree], Field(min_length=1)]


@with_config(ConfigDict(extra="forbid"))
class CrmFilters(TypedDict, total=False):
    form: Forms
    segment: Segments
    case_type: CaseTypes
    focus_area: FocusAreas
    municipality_code: MunicipalityCodes


@with_config(ConfigDict(extra="forbid"))
class SurveyFilters(TypedDict, total=False):
    segment: Segments
    recommend: Scores
    referred: Bools
    used_referral: Answers
    sustainability_guided: Bools
    sustainability_better: Degrees


@with_config(ConfigDict(extra="forbid"))
class AwarenessFilters(TypedDict, total=False):
    knows_hub: Bools
    knows_offers: Bools


# --- the parts of a contract a kind reads ------------------------------------------------


class Organisation(Strict):
    slug: str = Field(pattern=rf"^{SLUG}$")  # its folder in the inbox (as the classifier's)
    name: NonEmpty
    hub: Hub | None = None  # its 'Erhvervshus' value in the awareness survey


class PopulationKeyBudget(Strict):
    """A grant per year split over municipalities by their share of the population."""

    source: ClassVar[str] = "population"  # the register source the distribution reads
    kind: Literal["population_key"]
    title: NonEmpty
    totals: dict[int, Annotated[int, Field(gt=0)] | None]  # kroner; None: the contract states none
    municipalities: Annotated[list[MunicipalityCode], Field(min_length=1)]
    population_quarter: dict[int, Quarter]  # the quarter the key counts, per budget year
    band_pct: float = Field(gt=0)  # allowed deviation from the population-proportional måltal
    # KL's own key (the contract's bilag a) where the contract file carries it: kroner per
    # municipality per year; a year without it is computed from the population
    kl_key: dict[int, dict[MunicipalityCode, Annotated[int, Field(ge=0)]]] = Field(
        default_factory=dict
    )
    note: str = ""
    interpretation: str = ""

    @model_validator(mode="after")
    def _kl_key_is_the_whole_grant(self) -> PopulationKeyBudget:
        for year, amounts in self.kl_key.items():
            if set(amounts) != set(self.municipalities):
                raise ValueError(f"kl_key {year}: not the budget's municipalities")
            total = self.totals.get(year)
            if total is not None and sum(amounts.values()) != total:
                raise ValueError(f"kl_key {year}: adds up to {sum(amounts.values())}, not {total}")
        return self


class Earmark(Strict):
    """Part of the year's total set aside for a purpose (not on top of the total)."""

    name: NonEmpty
    amount: Annotated[int, Field(gt=0)]  # kroner, nominal (not regulated by the index)
    purpose: str = ""


class IndexedSumBudget(Strict):
    """A yearly sum in ``base_year`` prices, regulated by a price index."""

    source: ClassVar[str] = "price_index"  # the register source the regulation reads
    kind: Literal["indexed_sum"]
    title: NonEmpty
    base_amount: Annotated[int, Field(gt=0)]  # kroner in base_year prices
    base_year: Year
    index: NonEmpty  # the index's name; the figures are the price_index source
    earmarks: dict[int, list[Earmark]] = Field(default_factory=dict)
    note: str = ""
    interpretation: str = ""


Budget = Annotated[PopulationKeyBudget | IndexedSumBudget, Field(discriminator="kind")]


P_co = TypeVar("P_co", covariant=True)


class KindKpi(Protocol[P_co]):
    """What a kind reads of a KPI: its parameters, the kind's own model
    (``resultatrapport.contracts.KpiBase[P]`` is one)."""

    @property
    def params(self) -> P_co: ...


class KindContract(Protocol):
    """What a kind reads of a contract (``resultatrapport.contracts.Contract`` is one)."""

    @property
    def organisation(self) -> Organisation: ...

    @property
    def budget(self) -> PopulationKeyBudget | IndexedSumBudget: ...
