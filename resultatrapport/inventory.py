"""What lies in the inbox, held against the declared deliveries: the one classifier of inbox
paths.

:func:`classify` decides what an inbox-relative path is, for every part that asks: the inbox
sensor (which files to ingest), the run summary and the report's data-quality appendix (the
files that are no delivery), and the ingestion (a misnamed delivery blocks its partition).
A path is

- a :class:`Delivery` when it is exactly a path of ``sources.md``: a source format's path
  (:data:`resultatrapport.formats.FORMATS`) or the report owner's texts
  (:data:`resultatrapport.formats.TEXTS_PATH`), with an organisation folder and a contract id
  in lower case with hyphens (:data:`resultatrapport.vocabulary.SLUG`, as the contract files
  declare them) and a year from :data:`resultatrapport.vocabulary.FIRST_YEAR` on;
- ``None`` for the files the systems around an inbox leave in it and nobody delivers: hidden
  files and everything in hidden folders (``.DS_Store``, ``._x`` of a Mac, a file an upload
  tool is still writing as ``.x.tmp``, a ``.~lock.x#`` of LibreOffice), Office's owner files
  of an open workbook (``~$x.xlsx``), ``Thumbs.db`` and ``desktop.ini``. Listing them would
  bury the files that matter under a Mac's or Windows' own, and a file still being copied in
  would block its partition;
- else a :class:`StrayFile`, listed and never ignored: with the delivery it most resembles
  (``Erhvervshus_Midtjylland/crm/vejledningsforloeb_2026.csv`` ligner
  ``erhvervshus-midtjylland/crm/vejledningsforloeb_2026.csv``) when it has the wrong case, a
  wrong or extra folder, a near-miss name (a typo, another extension, no year, ``(kopi)``),
  or a year before the first. A file no delivery resembles (the sample generator's
  ``manifest.json``, a ``readme.txt``) is listed without one: it is not read either.

A delivery folder (``<org>/tid/``, ``register/``, …) holds the files of its formats and
nothing else: a stray in it attributed to a format (``tidsregistrering_2026 (kopi).csv``,
``regnskaber_2022_rettet.csv``) is most likely the delivery under the wrong name, and blocks
the partition of the year it carries (:func:`strays_for`) until it is renamed or removed,
instead of being ignored without a word. Likewise a file in ``<org>/tekster/`` named like a
contract's texts file but not exactly blocks that contract's texts of its year
(:func:`texts_refusal`). Strays elsewhere are listed (run summary, appendix) but block
nothing.

A file name is shown through :func:`shown_name` wherever a person reads it: a control
character in a name (a newline) is written as an escape and cannot start a line of its own.

The inbox is walked without following links.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

from resultatrapport.formats import FORMATS, TEXTS_PATH, SourceFormat
from resultatrapport.vocabulary import FIRST_YEAR, SLUG

TEXTS_SOURCE = "report_texts"  # the source a texts file is classified as
# folders of the inbox that are no organisation's
REGISTER_FOLDERS = ("register", "erst")
# how alike a name must be to a delivery's (difflib's ratio, the year as a placeholder) to be
# shown as that delivery under a near-miss name: a typo, another extension, no year, '(kopi)'
RESEMBLANCE = 0.8
UNKNOWN_ORG = "<organisation>"  # in a resembled path whose organisation the path does not say
UNKNOWN_YEAR = "<åååå>"  # in a resembled path whose name carries no year
_JUNK_NAMES = ("thumbs.db", "desktop.ini")
_YEAR = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}(?![0-9])")
_DANISH = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa"})
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


# --- what a path is -----------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A path of ``sources.md``: the delivery of ``source`` (a format's name, or
    :data:`TEXTS_SOURCE`) for ``org`` (None: a register) and ``year`` (None: a file delivered
    once for every year, like the CVR extract); ``contract`` for the texts."""

    relpath: str
    source: str
    org: str | None
    year: int | None
    contract: str | None = None

    @property
    def format(self) -> SourceFormat | None:
        return FORMATS.get(self.source)


@dataclass(frozen=True)
class StrayFile:
    """A file of the inbox that is no delivery, and is not read."""

    relpath: str
    source: str | None  # the format (or TEXTS_SOURCE) it is attributed to, if any
    year: int | None  # the year its name carries, if any
    resembles: str | None = None  # the delivery's path it most resembles, if any
    why: str | None = None  # Danish: 'ligner …', or why a delivery-shaped path is none

    @property
    def shown(self) -> str:
        return shown_stray(self.relpath, self.why)


