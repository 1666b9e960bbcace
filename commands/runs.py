"""Running the Dagster jobs from the command line: one process, the instance of
:mod:`commands.instance`, a brief console log, and a summary of each run in a few lines.

``resultatrapport run``/``backfill``/``ingest``/``sign-off`` (:mod:`commands.cli`) and the
benchmark's floor (:mod:`commands.bench`) run through these functions.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import AssetCheckSeverity, Field, logger

from assets.common import UNCHANGED, spans
from assets.kpis import first_year_needed, range_of_reads
from commands.instance import end_dead_runs, open_instance, process_tags
from pipelines.automation import run_target
from resultatrapport import lake
from resultatrapport.naming import ingestion_job_name, job_name
from resultatrapport.progress import track
from resultatrapport.report.danish import years_text
from resultatrapport.vocabulary import TZ

if TYPE_CHECKING:
    from collections.abc import Iterable

    from resultatrapport.contracts import Contract


def one_line(text: str, width: int = 160) -> str:
    """The first non-empty line of ``text``, shortened to ``width`` characters."""
    line = next((t.strip() for t in str(text).splitlines() if t.strip()), "")
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def _error_line(error) -> str:
    """The user-facing line of a step's error (a SerializableErrorInfo): the innermost cause
    of Dagster's wrapping errors, without the module path of its class; a ``Failure`` (the
    refusals the assets raise, in Danish) as its bare description."""
    gave_up = ""
    while (inner := error.cause or getattr(error, "context", None)) is not None and (
        error.cls_name.startswith("DagsterExecution") or error.cls_name == "RetryRequested"
    ):
        if error.cls_name == "RetryRequested":  # "Exceeded max_retries of N": say why
            tries = error.message.split()[-1]
            gave_up = f" (opgivet efter {int(tries) + 1} forsøg)" if tries.isdigit() else ""
        error = inner
    message = error.message.strip()
    qualified, sep, rest = message.partition(": ")
    if sep and qualified.rsplit(".", 1)[-1] == error.cls_name:
        message = rest if error.cls_name == "Failure" else f"{error.cls_name}: {rest}"
    return (message.splitlines()[0] if message else error.cls_name) + gave_up


def _problems(value: Any) -> list[str]:
    """The items of a check's ``problems`` metadata: a JSON list, or Markdown '- ' lines."""
    if isinstance(value, list):
        return [str(v) for v in value]
    lines = [line.strip() for line in str(value).splitlines() if line.strip()]
    return [line[2:] if line.startswith("- ") else line for line in lines]


def _first_reason(evaluation) -> str:
    """Why a check did not pass, in one short line: its first problem, else the first failed
    rule of rows_valid (reason and row count, never the example values), else its note or
    description. Empty where the check says nothing."""
    metadata = evaluation.metadata
    if "problems" in metadata:
        found = _problems(metadata["problems"].value)
        if found:
            return one_line(found[0])
    if "failed_rules" in metadata:  # | rule | column | rows | reason | example lines |
        rows = str(metadata["failed_rules"].value).splitlines()[2:]
        cells = [c.strip() for c in rows[0].strip().strip("|").split("|")] if rows else []
        if len(cells) >= 4:
            more = len(rows) - 1
            extra = f"; {more} more rule{'s' if more > 1 else ''}" if more else ""
            return one_line(f"{cells[3]} ({cells[2]} rows{extra})")
    for key in ("note", "missing", "duplicated"):
        value = metadata[key].value if key in metadata else None
        if value:
            return one_line(value if key == "note" else f"{key}: {value}")
    return one_line(evaluation.description or "")


def summary(result, job_name: str, partition: str, quiet: bool = False) -> int:
    """Print what a run did (quiet: no line per asset) and return its exit code: 0 when it
    succeeded and no blocking (ERROR) check failed."""
    print(f"Run {result.run_id} ({job_name}, {partition}):")
    # a range run materialises each asset once per year: one line per asset
    by_key: dict[str, Any] = {}
    redone: set[str] = set()  # the assets of which a partition was made again
    mats = [
        e.step_materialization_data.materialization
        for e in result.get_asset_materialization_events()
    ]
    for mat in mats:
        by_key.setdefault(mat.asset_key.to_user_string(), mat)
        if UNCHANGED not in mat.metadata:
            redone.add(mat.asset_key.to_user_string())
    for key, mat in [] if quiet else by_key.items():
        same = "" if key in redone else " (uændret)"
        print(f"  materialised {key}{_materialised_extra(mat)}{same}")
    if unchanged := unchanged_line(mats):
        print(f"  {unchanged}")
    # in a run over several years, each failed check names its years
    blocking_failed = _say_failed_checks(result, every_year=not partition.isdigit())
    for event in result.all_events:  # each failed step with its reason under it
        if event.is_step_failure:
            print(f"  FAILED step {event.step_key}")
            if event.step_failure_data and event.step_failure_data.error:
                print(f"      {_error_line(event.step_failure_data.error)}")
    ok = result.success and not blocking_failed
    print("OK" if ok else "FAILED", f"- {len(by_key)} assets materialised")
    return 0 if ok else 1


