"""What every asset shares: the warehouse pool, the retry policy, the backfill policy, the
early import of what a later step needs, check outcomes per partition, the refusal of a
year whose deliveries were never ingested, and the mark of work not done again."""

import datetime as dt
import importlib
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    Backoff,
    MetadataValue,
    Output,
    PartitionsDefinition,
    RetryPolicy,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from assets.partitions import YEARS
from resultatrapport.report.danish import years_text
from resultatrapport.report.names import source_title
from resultatrapport.vocabulary import FIRST_YEAR

# every step that writes the DuckDB file takes a slot of this pool; dagster.yaml limits it to
# one at a time across runs, so two runs never meet on the file lock
WAREHOUSE_POOL = "warehouse"
# a transient failure (the file lock held by a process outside Dagster, a full disk that was
# freed) gets two more tries; bad input raises Failure(allow_retries=False) instead
RETRY = RetryPolicy(max_retries=2, delay=5, backoff=Backoff.EXPONENTIAL)
# a contract's assets rebuild a range of years in one run
SINGLE_RUN = BackfillPolicy.single_run()


def years_of(context: AssetExecutionContext) -> list[int]:
    """The years a run covers: one partition, or a range in a single-run backfill."""
    return [int(k) for k in context.partition_keys]


# the metadata of a partition whose work was not done again because nothing it follows from
# changed (a delivery not read, a KPI not measured, a draft not drawn): since when
UNCHANGED = "unchanged_since"


def unchanged_metadata(since: dt.datetime) -> dict[str, Any]:
    """``unchanged_since``: what the materialisation shows was made at ``since`` (a naive
    time is the warehouse's, the machine's local time) and still stands."""
    return {UNCHANGED: MetadataValue.timestamp(since if since.tzinfo else since.astimezone())}


_preloading: set[tuple[str, ...]] = set()


def preload(*modules: str) -> None:
    """Import ``modules`` in a background thread while this step waits for DuckDB.

    Great Expectations takes about 2 s to import and WeasyPrint with matplotlib about 1 s,
    all of it Python holding the GIL; a step that runs a long DuckDB query releases the GIL,
    so on a second core the import costs nothing. A step that needs a module before the
    thread is done waits on Python's import lock; an import error surfaces there.
    """

    if modules in _preloading:
        return
    _preloading.add(modules)

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # raised again where the module is used
                return

    threading.Thread(target=load, name="preload", daemon=True).start()


# the blocking check of every KPI, budget and draft: the partitions it reads were ingested
INGESTED = "inputs_ingested"
INGESTED_DESCRIPTION = (
    "Every delivery partition the asset reads for the year was ingested (a file that was "
    "not delivered counts as ingested: its KPIs say 'Ikke målbar' with the reason). Fails "
    "with ERROR naming each delivery and year that was never ingested and the job to run; "
    "nothing is computed or written for the run's years then."
)


def ingested_spec(key: AssetKey, partitions: PartitionsDefinition) -> AssetCheckSpec:
    """The blocking ``inputs_ingested`` check of a KPI, budget or draft asset."""
    return AssetCheckSpec(
        INGESTED, asset=key, partitions_def=partitions, blocking=True,
        description=INGESTED_DESCRIPTION,
    )  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """A check's outcome for one partition; ``None`` in its place means skipped."""

    passed: bool
    description: str
    metadata: Mapping[str, Any]
    severity: AssetCheckSeverity = AssetCheckSeverity.WARN


def _target(
    context: AssetExecutionContext, key: AssetKey, partition: str
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The partition's latest materialisation, which the check is about."""
    from dagster import AssetRecordsFilter

    found = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    if not found:
        return None
    record = found[0]
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )


def check_events(
    context: AssetExecutionContext,
    key: AssetKey,
    name: str,
    outcomes: Mapping[str, Outcome | None],
    *,
    blocking: bool = False,
) -> Iterator[Output | AssetCheckEvaluation]:
    """One evaluation of check ``name`` per partition of the run, yielded from the asset body.

    An ``AssetCheckResult`` of a range run (``BackfillPolicy.single_run``) is recorded for no
    partition; an ``AssetCheckEvaluation`` names its partition. A partition whose outcome is
    ``None`` gets no evaluation: Dagster shows the check as skipped there once the run has
    succeeded. The check's output is yielded once, so that what a blocking check guards runs
    in the same run; a failed blocking evaluation fails the step after its events."""
    check_key = AssetCheckKey(key, name)
    yield Output(
        None, output_name=context.assets_def.get_output_name_for_asset_check_key(check_key)
    )
    for partition, outcome in outcomes.items():
        if outcome is None:
            continue
        yield AssetCheckEvaluation(
            asset_key=key,
            check_name=name,
            passed=outcome.passed,
            metadata=outcome.metadata,
            target_materialization_data=_target(context, key, partition),
            severity=outcome.severity,
            description=outcome.description,
            blocking=blocking,
            partition=partition,
        )


def not_ingested(
    con: duckdb.DuckDBPyConnection, reads: Iterable[tuple[str, str | None, int]]
) -> list[tuple[str, str | None, int]]:
    """The (source, organisation, year) partitions among ``reads`` with no ingestion record.

    Years before the first partition (the effect KPI looks five years back from 2020) or
    after the current one cannot be ingested and are left out: the KPI says what it lacks."""
    last = int(YEARS.get_last_partition_key() or FIRST_YEAR)
    wanted = sorted(
        {r for r in reads if FIRST_YEAR <= r[2] <= last}, key=lambda r: (r[0], r[1] or "", r[2])
    )
    if not wanted:
        return []
    rows = con.execute(
        "SELECT source, org, year FROM ingest.deliveries "
        "WHERE list_contains($sources, source) AND list_contains($years, year)",
        {"sources": sorted({w[0] for w in wanted}), "years": sorted({w[2] for w in wanted})},
    ).fetchall()
    have = {(s, o, y) for s, o, y in rows}
    return [w for w in wanted if w not in have]


def spans(years: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive years as (first, last) spans, each one run of a range: 2021, 2022, 2023,
    2025 -> (2021, 2023), (2025, 2025)."""
    found: list[tuple[int, int]] = []
    for year in sorted(set(years)):
        if found and year == found[-1][1] + 1:
            found[-1] = (found[-1][0], year)
        else:
            found.append((year, year))
    return found


def missing_outcomes(
    years: Iterable[int],
    lacking: Mapping[int, list[tuple[str, str | None, int]]],
    ingestion_job: str,
) -> tuple[dict[str, Outcome | None], str]:
    """The ``inputs_ingested`` outcome of each year and the run's error message (empty when
    nothing is lacking)."""

    def named(source: str, org: str | None, year: int) -> str:
        return f"{source_title(source)} {year} ({source}{'/' + org if org else ''})"

    outcomes: dict[str, Outcome | None] = {}
    for year in years:
        missing = lacking.get(year, [])
        outcomes[str(year)] = Outcome(
            passed=not missing,
            severity=AssetCheckSeverity.ERROR,
            description="Ikke indlæst: " + "; ".join(named(*m) for m in missing)
            if missing
            else "Alle leverancer, året læser, er indlæst.",
            metadata={"not_ingested": [named(*m) for m in missing]},
        )
    every = sorted({m for ms in lacking.values() for m in ms}, key=lambda m: (m[2], m[0]))
    if not every:
        return outcomes, ""
    message = (
        "Leverancer, der aldrig er indlæst: "
        + "; ".join(named(*m) for m in every)
        + f". Kør jobbet {ingestion_job} for {years_text(m[2] for m in every)} først "
        "(Jobs → " + ingestion_job + " → Materialize all), så dette igen."
    )
    return outcomes, message


def markdown_text(text: str) -> str:
    """Plain contract text as Markdown that renders as written: no emphasis from ``*``, no
    block quote from a ``>`` (``>=``) at the start of a line, no heading from ``#``."""
    text = re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)
    return text.replace("\n", "  \n")
