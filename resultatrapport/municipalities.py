"""The municipality reference, read once: Denmark's municipality codes, names and regions
(real, public; ``reference/kommuner.csv``, described in ``reference/README.md``).

The formats' municipality rules take their allowed values from here, and the warehouse's
``ref`` tables and the sample generator read the same list.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REFERENCE_DIR = Path(__file__).parent / "reference"


@dataclass(frozen=True)
class Municipality:
    code: int
    name: str
    region_code: int
    region: str


@cache
def municipalities() -> tuple[Municipality, ...]:
    with (REFERENCE_DIR / "kommuner.csv").open(encoding="utf-8", newline="") as fh:
        return tuple(
            Municipality(int(r["kommunenr"]), r["kommune"], int(r["region_kode"]), r["region"])
            for r in csv.DictReader(fh, delimiter=";")
        )


def municipality_codes() -> tuple[str, ...]:
    """The codes as delivered (text), the allowed values of a ``Kommunenr`` column."""
    return tuple(str(m.code) for m in municipalities())


def municipality_names() -> tuple[str, ...]:
    return tuple(m.name for m in municipalities())
