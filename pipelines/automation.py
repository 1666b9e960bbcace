"""Schedules and sensors: what runs unattended, and only what is missing or out of date.

- ``nightly_refresh`` (02:00 Europe/Copenhagen): ingests the current year's deliveries of
  every contract active this year that the ingestion would read again (judged as it judges,
  :func:`resultatrapport.ingestion.delivery_unchanged`, with nothing written); nothing new
  and every report standing is no run (:func:`pending_work`);
- ``january_final_drafts`` (2 January, 03:00): the same for last year's deliveries of every
  contract active last year, so its final draft is built from the final data (a draft drawn
  *Foreløbig* of a year now over is work pending: a run of the contract's texts alone lets
  the cascade draw it);
- ``inbox_sensor``: a new or replaced delivery (decided by content hash; a file touched but
  unchanged triggers nothing) re-ingests only the partitions it belongs to; the report
  owner's texts (``<org>/tekster/<contract-id>_<YYYY>.md``) are a delivery like the others;
- ``deadline_<contract>`` (07:00): the check that each year's report is signed by its
  reporting deadline, for the years whose warning window has opened;
- ``contracts_after_ingestion``: when an ingestion run succeeds, runs the contract jobs
  (KPIs to draft) for the contract years that read what it ingested, the effect KPIs' five
  years back included, and only those where the run read something they show anew or whose
  report has work missing or out of date (:func:`still_to_do`). A run whose blocking check
  failed triggers nothing: the KPIs are never computed on a delivery that cannot be trusted.

Where the warehouse cannot be read (a run holds the file's lock) the decisions fall back to
asking for everything, as before: each step still skips the work that stands.

The decisions are plain functions (``inbox_requests``, ``affected_contract_years``, …) so
they are tested without a daemon.

All of them start stopped unless ``running`` is passed (from ``$RESULTATRAPPORT_AUTOMATION``, see
:func:`resultatrapport.settings.automation_running`): production sets it, a data engineer's
``dg dev`` does not, and switches on in the UI only what they want to try.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_status_sensor,
    schedule,
    sensor,
)

from assets.common import UNCHANGED, spans
from assets.ingestion import ingest_key, raw_key
from assets.texts import texts_key
from resultatrapport import inventory, lake, settings
from resultatrapport import texts as owner_texts
from resultatrapport.contracts import Contract
from resultatrapport.file_hashes import content_sha256
from resultatrapport.formats import FORMATS, SourceFormat
from resultatrapport.ingestion import delivery_unchanged, texts_unchanged
from resultatrapport.inventory import shown_name
from resultatrapport.kpis.compute import partitions_read
from resultatrapport.naming import deadline_job_name, job_name
from resultatrapport.pending import contract_year_pending
from resultatrapport.report.danish import years_text
from resultatrapport.vocabulary import FIRST_YEAR, TIME_ZONE, TZ

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def this_year() -> int:
    return dt.datetime.now(TZ).year


def active(contracts: Iterable[Contract], year: int) -> list[Contract]:
    return [c for c in contracts if c.period.first <= year <= c.period.last]


def contract_sources(contract: Contract) -> list[tuple[str, str | None]]:
    """The (source, organisation) pairs a contract's assets read (registers: org None)."""
    return list(partitions_read(contract, contract.period.first))


