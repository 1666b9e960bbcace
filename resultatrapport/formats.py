"""The source formats of `shared/formats/sources.md`, declared once as data.

Each :class:`SourceFormat` says where a delivery lies in the inbox, its exact header,
how every column is typed, which columns are personal data (dropped at reading, never
stored), and the row-level rules a row must satisfy to be used. One reader
(:mod:`resultatrapport.reader`) serves every format. The rules are instances of the rule
kinds of :mod:`resultatrapport.rules`, each of which compiles itself to DuckDB SQL
(quarantine) and to a Great Expectations expectation (asset checks), so the two can never
drift apart.

Naming convention: a source's ``name`` is the warehouse table name (``ingest.<name>``
for clean rows, ``raw.<name>`` for rows as delivered) and the last part of its asset
keys (``raw/<scope>/<name>``, ``ingest/<scope>/<name>``); columns are English
snake_case; everything a person reads (rule reasons) is Danish.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from resultatrapport.rules import (
    Between,
    GroupMax,
    InSet,
    InYear,
    KnownEntries,
    Parsed,
    Regex,
    Repeat,
    Required,
    Rule,
    Unique,
)
from resultatrapport.vocabulary import (
    CASE_TYPES,
    DEGREES,
    FOCUS_AREAS,
    FORMS,
    HUBS,
    JA_NEJ_VED_IKKE,
    REFERRAL_TARGETS,
    SEGMENTS,
)
from resultatrapport.vocabulary import JA_NEJ as YES_NO

ColumnType = Literal[
    "text",  # kept as text
    "int",  # whole number
    "decimal",  # decimal comma, no thousands separator
    "date_dmy",  # dd-mm-yyyy
    "date_iso",  # yyyy-mm-dd
    "date_excel",  # an Excel date cell (xlsx only)
    "ja_nej",  # 'Ja' / 'Nej' -> boolean
    "list_pipe",  # values separated by '|' -> list of text
]


@dataclass(frozen=True)
class Column:
    header: str  # exact Danish header as delivered
    name: str  # clean English snake_case name
    type: ColumnType = "text"
    personal: bool = False  # PERSONAL DATA or free text: dropped while reading, never stored
    rules: tuple[Rule, ...] = ()
    # text a person types or picks in the organisation's own systems (categories, referral
    # targets, project names): besides the CPR numbers, e-mail addresses and the row's own
    # personal values masked in every kept column, given names and phone numbers are masked
    # here. Never on identifiers, codes and numbers (a CVR number has 8 digits, like a phone
    # number), nor on the public registers' closed lists.
    free_text: bool = False


@dataclass(frozen=True)
class SourceFormat:
    name: str  # table / asset name, e.g. "crm_cases"
    title: str  # Danish name for people: the report, the UI and every message use this one
    description: str  # English description for the asset catalogue
    path: str  # inbox-relative path; {org} and {year} are filled in
    columns: tuple[Column, ...]
    file_type: Literal["csv", "xlsx"] = "csv"
    sheet: str | None = None
    # the contract's name for a delivery each organisation makes itself (``deliveries:`` in
    # a contract file); None for the common registers, one file for everyone
    delivery: str | None = None
    # its units (answers, firms' accounts) are confidential below the contract's threshold:
    # a KPI reading it is suppressed on too few units (resultatrapport.kpis.compute)
    confidential: bool = False
    # SQL predicate on the raw text columns selecting this partition's rows from a file
    # that holds several years (e.g. folketal.csv); None: the whole file is the partition
    year_filter: str | None = None
    # SQL predicate on the clean typed columns keeping the rows relevant to the year
    # (e.g. CVR firms alive during the year); None: every valid row
    clean_filter: str | None = None
    # derived columns of the clean table: (name, SQL type, SQL expression on clean columns)
    extra_columns: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)

    @property
    def per_organisation(self) -> bool:
        return self.delivery is not None

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @property
    def kept(self) -> list[Column]:
        return [c for c in self.columns if not c.personal]

    @property
    def yearless(self) -> bool:
        """One file for every year (a register replaced whole at each delivery): a run reads
        and validates it once and fills each year's partition from that one staged copy."""
        return "{year}" not in self.path

    @property
    def rules_per_year(self) -> bool:
        """Whether a partition's validation depends on its year: the rows it holds (a year
        filter) or a rule that names the year (``Rule.names_year``)."""
        return self.year_filter is not None or any(r.names_year for c in self.kept for r in c.rules)

    def staged_year_filter(self, year: int) -> str:
        """:attr:`year_filter` for ``year`` on the staged table, whose columns carry the kept
        columns' names instead of the delivered headers."""
        expr = self.year_filter or "true"
        for c in self.kept:
            expr = expr.replace('"' + c.header + '"', '"' + c.name + '"')
        return expr.format(year=year)

    def relpath(self, year: int, org: str | None = None) -> str:
        if self.per_organisation and org is None:
            raise ValueError(
                f"{self.name} is delivered per organisation: an organisation is needed"
            )
        return self.path.format(org=org, year=year)


