"""Every fixed vocabulary of the project, declared once.

The category values a delivery may hold (hubs, segments, forms, case types, focus areas,
answers), the units, the statuses and operators of a KPI result and the operators' signs,
the time zone and the first year of the partitions, the shape of an organisation's folder
and a contract's id. Each list is written once, as a
``Literal`` (so a type checker and pydantic know it); the runtime tuple is derived from it
with :func:`typing.get_args`. The contract schema (:mod:`resultatrapport.contracts`), the
source formats (:mod:`resultatrapport.formats`, and through them the SQL and Great
Expectations rules) and the report import them from here; ``tests/test_vocabulary.py``
holds them to it.
"""

from __future__ import annotations

from typing import Literal, get_args
from zoneinfo import ZoneInfo

# --- category values of the deliveries (sources.md) ---------------------------------------

# the Erhvervshuse (the awareness survey's 'Erhvervshus'); the order is the sample's
Hub = Literal["Hovedstaden", "Midtjylland", "Nordjylland", "Sjælland", "Syddanmark", "Fyn"]
Segment = Literal["Vækst", "Drift"]
Form = Literal["Individuel", "Kollektiv"]
CaseType = Literal["Afklaring", "Specialiseret vejledning", "Vækstforløb", "Kollektivt forløb"]
FocusArea = Literal[
    "Digitalisering og automatisering",
    "Bæredygtighed (ESG)",
    "Iværksætteri",
    "Innovation",
    "Internationalisering",
    "Beskæftigelse og uddannelse",
    "Aktualitet og resiliens",
    "Detailhandel, turisme og levende bymidter",
    "Ejerskifte",
    "Forsvar",
    "Innovationsmiljøer",
    "Vidensoverførsel",
    "Tiltrækning af investeringer",
    "Arbejdskraft",
]
# the CRM's referral targets ('Henvisninger', sources.md): an entry not on the list is no
# referral (an adviser's free text), never counted
ReferralTarget = Literal[
    "Erhvervshus Hovedstaden",
    "Erhvervshus Midtjylland",
    "Erhvervshus Sjælland",
    "Erhvervshus Sydjylland",
    "Erhvervshus Nordjylland",
    "Erhvervshus Fyn",
    "Innovationsfonden",
    "Eksportrådet",
    "Danmarks Eksport- og Investeringsfond",
    "Erhvervsstyrelsen",
    "Klyngeorganisation",
    "EU-kontoret",
    "Kommunal erhvervsservice",
    "Privat rådgiver",
]
JaNej = Literal["Ja", "Nej"]
JaNejVedIkke = Literal["Ja", "Nej", "Ved ikke"]
Degree = Literal["I høj grad", "I nogen grad", "I mindre grad", "Slet ikke", "Ved ikke"]

HUBS: tuple[Hub, ...] = get_args(Hub)
SEGMENTS: tuple[Segment, ...] = get_args(Segment)
FORMS: tuple[Form, ...] = get_args(Form)
CASE_TYPES: tuple[CaseType, ...] = get_args(CaseType)
FOCUS_AREAS: tuple[FocusArea, ...] = get_args(FocusArea)
REFERRAL_TARGETS: tuple[ReferralTarget, ...] = get_args(ReferralTarget)
JA_NEJ: tuple[JaNej, ...] = get_args(JaNej)
YES, NO = JA_NEJ
JA_NEJ_VED_IKKE: tuple[JaNejVedIkke, ...] = get_args(JaNejVedIkke)
DEGREES: tuple[Degree, ...] = get_args(Degree)

# --- KPI results ---------------------------------------------------------------------------

Unit = Literal["antal", "pct.", "NPS", "procentpoint", "årsværk", "kr."]
UNITS: tuple[Unit, ...] = get_args(Unit)

# a target's comparison; '±': the value is a deviation that must stay within the band
Operator = Literal[">=", ">", "<=", "±"]
OPERATORS: tuple[Operator, ...] = get_args(Operator)
# a target's operator as the reader sees it
OPERATOR_SIGN: dict[str, str] = {">=": "≥", ">": ">", "<=": "≤", "±": "±"}

# the measured value against the target (the words a report reader sees)
Status = Literal["Opfyldt", "Ikke opfyldt", "Ikke målbar", "Intet mål i år"]
STATUSES: tuple[Status, ...] = get_args(Status)
OPFYLDT, IKKE_OPFYLDT, IKKE_MAALBAR, INTET_MAAL = STATUSES

# whether a year's figures are final: the year is over and every delivery the contract names
# for it is in (the submissions' column Opgørelse); preliminary otherwise
Reckoning = Literal["Endelig", "Foreløbig"]
RECKONINGS: tuple[Reckoning, ...] = get_args(Reckoning)
ENDELIG, FORELOEBIG = RECKONINGS

# --- time -----------------------------------------------------------------------------------

# the time zone of every calendar year, schedule and date the project shows
TIME_ZONE = "Europe/Copenhagen"
TZ = ZoneInfo(TIME_ZONE)
# the first calendar year partition (fixed, never computed from the clock)
FIRST_YEAR = 2020

# --- names ----------------------------------------------------------------------------------

# an organisation's folder in the inbox and a contract's id: lower-case letters and digits in
# words joined by single hyphens (``erhvervshus-midtjylland``, ``kkr-midtjylland-2026``)
SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
