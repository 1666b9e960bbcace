"""Hand-made ``resultatopfyldelse`` files of the six hubs, as a hub sends them
(shared/formats/submissions.md), for the national overview's tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from resultatrapport.report.submissions import render_csv

YEAR = 2026
# folder, contract, organisation: the six hubs of national.md
HUBS = {
    "erhvervshus-hovedstaden": ("kkr-hovedstaden-2026", "Erhvervshus Hovedstaden"),
    "erhvervshus-midtjylland": ("kkr-midtjylland-2026", "Erhvervshus Midtjylland"),
    "erhvervshus-sjaelland": ("kkr-sjaelland-2026", "Erhvervshus Sjælland"),
    "erhvervshus-sydjylland": ("kkr-syddanmark-2026", "Erhvervshus Sydjylland"),
    "erhvervshus-nordjylland": ("kkr-nordjylland-2026", "Erhvervshus Nordjylland"),
    "erhvervshus-fyn": ("kkr-fyn-2026", "Erhvervshus Fyn"),
}
# per hub: M1, M1b, M2, M3, M4, M5-O, M5-B, M5-P, M6 as (value, n, low, high)
FIGURES: dict[str, dict[str, tuple[str | None, int | None, str | None, str | None]]] = {
    "erhvervshus-hovedstaden": {
        "M1": ("52.3", 800, "48.9", "55.7"),
        "M1b": ("58.0", 420, "53.2", "62.6"),
        "M2": ("610", 610, None, None),
        "M3": ("71.4", 350, "64.0", "77.6"),
        "M4": ("54.0", 150, "46.0", "61.8"),
        "M5-O": ("12.1", 90, "4.2", "20.0"),
        "M5-B": ("6.3", 90, "1.1", "11.5"),
        "M5-P": ("2.0", 120, "-1.5", "5.5"),
        "M6": ("68.0", 100, "58.3", "76.4"),
    },
    "erhvervshus-midtjylland": {
        "M1": ("48.7", 640, "44.9", "52.5"),
        "M1b": ("61.2", 310, "55.7", "66.4"),
        "M2": ("455", 455, None, None),
        "M3": ("74.9", 290, "67.3", "81.2"),
        "M4": ("51.0", 120, "42.2", "59.7"),
        "M5-O": ("9.4", 70, "0.8", "18.0"),
        "M5-B": ("5.8", 70, "0.2", "11.4"),
        "M5-P": ("1.1", 95, "-2.9", "5.1"),
        "M6": ("72.5", 80, "61.8", "81.2"),
    },
    "erhvervshus-sjaelland": {
        "M1": ("45.1", 500, "40.8", "49.5"),
        "M1b": ("55.9", 225, "49.4", "62.2"),
        "M2": ("290", 290, None, None),
        "M3": ("66.0", 200, "56.8", "74.1"),
        "M4": ("47.5", 80, "36.9", "58.3"),
        "M5-O": ("11.0", 40, "-1.0", "23.0"),
        "M5-B": ("4.1", 40, "-2.5", "10.7"),
        "M5-P": ("0.4", 60, "-4.4", "5.2"),
        "M6": ("70.0", 50, "56.2", "80.9"),
    },
    "erhvervshus-sydjylland": {
        "M1": ("50.5", 520, "46.2", "54.8"),
        "M1b": ("57.3", 260, "51.2", "63.2"),
        "M2": ("250", 250, None, None),
        "M3": ("72.0", 210, "63.5", "79.3"),
        "M4": ("50.0", 90, "39.9", "60.1"),
        "M5-O": ("10.6", 45, "-0.9", "22.1"),
        "M5-B": ("5.2", 45, "-1.3", "11.7"),
        "M5-P": ("0.9", 55, "-3.8", "5.6"),
        "M6": ("66.7", 45, "52.1", "78.6"),
    },
    "erhvervshus-nordjylland": {
        "M1": ("55.0", 400, "50.1", "59.8"),
        "M1b": ("63.0", 220, "56.4", "69.1"),
        "M2": ("190", 190, None, None),
        "M3": ("78.2", 160, "68.8", "85.3"),
        "M4": ("58.3", 60, "45.7", "69.9"),
        "M5-O": ("14.0", 35, "1.5", "26.5"),
        "M5-B": ("7.7", 35, "0.4", "15.0"),
        "M5-P": ("3.1", 40, "-2.0", "8.2"),
        "M6": ("75.0", 40, "59.8", "85.8"),
    },
    "erhvervshus-fyn": {
        "M1": ("49.0", 300, "43.4", "54.6"),
        "M1b": ("54.4", 147, "46.3", "62.2"),
        "M2": ("150", 150, None, None),
        "M3": ("69.5", 130, "58.9", "78.4"),
        "M4": ("52.6", 38, "37.3", "67.5"),
        "M5-O": ("8.8", 25, "-5.0", "22.6"),
        "M5-B": ("3.9", 25, "-4.1", "11.9"),
        "M5-P": ("0.2", 30, "-5.3", "5.7"),
        "M6": ("71.4", 35, "54.9", "83.7"),
    },
}
NAMES = {
    "M1": ("Virksomhedernes kendskab til huset", "pct.", 50, ">="),
    "M1b": ("Kendskab til husets tilbud", "pct.", 55, ">="),
    "M2": ("Vejledte virksomheder under 3 år", "antal", None, None),
    "M3": ("Net Promoter Score (NPS)", "NPS", 70, ">="),
    "M4": ("Andel henviste, der har anvendt en henvisning", "pct.", 50, ">="),
    "M5-O": ("Mervækst i omsætning", "procentpoint", 10, ">="),
    "M5-B": ("Mervækst i beskæftigelse", "procentpoint", 5, ">="),
    "M5-P": ("Mervækst i produktivitet", "procentpoint", 0, ">"),
    "M6": ("Andel, som vejledningen i høj grad har gjort bedre i stand", "pct.", 70, ">="),
}


def _status(value: Decimal | None, target: float | None, operator: str | None) -> str:
    if value is None:
        return "Ikke målbar"
    if target is None:
        return "Intet mål i år"
    met = value >= Decimal(target) if operator == ">=" else value > Decimal(target)
    return "Opfyldt" if met else "Ikke opfyldt"


def rows(
    slug: str, *, year: int = YEAR, reckoning: str = "Endelig", **changes: dict[str, Any]
) -> list[dict[str, Any]]:
    """The hub's rows; ``changes`` by Mål-ID (with - as _) replace columns of a row."""
    contract, organisation = HUBS[slug]
    out = []
    for kpi_id, (value, n, low, high) in FIGURES[slug].items():
        name, unit, target, operator = NAMES[kpi_id]
        v = None if value is None else Decimal(value)
        lo, hi = (None if x is None else Decimal(x) for x in (low, high))
        uncertain = None if lo is None or target is None else bool(lo <= target <= hi)  # type: ignore[operator]
        row: dict[str, Any] = {
            "Kontrakt": contract, "Organisation": organisation, "År": year,
            "Opgørelse": reckoning, "Mål-ID": kpi_id, "Målepunkt": name, "Enhed": unit,
            "Resultat": v, "Målværdi": target, "Operator": operator,
            "Status": _status(v, target, operator), "Usikker": uncertain, "Grundlag": n,
            "Nedre 95 %": lo, "Øvre 95 %": hi, "Diskretioneret": False, "Bemærkning": None,
            "Godkendt af": "Anne Hansen", "Godkendt dato": dt.date(2027, 3, 1),
        }  # fmt: skip
        row.update(changes.get(kpi_id.replace("-", "_"), {}))
        out.append(row)
    return out


def file_name(slug: str, version: int = 1, year: int = YEAR) -> str:
    return f"resultatopfyldelse_{HUBS[slug][0]}_{year}_v{version}.csv"


def write_hub(
    folder: Path, slug: str, version: int = 1, data: bytes | None = None, **kw: Any
) -> Path:
    """The hub's file (version ``version``) in its folder: ``data`` as given, else its rows."""
    path = folder / slug / file_name(slug, version, kw.get("year", YEAR))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        data if data is not None else render_csv("resultatopfyldelse", rows(slug, **kw))
    )
    return path


def write_all(folder: Path, **kw: Any) -> Path:
    for slug in HUBS:
        write_hub(folder, slug, **kw)
    return folder