# --- shared rules -----------------------------------------------------------------------

CVR = Regex("Ugyldigt CVR-nummer (skal være 8 cifre, første ciffer 1-9)", r"[1-9][0-9]{7}")
MUNICIPALITY = InSet("Ukendt kommunenummer")  # values filled from the reference list
DMY = Parsed("Ugyldig dato (forventet dd-mm-åååå)", r"[0-9]{2}-[0-9]{2}-[0-9]{4}")
ISO = Parsed("Ugyldig dato (forventet åååå-mm-dd)", r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DECIMAL = Parsed("Ugyldigt tal (forventet decimalkomma)", r"-?[0-9]+(?:,[0-9]+)?")
NONNEG_DECIMAL = Parsed("Ugyldigt tal (forventet decimalkomma)", r"[0-9]+(?:,[0-9]+)?")
INT = Parsed("Ugyldigt heltal", r"-?[0-9]+")
IN_YEAR = InYear("Dato uden for filens år")
JA_NEJ = InSet("Ugyldig værdi (forventet Ja/Nej)", values=YES_NO)


def required(what: str) -> Rule:
    return Required(f"{what} mangler")


def one_of(what: str, *values: str) -> Rule:
    return InSet(f"Ugyldig værdi i {what}", values=values)


# the category values of sources.md are resultatrapport.vocabulary's (the contract files are
# validated against the same lists)

CRM_CASES = SourceFormat(
    name="crm_cases",
    title="CRM-udtræk (vejledningsforløb)",
    description="Guidance cases started in the year, one row per case, from the organisation's CRM.",
    path="{org}/crm/vejledningsforloeb_{year}.csv",
    delivery="crm",
    columns=(
        Column(
            "Forløbs-ID",
            "case_id",
            rules=(
                required("Forløbs-ID"),
                Unique("Forløbs-ID forekommer flere gange i filen"),
            ),
        ),
        Column("CVR-nummer", "cvr", rules=(CVR,)),
        Column("Virksomhedsnavn", "firm_name", personal=True),
        Column(
            "Kommunenr", "municipality_code", "int", rules=(required("Kommunenr"), MUNICIPALITY)
        ),
        Column("Startdato", "start_date", "date_dmy", rules=(required("Startdato"), DMY, IN_YEAR)),
        Column("Slutdato", "end_date", "date_dmy", rules=(DMY,)),
        Column(
            "Vejledningsform",
            "form",
            rules=(
                required("Vejledningsform"),
                one_of("Vejledningsform", *FORMS),
            ),
            free_text=True,
        ),
        Column("Segment", "segment", rules=(one_of("Segment", *SEGMENTS),), free_text=True),
        Column(
            "Forløbstype",
            "case_type",
            rules=(one_of("Forløbstype", *CASE_TYPES),),
            free_text=True,
        ),
        Column(
            "Fokusområde",
            "focus_area",
            rules=(one_of("Fokusområde", *FOCUS_AREAS),),
            free_text=True,
        ),
        Column(
            "Henvisninger",
            "referrals",
            "list_pipe",
            free_text=True,
            rules=(
                KnownEntries(
                    "Ukendt henvisningsmodtager (ikke på CRM'ets liste); punktet tælles ikke "
                    "som en henvisning",
                    values=REFERRAL_TARGETS,
                ),
            ),
        ),
        Column("Timer", "hours", "decimal", rules=(NONNEG_DECIMAL,)),
        Column("Kontaktperson", "contact_person", personal=True),
        Column("Kontakt-e-mail", "contact_email", personal=True),
        Column("Konsulent", "adviser", personal=True),
        Column("Note", "note", personal=True),
    ),
)

SURVEY_ANSWERS = SourceFormat(
    name="survey_answers",
    title="Brugerevaluering",
    confidential=True,
    description="User evaluation answers collected in the year (xlsx, sheet 'Besvarelser').",
    path="{org}/survey/brugerevaluering_{year}.xlsx",
    file_type="xlsx",
    sheet="Besvarelser",
    delivery="survey",
    columns=(
        Column(
            "Respondent-ID",
            "respondent_id",
            rules=(
                required("Respondent-ID"),
                Unique("Respondent-ID forekommer flere gange i filen"),
            ),
        ),
        Column("Forløbs-ID", "case_id"),
        Column("CVR-nummer", "cvr", rules=(CVR,)),
        Column(
            "Besvarelsesdato",
            "answered_on",
            "date_excel",
            rules=(required("Besvarelsesdato"), ISO, IN_YEAR),
        ),
        Column("Segment", "segment", rules=(one_of("Segment", *SEGMENTS),), free_text=True),
        Column(
            "Anbefaling (0-10)",
            "recommend",
            "int",
            rules=(
                Parsed("Anbefaling er ikke et heltal 0-10", r"[0-9]{1,2}"),
                Between("Anbefaling uden for 0-10", min_value=0, max_value=10),
            ),
        ),
        Column("Henvist", "referred", "ja_nej", rules=(JA_NEJ,), free_text=True),
        Column(
            "Anvendt henvisning",
            "used_referral",
            rules=(one_of("Anvendt henvisning", *JA_NEJ_VED_IKKE),),
            free_text=True,
        ),
        Column(
            "Vejledt om bæredygtighed",
            "sustainability_guided",
            "ja_nej",
            rules=(JA_NEJ,),
            free_text=True,
        ),
        Column(
            "Bæredygtighed – bedre i stand",
            "sustainability_better",
            rules=(one_of("Bæredygtighed – bedre i stand", *DEGREES),),
            free_text=True,
        ),
        Column("Kommentar", "comment", personal=True),
    ),
)

AWARENESS = SourceFormat(
    name="awareness",
    title="Kendskabsmåling (Erhvervsstyrelsen)",
    confidential=True,
    description="Erhvervsstyrelsen's awareness survey of firms in all regions, where held that year.",
    path="erst/kendskabsmaaling_{year}.csv",
    columns=(
        Column(
            "Respondent-ID",
            "respondent_id",
            rules=(
                required("Respondent-ID"),
                Unique("Respondent-ID forekommer flere gange i filen"),
            ),
        ),
        Column("Erhvervshus", "hub", rules=(required("Erhvervshus"), one_of("Erhvervshus", *HUBS))),
        Column(
            "Vægt",
            "weight",
            "decimal",
            rules=(
                required("Vægt"),
                NONNEG_DECIMAL,
                Between("Vægt skal være større end 0", min_value=0, min_exclusive=True),
            ),
        ),
        Column("Kender erhvervshuset", "knows_hub", "ja_nej", rules=(required("Kender"), JA_NEJ)),
        Column("Kender tilbuddene", "knows_offers", "ja_nej", rules=(JA_NEJ,)),
    ),
)

# more hours than a person works in a day: a registration error, not work
MAX_HOURS_A_DAY = 16

TIME_REGISTRATION = SourceFormat(
    name="time_registration",
    title="Tidsregistrering",
    description="Staff time registration of the organisation, one row per registration.",
    path="{org}/tid/tidsregistrering_{year}.csv",
    delivery="time",
    columns=(
        Column("Medarbejder-ID", "staff_id", rules=(required("Medarbejder-ID"),)),
        Column("Dato", "date", "date_dmy", rules=(required("Dato"), DMY, IN_YEAR)),
        Column("Projekt", "project", rules=(required("Projekt"),), free_text=True),
        Column(
            "Timer",
            "hours",
            "decimal",
            rules=(
                required("Timer"),
                NONNEG_DECIMAL,
                Repeat(
                    "Registreringen gentager en tidligere linje (samme medarbejder, dato, "
                    "projekt og timer)",
                    columns=("staff_id", "date", "project"),
                ),
                GroupMax(
                    f"Over {MAX_HOURS_A_DAY} timer registreret på én medarbejder samme dag",
                    max_value=MAX_HOURS_A_DAY,
                    columns=("staff_id", "date"),
                ),
            ),
        ),
    ),
)

CVR_FIRMS = SourceFormat(
    name="cvr_firms",
    title="CVR-udtræk",
    description=(
        "Firms of the CVR extract (replaced whole at each delivery); a year's partition keeps "
        "the firms alive at some point during that year."
    ),
    path="register/cvr_virksomheder.csv",
    clean_filter=(
        "start_date <= make_date({year}, 12, 31) "
        "AND (end_date IS NULL OR end_date >= make_date({year}, 1, 1))"
    ),
    columns=(
        Column(
            "CVR-nummer",
            "cvr",
            rules=(
                required("CVR-nummer"),
                CVR,
                Unique("CVR-nummer forekommer flere gange"),
            ),
        ),
        Column("Navn", "firm_name", personal=True),
        Column("Startdato", "start_date", "date_iso", rules=(required("Startdato"), ISO)),
        Column("Ophørsdato", "end_date", "date_iso", rules=(ISO,)),
        Column(
            "Kommunenr", "municipality_code", "int", rules=(required("Kommunenr"), MUNICIPALITY)
        ),
        Column(
            "Branchekode",
            "industry_code",
            rules=(Regex("Ugyldig branchekode (6 cifre)", r"[0-9]{6}"),),
        ),
        Column("Virksomhedsform", "legal_form"),
    ),
)

FINANCIALS = SourceFormat(
    name="financials",
    title="Regnskaber",
    confidential=True,
    description="Financial register: one row per firm for the accounting year.",
    path="register/regnskaber_{year}.csv",
    columns=(
        Column("CVR-nummer", "cvr", rules=(required("CVR-nummer"), CVR)),
        Column("År", "accounting_year", "int", rules=(required("År"), INT, IN_YEAR)),
        Column("Omsætning", "turnover", "decimal", rules=(DECIMAL,)),
        Column("Bruttofortjeneste", "gross_profit", "decimal", rules=(DECIMAL,)),
        Column("Årsværk", "fte", "decimal", rules=(NONNEG_DECIMAL,)),
    ),
)

POPULATION = SourceFormat(
    name="population",
    title="Folketal (Danmarks Statistik)",
    description=(
        "Population by municipality and quarter (Statistics Denmark, FOLK1A); a year's "
        "partition holds every quarter up to and including that year."
    ),
    path="register/folketal.csv",
    # a year's partition holds the series as known in that year (all quarters up to it),
    # so a budget can use an earlier quarter; unparseable rows stay in to be quarantined
    year_filter='coalesce(TRY_CAST(left("TID", 4) AS INTEGER) <= {year}, true)',
    columns=(
        Column(
            "OMRÅDE",
            "municipality",
            rules=(required("OMRÅDE"), InSet("Ukendt kommunenavn")),
        ),
        Column(
            "TID",
            "quarter",
            rules=(required("TID"), Regex("Ugyldigt kvartal", r"[0-9]{4}K[1-4]")),
        ),
        Column("INDHOLD", "inhabitants", "int", rules=(required("INDHOLD"), INT)),
    ),
    extra_columns=(
        (
            "municipality_code",
            "INTEGER",
            "(SELECT m.code FROM ref.municipalities m WHERE m.name = municipality)",
        ),
    ),
)

PRICE_INDEX = SourceFormat(
    name="price_index",
    title="Pris- og lønindeks for serviceudgifter",
    description=(
        "KL price and wage index for service expenditure (2020 = 100); a year's partition "
        "holds the series up to and including that year."
    ),
    path="register/prisindeks.csv",
    # the series up to the year: regulating a sum needs the base year's index too
    year_filter='coalesce(TRY_CAST(trim("År") AS INTEGER) <= {year}, true)',
    columns=(
        Column("År", "index_year", "int", rules=(required("År"), INT)),
        Column(
            "Indeks",
            "index",
            "decimal",
            rules=(
                required("Indeks"),
                NONNEG_DECIMAL,
                Between("Indeks skal være større end 0", min_value=0, min_exclusive=True),
            ),
        ),
    ),
)

FORMATS: dict[str, SourceFormat] = {
    f.name: f
    for f in (
        CRM_CASES,
        SURVEY_ANSWERS,
        AWARENESS,
        TIME_REGISTRATION,
        CVR_FIRMS,
        FINANCIALS,
        POPULATION,
        PRICE_INDEX,
    )
}
# the report owner's texts (``<organisation>/tekster/<contract-id>_<YYYY>.md`` in sources.md): a
# delivery like the formats above, read by resultatrapport.texts, not a table format
TEXTS_PATH = "{org}/tekster/{contract}_{year}.md"

REGISTER_SOURCES = ("awareness", "cvr_firms", "financials", "population", "price_index")
ORGANISATION_SOURCES = {"crm": "crm_cases", "survey": "survey_answers", "time": "time_registration"}
