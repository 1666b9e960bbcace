"""A folder of received submissions, read as ``shared/formats/national.md`` lays it out.

::

    <submissions>/<hub-slug>/resultatopfyldelse_<contract-id>_<YYYY>_v<N>.csv

Each hub's folder is looked at for the year: of its ``resultatopfyldelse`` files of that
year the highest version ``N`` counts (per contract; a hub whose folder holds files of two
contracts for the year counts only the contracts the framework file names for it), and it
is validated against the shipped table schema and the dialect
(:func:`resultatrapport.report.submissions.findings`) and a few rules the schema cannot
state (the file's ``År`` and ``Kontrakt`` are its name's, one ``Organisation``, a withheld
row has no figure, at least one row). A file that breaks them is refused, each problem
named with the file, line and column, and its hub is *ikke modtaget i gyldig form*: a
lower version is never used instead, since the hub replaced it. A hub without a file for
the year is *ikke modtaget*. Any hub's conforming files are read, not only this
pipeline's.

Every other entry is listed with the reason it is not read (:class:`Stray`): files beside
the hub folders, unknown folders, folders inside a hub's folder, and files in a hub's
folder whose name does not follow the pattern. Only correctly named files of other years
and ``kommunefordeling`` files (which the overview does not use) are passed over without a
word.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from resultatrapport.national.framework import ALL_HUBS, Framework, Hub
from resultatrapport.report.danish import listed
from resultatrapport.report.submissions import (
    DELIMITER,
    RESULT_COLUMNS,
    RESULTATOPFYLDELSE,
    Finding,
    findings,
)
from resultatrapport.vocabulary import YES

CONTRACT = r"[a-z0-9]+(?:-[a-z0-9]+)*"
FILE_NAME = re.compile(
    rf"resultatopfyldelse_(?P<contract>{CONTRACT})_(?P<year>[0-9]{{4}})_v(?P<version>[1-9][0-9]*)\.csv"
)
PATTERN = "resultatopfyldelse_<kontrakt>_<år>_v<N>.csv"
# the other submission a hub sends (to KL), which the overview does not read
OTHER_SUBMISSION = re.compile(rf"kommunefordeling_{CONTRACT}_[0-9]{{4}}_v[1-9][0-9]*\.csv")

RECEIVED = "modtaget"
REFUSED = "ikke modtaget i gyldig form"
MISSING = "ikke modtaget"

SHOWN_PROBLEMS = 10  # located problems listed per refused file (the rest counted)


class SubmissionsError(ValueError):
    """The folder of submissions cannot be read at all (said in one Danish line)."""


@dataclass(frozen=True)
class Row:
    """A row of a received ``resultatopfyldelse`` file, its values typed."""

    line: int
    kpi_id: str
    name: str
    unit: str
    value: Decimal | None
    target: Decimal | None
    operator: str | None
    status: str
    uncertain: bool | None
    n: int | None
    low: Decimal | None
    high: Decimal | None
    withheld: bool
    reckoning: str
    remark: str | None


@dataclass(frozen=True)
class HubSubmission:
    """What a hub sent for the year: its state (:data:`RECEIVED`, :data:`REFUSED` or
    :data:`MISSING`), the file that counts (relative to the submissions folder), the lower
    versions it replaced, its rows by ``Mål-ID`` and, for a refused file, the problems."""

    hub: Hub
    state: str
    file: str | None = None
    organisation: str | None = None
    rows: dict[str, Row] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    superseded: tuple[str, ...] = ()
    sha256: str | None = None

    @property
    def name(self) -> str:
        """The hub's name in the overview: its files' ``Organisation``, else the framework's."""
        return self.organisation or self.hub.name

    @property
    def file_name(self) -> str | None:
        return None if self.file is None else self.file.rsplit("/", 1)[-1]

    @property
    def reckoning(self) -> str | None:
        """``Foreløbig`` when any row of the file is, else ``Endelig``; None without a file."""
        if self.state != RECEIVED or not self.rows:
            return None
        words = {r.reckoning for r in self.rows.values()}
        return "Foreløbig" if "Foreløbig" in words else "Endelig"