# what a partition not made again is, by the first part of its asset key (singular, plural)
_UNCHANGED_KINDS = {
    "raw": ("leverance", "leverancer"),
    "ingest": ("tekstfil", "tekstfiler"),  # the report owner's texts (the others are raw's)
    "kpi": ("KPI", "KPI'er"),
    "budget": ("budgettet", "budgetter"),  # one a year: "budgettet" in a run of one year
    "report": ("udkastet", "udkast"),
}


def unchanged_line(mats: list[Any]) -> str:
    """What a run did not do again because nothing it follows from changed, in one Danish
    line: 'Uændret siden 07-12-2026 02:00: 7 leverancer, 16 KPI'er, budgettet, udkastet' (the latest
    time of them, so it holds for every one); empty where it did everything."""
    counts: dict[str, int] = {}
    latest = 0.0
    for mat in mats:
        since = mat.metadata.get(UNCHANGED)
        kind = mat.asset_key.path[0]
        if since is None or kind not in _UNCHANGED_KINDS:
            continue
        counts[kind] = counts.get(kind, 0) + 1
        latest = max(latest, float(since.value))
    if not counts:
        return ""
    said = []
    for kind, (one, many) in _UNCHANGED_KINDS.items():
        n = counts.get(kind, 0)
        if n:
            alone = n == 1 and kind in ("budget", "report")  # the year's one: no count
            said.append(one if alone else f"{n} {one if n == 1 else many}")
    when = dt.datetime.fromtimestamp(latest, TZ)
    return f"Uændret siden {when:%d-%m-%Y %H:%M}: {', '.join(said)}"


def _materialised_extra(mat) -> str:
    """What a materialisation's line says after the asset: rows, quarantined rows, path."""
    rows = mat.metadata.get("dagster/row_count")
    extra = f" {rows.value:,} rows" if rows is not None else ""
    quarantined = mat.metadata.get("rows_quarantined")
    if quarantined is not None and quarantined.value:
        extra += f", {quarantined.value:,} quarantined"
    path = mat.metadata.get("path")
    if path is not None:
        pages = mat.metadata.get("pages")
        extra += f" -> {path.value}" + (f" ({pages.value} pages)" if pages else "")
    return extra


def _say_failed_checks(result, every_year: bool = False) -> list[str]:
    """Print each failed check with its reason (and every problem where one line cannot
    say them), once for the years of a range run that failed it alike; return the blocking
    (ERROR) ones."""
    groups: dict[tuple[str, str, str, tuple[str, ...]], list[str]] = {}
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        level = "ERROR" if evaluation.severity == AssetCheckSeverity.ERROR else "WARN"
        problems = evaluation.metadata.get("problems")
        found = tuple(_problems(problems.value)) if problems is not None else ()
        years = groups.setdefault((name, level, _first_reason(evaluation), found), [])
        partition = getattr(evaluation, "partition", None)
        if partition:
            years.append(partition)
    blocking_failed = []
    for (name, level, reason, found), partitions in groups.items():
        named = partitions and (every_year or len(partitions) > 1)
        where = f" ({years_text(map(int, partitions))})" if named else ""
        print(f"  check {level} {name}{where}" + (f": {reason}" if reason else ""))
        if len(found) > 1 or (found and one_line(found[0]) != found[0]):
            for line in found:  # all of them where the check line could not say them
                print(f"      - {line}")
        if level == "ERROR":
            blocking_failed.append(name)
    return blocking_failed


def say_dead_runs_ended(instance) -> None:
    for run_id in end_dead_runs(instance):
        print(f"Run {run_id} was left unfinished by a killed process: marked failed.")


