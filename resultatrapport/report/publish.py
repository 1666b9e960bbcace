"""Output files and the sign-off record: names, versions, the signer, and publishing a
signed version whole or not at all.

Layout (``shared/formats/submissions.md``)::

    <out>/<contract-id>/<YYYY>/aarsrapport_<id>_<YYYY>_udkast.pdf   latest draft (replaced)
    <out>/<contract-id>/<YYYY>/aarsrapport_<id>_<YYYY>_v<N>.pdf      signed version N (once)
    <out>/<contract-id>/<YYYY>/resultatopfyldelse_<id>_<YYYY>_v<N>.csv
    <out>/<contract-id>/<YYYY>/kommunefordeling_<id>_<YYYY>_v<N>.csv
    <out>/<contract-id>/<YYYY>/<report file's stem>_datakvalitet_intern.html

The last is the internal data-quality appendix (:mod:`resultatrapport.report.quality`) of the
draft, and of each signed version: for the people who run the pipeline and the signer, never
sent to a recipient and no submission. A signed version's is published, recorded and verified
with the version's other files.

A draft is replaced atomically (temporary file + rename). A signed version is published by
:func:`publish_version` in four steps: its files are written, read-only and flushed to disk,
into a temporary folder ``.signoff-v<N>.tmp`` in the year folder; each is hard-linked into
place (never replacing a file); the sign-off is recorded in the warehouse; the temporary
folder is removed. The record is what makes a version signed: at the next start,
:func:`recover` finishes a version whose temporary folder is left and that is recorded, and
takes back the files of one that is not, so a killed sign-off leaves the whole recorded
version or no trace. :func:`integrity_problems` compares the files on disk with the SHA-256
the record holds. Nothing here knows Dagster.

One sign-off of a contract year runs at a time, on every backend: the whole of it, from
reading the data and deciding the version to the record and the temporary folder removed,
holds the year's sign-off lock (:func:`signoff_lock`), and so does :func:`recover`, which
therefore never meets the temporary folder of a live sign-off. Another sign-off of the year
meanwhile is refused at once with :class:`SignOffBusy`. Should a second one get past the lock
all the same, a version is still made once: its files are linked, never replaced, and
:func:`record_signoff` refuses a second record of a version (:class:`VersionTaken`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from resultatrapport import lake
from resultatrapport.report.danish import long_date
from resultatrapport.report.files import fsync_directory, write_new
from resultatrapport.warehouse_tx import transaction, write_attempts

READ_ONLY = 0o444  # a signed file is never changed, by the pipeline or by hand
STAGING = re.compile(r"\.signoff-v(\d+)\.tmp")

SIGNOFFS_DDL = """
CREATE TABLE IF NOT EXISTS report.signoffs (
    contract VARCHAR NOT NULL, year INTEGER NOT NULL, version INTEGER NOT NULL,
    signed_by VARCHAR NOT NULL, signed_at TIMESTAMP NOT NULL, data_hash VARCHAR NOT NULL,
    draft_sha256 VARCHAR NOT NULL, files JSON NOT NULL, run_id VARCHAR, snapshot BIGINT,
    signed_role VARCHAR
)"""
DRAFTS_DDL = """
CREATE TABLE IF NOT EXISTS report.drafts (
    contract VARCHAR NOT NULL, year INTEGER NOT NULL, data_hash VARCHAR NOT NULL,
    pdf_sha256 VARCHAR NOT NULL, pages INTEGER NOT NULL, path VARCHAR NOT NULL,
    blocking_failures JSON NOT NULL, rendered_at TIMESTAMP NOT NULL, run_id VARCHAR,
    parts JSON, drawn_from VARCHAR
)"""
# no PRIMARY KEY on either table: a DuckLake warehouse has no key constraints (one version is
# made once because its files are linked, never replaced; a draft's row is replaced in a
# transaction). A file warehouse made before keeps its keys.


class SignOffRefused(Exception):
    """A sign-off that must not happen; the message says why, in Danish."""


class SignOffBusy(SignOffRefused):
    """Another sign-off of the same contract year is under way, or made the version this one
    was making; nothing of this one is left. The message is one Danish sentence."""

    def __init__(self, contract_id: str, year: int, made: int | None = None) -> None:
        if made is None:
            said = "er i gang; prøv igen, når den er færdig"
        else:
            said = f"har lavet v{made} imens; denne godkendelse er ikke gennemført"
        super().__init__(f"En anden godkendelse af {contract_id} {year} {said}.")
        self.made = made


class VersionTaken(Exception):
    """A version is recorded already: a second record of it is refused."""

    def __init__(self, version: int) -> None:
        super().__init__(f"v{version} is recorded already")
        self.version = version


def signoff_lock(
    con: duckdb.DuckDBPyConnection, contract_id: str, year: int
) -> contextlib.AbstractContextManager[bool]:
    """The sign-off lock of a contract year on the warehouse of ``con``, tried once: the block
    gets True when it holds it, False when another sign-off (or recovery) of the year does
    (:func:`resultatrapport.lake.exclusive`; a contract id is lower-case letters, digits and
    hyphens)."""
    return lake.exclusive(con, f"signoff-{contract_id}-{year}")


# --- the signer ---------------------------------------------------------------------------------

NAME_LENGTH = (2, 80)
NAME_MARKS = frozenset(" -'’")  # besides letters: Anne-Marie O'Brien, Lucia D’Angelo
WHO = "Navnet på den, der godkender,"
ROLE_LENGTH = (2, 100)
ROLE_MARKS = NAME_MARKS | frozenset(".,")  # besides letters: konst. direktør, formand, HR
ROLE = "Den godkendendes rolle"


def signer_name(given: str) -> str:
    """The name of the person who signs off, as it goes into the report and the CSV, or
    :class:`SignOffRefused` saying in one Danish line why ``given`` is no person's name.

    A name is letters (any alphabet: æ, ø, å, é, ł, ...), spaces, hyphens and apostrophes,
    begins with a letter and is 2 to 80 characters long, once trimmed, with runs of
    whitespace made one space and accents composed (NFC). The refusal shows at most a short
    excerpt of what was given, digits masked: it may hold a CPR number or a formula."""
    return _signers(
        given,
        NAME_MARKS,
        NAME_LENGTH,
        missing="Godkendelse kræver navnet på den, der godkender (by).",
        marks="bogstaver, mellemrum, bindestreger og apostroffer",
        who=WHO,
        long="langt",
    )


def signer_role(given: str) -> str:
    """The role in which the person signs off (the contract makes e.g. the director
    answer for the report), as the signed report's cover and the sign-off record carry it
    beside the name, or :class:`SignOffRefused` saying in one Danish line why ``given`` is
    none. The submission CSVs carry the name alone (``Godkendt af``).

    Like a name (:func:`signer_name`), with full stops and commas besides (``konst.
    direktør``, ``formand, bestyrelsen``), 2 to 100 characters long; required: an empty one
    is refused, not left out."""
    return _signers(
        given,
        ROLE_MARKS,
        ROLE_LENGTH,
        missing="Godkendelse kræver den godkendendes rolle (role), fx direktør.",
        marks="bogstaver, mellemrum, bindestreger, apostroffer, punktummer og kommaer",
        who=ROLE,
        long="lang",
    )


def _signers(
    given: str,
    allowed: frozenset[str],
    length: tuple[int, int],
    *,
    missing: str,
    marks: str,
    who: str,
    long: str,
) -> str:
    """``given`` trimmed, whitespace collapsed and accents composed, if it is letters and
    ``allowed`` marks beginning with a letter, of ``length``; else :class:`SignOffRefused`
    in one Danish line (``missing`` when it is empty; ``who`` its subject, ``marks`` the
    marks allowed in words, ``long`` the gender of »lang«)."""
    text = " ".join(unicodedata.normalize("NFC", given).split())
    if not text:
        raise SignOffRefused(missing)
    bad = next((i for i, c in enumerate(text) if not (c.isalpha() or c in allowed)), None)
    if bad is None and not text[0].isalpha():
        bad = 0
    if bad is not None:
        raise SignOffRefused(
            f"{who} må kun bestå af {marks} og skal begynde med et bogstav; afvist ved "
            f"»{_excerpt(text, bad)}«."
        )
    shortest, longest = length
    if not shortest <= len(text) <= longest:
        raise SignOffRefused(
            f"{who} skal være {shortest} til {longest} tegn {long} (det angivne har {len(text)})."
        )
    return text


def _excerpt(text: str, at: int, width: int = 6) -> str:
    """A few characters around ``text[at]``, digits masked and unprintable ones shown as ?."""
    start, end = max(0, at - width), at + width
    shown = "".join("#" if c.isdigit() else c if c.isprintable() else "?" for c in text[start:end])
    return ("…" if start else "") + shown + ("…" if end < len(text) else "")


def ensure_report_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS report")
    con.execute(SIGNOFFS_DDL)
    con.execute(DRAFTS_DDL)
    # the lake snapshot a version was signed on (NULL on a file warehouse and before)
    con.execute("ALTER TABLE report.signoffs ADD COLUMN IF NOT EXISTS snapshot BIGINT")
    # the signer's role beside the name (NULL in the records made before it was asked for)
    con.execute("ALTER TABLE report.signoffs ADD COLUMN IF NOT EXISTS signed_role VARCHAR")
    # what the draft shows, in named parts with their fingerprints (content.data_parts)
    con.execute("ALTER TABLE report.drafts ADD COLUMN IF NOT EXISTS parts JSON")
    # everything the draft shows but its date (resultatrapport.report.draft.drawn_from)
    con.execute("ALTER TABLE report.drafts ADD COLUMN IF NOT EXISTS drawn_from VARCHAR")


def year_dir(out: Path, contract_id: str, year: int) -> Path:
    return out / contract_id / str(year)


def draft_name(contract_id: str, year: int) -> str:
    return f"aarsrapport_{contract_id}_{year}_udkast.pdf"


def appendix_name(report_name: str) -> str:
    """The internal data-quality appendix of a report file: beside it, with its stem."""
    return f"{report_name.removesuffix('.pdf')}_datakvalitet_intern.html"


def version_names(contract_id: str, year: int, version: int) -> dict[str, str]:
    """The files of a signed version: the report, the submissions (by kind) and the internal
    data-quality appendix (``appendix``, no submission)."""
    report = f"aarsrapport_{contract_id}_{year}_v{version}.pdf"
    return {
        "report": report,
        "resultatopfyldelse": f"resultatopfyldelse_{contract_id}_{year}_v{version}.csv",
        "kommunefordeling": f"kommunefordeling_{contract_id}_{year}_v{version}.csv",
        "appendix": appendix_name(report),
    }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SignOff:
    version: int
    signed_by: str
    signed_at: dt.datetime
    data_hash: str
    draft_sha256: str
    files: dict[str, str]  # file name -> sha256
    snapshot: int | None = None  # the lake snapshot its data was read from (lake only)
    # the role the signer signed in (signer_role); None in a record made before it was asked
    signed_role: str | None = None


def signoffs(con: duckdb.DuckDBPyConnection, contract_id: str, year: int) -> dict[int, SignOff]:
    """Every recorded sign-off of a contract year, by version (oldest first)."""
    rows = con.execute(
        "SELECT version, signed_by, signed_at, data_hash, draft_sha256, files, snapshot, "
        "signed_role FROM report.signoffs WHERE contract = $c AND year = $y ORDER BY version",
        {"c": contract_id, "y": year},
    ).fetchall()
    return {r[0]: SignOff(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows}


def latest(signed: Mapping[int, SignOff]) -> SignOff | None:
    return signed[max(signed)] if signed else None


def signed_notice(signoff: SignOff) -> str:
    """Who signed a version, in what role, and when, in Danish (as the signed report's
    cover says it: "godkendt af Anne Jensen, direktør, den …"; the name alone for a record
    made before the role was asked for)."""
    when = long_date(signoff.signed_at.date())
    who = (
        f"{signoff.signed_by}, {signoff.signed_role}," if signoff.signed_role else signoff.signed_by
    )
    return f"v{signoff.version} er godkendt af {who} den {when}"


def signed_state(year: int, last: SignOff | None, data_hash: str) -> tuple[str, bool]:
    """Whether the latest signed version ``last`` shows the data of ``data_hash``, said in
    Danish, and whether it does (False too while nothing is signed)."""
    if last is None:
        return f"Ingen godkendt version af {year} endnu", False
    if last.data_hash == data_hash:
        return f"{signed_notice(last)} og er aktuel", True
    when = long_date(last.signed_at.date())
    return (
        f"v{last.version} (godkendt den {when}) er ikke længere aktuel: data er ændret; en ny "
        f"godkendelse giver v{last.version + 1}"
    ), False


def nothing_new(signoff: SignOff) -> str:
    """What a sign-off of data that ``signoff`` already shows says instead of signing."""
    return f"Intet nyt at godkende: {signed_notice(signoff)}"


# --- publishing a version: whole or not at all -------------------------------------------------


def staging_dir(directory: Path, version: int) -> Path:
    return directory / f".signoff-v{version}.tmp"


def publish_version(
    directory: Path, version: int, files: Mapping[str, bytes], record: Callable[[], None]
) -> None:
    """Publish a signed version's ``files`` (name -> bytes) in ``directory``, and call
    ``record`` (which records the sign-off in the warehouse) once all of them are in place.

    Cut off anywhere (an exception, or the process killed), the version is either recorded
    with all its files or, after :func:`recover` at the next start, gone without a trace. A
    link that fails (a file of that name exists: nothing is ever replaced) takes back the
    files already linked at once, and so does a ``record`` that refuses (:class:`VersionTaken`);
    a ``record`` that fails otherwise leaves the temporary folder for :func:`recover`, since
    only the warehouse knows whether the record was made. :class:`FileExistsError` when
    ``directory`` has a temporary folder or a file of the version already (made by another
    sign-off: the caller holds the year's :func:`signoff_lock`, so there is none)."""
    staging = stage_version(directory, version, files)
    try:
        link_staged(directory, staging)
    except BaseException:
        withdraw(directory, staging)
        raise
    try:
        record()
    except VersionTaken:
        withdraw(directory, staging)
        raise
    discard_staging(staging)


def stage_version(directory: Path, version: int, files: Mapping[str, bytes]) -> Path:
    """Write every file of a version, read-only and flushed to disk, into its temporary
    folder in ``directory`` (which must not exist: leftovers are recovered first)."""
    directory.mkdir(parents=True, exist_ok=True)
    staging = staging_dir(directory, version)
    staging.mkdir()
    try:
        for name, data in files.items():
            write_new(staging / name, data, mode=READ_ONLY)
        fsync_directory(staging)
        fsync_directory(directory)
    except BaseException:
        discard_staging(staging)
        raise
    return staging


def link_staged(directory: Path, staging: Path) -> None:
    """Link each staged file to its name in ``directory``; :class:`FileExistsError` if a
    file of that name exists (it is never replaced)."""
    for path in sorted(staging.iterdir()):
        os.link(path, directory / path.name)
    fsync_directory(directory)


def discard_staging(staging: Path) -> None:
    shutil.rmtree(staging)
    fsync_directory(staging.parent)


def withdraw(directory: Path, staging: Path) -> None:
    """Take back a version that was not recorded: the files in ``directory`` that are links
    of its staged files (never a file of the same name from elsewhere), then the folder."""
    for path in sorted(staging.iterdir()):
        published = directory / path.name
        if published.exists() and os.path.samefile(published, path):
            published.unlink()
    fsync_directory(directory)
    discard_staging(staging)


def recover(directory: Path, signed: Mapping[int, SignOff]) -> list[str]:
    """Clear what sign-offs that were cut off left in ``directory``: a temporary folder of a
    recorded version (``signed``) is finished (missing links made) and removed, one of a
    version without a record is withdrawn. Returns what was done, one line per folder.

    Call it holding the year's :func:`signoff_lock`: a sign-off holds it from start to end,
    so a temporary folder found then belongs to no live sign-off."""
    done = []
    for staging, version in _stagings(directory):
        if version in signed:
            _link_missing(directory, staging)
            discard_staging(staging)
            done.append(f"v{version}: finished publishing a sign-off cut off after its record")
        else:
            withdraw(directory, staging)
            done.append(f"v{version}: removed the files of a sign-off cut off before its record")
    return done


def _stagings(directory: Path) -> list[tuple[Path, int]]:
    if not directory.is_dir():
        return []
    found = [(p, STAGING.fullmatch(p.name)) for p in directory.iterdir() if p.is_dir()]
    return sorted((p, int(m.group(1))) for p, m in found if m)


def _link_missing(directory: Path, staging: Path) -> None:
    for path in sorted(staging.iterdir()):
        if not os.path.lexists(directory / path.name):
            os.link(path, directory / path.name)
    fsync_directory(directory)


# --- verification ------------------------------------------------------------------------------


def integrity_problems(
    directory: Path,
    contract_id: str,
    year: int,
    signed: Iterable[SignOff],
    unrecorded: bool = True,
) -> list[str]:
    """What is wrong with the signed files in ``directory``, one Danish sentence naming the
    file each: a recorded file that is missing or whose content no longer has its recorded
    SHA-256, and (``unrecorded``: not while a sign-off of the year is under way and its files
    may be linked before their record) a file named like a signed version that no sign-off
    recorded."""
    by_version = sorted(signed, key=lambda s: s.version)
    problems = [
        problem
        for signoff in by_version
        for name, digest in sorted(signoff.files.items())
        if (problem := _file_problem(directory / name, digest, signoff.version))
    ]
    if not unrecorded:
        return problems
    recorded = {name for signoff in by_version for name in signoff.files}
    return problems + [
        f"Filen {name} ligner en godkendt fil, men ingen godkendelse har registreret den: "
        "flyt den ud af mappen."
        for name in _version_files(directory, contract_id, year)
        if name not in recorded
    ]


def _file_problem(path: Path, digest: str, version: int) -> str | None:
    if not path.is_file():
        return f"Den godkendte fil {path.name} (v{version}) mangler."
    with path.open("rb") as fh:
        if hashlib.file_digest(fh, "sha256").hexdigest() == digest:
            return None
    return (
        f"Den godkendte fil {path.name} (v{version}) er ændret efter godkendelsen: "
        "indholdet svarer ikke til det registrerede SHA-256."
    )


def _version_files(directory: Path, contract_id: str, year: int) -> list[str]:
    """Names in ``directory`` of the form of a signed version's files."""
    pattern = re.compile(rf"[a-z]+_{re.escape(contract_id)}_{year}_v\d+\.(pdf|csv)")
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if pattern.fullmatch(p.name))