def shown_stray(relpath: str, why: str | None) -> str:
    """A stray file as the run summary and the report's appendix list it (Danish): its name,
    and what it resembles or why it is no delivery in brackets."""
    return f"{shown_name(relpath)} ({shown_name(why)})" if why else shown_name(relpath)


@dataclass(frozen=True)
class _Template:
    source: str
    path: str  # with {org}, {year}, {contract}
    pattern: re.Pattern[str]
    name: str  # the file name part, lower case, {year} kept
    folder: str  # the folder part, {org} kept

    @property
    def stem(self) -> str:
        """The start of the file name that every misnamed copy keeps (``tidsregistrering_``
        of ``tidsregistrering_{year}.csv``)."""
        return re.split(r"\{year\}|\{contract\}|\.", self.name, maxsplit=1)[0]


def _template(source: str, path: str) -> _Template:
    fills = {
        "{org}": rf"(?!(?:{'|'.join(REGISTER_FOLDERS)})/)(?P<org>{SLUG})",
        "{year}": r"(?P<year>[0-9]{4})",
        "{contract}": rf"(?P<contract>{SLUG})",
    }
    parts = re.split(r"(\{org\}|\{year\}|\{contract\})", path)
    regex = "".join(fills.get(p) or re.escape(p) for p in parts)
    posix = PurePosixPath(path)
    return _Template(source, path, re.compile(regex), posix.name, str(posix.parent))


@cache
def _templates() -> tuple[_Template, ...]:
    formats = tuple(_template(name, fmt.path) for name, fmt in FORMATS.items())
    return (*formats, _template(TEXTS_SOURCE, TEXTS_PATH))


def _junk(part: str) -> bool:
    return part.startswith((".", "~$")) or part.casefold() in _JUNK_NAMES


def classify(relpath: str) -> Delivery | StrayFile | None:
    """What the inbox-relative path ``relpath`` (``/``-separated) is: a delivery, a stray
    file (listed, with the delivery it resembles), or None for a hidden or system file that
    is neither listed nor read (the module's docstring says which and why)."""
    parts = relpath.split("/")
    if any(_junk(p) for p in parts):
        return None
    for t in _templates():
        if m := t.pattern.fullmatch(relpath):
            found = m.groupdict()
            year = int(found["year"]) if found.get("year") else None
            if year is not None and year < FIRST_YEAR:
                why = f"året {year} ligger før {FIRST_YEAR}, det første år, der rapporteres"
                return StrayFile(relpath, t.source, year, None, why)
            return Delivery(relpath, t.source, found.get("org"), year, found.get("contract"))
    return _stray(relpath, parts[:-1], parts[-1])


def is_delivery(relpath: str) -> bool:
    """A declared delivery: a source format's file, or the report owner's texts of a contract
    and year (``<org>/tekster/<contract-id>_<YYYY>.md``)."""
    return isinstance(classify(relpath), Delivery)


def _folded(text: str) -> str:
    return text.casefold().translate(_DANISH)


def _slug(folder: str) -> str:
    """An organisation's folder as a slug (``Erhvervshus_Midtjylland`` →
    ``erhvervshus-midtjylland``)."""
    return re.sub(r"[^a-z0-9]+", "-", _folded(folder)).strip("-")


def _likeness(name: str, year: re.Match[str] | None, t: _Template) -> float:
    """How alike the (folded) file name is to the template's, the year a placeholder; a
    copy starting with the template's own start (``tidsregistrering_2026 (kopi).csv``) is
    alike whatever follows."""
    if name.startswith(t.stem) and "{contract}" not in t.name:
        return 1.0
    if year is None:
        shape = name
    elif "{year}" in t.name:
        shape = name[: year.start()] + "{year}" + name[year.end() :]
    else:  # a year-less file: the year and the separator before it left out
        shape = name[: year.start()].rstrip("_- ") + name[year.end() :]
    return difflib.SequenceMatcher(None, shape, t.name).ratio()


def _organisation(folders: list[str], t: _Template) -> str:
    """The organisation a stray resembling ``t`` seems to be of: its folder before the
    delivery's own folder (``crm``), else its first folder, as a slug."""
    sub = PurePosixPath(t.folder).name
    folded = [_folded(f) for f in folders]
    own = {PurePosixPath(x.folder).name for x in _templates()} | set(REGISTER_FOLDERS)
    if sub in folded and folded.index(sub) >= 1:
        guess = _slug(folders[folded.index(sub) - 1])
    elif folders and folded[0] not in own:
        guess = _slug(folders[0])
    else:
        guess = ""
    return guess if guess and guess not in own else UNKNOWN_ORG