# the console shows warnings and errors; the full event log is in the instance (UI)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _brief_console():
    """Dagster's console logger as the CLI shows it without --debug: the warnings of the
    assets, one line each. Errors (a failed step, its stack trace, the steps not executed
    after it) are left to the run summary, which says each failure in one line."""

    class OneLine(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            meta = getattr(record, "dagster_meta", None) or {}
            if record.levelno >= logging.ERROR or meta.get("dagster_event") is not None:
                return
            line = one_line(meta.get("orig_message") or record.getMessage(), width=400)
            if line:
                print(f"{record.levelname.lower()}: {line}", file=sys.stderr, flush=True)

    @logger(
        {"log_level": Field(str, is_required=False, default_value="WARNING")},
        description="warnings in one line each, for the command line",
    )
    def console(init_context):
        log = logging.Logger("resultatrapport", level=init_context.logger_config["log_level"])
        log.addHandler(OneLine())
        return log

    return console


def execute(
    job, instance, partition_key: str | None, run_config: dict[str, Any], tags, debug: bool = False
):
    """Run ``job`` in this process, its console log brief unless ``debug`` (--debug: then
    Dagster's own console log at INFO, stack traces included)."""
    if debug:
        run_config = {**run_config, "loggers": {"console": {"config": {"log_level": "INFO"}}}}
    else:
        job = job.with_logger_defs({"console": _brief_console()})
    return job.execute_in_process(
        instance=instance,
        partition_key=partition_key,
        raise_on_error=False,
        run_config=run_config,
        tags=tags,
    )


def range_run(job, instance, first: int, last: int, debug: bool = False):
    """One run of ``job`` over the years ``first``-``last`` (its assets backfill a range in a
    single run), or over the one partition where they are the same year."""
    partition, tags = run_target(first, last)
    return execute(job, instance, partition, QUIET, {**tags, **process_tags()}, debug)


def failed_years(result, first: int, last: int) -> list[int]:
    """The years of a run whose deliveries were not taken: a failed blocking check names
    its year; a run that failed otherwise (an error, no check to say which year) failed for
    every year it covered."""
    years = {
        int(e.partition)
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == AssetCheckSeverity.ERROR and e.partition
    }
    if not result.success and not years:
        return list(range(first, last + 1))
    return sorted(years)


def ingest_years(
    instance,
    defs,
    contract: Contract,
    years: list[int],
    first: int,
    debug: bool = False,
    changed: Iterable[int] = (),
) -> list[int]:
    """Ingest ``years`` for the contract in one run per span of consecutive years (usually
    one); years before ``first`` (the earlier years the KPIs read) only where the instance
    has no materialisation yet, or where they are ``changed`` (a delivery of theirs in the
    inbox differs from what the warehouse holds). Returns the years from ``first`` on, and
    the changed ones, whose ingestion failed."""
    ingest = defs.resolve_job_def(ingestion_job_name(contract.id))
    keys = [k for k in ingest.asset_layer.executable_asset_keys if k.path[0] == "ingest"]
    wanted = set(changed)
    todo = [
        year
        for year in sorted(set(years) | wanted)
        if year >= first
        or year in wanted
        or not all(str(year) in instance.get_materialized_partitions(k) for k in keys)
    ]
    failed: list[int] = []

    # each span announced before its run, whose summary follows
    def label(span: tuple[int, int]) -> str:
        return years_text(range(span[0], span[1] + 1))

    for start, end in track(spans(todo), "ingesting", unit="run", note=label, announce=True):
        partition = label((start, end))
        earlier = [y for y in range(start, end + 1) if y < first]
        if earlier:
            print(
                f"Ingesting {partition} in one run; the KPIs of {first} read "
                f"{years_text(earlier)} ...",
                flush=True,
            )
        ingested = range_run(ingest, instance, start, end, debug)
        summary(ingested, ingest.name, partition, quiet=end < first)
        failed += [y for y in failed_years(ingested, start, end) if y >= first or y in wanted]
    return failed


def changed_in_inbox(contract: Contract, inbox: Path | None, years: list[int]) -> list[int]:
    """The ``years`` for which a delivery the contract reads is in the inbox with another
    content (SHA-256) than the warehouse holds, or not yet in the warehouse at all."""
    if inbox is None or not years or not inbox.is_dir():
        return []
    from pipelines.automation import contract_sources, ingested_hashes, scan
    from resultatrapport import settings
    from resultatrapport.inventory import Delivery, classify

    pairs = set(contract_sources(contract))
    try:
        held = ingested_hashes(settings.warehouse_path())
    except Exception:  # a lake not made yet: nothing is held, the years are ingested anyway
        return []
    found = set()
    state, _ = scan(inbox, {})
    for relpath, (_size, _mtime, sha) in state.items():
        known = classify(relpath)
        if (
            not isinstance(known, Delivery)
            or known.year not in years
            or (known.source, known.org) not in pairs
        ):
            continue  # no delivery, a year-less register (read with the run's years) or another's
        if held.get((known.source, known.org, known.year)) != sha:
            found.add(known.year)
    return sorted(found)


def outdated_years(contract: Contract, years: list[int]) -> dict[int, str]:
    """The earlier ``years`` (shown by the report) whose KPI results are missing or outdated,
    with the reason (:func:`resultatrapport.kpis.compute.outdated`)."""
    from resultatrapport import lake
    from resultatrapport.kpis.compute import outdated

    if not years:
        return {}
    try:
        with lake.open_configured(read_only=True) as con:
            return outdated(con, contract, years)
    except Exception:  # no warehouse yet: nothing is computed, every year is missing
        return {y: f"{y} er ikke beregnet" for y in years}


def build_years(
    contract: Contract,
    years: list[int],
    definitions,
    debug: bool = False,
    inbox: Path | None = None,
) -> int:
    """Ingest what ``years`` read, then run the contract's KPIs-to-draft job of
    ``definitions`` once for the whole range (its assets backfill in a single run): what
    ``resultatrapport run`` and ``backfill`` do, and the benchmark's floor with its own
    definitions. Only Dagster jobs are launched.

    A report shows every contract year up to its own, so the earlier contract years come
    along in the same run where their results are missing or outdated: their deliveries in
    ``inbox`` changed, or a delivery or the definition they follow from changed since they
    were computed. A year is never shown as not measured only because it was not run."""
    defs = definitions
    first, last = min(years), max(years)
    name = job_name(contract.id)
    job = defs.resolve_job_def(name)
    started = time.perf_counter()
    earlier = [y for y in contract.years if y < first]
    with open_instance() as instance:
        say_dead_runs_ended(instance)
        # the years asked for are (re)ingested; earlier years the KPIs read (the effect KPI
        # follows firms five years back, the report the contract's earlier years) where the
        # instance has no materialisation yet or a delivery of theirs changed in the inbox:
        # all in one run per span of years (a first run of a later year is one ingestion run)
        changed = changed_in_inbox(contract, inbox, range_of_reads(contract, earlier))
        failed = ingest_years(
            instance,
            defs,
            contract,
            list(range(first_year_needed(contract, min([first, *earlier])), last + 1)),
            first,
            debug,
            changed=changed,
        )
        stale = outdated_years(contract, earlier) if not failed else {}
        if stale:
            first = min(stale)
            print(
                "The report also shows earlier years, computed again in the same run: "
                + "; ".join(stale[y] for y in sorted(stale)),
                flush=True,
            )
        if failed:
            print(
                f"Ingestion failed for {', '.join(map(str, failed))}: the KPIs are not computed "
                "on untrusted data."
            )
            return 1
        ingest_seconds = time.perf_counter() - started
        partition = years_text(range(first, last + 1))
        print(f"KPIs, budget and draft for {partition} in one run ...", file=sys.stderr, flush=True)
        result = range_run(job, instance, first, last, debug)
        code = summary(result, name, partition)
        drafts: dict[str, str] = {}
        appendices: dict[str, str] = {}
        for event in result.get_asset_materialization_events():
            mat = event.step_materialization_data.materialization
            if mat.asset_key.path[0] == "report" and "path" in mat.metadata:
                year = mat.partition if first != last and mat.partition else ""
                drafts[year] = str(mat.metadata["path"].value)
                if "appendix" in mat.metadata:
                    appendices[year] = str(mat.metadata["appendix"].value)
        for key, path in sorted(drafts.items()):
            print(f"Draft report{' ' + key if key else ''}: {path}")
        for key, path in sorted(appendices.items()):  # for the team, never for the recipients
            print(f"Internal data-quality appendix{' ' + key if key else ''}: {path}")
        total = time.perf_counter() - started
        print(
            f"Time: {total:.1f} s ({ingest_seconds:.1f} s ingestion, {total - ingest_seconds:.1f} s KPIs to draft)"
        )
        turns = lake.turn_stats()
        if turns.turns:  # on a lake: what waiting for other writers cost
            print(
                f"Write turns on the lake: {turns.turns}, {turns.waited:.1f} s waiting for them "
                f"(longest {turns.longest:.1f} s), {turns.held:.1f} s holding them"
            )
        return code