def latest_draft(con: duckdb.DuckDBPyConnection, contract_id: str, year: int) -> dict[str, Any]:
    cursor = con.execute(
        "SELECT * FROM report.drafts WHERE contract = $c AND year = $y",
        {"c": contract_id, "y": year},
    )
    row = cursor.fetchone()
    if row is None:
        return {}
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def record_draft(
    con: duckdb.DuckDBPyConnection,
    contract_id: str,
    year: int,
    data_hash: str,
    pdf: bytes,
    pages: int,
    path: Path,
    failures: list[str],
    run_id: str | None,
    parts: Mapping[str, str] | None = None,
    drawn_from: str | None = None,
) -> None:
    values = {
        "c": contract_id,
        "y": year,
        "h": data_hash,
        "s": sha256(pdf),
        "p": pages,
        "path": str(path),
        "f": json.dumps(failures, ensure_ascii=False),
        "r": run_id,
        "parts": json.dumps(dict(parts or {}), ensure_ascii=False),
        "drawn": drawn_from,
    }
    for attempt in write_attempts():
        with attempt, transaction(con):
            con.execute(
                "DELETE FROM report.drafts WHERE contract = $c AND year = $y",
                {"c": contract_id, "y": year},
            )
            con.execute(
                "INSERT INTO report.drafts (contract, year, data_hash, pdf_sha256, pages, path, "
                "blocking_failures, rendered_at, run_id, parts, drawn_from) VALUES ($c, $y, $h, "
                "$s, $p, $path, $f, now()::TIMESTAMP, $r, $parts, $drawn)",
                values,
            )


