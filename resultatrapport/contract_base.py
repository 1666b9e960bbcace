"""The pydantic building blocks a contract file is typed with, shared by the contract schema
(:mod:`resultatrapport.contracts`) and the KPI kinds' parameters
(:mod:`resultatrapport.kpis.kinds`), which both import them from here (the contract schema
is built from the kinds, so the kinds cannot import it).

A filter is ``{column: [allowed values]}`` on a clean table, typed per table: a plain dict
at run time (the kinds turn it into SQL), while validation knows each table's filterable
columns and their values, so a misspelt column or category fails when the file is loaded.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, with_config
from typing_extensions import TypedDict

from resultatrapport.vocabulary import CaseType, Degree, FocusArea, Form, JaNejVedIkke, Segment


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


NonEmpty = Annotated[str, Field(min_length=1)]
MunicipalityCode = Annotated[int, Field(ge=101, le=999)]

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
