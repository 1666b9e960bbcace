"""What lies in the inbox, held against the declared formats.

A delivery folder (``<org>/tid/``, ``register/``, …) holds the files of its formats and
nothing else. A file there with a name no format declares (``tidsregistrering_2026
(kopi).csv``, ``regnskaber_2022_rettet.csv``) is most likely a delivery under the wrong
name: it is attributed to the format whose name it starts like (or the folder's only
format) and to the year its name carries, and blocks that partition until it is renamed or
removed, instead of being ignored without a word. Files that lie outside every delivery
folder are listed (run summary) but block nothing.

The same holds for the report owner's texts: a file in ``<org>/tekster/`` named like a
contract's texts file but not exactly (``kkr-midtjylland-2026_2026 (kopi).md``, a corrected
copy saved beside the old file) blocks that contract's texts of the year it carries
(:func:`texts_refusal`), so the old file is not used as if it were the corrected one.

A file name is shown through :func:`shown_name` wherever a person reads it: a control
character in a name (a newline) is written as an escape and cannot start a line of its own.

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
# characters a name must not print as themselves: controls (C0, DEL, C1), line and
# paragraph separators, bidirectional overrides (which reorder what follows), the backslash
_UNSHOWN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\\]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    return _ESCAPES.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def shown_name(name: str) -> str:
    """A file name as a message, a summary or the report shows it: every character that could
    break or reorder a line (a newline, a carriage return, any control, a line separator, a
    bidirectional override) and the backslash written as a Python-style escape (``\\n``,
    ``\\x07``, ``\\u2028``), everything else (Danish letters, spaces) as it is."""
    return _UNSHOWN.sub(_escape, name)


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


def texts_strays(root: Path, org: str, contract_id: str, year: int) -> list[str]:
    """The files in ``<org>/tekster/`` that are named like the contract's texts file but are
    none (case, a ' (kopi)', '_rettet', another extension), carrying ``year`` after the
    contract id or no year: they block the contract's texts of that year."""
    folder = root / org / "tekster"
    if not folder.is_dir():
        return []
    prefix = contract_id.casefold()
    found = []
    for name in sorted(os.listdir(folder)):
        relpath = f"{org}/tekster/{name}"
        path = folder / name
        if name.startswith(".") or path.is_dir() or is_delivery(relpath):
            continue
        if not name.casefold().startswith(prefix):
            continue
        carried = _YEAR.search(name[len(prefix) :])
        if carried is None or int(carried.group()) == year:
            found.append(relpath)
    return found


def texts_refusal(root: Path, org: str, contract_id: str, year: int, relpath: str) -> str | None:
    """Why the contract's texts of ``year`` must not be used (Danish; None: they may): a file
    beside the texts file named like it (:func:`texts_strays`), as a misnamed delivery blocks
    its partition."""
    strays = texts_strays(root, org, contract_id, year)
    if not strays:
        return None
    names = ", ".join(f"'{shown_name(s)}'" for s in strays)
    return (
        f"ukendt fil i tekstmappen: {names}; den forventede fil hedder '{relpath}'. "
        "Omdøb eller fjern filen, og kør igen"
    )


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
