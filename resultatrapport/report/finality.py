"""Whether a year's figures are final (*Endelig*) or preliminary (*Foreløbig*) on a given day:
final when the year is over on that day and every delivery the contract names for the year
is in. The report's cover and the submissions' column ``Opgørelse`` say the same, from
:func:`finality`; a sign-off of preliminary figures needs the signer to say so
(:mod:`resultatrapport.report.signoff`).

The day is the sign-off's date (or the draft's), passed in, never the clock at import.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from resultatrapport.report.content import ReportData
from resultatrapport.report.danish import listed
from resultatrapport.report.names import source_title
from resultatrapport.vocabulary import ENDELIG, FORELOEBIG

# the awareness survey is held only some years: its absence makes no figure preliminary
OCCASIONAL_SOURCES = frozenset({"awareness"})


@dataclass(frozen=True)
class Finality:
    """Whether the figures are final, and why not (Danish clauses, empty when final)."""

    year: int
    reasons: tuple[str, ...]

    @property
    def final(self) -> bool:
        return not self.reasons

    @property
    def word(self) -> str:
        """``Endelig`` or ``Foreløbig`` (the submissions' column Opgørelse)."""
        return ENDELIG if self.final else FORELOEBIG

    @property
    def sentence(self) -> str:
        """What the cover says: 'Foreløbige tal: 2026 er ikke slut.' or 'Endelige tal …'."""
        if self.reasons:
            return "Foreløbige tal: " + listed(self.reasons) + "."
        return f"Endelige tal for {self.year}: året er slut, og alle leverancer foreligger."


def finality(data: ReportData, on: dt.date) -> Finality:
    """The figures of ``data`` as of the day ``on``: final when the year is over then and no
    delivery of the year is recorded as missing."""
    reasons = []
    if on <= dt.date(data.year, 12, 31):
        reasons.append(f"{data.year} er ikke slut")
    missing = sorted(
        {source_title(d["source"]) for d in data.deliveries
         if d["sha256"] is None and d["year"] == data.year
         and d["source"] not in OCCASIONAL_SOURCES}
    )  # fmt: skip
    if missing:
        reasons.append("der mangler leverancer: " + ", ".join(missing))
    return Finality(data.year, tuple(reasons))
