"""The names a report reader sees for a delivery's source (its format's title) and a check: the
report's appendices, its list of failed checks and the sign-off's refusals all use them,
so no internal name (``crm_cases``, ``file_trustworthy``) reaches a reader."""

from __future__ import annotations

from resultatrapport import texts as owner_texts
from resultatrapport.formats import FORMATS
from resultatrapport.ingestion import FILE_TRUSTWORTHY, ROWS_VALID

CHECK_NAMES = {
    ROWS_VALID: "Rækker overholder reglerne",
    FILE_TRUSTWORTHY: "Filen er troværdig",
    owner_texts.CHECK: "Teksten følger formatet",
}


def source_title(source: str) -> str:
    """A delivery's source as the report names it (the texts: one source per contract)."""
    if source.startswith(owner_texts.SOURCE + ":"):
        return "Rapportejerens tekster"
    return FORMATS[source].title if source in FORMATS else source


def check_title(check: str) -> str:
    return CHECK_NAMES.get(check, check)