@dataclass(frozen=True)
class Stray:
    """An entry of the submissions folder that is not read, and why (Danish)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Received:
    year: int
    framework: Framework
    folder: Path
    hubs: tuple[HubSubmission, ...]
    strays: tuple[Stray, ...]

    def problems(self) -> list[str]:
        """Every hub not received in valid form and every stray entry, one Danish line each."""
        lines = []
        for h in self.hubs:
            if h.state == MISSING:
                lines.append(f"{h.name}: ikke modtaget (ingen fil for {self.year})")
            elif h.state == REFUSED:
                lines += [f"{h.name}: {REFUSED}: {p}" for p in h.problems]
        lines += [f"{s.path}: {s.reason}" for s in self.strays]
        return lines


@dataclass(frozen=True)
class _Candidate:
    path: Path
    relpath: str
    contract: str
    version: int


def read_submissions(folder: Path, framework: Framework, year: int) -> Received:
    """Every hub's submission for ``year`` in ``folder`` (see the module)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SubmissionsError(f"Mappen med indberetninger {folder} findes ikke")
    slugs = {h.slug: h for h in framework.hubs}
    strays: list[Stray] = []
    candidates: dict[str, list[_Candidate]] = {slug: [] for slug in slugs}
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and entry.name in slugs:
            strays += _hub_folder(entry, year, candidates[entry.name])
        elif entry.is_dir():
            strays.append(
                Stray(
                    f"{entry.name}/",
                    f"ukendt mappe; husenes mapper er {listed(sorted(slugs))}",
                )
            )
        else:
            strays.append(Stray(entry.name, "ligger uden for husenes mapper og læses ikke"))
    hubs = []
    for index, hub in enumerate(framework.hubs):
        chosen, others = _contracts(hub, index, candidates[hub.slug], year)
        strays += others
        hubs.append(chosen)
    return Received(year, framework, folder, tuple(_unique_names(hubs)), tuple(strays))


def _hub_folder(folder: Path, year: int, found: list[_Candidate]) -> list[Stray]:
    strays = []
    for entry in sorted(folder.iterdir()):
        relpath = f"{folder.name}/{entry.name}"
        if entry.is_dir():
            strays.append(Stray(f"{relpath}/", "en mappe i husets mappe læses ikke"))
            continue
        match = FILE_NAME.fullmatch(entry.name)
        if match is None:
            if not OTHER_SUBMISSION.fullmatch(entry.name):
                strays.append(
                    Stray(relpath, f"filnavnet følger ikke mønstret {PATTERN} og læses ikke")
                )
            continue
        if int(match["year"]) == year:
            found.append(_Candidate(entry, relpath, match["contract"], int(match["version"])))
    return strays


def _contracts(
    hub: Hub, index: int, found: list[_Candidate], year: int
) -> tuple[HubSubmission, list[Stray]]:
    """The hub's submission from the files of the year: one contract's highest version."""
    strays = []
    if hub.contracts:
        strays = [
            Stray(c.relpath, f"kontrakten {c.contract} er ikke husets kontrakt i rammeaftalefilen")
            for c in found
            if c.contract not in hub.contracts
        ]
        found = [c for c in found if c.contract in hub.contracts]
    if not found:
        return HubSubmission(hub, MISSING), strays
    contracts = sorted({c.contract for c in found})
    if len(contracts) > 1:
        problem = (
            f"{hub.slug}/ har indberetninger for {year} fra flere kontrakter ({listed(contracts)}); "
            f"rammeaftalefilen skal angive husets kontrakt (hubs[{index}].contracts)"
        )
        return HubSubmission(hub, REFUSED, problems=(problem,)), strays
    ordered = sorted(found, key=lambda c: c.version)
    counted = ordered[-1]
    superseded = tuple(c.relpath for c in ordered[:-1])
    return _read(hub, counted, year, superseded), strays


def _read(hub: Hub, counted: _Candidate, year: int, superseded: tuple[str, ...]) -> HubSubmission:
    try:
        data = counted.path.read_bytes()
    except OSError as exc:
        problem = f"{counted.relpath}: filen kan ikke læses ({exc.strerror})"
        return HubSubmission(hub, REFUSED, counted.relpath, problems=(problem,))
    sha256 = hashlib.sha256(data).hexdigest()
    found = _located(findings(RESULTATOPFYLDELSE, data))
    rows: list[Row] = []
    organisation = None
    if not found:
        records = _records(data)
        found = _rule_problems(records, counted, year)
        if not found:
            rows = [_row(r) for r in records]
            organisation = records[0]["Organisation"]
    if found:
        shown = [f"{counted.relpath}, {p}" for p in found[:SHOWN_PROBLEMS]]
        if len(found) > SHOWN_PROBLEMS:
            shown.append(f"{counted.relpath}: og {len(found) - SHOWN_PROBLEMS} fejl mere")
        return HubSubmission(
            hub, REFUSED, counted.relpath, problems=tuple(shown), superseded=superseded,
            sha256=sha256,
        )  # fmt: skip
    return HubSubmission(
        hub,
        RECEIVED,
        counted.relpath,
        organisation,
        {r.kpi_id: r for r in rows},
        superseded=superseded,
        sha256=sha256,
    )


