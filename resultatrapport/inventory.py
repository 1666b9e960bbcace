"""What lies in the inbox, held against the declared formats.

A delivery folder (``<org>/tid/``, ``register/``, …) holds the files of its formats and
nothing else. A file there with a name no format declares (``tidsregistrering_2026
(kopi).csv``, ``regnskaber_2022_rettet.csv``) is most likely a delivery under the wrong
name: it is attributed to the format whose name it starts like (or the folder's only
format) and to the year its name carries, and blocks that partition until it is renamed or
removed, instead of being ignored without a word. Files that lie outside every delivery
folder are listed (run summary) but block nothing.

The inbox is walked without following links.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

from resultatrapport.formats import FORMATS, SourceFormat
from resultatrapport.texts import classify as classify_text

_YEAR = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}(?![0-9])")


@dataclass(frozen=True)
class StrayFile:
    relpath: str
    source: str | None  # the format it is attributed to, if any
    year: int | None  # the year its name carries, if any


def _pattern(fmt: SourceFormat) -> re.Pattern[str]:
    parts = re.split(r"(\{org\}|\{year\})", fmt.path)
    regex = "".join(
        "[^/]+" if p == "{org}" else "[0-9]{4}" if p == "{year}" else re.escape(p) for p in parts
    )
    return re.compile(regex)


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((name, _pattern(fmt)) for name, fmt in FORMATS.items())


def _folder_pattern(fmt: SourceFormat) -> str:
    return str(PurePosixPath(fmt.path).parent)


def _stem(fmt: SourceFormat) -> str:
    """The start of the format's file name that every misnamed copy keeps
    (``tidsregistrering_`` of ``tidsregistrering_{year}.csv``)."""
    name = PurePosixPath(fmt.path).name
    return re.split(r"\{year\}|\.", name, maxsplit=1)[0].lower()


def is_delivery(relpath: str) -> bool:
    """A declared delivery: a source format's file, or the report owner's texts of a contract
    and year (``<org>/tekster/<contract-id>_<YYYY>.md``)."""
    return any(p.fullmatch(relpath) for _, p in _patterns()) or classify_text(relpath) is not None


def _walk(root: Path) -> list[str]:
    files = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith("."):
                files.append(Path(folder, name).relative_to(root).as_posix())
    return files


def unrecognised_files(root: Path) -> list[StrayFile]:
    """Every file of the inbox that is no declared delivery, with the format and year it is
    attributed to where its folder is a delivery folder."""
    if not root.is_dir():
        return []
    strays = []
    for relpath in _walk(root):
        if is_delivery(relpath):
            continue
        folder, name = str(PurePosixPath(relpath).parent), PurePosixPath(relpath).name
        candidates = [
            fmt
            for fmt in FORMATS.values()
            if re.fullmatch(_folder_pattern(fmt).replace("{org}", "[^/]+"), folder)
        ]
        fmt = next((f for f in candidates if name.lower().startswith(_stem(f))), None)
        if fmt is None and len(candidates) == 1:
            fmt = candidates[0]
        year = _YEAR.search(name)
        strays.append(
            StrayFile(relpath, fmt.name if fmt else None, int(year.group()) if year else None)
        )
    return strays


def strays_for(root: Path, fmt: SourceFormat, year: int, org: str | None) -> list[str]:
    """The unrecognised files that block the partition (format, year, organisation): in its
    delivery folder, attributed to its format, and carrying its year (or no year, or any year
    for a file delivered once for every year, like the CVR extract)."""
    folder = _folder_pattern(fmt).replace("{org}", org or "")
    yearly = "{year}" in fmt.path
    return [
        s.relpath
        for s in unrecognised_files(root)
        if s.source == fmt.name
        and str(PurePosixPath(s.relpath).parent) == folder
        and (not yearly or s.year is None or s.year == year)
    ]


def inbox_refusal(root: Path, expected: list[str]) -> str | None:
    """Why a run must not start on ``root`` (Danish; None: it may): the folder does not
    exist, or holds none of the ``expected`` deliveries (a wrong ``--inbox`` would otherwise
    read as every delivery missing and replace a year's rows with none)."""
    if not root.is_dir():
        return f"Indbakken {root} findes ikke (eller er ikke en mappe); intet er kørt."
    if not any((root / relpath).exists() for relpath in expected):
        example = sorted(expected)[0] if expected else ""
        return (
            f"Indbakken {root} indeholder ingen af kontraktens leverancer (fx '{example}'); "
            "intet er kørt."
        )
    return None