def _stray(relpath: str, folders: list[str], name: str) -> StrayFile:
    """A path that is no delivery, with the delivery it most resembles: by its name (a format
    whose name it nearly has, or a texts file: a Markdown file or one in a ``tekster``
    folder), else by its folder (a folder of one format)."""
    folded = _folded(name)
    year = _YEAR.search(folded)
    formats = [t for t in _templates() if t.source != TEXTS_SOURCE]
    best = max(formats, key=lambda t: _likeness(folded, year, t))
    texts = _templates()[-1]
    if _likeness(folded, year, best) >= RESEMBLANCE:
        chosen, contract = best, None
    elif folded.endswith(".md") or "tekster" in map(_folded, folders):
        # a contract id has several words (kkr-midtjylland-2026); a one-word name is none
        m = re.match(SLUG, folded)
        chosen, contract = texts, (m.group() if m and "-" in m.group() else None)
        year = _YEAR.search(folded, m.end()) if m and contract else year
    else:
        here = "/".join(_folded(f) for f in folders)
        alone = [t for t in formats if re.fullmatch(t.folder.replace("{org}", "[^/]+"), here)]
        if len(alone) != 1:
            return StrayFile(relpath, None, int(year.group()) if year else None)
        chosen, contract = alone[0], None
    carried = int(year.group()) if year else None
    resembles = chosen.path.format(
        org=_organisation(folders, chosen),
        year=carried if carried is not None else UNKNOWN_YEAR,
        contract=contract or "<kontrakt>",
    )
    return StrayFile(relpath, chosen.source, carried, resembles, f"ligner {resembles}")


# --- the inbox ----------------------------------------------------------------------------


def inbox_files(root: Path) -> list[str]:
    """The inbox-relative paths of the files in ``root`` that :func:`classify` does not pass
    over (no hidden folder is entered, no hidden or system file listed), sorted; links are
    not followed into folders."""
    files = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not _junk(d))
        for name in sorted(names):
            if not _junk(name):
                files.append(Path(folder, name).relative_to(root).as_posix())
    return files


def listed(root: Path, relpath: str) -> bool:
    """Whether the delivery ``relpath`` is in the inbox under exactly that name, each folder
    and the file as :func:`inbox_files` lists them. On a file system that ignores case (a
    Mac's, a Windows share) ``root / relpath`` opens a file in ``Erhvervshus-Midtjylland/``
    too, which :func:`classify` lists as a stray: the reader takes only what is listed."""
    folder = root
    for part in relpath.split("/"):
        try:
            if part not in os.listdir(folder):
                return False
        except OSError:
            return False
        folder = folder / part
    return True


def unrecognised_files(root: Path) -> list[StrayFile]:
    """Every file of the inbox that is no declared delivery, with the delivery it
    resembles."""
    if not root.is_dir():
        return []
    return [s for r in inbox_files(root) if isinstance(s := classify(r), StrayFile)]


def _folder(relpath: str) -> str:
    return str(PurePosixPath(relpath).parent)


def strays_for(root: Path, fmt: SourceFormat, year: int, org: str | None) -> list[str]:
    """The unrecognised files that block the partition (format, year, organisation): in its
    delivery folder, attributed to its format, and carrying its year (or no year, or any year
    for a file delivered once for every year, like the CVR extract)."""
    folder = _folder(fmt.path).replace("{org}", org or "")
    return [
        s.relpath
        for s in unrecognised_files(root)
        if s.source == fmt.name
        and _folder(s.relpath) == folder
        and (fmt.yearless or s.year is None or s.year == year)
    ]


def texts_strays(root: Path, org: str, contract_id: str, year: int) -> list[str]:
    """The files in ``<org>/tekster/`` that are named like the contract's texts file but are
    none (case, a ' (kopi)', '_rettet', another extension), carrying ``year`` after the
    contract id or no year: they block the contract's texts of that year."""
    prefix = contract_id.casefold()
    found = []
    for s in unrecognised_files(root):
        name = PurePosixPath(s.relpath).name
        if _folder(s.relpath) != f"{org}/tekster" or not name.casefold().startswith(prefix):
            continue
        carried = _YEAR.search(name[len(prefix) :])
        if carried is None or int(carried.group()) == year:
            found.append(s.relpath)
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