def by_source(pairs: Iterable[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """(source, organisation) pairs in a stable order (registers, org None, first)."""
    return sorted(pairs, key=lambda p: (p[0], p[1] or ""))


def ingestion_keys(pairs: Iterable[tuple[str, str | None]]) -> list[AssetKey]:
    keys: list[AssetKey] = []
    for source, org in pairs:
        keys += [raw_key(FORMATS[source], org), ingest_key(FORMATS[source], org)]
    return keys


# --- nightly and January ---------------------------------------------------------------


T = TypeVar("T")


def judged(judge: Callable[[Any], T]) -> T | None:
    """``judge`` applied to a read-only connection to the warehouse; None where the
    warehouse cannot be read now: no file yet, a run holds the file's lock, or a file of an
    earlier version without a column the judgement reads (a run adds it). A lake
    (``$RESULTATRAPPORT_LAKE``) that cannot be reached is an error to see."""
    import duckdb

    where = lake.configured()  # a missing lake where one is required: the tick fails, saying so
    warehouse = settings.warehouse_path()
    if where is None and not warehouse.exists():
        return None
    try:
        con = lake.connect(warehouse, settings.duckdb_config(), where, True)
    except duckdb.Error:
        if where is not None:
            raise
        return None
    try:
        return judge(con)
    except (duckdb.CatalogException, duckdb.BinderException):
        return None
    finally:
        con.close()


@dataclass(frozen=True)
class Pending:
    """What a year's run would do that is not done: the (source, organisation) deliveries
    the ingestion would read again, the contracts whose texts file it would read again, and
    the contracts whose report of the year has work missing or out of date, with why."""

    deliveries: list[tuple[str, str | None]]
    texts: list[Contract]
    reports: dict[str, str]


def pending_work(con: Any, contracts: list[Contract], year: int, inbox: Path, out: Path) -> Pending:
    """The year's pending work of ``contracts``, judged as each step judges it before it
    works (:func:`resultatrapport.ingestion.delivery_unchanged`, ``texts_unchanged``,
    :func:`resultatrapport.pending.contract_year_pending`), with nothing written."""
    pairs = by_source({p for c in contracts for p in contract_sources(c)})
    deliveries = [
        (source, org)
        for source, org in pairs
        if not delivery_unchanged(con, FORMATS[source], org, inbox, year)
    ]
    texts = [c for c in contracts if not texts_unchanged(con, inbox, c, year)]
    reports = {}
    if not deliveries and not texts:  # else the cascade decides, after the ingestion
        for contract in contracts:
            if year in contract.years and (why := contract_year_pending(con, contract, year, out)):
                reports[contract.id] = why
    return Pending(deliveries, texts, reports)


def refresh_request(
    contracts: Iterable[Contract], year: int, why: str, pending: Pending | None = None
) -> RunRequest | SkipReason:
    """Ingest ``year`` for every contract active that year, where something is ``pending``
    (None: it could not be judged, so everything, and each step skips what stands); the
    cascade does the rest. A contract whose report has work pending while no delivery does
    gets a run of its texts alone, so that the cascade does that work; nothing pending at
    all is no run."""
    running = active(contracts, year)
    if not running:
        return SkipReason(f"No contract is active in {year}")
    tags = {"trigger": why, "contracts": ",".join(c.id for c in running)}
    if pending is None:
        pairs = by_source({p for c in running for p in contract_sources(c)})
        return RunRequest(
            partition_key=str(year),
            asset_selection=ingestion_keys(pairs) + [texts_key(c) for c in running],
            tags=tags,
        )
    texts = pending.texts + [c for c in running if c.id in pending.reports]
    if not pending.deliveries and not texts:
        return SkipReason(
            f"Nothing new for {year}: every delivery, texts file and report of "
            f"{', '.join(c.id for c in running)} stands as it is"
        )
    reports = "; ".join(f"{c}: {w}" for c, w in pending.reports.items())
    return RunRequest(
        partition_key=str(year),
        asset_selection=ingestion_keys(pending.deliveries)
        + [texts_key(c) for c in running if c in texts],
        tags={**tags, **({"pending": reports[:1000]} if reports else {})},
    )


def judged_refresh(contracts: Iterable[Contract], year: int, why: str) -> RunRequest | SkipReason:
    """:func:`refresh_request` with the pending work judged from the inbox, the warehouse
    and the output folder as they are now; everything where they cannot be read."""
    running = active(contracts, year)
    inbox, out = settings.inbox_dir(), settings.out_dir()
    pending = (
        judged(lambda con: pending_work(con, running, year, inbox, out))
        if running and inbox.is_dir()
        else None
    )
    return refresh_request(contracts, year, why, pending)


def _schedule_status(running: bool) -> DefaultScheduleStatus:
    return DefaultScheduleStatus.RUNNING if running else DefaultScheduleStatus.STOPPED


def _sensor_status(running: bool) -> DefaultSensorStatus:
    return DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED


def build_schedules(
    contracts: Mapping[str, Contract], job: Any, running: bool = False
) -> list[Any]:
    @schedule(
        name="nightly_refresh",
        cron_schedule="0 2 * * *",
        execution_timezone=TIME_ZONE,
        job=job,
        default_status=_schedule_status(running),
        description="02:00: the current year's deliveries of every active contract that changed "
        "are ingested; the KPIs and the year-to-date draft follow (contracts_after_ingestion). "
        "Nothing new, nothing run.",
    )
    def nightly_refresh(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        year = context.scheduled_execution_time.astimezone(TZ).year
        return judged_refresh(contracts.values(), year, "nightly")

    @schedule(
        name="january_final_drafts",
        cron_schedule="0 3 2 1 *",
        execution_timezone=TIME_ZONE,
        job=job,
        default_status=_schedule_status(running),
        description="2 January, 03:00: last year's deliveries of every contract active last "
        "year are re-ingested, and its final draft is built for sign-off.",
    )
    def january_final_drafts(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        year = context.scheduled_execution_time.astimezone(TZ).year - 1
        return judged_refresh(contracts.values(), year, "january")

    return [nightly_refresh, january_final_drafts]


# --- reporting deadlines ---------------------------------------------------------------


def deadline_years(contract: Contract, today: dt.date) -> list[int]:
    """The contract years whose deadline check has something to judge on ``today``: those
    whose warning window has opened (a signed one then passes; the others are skipped)."""
    warn = dt.timedelta(days=contract.settings.deadline_warning_days)
    return [y for y in contract.years if today >= contract.deadline(y) - warn]


def deadline_request(contract: Contract, today: dt.date) -> RunRequest | SkipReason:
    """The contract's deadline check on ``today``, once a year's warning window has opened
    (the run judges every year: the signed ones pass, those far from their deadline are
    skipped)."""
    years = deadline_years(contract, today)
    if not years:
        first = contract.deadline(contract.period.first)
        return SkipReason(f"No deadline of {contract.id} is near yet (the first: {first})")
    return RunRequest(run_key=today.isoformat(), tags={"trigger": "deadline"})


def build_deadline_schedules(
    contracts: Mapping[str, Contract], jobs: Iterable[Any], running: bool = False
) -> list[Any]:
    """Per contract, ``deadline_<contract>`` at 07:00: its deadline check, once the first
    year's warning window has opened, so a year approaching or past its deadline unsigned
    warns or fails without any other run."""
    by_name = {job.name: job for job in jobs}
    return [
        _deadline_schedule(c, by_name[deadline_job_name(c.id)], running) for c in contracts.values()
    ]


def _deadline_schedule(contract: Contract, job: Any, running: bool) -> Any:
    days = contract.settings.deadline_warning_days

    @schedule(
        name=deadline_job_name(contract.id),
        cron_schedule="0 7 * * *",
        execution_timezone=TIME_ZONE,
        job=job,
        default_status=_schedule_status(running),
        description=f"07:00: whether each year of {contract.id} is signed by its reporting "
        f"deadline; warns from {days} days before it, fails after it.",
    )
    def deadline_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        today = context.scheduled_execution_time.astimezone(TZ).date()
        return deadline_request(contract, today)

    return deadline_schedule


# --- the inbox -------------------------------------------------------------------------


def scan(inbox: Path, cursor: Mapping[str, list[Any]]) -> tuple[dict[str, list[Any]], list[str]]:
    """The inbox's files as {relpath: [size, mtime_ns, sha256]} and the files whose content
    changed since ``cursor``. A file is read to hash it only when the file system says it
    changed since it was last hashed (:func:`resultatrapport.file_hashes.content_sha256`:
    its size, times, inode or device moved), so also after a rewrite of the same size with
    the old modification time restored."""
    state: dict[str, list[Any]] = {}
    changed = []
    for relpath in inventory.inbox_files(inbox):  # the files the inventory sees, no others
        path = inbox / relpath
        if not path.is_file():
            continue
        stat = path.stat()
        before = cursor.get(relpath)
        sha = content_sha256(path)
        state[relpath] = [stat.st_size, stat.st_mtime_ns, sha]
        if not before or before[2] != sha:
            changed.append(relpath)
    return state, changed


def ingested_hashes(warehouse: Path) -> dict[tuple[str, str | None, int], str]:
    """The content hash of the delivery each (source, organisation, year) partition was last
    read from; empty when the warehouse does not exist yet or is busy (a run holds the file's
    lock). ``warehouse`` is the file; a lake (``$RESULTATRAPPORT_LAKE``) is read instead when
    one is configured."""
    import duckdb

    where = lake.configured()  # a missing lake where one is required: the tick fails, saying so
    if where is None and not warehouse.exists():
        return {}
    try:
        with lake.connect(warehouse, settings.duckdb_config(), where, True) as con:
            rows = con.execute(
                "SELECT source, org, year, sha256 FROM ingest.deliveries WHERE sha256 IS NOT NULL"
            ).fetchall()
    except duckdb.Error:
        if where is not None:  # a lake that cannot be read is an error to see, not a busy file
            raise
        return {}
    return {(source, org, year): sha for source, org, year, sha in rows}


def inbox_requests(
    contracts: Iterable[Contract],
    changed: Iterable[str],
    current_year: int,
    state: Mapping[str, list[Any]],
    ingested: Mapping[tuple[str, str | None, int], str] | None = None,
) -> tuple[list[RunRequest], list[str]]:
    """One ingestion run per span of consecutive years (the same assets) for the changed files
    some contract reads and the warehouse does not already hold in that content; and the
    files ignored, with why."""
    contracts = list(contracts)
    readers = {p for c in contracts for p in contract_sources(c)}
    by_year: dict[int, list[tuple[SourceFormat, str | None, str]]] = {}
    texts_by_year: dict[int, list[tuple[Contract, str]]] = {}  # the report owners' texts
    held = ingested or {}
    ignored = []
    for relpath in changed:
        found = inventory.classify(relpath)  # the inventory's classifier: no rule of its own
        if not isinstance(found, inventory.Delivery):
            if found is not None:
                why = f" ({found.why})" if found.why else ""  # 'ligner …', as the appendix
                ignored.append(f"{relpath}: not a delivery of sources.md{why}")
            continue
        if found.source == inventory.TEXTS_SOURCE:
            owner, contract_id, year = found.org, found.contract, found.year
            assert owner is not None and year is not None
            contract = next((c for c in contracts if c.id == contract_id), None)
            if contract is None or contract.organisation.slug != owner:
                ignored.append(f"{relpath}: no contract {contract_id} of {owner}")
            elif not FIRST_YEAR <= year <= current_year:
                ignored.append(
                    f"{relpath}: {year} is not a partition ({FIRST_YEAR}-{current_year})"
                )
            elif held.get((owner_texts.source_name(contract.id), owner, year)) == state[relpath][2]:
                ignored.append(f"{relpath}: already ingested with this content")
            else:
                texts_by_year.setdefault(year, []).append((contract, relpath))
            continue
        fmt, org = FORMATS[found.source], found.org
        year = current_year if found.year is None else found.year  # a year-less register
        if not FIRST_YEAR <= year <= current_year:
            ignored.append(f"{relpath}: {year} is not a partition ({FIRST_YEAR}-{current_year})")
            continue
        if (fmt.name, org) not in readers:
            ignored.append(f"{relpath}: no contract reads it")
            continue
        if (ingested or {}).get((fmt.name, org, year)) == state[relpath][2]:
            ignored.append(f"{relpath}: already ingested with this content")
            continue
        by_year.setdefault(year, []).append((fmt, org, relpath))
    selected: dict[int, tuple[list[AssetKey], list[str]]] = {}
    for year in sorted(set(by_year) | set(texts_by_year)):
        files = by_year.get(year, [])
        written = sorted(texts_by_year.get(year, []), key=lambda t: t[1])
        keys = ingestion_keys(by_source({(f.name, o) for f, o, _ in files}))
        keys += [texts_key(c) for c, _ in written]
        selected[year] = (keys, [r for _, _, r in files] + [r for _, r in written])
    requests = [_request(years, selected, state) for years in _same_selection(selected)]
    return requests, ignored


def _same_selection(selected: Mapping[int, tuple[list[AssetKey], list[str]]]) -> list[list[int]]:
    """Consecutive years whose changed files select the same assets: one run each (a
    January delivery of several years is one run over the range, not one run per year)."""
    groups: list[list[int]] = []
    for year in sorted(selected):
        if (
            groups
            and groups[-1][-1] == year - 1
            and selected[groups[-1][-1]][0] == selected[year][0]
        ):
            groups[-1].append(year)
        else:
            groups.append([year])
    return groups


def run_target(first: int, last: int) -> tuple[str | None, dict[str, str]]:
    """The partition key and tags of one run over the years ``first``-``last``: the year's
    partition, or no partition and the range tags (a single-run backfill of the range)."""
    if first == last:
        return str(first), {}
    return None, {RANGE_START_TAG: str(first), RANGE_END_TAG: str(last)}


def _request(
    years: list[int],
    selected: Mapping[int, tuple[list[AssetKey], list[str]]],
    state: Mapping[str, list[Any]],
) -> RunRequest:
    """The ingestion run for ``years`` (one partition, or a range in one run)."""
    first, last = years[0], years[-1]
    files = [r for y in years for r in selected[y][1]]
    content = ",".join(f"{r}={state[r][2]}" for r in sorted(files))
    span = years_text(range(first, last + 1))
    partition, tags = run_target(first, last)
    return RunRequest(
        run_key=f"inbox:{span}:{hashlib.sha256(content.encode()).hexdigest()[:16]}",
        partition_key=partition,
        asset_selection=selected[first][0],
        tags={"trigger": "inbox", "files": ",".join(files)[:1000], **tags},
    )


def build_inbox_sensor(contracts: Mapping[str, Contract], job: Any, running: bool = False) -> Any:
    @sensor(
        name="inbox_sensor",
        job=job,
        minimum_interval_seconds=60,
        default_status=_sensor_status(running),
        description="A new or replaced delivery in the inbox (by content hash) re-ingests the "
        "partitions it belongs to; the cursor (size, mtime, hash per file) is kept by Dagster.",
    )
    def inbox_sensor(context: SensorEvaluationContext) -> SensorResult:
        inbox = settings.inbox_dir()
        if not inbox.is_dir():
            return SensorResult(skip_reason=f"No inbox folder at {inbox}")
        cursor = json.loads(context.cursor) if context.cursor else {}
        state, changed = scan(inbox, cursor)
        ingested = ingested_hashes(settings.warehouse_path()) if changed else {}
        requests, ignored = inbox_requests(
            contracts.values(), changed, this_year(), state, ingested
        )
        for line in ignored:
            context.log.info(f"ignored {shown_name(line)}")  # a name's newline forges no line
        new_cursor = json.dumps(state, sort_keys=True)
        if not requests:
            return SensorResult(skip_reason="No delivery changed", cursor=new_cursor)
        return SensorResult(run_requests=requests, cursor=new_cursor)

    return inbox_sensor


# --- from ingestion to the contracts ---------------------------------------------------


def affected_contract_years(
    contracts: Iterable[Contract],
    ingested: Iterable[tuple[str, str | None]],
    years: Iterable[int],
    current_year: int,
) -> list[tuple[Contract, int]]:
    """The (contract, contract year) partitions that read any of the ``ingested`` (source,
    organisation) pairs in any of ``years``; contract years after the current one are left
    for later."""
    ingested, years = set(ingested), set(years)
    out = []
    for contract in contracts:
        for year in contract.years:
            if year > current_year:
                continue
            reads = partitions_read(contract, year)
            if any(pair in ingested and years & set(ys) for pair, ys in reads.items()):
                out.append((contract, year))
    return out


def run_years(tags: Mapping[str, str]) -> list[int]:
    if PARTITION_TAG in tags:
        return [int(tags[PARTITION_TAG])]
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return list(range(int(tags[RANGE_START_TAG]), int(tags[RANGE_END_TAG]) + 1))
    return []


def ingested_pairs(
    contracts: Iterable[Contract], keys: Iterable[AssetKey]
) -> set[tuple[str, str | None]]:
    """(source, organisation) of the ``ingest/…`` keys among ``keys`` that some contract
    reads (the keys are made by the same function, so no key is parsed back)."""
    by_key = {
        ingest_key(FORMATS[source], org): (source, org)
        for contract in contracts
        for source, org in contract_sources(contract)
    }
    return {by_key[key] for key in keys if key in by_key}


def texts_contract_years(
    contracts: Iterable[Contract], keys: Iterable[AssetKey], years: Iterable[int], current_year: int
) -> list[tuple[Contract, int]]:
    """The (contract, contract year) drafts that show the report owner's texts among ``keys``
    materialised for ``years`` (a text is read by its own contract year only)."""
    keys = set(keys)
    return [
        (contract, year)
        for contract in contracts
        if texts_key(contract) in keys
        for year in sorted(set(years))
        if year in contract.years and year <= current_year
    ]


def changed_partitions(
    contracts: Iterable[Contract], mats: Iterable[Any]
) -> tuple[set[tuple[str, str | None, int]], set[tuple[str, int]]]:
    """The partitions an ingestion run read anew, from its materialisations (those without
    ``unchanged_since``): the deliveries as (source, organisation, year) and the texts files
    as (contract id, year)."""
    contracts = list(contracts)
    raw = {
        raw_key(FORMATS[source], org): (source, org)
        for contract in contracts
        for source, org in contract_sources(contract)
    }
    written = {texts_key(c): c.id for c in contracts}
    deliveries, texts = set(), set()
    for mat in mats:
        if UNCHANGED in mat.metadata or mat.partition is None:
            continue
        if mat.asset_key in raw:
            deliveries.add((*raw[mat.asset_key], int(mat.partition)))
        elif mat.asset_key in written:
            texts.add((written[mat.asset_key], int(mat.partition)))
    return deliveries, texts


def still_to_do(
    contracts: Iterable[Contract],
    affected: list[tuple[Contract, int]],
    mats: Iterable[Any],
) -> list[tuple[Contract, int, str]]:
    """Of the ``affected`` contract years, those whose report has something to do, with why:
    a delivery or texts file it reads was read anew in the run (``mats``), or, where none
    was, its work is missing or out of date in the warehouse and the output folder
    (:func:`resultatrapport.pending.contract_year_pending`); every affected year where the
    warehouse cannot be read now (each step then skips what stands)."""
    deliveries, texts = changed_partitions(contracts, mats)
    why: dict[tuple[str, int], str] = {}
    rest = []
    for contract, year in affected:
        reads = partitions_read(contract, year)
        new = sorted(
            f"{source}/{org or 'register'} {y}"
            for source, org, y in deliveries
            if y in reads.get((source, org), [])
        )
        if (contract.id, year) in texts:
            new.append(f"texts {year}")
        if new:
            why[(contract.id, year)] = "read anew: " + ", ".join(new)
        else:
            rest.append((contract, year))
    if rest:
        out = settings.out_dir()

        def pending(con: Any) -> dict[tuple[str, int], str]:
            found = {}
            for contract, year in rest:
                if reason := contract_year_pending(con, contract, year, out):
                    found[(contract.id, year)] = reason
            return found

        found = judged(pending)
        if found is None:
            found = {(c.id, y): "the warehouse could not be read: the steps judge" for c, y in rest}
        why |= found
    return [(c, y, why[(c.id, y)]) for c, y in affected if (c.id, y) in why]


def contract_requests(run_id: str, affected: list[tuple[Contract, int]]) -> list[RunRequest]:
    """One KPIs-to-draft run per contract and span of consecutive years (a range in one
    run, as ``resultatrapport backfill`` runs it)."""
    years: dict[str, list[int]] = {}
    for contract, year in affected:
        years.setdefault(contract.id, []).append(year)
    requests = []
    for contract_id, found in years.items():
        for first, last in spans(found):
            span = years_text(range(first, last + 1))
            partition, tags = run_target(first, last)
            requests.append(
                RunRequest(
                    run_key=f"{run_id}:{contract_id}:{span}",
                    job_name=job_name(contract_id),
                    partition_key=partition,
                    tags={"trigger": f"ingestion {run_id}", **tags},
                )
            )
    return requests


def build_cascade_sensor(
    contracts: Mapping[str, Contract], contract_jobs: list[Any], running: bool = False
) -> Any:
    @run_status_sensor(
        name="contracts_after_ingestion",
        run_status=DagsterRunStatus.SUCCESS,
        request_jobs=contract_jobs,
        default_status=_sensor_status(running),
        minimum_interval_seconds=30,
        description="After a successful ingestion run: the KPIs-to-draft job of every contract "
        "year that reads what was ingested.",
    )
    def contracts_after_ingestion(context: RunStatusSensorContext) -> Any:
        run = context.dagster_run
        records = context.instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=10_000
        ).records
        mats = [
            r.event_log_entry.asset_materialization
            for r in records
            if r.event_log_entry.asset_materialization
        ]
        keys = [m.asset_key for m in mats]
        pairs = ingested_pairs(contracts.values(), keys)
        written = texts_contract_years(contracts.values(), keys, run_years(run.tags), this_year())
        if not pairs and not written:
            return SkipReason(f"Run {run.run_id} ingested nothing")
        affected = affected_contract_years(
            contracts.values(), pairs, run_years(run.tags), this_year()
        )
        affected += [cy for cy in written if cy not in affected]
        wanted = still_to_do(contracts.values(), affected, mats)
        for contract, year, why in wanted:
            context.log.info(f"{contract.id} {year}: {why}")
        if affected and not wanted:
            return SkipReason(
                f"Run {run.run_id} changed nothing the contract years that read it show, and "
                "their reports stand as they are"
            )
        return contract_requests(run.run_id, [(c, y) for c, y, _ in wanted]) or SkipReason(
            "No contract year reads what was ingested"
        )

    return contracts_after_ingestion
