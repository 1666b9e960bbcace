"""The names a report reader sees for a delivery's source and a check, declared once: the
report's appendices, its list of failed checks and the sign-off's refusals all use them,
so no internal name (``crm_cases``, ``file_trustworthy``) reaches a reader."""

from __future__ import annotations

from resultatrapport import texts as owner_texts

SOURCE_NAMES = {
    "crm_cases": "CRM: vejledningsforløb",
    "survey_answers": "Brugerevaluering",
    "awareness": "Kendskabsmåling (Erhvervsstyrelsen)",
    "time_registration": "Tidsregistrering",
    "cvr_firms": "CVR-udtræk",
    "financials": "Regnskaber",
    "population": "Folketal (Danmarks Statistik)",
    "price_index": "Prisindeks (KL)",
}
CHECK_NAMES = {
    "rows_valid": "Rækker overholder reglerne",
    "file_trustworthy": "Filen er troværdig",
    owner_texts.CHECK: "Teksten følger formatet",
}


def source_title(source: str) -> str:
    """A delivery's source as the report names it (the texts: one source per contract)."""
    if source.startswith(owner_texts.SOURCE + ":"):
        return "Rapportejerens tekster"
    return SOURCE_NAMES.get(source, source)


def check_title(check: str) -> str:
    return CHECK_NAMES.get(check, check)
