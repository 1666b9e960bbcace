"""A delivery ingested for a range of years, and the report owner's texts, as domain rules.

:func:`ingest_delivery` is the whole ingestion of one source (and organisation) for the
years given: it lists the inbox's files that are no delivery, then for each year stages the
delivery (:mod:`resultatrapport.ingest`), refuses it where it must not replace the year's
rows (a misnamed file beside it, a file that vanished or holds no rows), validates it with
Great Expectations (:mod:`resultatrapport.gx`), decides whether it can be trusted
(:func:`trust`: no duplicate ids, no more bad rows than the threshold) and then commits the
year's raw rows, clean rows, quarantine, delivery record and check outcomes in one
transaction, or records only the failed check outcomes against the file, leaving the rows as
they were. :func:`ingest_texts` does the same for the report owner's texts
(:mod:`resultatrapport.texts`).

A year whose file is the one already judged is not read again (:meth:`_YearSteps.unchanged`):
the same content (SHA-256, hashed without parsing), judged by the same rules
(:func:`format_version`), with no misnamed file beside it, and, where it was trusted, the
file the partition holds. Its result is the recorded one, marked :attr:`YearIngested.unchanged`;
nothing is read, validated or written. The hash is read from the file only where it changed
since it was hashed (:func:`resultatrapport.file_hashes.content_sha256`), so a nightly run
over an inbox where nothing changed reads no delivery at all. The years to read are read,
validated and written under their delivery locks (:func:`delivery_lock`, waited for), and
judged again once they are held: runs that start together on one warehouse (six hubs' runs,
all reading the same registers) read each delivery once, and the others find what the first
recorded unchanged.

Both return plain results, one per year (:class:`YearIngested`, :class:`TextsIngested`):
what was read, each check's outcome, and whether the delivery was taken and why not.
Nothing here knows Dagster: the ingestion assets turn these results into materialisations,
asset-check evaluations and a failure naming the years not taken; a script can run the
same ingestion with a DuckDB connection alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from resultatrapport import lake, texts
from resultatrapport.checks_table import record_checks, recorded_checks
from resultatrapport.contracts import Contract
from resultatrapport.file_hashes import content_sha256
from resultatrapport.formats import SourceFormat
from resultatrapport.gx import RuleOutcome, validate, validate_years
from resultatrapport.ingest import (
    CleanResult,
    commit_delivery,
    delivery_refusal,
    drop_content,
    hold_stage,
    record_inbox,
    recorded_delivery,
    restore_stage,
    stage,
    stage_content,
    stage_year,
    staged_frame,
    staged_years_frame,
)
from resultatrapport.inventory import listed, strays_for, texts_refusal
from resultatrapport.reader import Delivery, SourceError
from resultatrapport.rules import BLOCKING_RULES, ENTRY_RULES
from resultatrapport.version import code_identity

# the two checks on every delivery: the rows against the format's rules (warns), and whether
# the file can be trusted at all (blocking)
ROWS_VALID = "rows_valid"
FILE_TRUSTWORTHY = "file_trustworthy"

# the largest share of a delivery's rows that may break a rule before the file is not trusted
MAX_QUARANTINED_SHARE = 0.05

# the most staged rows validated together: a first run's partitions were validated one by
# one, about 0.3 s of GX each whatever their rows (thirty at scale 1); a year of the largest
# deliveries at scale 100 is over this alone and is validated on its own, as before
BATCH_ROWS = 500_000


class InboxMissing(FileNotFoundError):
    """The inbox folder does not exist: a wrong inbox must never read as every delivery
    missing (which would replace each year's rows with none)."""

    def __init__(self, inbox: Path) -> None:
        super().__init__(f"Indbakken {inbox} findes ikke; intet er læst eller ændret.")


@dataclass(frozen=True)
class CheckOutcome:
    """A check's outcome on one year's delivery, as recorded in ``ingest.checks``."""

    name: str
    passed: bool
    blocking: bool
    summary: str  # Danish; the draft quotes a failed blocking check's summary

    def row(self) -> tuple[str, bool, bool, str]:
        return self.name, self.passed, self.blocking, self.summary


@dataclass(frozen=True)
class Trust:
    """Whether a validated delivery can be trusted: no duplicate ids, and no larger share
    of its rows breaking a rule than the threshold (a row whose only fault is an unknown
    entry of a list stays in use, and does not count)."""

    rows: int  # rows validated
    failing: int  # rows breaking a rule that takes them out of use
    share: float
    threshold: float
    problems: list[str]  # why it cannot be trusted, Danish (empty: it can)
    duplicates: dict[str, list[dict[str, Any]]]  # column -> examples of its duplicated ids

    @property
    def trusted(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        """The problems as the check records them (a Markdown list; empty when trusted)."""
        return "\n".join(f"- {p}" for p in self.problems)


def trust(outcomes: list[RuleOutcome], rows: int, max_share: float) -> Trust:
    """The blocking verdict on a delivery from GX's outcome of each rule over its ``rows``."""
    # a duplicate makes the file untrustworthy by itself (BLOCKING_RULES); a row with an
    # unknown entry of a list (ENTRY_RULES) stays in use without the entry
    duplicates = [o for o in outcomes if o.kind in BLOCKING_RULES and not o.success]
    bad_lines = {
        line for o in outcomes if not o.success and o.kind not in ENTRY_RULES for line in o.lines
    }
    share = len(bad_lines) / rows if rows else 0.0
    problems = [f"{o.reason}: {o.unexpected_count} rækker" for o in duplicates]
    if share > max_share:
        problems.append(
            f"{len(bad_lines)} af {rows} rækker ({share:.1%}) kan ikke bruges; grænsen er {max_share:.0%}"
        )
    return Trust(
        rows=rows,
        failing=len(bad_lines),
        share=share,
        threshold=max_share,
        problems=problems,
        duplicates={str(o.column): o.examples for o in duplicates},
    )


@dataclass(frozen=True)
class Unreadable:
    """Where a delivery could not be read (the reader's located error)."""

    file: str
    line: int | None
    column: str | None
    message: str  # the whole located message, Danish


def format_version(fmt: SourceFormat, max_share: float) -> str:
    """The rules a delivery of ``fmt`` is judged by, as one hash: the format's declaration
    (the repr of its frozen dataclasses: path, header, types, personal columns, every rule),
    the largest share of bad rows a trusted file may have, and the code that reads, masks
    and validates (:func:`resultatrapport.version.code_identity`). Recorded with the check
    outcomes: a change of any of them reads and validates an unchanged file again."""
    text = repr((fmt, float(max_share), code_identity()))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Unchanged:
    """A year's delivery that was not read again: the file is the one judged at ``since``
    (``sha256``; None: still no file), by the same rules."""

    since: dt.datetime
    sha256: str | None


@dataclass(frozen=True)
class YearIngested:
    """What the ingestion did with one year of a delivery.

    ``delivery`` is what was read (None: the file could not be read, ``unreadable`` says
    where); ``checks`` the outcomes of ``rows_valid`` and ``file_trustworthy`` as recorded
    for the file; ``rules`` and ``trust`` GX's outcome of each rule and the verdict on them,
    where the delivery was validated (not for a file that is missing, refused before
    validation, or unreadable). ``refused`` says why the delivery was not taken (None: it
    was, or it is missing: a year never delivered is an empty partition); ``committed`` is
    how the partition's rows split once it was. ``unchanged``: the file was not read again
    (the same file judged by the same rules); ``checks`` and ``refused`` are the recorded
    ones, ``delivery`` the delivery record the partition holds (None where the file was
    not taken), and nothing else is set."""

    year: int
    file: str  # the delivery's path in the inbox
    checks: list[CheckOutcome]
    delivery: Delivery | None = None
    unreadable: Unreadable | None = None
    rules: list[RuleOutcome] | None = None
    trust: Trust | None = None
    refused: str | None = None
    committed: CleanResult | None = None
    unchanged: Unchanged | None = None

    @property
    def taken(self) -> bool:
        return self.refused is None

    @property
    def missing(self) -> bool:
        """Never delivered (and nothing delivered before: a vanished file is refused)."""
        return self.taken and self.delivery is not None and self.delivery.missing

    @property
    def trusted(self) -> bool:
        return self.check(FILE_TRUSTWORTHY).passed

    def check(self, name: str) -> CheckOutcome:
        return next(c for c in self.checks if c.name == name)


def _decided(rows_valid: bool, trustworthy: bool, summary: str) -> list[CheckOutcome]:
    """Both checks' outcomes where they were decided before validation, with one summary."""
    return [
        CheckOutcome(ROWS_VALID, rows_valid, False, summary),
        CheckOutcome(FILE_TRUSTWORTHY, trustworthy, True, summary),
    ]


def _rows(checks: list[CheckOutcome]) -> list[tuple[str, bool, bool, str]]:
    return [c.row() for c in checks]


def _readable(root: Path, relpath: str) -> bool:
    """A regular file inside the inbox under exactly that name (never hash what a link out
    of it points to, nor a file the inventory lists as a stray)."""
    path = root / relpath
    inside = path.is_file() and path.resolve().is_relative_to(root.resolve())
    return inside and listed(root, relpath)


def ingest_delivery(
    con: duckdb.DuckDBPyConnection,
    fmt: SourceFormat,
    org: str | None,
    inbox: Path,
    years: Iterable[int],
    *,
    max_share: float = MAX_QUARANTINED_SHARE,
    run_id: str | None = None,
    reading: Callable[[], None] | None = None,
) -> list[YearIngested]:
    """Ingest the delivery of ``fmt`` (of organisation ``org``; None for a register) for each
    of ``years``, each year replaced in its own transaction, and say what was done, year by
    year in order (see the module's docstring). ``max_share``: the share of bad rows above
    which a file is not trusted; ``run_id`` is recorded with the rows and checks;
    ``reading`` is called once before the first file is read (not at all when no year needs
    reading), e.g. to import the validation meanwhile."""
    if not inbox.is_dir():
        raise InboxMissing(inbox)
    record_inbox(con, inbox)
    steps = _YearSteps(con, fmt, org, inbox, max_share, run_id, reading)
    return steps.run(list(years))


def delivery_lock(fmt: SourceFormat, org: str | None, year: int) -> str:
    """The name of the lock a year's delivery is read, validated and written under
    (:func:`resultatrapport.lake.exclusive_waited`): one per source, organisation (a
    register: none) and year, as its check outcomes are recorded."""
    return f"delivery-{fmt.name}-{org or 'register'}-{year}"


def delivery_unchanged(
    con: duckdb.DuckDBPyConnection,
    fmt: SourceFormat,
    org: str | None,
    inbox: Path,
    year: int,
    *,
    max_share: float = MAX_QUARANTINED_SHARE,
) -> bool:
    """Whether :func:`ingest_delivery` would leave the year's delivery as it is, reading,
    validating and writing nothing (the same judgement, :meth:`_YearSteps.unchanged`, and
    nothing written to tell): what a schedule asks before it launches a run."""
    return _YearSteps(con, fmt, org, inbox, max_share, None).unchanged(year) is not None


class _YearSteps:
    """The ingestion's work for each year of a range on one connection. A year-less
    register (:attr:`SourceFormat.yearless`) is read once and, where its rules do not depend
    on the year, validated once; each year's partition is filled from that one staged copy.
    A file per year is read per year, and the years are validated together
    (:meth:`batched`)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        fmt: SourceFormat,
        org: str | None,
        root: Path,
        max_share: float,
        run_id: str | None,
        reading: Callable[[], None] | None = None,
    ) -> None:
        self.con, self.fmt, self.org, self.root = con, fmt, org, root
        self.max_share, self.run_id = max_share, run_id
        self.reading = reading
        self.version = format_version(fmt, max_share)
        self.content: Delivery | None = None
        self.validated: tuple[list[RuleOutcome], int] | None = None
        self.hashes: dict[str, str] = {}

    def run(self, years: list[int]) -> list[YearIngested]:
        """Each year's result, in order. The years to read are read under their delivery
        locks (:func:`delivery_lock`), waited for: another process ingesting the same
        delivery meanwhile (six hubs' runs reading the same register at once) is let finish,
        and what it recorded is then judged again, so a delivery is read, validated and
        written once per warehouse, and the later runs find it unchanged."""
        kept = {year: self.unchanged(year) for year in years}
        todo = [year for year in years if kept[year] is None]
        if not todo:
            return [k for k in kept.values() if k is not None]
        names = [delivery_lock(self.fmt, self.org, year) for year in todo]
        with lake.exclusive_waited(self.con, names):
            kept |= {year: self.unchanged(year) for year in todo}
            if self.fmt.yearless:
                return list(self.whole(years, kept))
            return list(self.batched(years, kept))

    def whole(
        self, years: list[int], kept: dict[int, YearIngested | None]
    ) -> Iterator[YearIngested]:
        """A year-less register's years: read only when one of them needs it."""
        if all(kept.values()):
            yield from (k for k in kept.values() if k is not None)
            return
        self.will_read()
        try:
            self.content = stage_content(self.con, self.fmt, self.root)
        except SourceError as exc:
            for year in years:
                yield kept[year] or self.unreadable(year, exc)
            return
        try:
            for year in years:
                yield kept[year] or self.year(year)
        finally:
            drop_content(self.con)

    def will_read(self) -> None:
        if self.reading is not None:
            self.reading()
            self.reading = None

    def sha(self, relpath: str) -> str:
        """The file's SHA-256 (a year-less register's once per run)."""
        if relpath not in self.hashes:
            self.hashes[relpath] = content_sha256(self.root / relpath)
        return self.hashes[relpath]

    def unchanged(self, year: int) -> YearIngested | None:
        """The year's result as recorded, where its delivery need not be read again: the
        file has the content (SHA-256) the partition's recorded check outcomes are about (or
        there is still no file), they were decided by the same rules (:func:`format_version`;
        an outcome that rests on more than the file, such as a misnamed file beside it, has
        none and is always decided again), no misnamed file lies beside it now, and a trusted
        file is the one the partition holds. A file judged untrusted stays refused with its
        recorded reason. None: read it."""
        fmt, org = self.fmt, self.org
        relpath = fmt.relpath(year, org)
        if not listed(self.root, relpath):  # no file, as the reader sees it
            sha = None
        elif _readable(self.root, relpath):
            sha = self.sha(relpath)
        else:
            return None
        recorded = {c.name: c for c in recorded_checks(self.con, fmt.name, org, year)}
        if set(recorded) != {ROWS_VALID, FILE_TRUSTWORTHY} or any(
            c.sha256 != sha or c.format_version != self.version for c in recorded.values()
        ):
            return None
        if strays_for(self.root, fmt, year, org):
            return None
        checks = [
            CheckOutcome(c.name, c.passed, c.blocking, c.summary)
            for c in (recorded[ROWS_VALID], recorded[FILE_TRUSTWORTHY])
        ]
        verdict = recorded[FILE_TRUSTWORTHY]
        if not verdict.passed:
            why = verdict.summary or "filen er ikke troværdig"
            refused = why if why.startswith(relpath) else f"{relpath} tages ikke ind: {why}"
            since = max(c.checked_at for c in recorded.values())
            return YearIngested(
                year, relpath, checks, refused=refused, unchanged=Unchanged(since, sha)
            )
        held = recorded_delivery(self.con, fmt, year, org)
        if held is None or held[0].sha256 != sha:
            return None
        delivery, read_at = held
        return YearIngested(year, relpath, checks, delivery, unchanged=Unchanged(read_at, sha))

    def stage(self, year: int) -> Delivery:
        if self.content is None:
            self.will_read()
            return stage(self.con, self.fmt, self.root, year, self.org)
        return stage_year(self.con, self.fmt, self.content, year)

    def unreadable(self, year: int, exc: SourceError) -> YearIngested:
        """Nothing of the file is taken; the outcome is recorded against it, and a file that
        cannot be read will not read on a retry either."""
        relpath = self.fmt.relpath(year, self.org)
        sha = content_sha256(self.root / relpath) if _readable(self.root, relpath) else None
        checks = _decided(False, False, str(exc))
        record_checks(
            self.con, self.fmt.name, self.org, year, _rows(checks), sha, self.run_id, self.version
        )
        where = Unreadable(exc.file, exc.line, exc.column, str(exc))
        return YearIngested(year, relpath, checks, unreadable=where, refused=str(exc))

    def batched(
        self, years: list[int], kept: dict[int, YearIngested | None]
    ) -> Iterator[YearIngested]:
        """Each year staged in turn and held (:func:`hold_stage`); the held years validated
        together in one GX validation once they hold :data:`BATCH_ROWS` rows (or at the
        end), then each committed in its own transaction. The years come back in order."""
        done: dict[int, YearIngested] = {}
        held: list[tuple[int, Delivery, str]] = []
        rows = 0
        for year in years:
            taken = kept[year] or self.staged(year)
            if isinstance(taken, YearIngested):
                done[year] = taken
                continue
            held.append((year, taken, hold_stage(self.con, year)))
            rows += taken.rows_read
            if rows >= BATCH_ROWS:
                done |= self.validate_held(held)
                held, rows = [], 0
        done |= self.validate_held(held)
        for year in years:
            yield done[year]

    def validate_held(self, held: list[tuple[int, Delivery, str]]) -> dict[int, YearIngested]:
        if len(held) == 1:  # as one year is validated on its own
            year, delivery, table = held[0]
            restore_stage(self.con, table)
            return {year: self.validated_year(year, delivery, self.validate(year))}
        if not held:
            return {}
        frame = staged_years_frame(self.con, self.fmt, {y: t for y, _, t in held})
        outcomes = validate_years(self.fmt, frame, tuple(y for y, *_ in held))
        rows = frame["year"].value_counts()
        del frame
        done = {}
        for year, delivery, table in held:
            restore_stage(self.con, table)
            validated = outcomes[year], int(rows.get(year, 0))
            done[year] = self.validated_year(year, delivery, validated)
        return done

    def year(self, year: int) -> YearIngested:
        taken = self.staged(year)
        if isinstance(taken, YearIngested):
            return taken
        return self.validated_year(year, taken, self.validate(year))

    def staged(self, year: int) -> YearIngested | Delivery:
        """The year's delivery staged in ``_stage``, to be validated; or the year's result
        where there is nothing to validate (a file that cannot be read, is refused, or was
        never delivered)."""
        fmt, org, con = self.fmt, self.org, self.con
        relpath = fmt.relpath(year, org)
        try:
            delivery = self.stage(year)
        except SourceError as exc:
            return self.unreadable(year, exc)
        refusal = delivery_refusal(con, fmt, self.root, year, org, delivery)
        if refusal:  # rests on more than the file: decided again at every run (no version)
            checks = _decided(False, False, refusal)
            record_checks(con, fmt.name, org, year, _rows(checks), delivery.sha256, self.run_id)
            return YearIngested(year, relpath, checks, delivery, refused=f"{relpath}: {refusal}")
        if delivery.missing:
            checks = _decided(True, True, f"Ingen fil: {relpath}")
            committed = commit_delivery(
                con, fmt, year, org, delivery, _rows(checks), self.run_id, self.version
            )
            return YearIngested(year, relpath, checks, delivery, committed=committed)
        return delivery

    def validate(self, year: int) -> tuple[list[RuleOutcome], int]:
        """GX's outcomes for the staged year and its row count; a year-less register whose
        rules do not depend on the year is validated once for the whole run."""
        if self.validated is not None:
            return self.validated
        frame = staged_frame(self.con, self.fmt, year)
        outcomes = validate(self.fmt, frame, year), len(frame)
        if self.content is not None and not self.fmt.rules_per_year:
            self.validated = outcomes
        return outcomes

    def validated_year(
        self, year: int, delivery: Delivery, validated: tuple[list[RuleOutcome], int]
    ) -> YearIngested:
        fmt, org, con = self.fmt, self.org, self.con
        rules, rows = validated
        verdict = trust(rules, rows, self.max_share)
        failed_rules = [f"{o.reason} ({o.unexpected_count})" for o in rules if not o.success]
        checks = [
            CheckOutcome(ROWS_VALID, not failed_rules, False, "; ".join(failed_rules)),
            CheckOutcome(FILE_TRUSTWORTHY, verdict.trusted, True, verdict.summary),
        ]
        relpath = fmt.relpath(year, org)
        done = YearIngested(year, relpath, checks, delivery, rules=rules, trust=verdict)
        if verdict.trusted:
            committed = commit_delivery(
                con, fmt, year, org, delivery, _rows(checks), self.run_id, self.version
            )
            return replace(done, committed=committed)
        # the partition keeps its rows; the outcome is recorded against the new file
        record_checks(
            con, fmt.name, org, year, _rows(checks), delivery.sha256, self.run_id, self.version
        )
        why = verdict.summary or "filen er ikke troværdig"
        return replace(done, refused=f"{relpath} tages ikke ind: {why}")


# --- the report owner's texts --------------------------------------------------------------


@dataclass(frozen=True)
class TextsIngested:
    """What the ingestion did with one year's texts file of a contract: the outcome of its
    blocking check :data:`resultatrapport.texts.CHECK` (``passed``, ``summary``), the
    problems that failed it (each a Danish sentence), and, where it was taken, its hash and
    sections."""

    year: int
    file: str  # the texts file's path in the inbox
    passed: bool
    summary: str  # as recorded in ingest.checks
    problems: list[str] = field(default_factory=list)
    missing: bool = False  # no file (a year that had texts keeps them: a failed check)
    sha256: str = ""
    sections: list[str] = field(default_factory=list)  # the section ids written
    missing_required: list[str] = field(default_factory=list)  # titles of required ones not written
    # the stored texts were read from this very file then, with this outcome: nothing written
    unchanged_since: dt.datetime | None = None


def ingest_texts(
    con: duckdb.DuckDBPyConnection,
    inbox: Path,
    contract: Contract,
    years: Iterable[int],
    *,
    run_id: str | None = None,
) -> list[TextsIngested]:
    """Read, check and store the contract's texts of each of ``years``, each on its own: a
    file that cannot be used fails the check, and the year keeps the last good file's
    sections; a missing file is no error."""
    if not inbox.is_dir():
        raise InboxMissing(inbox)
    return [_texts_year(con, inbox, contract, year, run_id) for year in years]


def _sha(root: Path, relpath: str) -> str | None:
    return content_sha256(root / relpath) if _readable(root, relpath) else None


@dataclass(frozen=True)
class _TextsJudged:
    """A year's texts file as judged before anything is written: refused (``refusal``: the
    reason, its problems and the file's hash), or taken with its summary, the sections
    written and required ones missing, and when the stored texts were read from this very
    file (None: write it)."""

    refusal: tuple[str, list[str], str | None] | None = None
    delivery: texts.TextsDelivery | None = None
    summary: str = ""
    written: set[str] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)
    since: dt.datetime | None = None


def _judge_texts(
    con: duckdb.DuckDBPyConnection, root: Path, contract: Contract, year: int
) -> _TextsJudged:
    relpath = texts.relpath(contract, year)
    org = contract.organisation.slug
    # a corrected copy beside the file ('… (kopi).md') blocks, as a misnamed delivery does
    stray = texts_refusal(root, org, contract.id, year, relpath)
    if stray is not None:
        return _TextsJudged((stray, [stray], _sha(root, relpath)))
    try:
        delivery = texts.read(root, contract, year)
    except texts.TextsError as exc:
        return _TextsJudged((str(exc), exc.messages, _sha(root, relpath)))
    before, stored = texts.previous(con, contract, year)
    if delivery.missing and before:
        reason = (
            f"filen '{relpath}' er forsvundet fra indbakken; de {stored} afsnit fra "
            "den sidst læste fil bruges fortsat"
        )
        return _TextsJudged((reason, [reason], None))
    written = {s.id for s in delivery.sections}
    missing = [n.title for n in texts.missing_required(contract, {i: "x" for i in written})]
    if delivery.missing:
        summary = f"Ingen fil: {relpath}"
    else:
        summary = f"{len(written)} afsnit" + (f"; mangler: {', '.join(missing)}" if missing else "")
    since = texts.unchanged_since(con, contract, year, delivery, summary)
    return _TextsJudged(None, delivery, summary, written, missing, since)


def texts_unchanged(
    con: duckdb.DuckDBPyConnection, inbox: Path, contract: Contract, year: int
) -> bool:
    """Whether :func:`ingest_texts` would leave the year's texts as they are (a refusal is
    decided again at every run, so it is never unchanged); nothing is written to tell."""
    return inbox.is_dir() and _judge_texts(con, inbox, contract, year).since is not None


def _texts_year(
    con: duckdb.DuckDBPyConnection, root: Path, contract: Contract, year: int, run_id: str | None
) -> TextsIngested:
    relpath = texts.relpath(contract, year)
    judged = _judge_texts(con, root, contract, year)
    if judged.refusal is not None:
        reason, problems, sha = judged.refusal
        texts.refuse(con, contract, year, reason, sha, run_id)
        return TextsIngested(year, relpath, False, reason, problems)
    delivery, summary, written, missing = (
        judged.delivery,
        judged.summary,
        judged.written,
        judged.missing,
    )
    assert delivery is not None  # taken: read
    since = judged.since
    if since is None:
        texts.commit(con, contract, year, delivery, summary, run_id)
    return TextsIngested(
        year,
        relpath,
        True,
        summary,
        missing=delivery.missing,
        sha256=delivery.sha256 or "",
        sections=sorted(written),
        # other years have no report to show texts in
        missing_required=missing if year in contract.years else [],
        unchanged_since=since,
    )