# frictionless's findings on the header's labels, which the header's own finding says at once
LABEL_ERRORS = {"missing-label", "extra-label", "incorrect-label", "blank-label", "duplicate-label"}


def _located(found: list[Finding]) -> list[str]:
    """The findings in Danish with line and column; a wrong header row said once."""
    if any(f.code == "header" for f in found):
        found = [f for f in found if f.code not in LABEL_ERRORS]
    return [f.located for f in sorted(found, key=lambda f: f.line or 0)]


def _records(data: bytes) -> list[dict[str, Any]]:
    """The data rows of a valid file as dicts by column, each with its physical line."""
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITER)
    next(reader)  # the header, exactly RESULT_COLUMNS (validated)
    records = []
    line = reader.line_num + 1
    for cells in reader:
        records.append({"line": line, **dict(zip(RESULT_COLUMNS, cells, strict=True))})
        line = reader.line_num + 1
    return records


def _rule_problems(records: list[dict[str, Any]], c: _Candidate, year: int) -> list[str]:
    """What the table schema cannot say: the file is the year's and the contract's its name
    says, from one organisation, a withheld row shows no figure, and it has rows."""
    if not records:
        return ["linje 2: filen har ingen rækker (én række pr. målepunkt)"]
    problems = []
    organisation = records[0]["Organisation"]
    for r in records:
        where = f"linje {r['line']}"
        if r["År"] != str(year):
            problems.append(f"{where}, kolonne 'År': {r['År']!r} er ikke filnavnets år {year}")
        if r["Kontrakt"] != c.contract:
            problems.append(
                f"{where}, kolonne 'Kontrakt': {r['Kontrakt']!r} er ikke filnavnets kontrakt "
                f"{c.contract!r}"
            )
        if r["Organisation"] != organisation:
            problems.append(
                f"{where}, kolonne 'Organisation': {r['Organisation']!r} er ikke den samme som "
                f"på linje {records[0]['line']} ({organisation!r})"
            )
        if r["Diskretioneret"] == YES:
            for column in ("Resultat", "Nedre 95 %", "Øvre 95 %"):
                if r[column]:
                    problems.append(
                        f"{where}, kolonne {column!r}: et diskretioneret tal skal være tomt "
                        "(Diskretioneret = Ja)"
                    )
    return problems


def _decimal(cell: str) -> Decimal | None:
    if not cell:
        return None
    try:
        return Decimal(cell.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the schema has checked the syntax
        raise ValueError(f"{cell!r} is no number") from None


def _row(r: dict[str, Any]) -> Row:
    return Row(
        line=r["line"],
        kpi_id=r["Mål-ID"],
        name=r["Målepunkt"],
        unit=r["Enhed"],
        value=_decimal(r["Resultat"]),
        target=_decimal(r["Målværdi"]),
        operator=r["Operator"] or None,
        status=r["Status"],
        uncertain=None if not r["Usikker"] else r["Usikker"] == YES,
        n=int(r["Grundlag"]) if r["Grundlag"] else None,
        low=_decimal(r["Nedre 95 %"]),
        high=_decimal(r["Øvre 95 %"]),
        withheld=r["Diskretioneret"] == YES,
        reckoning=r["Opgørelse"],
        remark=r["Bemærkning"] or None,
    )


def _unique_names(hubs: list[HubSubmission]) -> list[HubSubmission]:
    """Each hub under its own name: a file whose ``Organisation`` is another hub's name (or
    the pooled row's) keeps it with its folder added, so no two rows of a measure share one."""
    taken = {ALL_HUBS}
    unique = []
    for h in hubs:
        if h.name in taken:
            h = replace(h, organisation=f"{h.name} ({h.hub.slug})")
        taken.add(h.name)
        unique.append(h)
    return unique