def record_signoff(
    con: duckdb.DuckDBPyConnection,
    contract_id: str,
    year: int,
    signoff: SignOff,
    run_id: str | None,
) -> None:
    """Record a sign-off; :class:`VersionTaken` (nothing recorded) when its version is
    recorded already: the check and the insert are one transaction, on a lake in the write
    turn, so no two records of one version are ever made (the tables have no keys)."""
    for attempt in write_attempts():
        with attempt, transaction(con):
            [(taken,)] = con.execute(
                "SELECT count(*) FROM report.signoffs WHERE contract = $c AND year = $y "
                "AND version = $v",
                {"c": contract_id, "y": year, "v": signoff.version},
            ).fetchall()
            if taken:
                raise VersionTaken(signoff.version)
            con.execute(
                "INSERT INTO report.signoffs (contract, year, version, signed_by, signed_at, "
                "data_hash, draft_sha256, files, run_id, snapshot, signed_role) "
                "VALUES ($c, $y, $v, $by, $at, $h, $d, $f, $r, $s, $role)",
                {
                    "c": contract_id,
                    "y": year,
                    "v": signoff.version,
                    "by": signoff.signed_by,
                    "at": signoff.signed_at,
                    "h": signoff.data_hash,
                    "d": signoff.draft_sha256,
                    "f": json.dumps(signoff.files),
                    "r": run_id,
                    "s": signoff.snapshot,
                    "role": signoff.signed_role,
                },
            )
