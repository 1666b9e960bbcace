"""What a run costs as the data grows: ``resultatrapport bench``.

For each scale, on the same generated inbox, each in a fresh process with a fresh warehouse
and Dagster instance:

- **pipeline**: ``resultatrapport run`` for one contract-year, up to and including the
  draft PDF (ingestion of the year and of the earlier years the KPIs read, then KPIs to
  draft), exactly as a user runs it;
- **floor**: the same asset graph and jobs with bodies that do nothing: what Dagster costs;
- **limit**: the same deliveries read and typed by DuckDB and the same KPI computations as
  plain queries, with no orchestration, validation or rendering: what the data costs;

then the nights that follow that run, on the state it left: **nothing new** (``run`` again,
same inbox) against its floor on the same state, and **one delivery changed** (the year's
user evaluation delivered again with some answers changed) against the floor and the limit
of that delivery's path alone (``--source``: its ingestion, the KPIs that read it, the
draft); and, for the backfill (four years unless told), ``resultatrapport backfill``
against the single-year runs of its years. Given a PostgreSQL server (``--lake-server``), the nightly run
is measured again on a DuckLake warehouse (its catalog a new database on that server, dropped
afterwards; its data in the run's folder), against the same run on the file.
Before the scales, the tiny inbox (scale 0.05): its first run on an empty warehouse against
its nightly run. Wall time and peak resident memory are measured per process (``os.wait4``);
the last table holds each target of the issue as the ratio measured in this one run.

``--quick`` measures at each scale (the tiny one unless told) only the first run on an empty
warehouse against its floor and limit: four processes, a check that the bench works (its
tables and targets whole, what it did not measure saying so, the nights too), not a
measurement to go by.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resultatrapport.report.danish import years_text

# the modules the measured processes run (`python -m`), named as this package is named: the
# checkout's `commands`, an installed wheel's `resultatrapport_dagster.commands` (hatch_build.py)
CLI = f"{__package__}.cli"
BENCH = f"{__package__}.bench"


@dataclass
class Measured:
    seconds: float
    peak_mib: float
    ok: bool
    output: str


def measure_process(args: list[str], env: dict[str, str]) -> Measured:
    """Run a command to its end; wall time and its peak RSS (Linux: KiB in ru_maxrss)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        log.seek(0)
        output = log.read().decode(errors="replace")
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(seconds, usage.ru_maxrss / 1024, process.returncode == 0, output)


def fresh_env(root: Path, inbox: Path) -> dict[str, str]:
    from resultatrapport.settings import dagster_yaml

    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_bytes(dagster_yaml().read_bytes())
    # the file unless a measurement says otherwise: a lake configured in the environment of
    # whoever runs the bench must not receive its generated data
    lake_settings = ("RESULTATRAPPORT_LAKE", "RESULTATRAPPORT_LAKE_S3_ENDPOINT",
                     "RESULTATRAPPORT_REQUIRE_LAKE")  # fmt: skip
    return {
        **{k: v for k, v in os.environ.items() if k not in lake_settings},
        "RESULTATRAPPORT_INBOX": str(inbox),
        "RESULTATRAPPORT_WAREHOUSE": str(root / "warehouse.duckdb"),
        "RESULTATRAPPORT_OUT": str(root / "out"),
        # the work kept to be reused (charts, file hashes) is the measured state's, copied
        # with it: a "first" run must not reuse what another measurement drew or hashed
        "RESULTATRAPPORT_CACHE": str(root / "cache"),
        "DAGSTER_HOME": str(home),
    }


# --- the floor: the same graph, bodies that do nothing -------------------------------------


def floor_definitions(contract_id: str | None = None, source: str | None = None) -> Any:
    """The code location's assets and jobs with every body replaced by one that reports its
    assets and checks materialised and does nothing else. With a ``source``, the contract's
    jobs select only that delivery's path (:func:`path_selection`)."""
    from dagster import (
        AssetCheckResult,
        AssetChecksDefinition,
        AssetExecutionContext,
        Definitions,
        MaterializeResult,
        asset_check,
        define_asset_job,
        in_process_executor,
        multi_asset,
    )

    from pipelines.definitions import build_definitions
    from pipelines.jobs import INGEST_ALL

    defs = build_definitions()

    assets: list[Any] = []
    for original in defs.resolve_asset_graph().assets_defs:
        if isinstance(original, AssetChecksDefinition):
            for spec in original.check_specs:

                @asset_check(
                    asset=spec.asset_key,
                    name=spec.name,
                    additional_deps=[d.asset_key for d in spec.additional_deps],
                    partitions_def=original.partitions_def,
                )
                def noop_check() -> AssetCheckResult:
                    return AssetCheckResult(passed=True)

                assets.append(noop_check)
            continue
        if not original.is_executable:
            continue

        @multi_asset(
            name=original.node_def.name,
            specs=list(original.specs),
            check_specs=list(original.check_specs),
            partitions_def=original.partitions_def,
            backfill_policy=original.backfill_policy,
            can_subset=True,
        )
        def noop(context: AssetExecutionContext) -> Any:
            for key in context.selected_asset_keys:
                yield MaterializeResult(asset_key=key)
            for check in context.selected_asset_check_keys:
                yield AssetCheckResult(
                    asset_key=check.asset_key, check_name=check.name, passed=True
                )

        assets.append(noop)
    jobs: list[Any] = [  # asset jobs: each its selection of the assets (define_asset_job)
        job
        for job in defs.jobs or []
        if getattr(job, "name", "").startswith(("ingest_", "contract_")) and job.name != INGEST_ALL
    ]
    if source is not None:
        if contract_id is None:
            raise ValueError("a delivery's path is a contract's")
        path = path_selection(contract_id, source)
        jobs = [
            define_asset_job(
                job.name, job.selection & path, description=job.description, tags=job.tags
            )
            for job in jobs
        ]
    return Definitions(assets=assets, jobs=jobs, executor=in_process_executor)


def path_selection(contract_id: str, source: str) -> Any:
    """What a new delivery of ``source`` touches in the contract's jobs: the delivery's raw
    and ingest assets with their checks and everything downstream of them (the KPIs that read
    it, the results, the draft), as an AssetSelection to intersect a job's with."""
    from dagster import AssetKey, AssetSelection

    from resultatrapport.contracts import load_contracts
    from resultatrapport.formats import FORMATS
    from resultatrapport.naming import ingest_path, raw_path

    org = load_contracts()[contract_id].source_org(source)
    keys = [AssetKey(list(p(FORMATS[source], org))) for p in (raw_path, ingest_path)]
    return AssetSelection.assets(*keys).downstream()


# --- the limit: the data's own cost ------------------------------------------------------


def limit(
    contract_id: str, year: int, earlier_loaded: bool = False, source: str | None = None
) -> int:
    """Read and type the deliveries the contract-year needs with DuckDB, and compute every
    KPI and the budget as plain queries; no Dagster, no validation, no rendering.

    A year-less register (CVR extract, population, price index) is read once for all its
    years, as the pipeline reads it. With ``earlier_loaded`` the warehouse already holds the
    earlier years the KPIs read (as for the pipeline it is compared with), so only the year's
    own deliveries are loaded. With a ``source``, only that delivery's path: its delivery
    read and typed, and the KPIs (and the budget) that read it computed."""
    from resultatrapport import lake, settings
    from resultatrapport.contracts import load_contracts
    from resultatrapport.formats import FORMATS
    from resultatrapport.ingest import ingest_file
    from resultatrapport.kpis.budget import budget_lines
    from resultatrapport.kpis.compute import evaluate, measure, partitions_read
    from resultatrapport.warehouse_schema import ensure_schema

    contract = load_contracts()[contract_id]
    inbox = settings.inbox_dir()
    con = lake.open_configured(read_only=False)
    ensure_schema(con)
    for (read, org), years in partitions_read(contract, year).items():
        wanted = [y for y in years if y == year or not earlier_loaded]
        if source is not None and read != source:
            continue
        if FORMATS[read].yearless:
            load_yearless(con, FORMATS[read], inbox, wanted)
            continue
        for y in wanted:
            ingest_file(con, FORMATS[read], inbox, y, org)
    for kpi in contract.kpis:
        if source is None or source in kpi.sources:
            evaluate(contract, kpi, year, measure(con, contract, kpi, year))
    if source is None or contract.budget.source == source:
        budget_lines(con, contract.budget, year)
    con.close()
    return 0


def load_yearless(con: Any, fmt: Any, inbox: Path, years: list[int]) -> None:
    """A year-less register (one file for every year) read once, and each year's partition
    committed from that one read as the pipeline does (``stage_content``, ``stage_year``):
    the limit must not pay a read per year that the pipeline no longer pays."""
    from resultatrapport.ingest import commit_delivery, drop_content, stage_content, stage_year

    content = stage_content(con, fmt, inbox)
    for y in years:
        commit_delivery(con, fmt, y, None, stage_year(con, fmt, content, y), [])
    drop_content(con)


def floor(contract_id: str, years: list[int], source: str | None = None) -> int:
    """What Dagster costs: the jobs ``run`` launches for ``years``, with bodies that do
    nothing; with a ``source``, only that delivery's path (:func:`path_selection`)."""
    from commands.instance import ensure_dagster_home
    from commands.runs import build_years
    from resultatrapport.contracts import load_contracts

    ensure_dagster_home()
    definitions = floor_definitions(contract_id, source)
    return build_years(load_contracts()[contract_id], years, definitions)


# --- the benchmark -----------------------------------------------------------------------

# the tiny inbox: the smallest scale whose small files stay under the 5 % quarantine
# threshold; its first run on an empty warehouse is held against its nightly run
TINY = 0.05
# generate, earlier years, pipeline, floor, limit, the nights (nothing new and its floor; one
# delivery changed, its path's floor and limit), first run/floor/limit, backfill
SCALE_STEPS = 14
TINY_STEPS = 4  # generate, earlier years, nightly run, first run
QUICK_STEPS = 4  # generate, first run, first floor, first limit
# the backfill measured against its single years, and the scales at which the issue sets its
# targets: the targets table has a row for each, measured or not
BACKFILL = ("viborg-ver-2020", 2020, 2023)
TARGET_SCALES = (1, 10, 100)
# the delivery of the night on which one delivery changed: the year's user evaluation
CHANGED = "survey_answers"


@dataclass
class Results:
    """One ``bench`` run: a row per scale (:func:`measure_scale`, or with ``--quick``
    :func:`measure_quick`: the keys of what was measured) and the tiny inbox's row
    (:func:`measure_tiny`; None: not measured)."""

    contract: str
    year: int
    rows: list[dict[str, Any]]
    tiny: dict[str, Any] | None
    backfill: tuple[str, int, int] = BACKFILL  # contract, first year, last year


def _copy_state(src: Path, name: str) -> Path:
    """A copy of a prepared warehouse and Dagster instance, so every measured process starts
    from the same state (the copying is not timed)."""
    dst = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=src.parent))
    shutil.copytree(src, dst, dirs_exist_ok=True)
    return dst


class Runner:
    """The measured processes of one inbox, each in a fresh process; its folder holds the
    inbox and one folder per measurement."""

    def __init__(self, label: str, scale: float, base: Path, bar: Any, progress: Any) -> None:
        self.label, self.scale, self.base = label, scale, base
        self.inbox = base / "inbox"
        self.bar, self.progress = bar, progress
        base.mkdir(parents=True, exist_ok=True)

    def run(
        self, name: str, *args: str, root: Path | None = None, env: dict[str, str] | None = None
    ) -> Measured:
        note = f"{self.label}: {name}"
        if self.progress is not None:
            self.progress(note)
        if root is None:
            root = Path(tempfile.mkdtemp(prefix=f"{name.replace(' ', '-')}-", dir=self.base))
        m = measure_process(
            [sys.executable, "-m", *args], fresh_env(root, self.inbox) | (env or {})
        )
        self.bar.update(note=f"{note} {m.seconds:.1f} s")
        if not m.ok:
            raise RuntimeError(f"{name} failed ({self.label}):\n{m.output[-3000:]}")
        return m

    def generate(self, last_year: int) -> dict[str, Any]:
        m = self.run("generate", CLI, "sample-data", "--out", str(self.inbox),
                     "--scale", f"{self.scale:g}", "--years", f"2020-{last_year}")  # fmt: skip
        size = sum(f.stat().st_size for f in self.inbox.rglob("*") if f.is_file())
        return {"scale": self.scale, "generate_s": m.seconds, "generate_peak_mib": m.peak_mib,
                "inbox_mib": size / 2**20}  # fmt: skip

    def prepare(
        self, contract: str, year: int, name: str = "prepared", env: dict[str, str] | None = None
    ) -> tuple[Measured, Path]:
        """The state a nightly or January run meets: the earlier years the effect KPIs
        follow are in the warehouse already (measured: 'earlier years')."""
        from resultatrapport.contracts import load_contracts
        from resultatrapport.kpis.compute import partitions_read

        read = partitions_read(load_contracts()[contract], year).values()
        first_needed = min(min(years) for years in read)
        prepared = self.base / name
        prepared.mkdir(exist_ok=True)
        label = "earlier years" if env is None else "lake: earlier years"
        m = self.run(label, CLI, "ingest", "--contract", contract,
                     "--years", f"{first_needed}-{year - 1}", root=prepared, env=env)  # fmt: skip
        return m, prepared

    def clean(self) -> None:
        """The runs' warehouses and instances are big at large scales; the inbox is kept."""
        for child in self.base.iterdir():
            if child.is_dir() and child.name != "inbox":
                shutil.rmtree(child)


@contextmanager
def lake_catalog(server: str, data: Path) -> Iterator[dict[str, str]]:
    """A new, empty DuckLake catalog database on the PostgreSQL ``server`` (a libpq
    connection string without dbname) with its data in ``data``: the environment that makes
    a run use it. The database is dropped afterwards."""
    import psycopg2

    name = f"bench_lake_{os.getpid()}_{time.monotonic_ns()}"
    admin = psycopg2.connect(f"{server} dbname=postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            yield {"RESULTATRAPPORT_LAKE": f"postgres:{server} dbname={name}|{data}/"}
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def measure_lake(r: Runner, server: str, contract: str, year: int) -> dict[str, Any]:
    """The nightly run on a DuckLake warehouse: its earlier years ingested into a new lake
    (not compared), then the run measured as on the file."""
    root = r.base / "lake"
    with lake_catalog(server, root / "lake") as env:
        earlier, prepared = r.prepare(contract, year, name="lake", env=env)
        run = r.run("lake: pipeline", CLI, "run", "--contract", contract, "--year",
                    str(year), root=prepared, env=env)  # fmt: skip
    shutil.rmtree(root)
    return {
        "lake_earlier_years_s": earlier.seconds,
        "lake_pipeline_s": run.seconds,
        "lake_pipeline_peak_mib": run.peak_mib,
    }


def measure_scale(
    r: Runner,
    contract: str,
    year: int,
    backfill_contract: str,
    backfill_years: tuple[int, int],
    lake_server: str | None = None,
) -> dict[str, Any]:
    """One scale: the nightly run against its floor and limit, the first run on an empty
    warehouse against its floor and limit, and the backfill against single-year runs."""
    first, last = backfill_years
    row = r.generate(max(year, last))
    earlier, prepared = r.prepare(contract, year)
    year_args = ["--contract", contract, "--year", str(year)]
    night = _copy_state(prepared, "pipeline")
    pipeline = r.run("pipeline", CLI, "run", *year_args, root=night)
    floor_m = r.run("floor", BENCH, "floor", *year_args,
                    root=_copy_state(prepared, "floor"))  # fmt: skip
    limit_m = r.run("limit", BENCH, "limit", *year_args, "--earlier-loaded",
                    root=_copy_state(prepared, "limit"))  # fmt: skip
    shutil.rmtree(prepared)
    nights = measure_nights(r, contract, year, night)
    lake = measure_lake(r, lake_server, contract, year) if lake_server else {}
    if lake:
        lake["lake_ratio"] = lake["lake_pipeline_s"] / pipeline.seconds
    first_runs = measure_first(r, year_args)
    span = years_text(range(first, last + 1))  # the --years of a backfill
    backfill_m = r.run("backfill", CLI, "backfill", "--contract", backfill_contract,
                       "--years", span)  # fmt: skip
    single = [
        r.run(f"single {y}", CLI, "run", "--contract", backfill_contract, "--year", str(y))
        for y in range(first, last + 1)
    ]
    return (
        row
        | lake
        | nights
        | first_runs
        | {
            "earlier_years_s": earlier.seconds,
            "pipeline_s": pipeline.seconds,
            "pipeline_peak_mib": pipeline.peak_mib,
            "floor_s": floor_m.seconds,
            "limit_s": limit_m.seconds,
            "limit_peak_mib": limit_m.peak_mib,
            "ratio": pipeline.seconds / (floor_m.seconds + limit_m.seconds),
            "backfill_s": backfill_m.seconds,
            "single_years_s": sum(s.seconds for s in single),
            "one_year_s": max(s.seconds for s in single),
            "backfill_ratio": backfill_m.seconds / max(s.seconds for s in single),
        }
    )


def made_again(output: str) -> set[str]:
    """The deliveries, KPIs and drafts a ``run``'s summary says it made again: the assets
    that can stand unchanged (raw deliveries, KPIs, the draft) whose line does not end in
    "(uændret)"."""
    found = set()
    for line in output.splitlines():
        if line.startswith("  materialised "):
            key = line.split()[1]
            can_stand = key.startswith(("raw/", "kpi/")) or key.endswith("/draft")
            if can_stand and not line.endswith("(uændret)"):
                found.add(key)
    return found


def measure_nights(r: Runner, contract: str, year: int, night: Path) -> dict[str, Any]:
    """The nights after the pipeline's run (its state in ``night``, used up here): ``run``
    again with nothing new in the inbox, against its floor (the same jobs with bodies that
    do nothing, on the same state); then with the year's user evaluation delivered again
    with some answers changed (:func:`revise_survey`), against the floor and the limit of
    that delivery's path (``--source``). The inbox gets its first delivery back afterwards.
    A run that did not do what its night asks (work with nothing new, or not the changed
    delivery and the draft) fails the bench: it would be measuring another night."""
    from resultatrapport.contracts import load_contracts
    from resultatrapport.formats import FORMATS
    from resultatrapport.naming import raw_path
    from resultatrapport.sample.generate import revise_survey

    year_args = ["--contract", contract, "--year", str(year)]
    nothing_floor = r.run("nothing new: floor", BENCH, "floor", *year_args,
                          root=_copy_state(night, "nothing-new-floor"))  # fmt: skip
    nothing = r.run("nothing new", CLI, "run", *year_args, root=night)
    if done := made_again(nothing.output):
        raise RuntimeError(f"nothing new ({r.label}) made again: {', '.join(sorted(done))}")
    org = load_contracts()[contract].source_org(CHANGED)
    delivery = r.inbox / FORMATS[CHANGED].relpath(year, org)
    first_delivery = r.base / f"first-{delivery.name}"
    shutil.copy2(delivery, first_delivery)
    try:
        revise_survey(delivery)
        path_args = [*year_args, "--source", CHANGED]
        path_floor = r.run("one delivery changed: path floor", BENCH, "floor",
                           *path_args, root=_copy_state(night, "path-floor"))  # fmt: skip
        path_limit = r.run("one delivery changed: path limit", BENCH, "limit",
                           *path_args, "--earlier-loaded",
                           root=_copy_state(night, "path-limit"))  # fmt: skip
        changed = r.run("one delivery changed", CLI, "run", *year_args, root=night)
    finally:
        os.replace(first_delivery, delivery)
    done = made_again(changed.output)
    raw = {k for k in done if k.startswith("raw/")}
    key = "/".join(raw_path(FORMATS[CHANGED], org))
    if raw != {key} or not any(k.endswith("/draft") for k in done):
        raise RuntimeError(
            f"one delivery changed ({r.label}) made again: {', '.join(sorted(done)) or 'nothing'}"
        )
    shutil.rmtree(night)
    return {
        "nothing_new_s": nothing.seconds,
        "nothing_new_peak_mib": nothing.peak_mib,
        "nothing_new_floor_s": nothing_floor.seconds,
        "nothing_new_ratio": nothing.seconds / nothing_floor.seconds,
        "changed_s": changed.seconds,
        "changed_peak_mib": changed.peak_mib,
        "path_floor_s": path_floor.seconds,
        "path_limit_s": path_limit.seconds,
        "changed_ratio": changed.seconds / (path_floor.seconds + path_limit.seconds),
    }


def measure_first(r: Runner, year_args: list[str]) -> dict[str, Any]:
    """The very first run: empty warehouse and instance, so it ingests the earlier years
    too; against its floor and limit on the same empty state."""
    first_run = r.run("first run", CLI, "run", *year_args)
    first_floor = r.run("first floor", BENCH, "floor", *year_args)
    first_limit = r.run("first limit", BENCH, "limit", *year_args)
    return {
        "first_run_s": first_run.seconds,
        "first_run_peak_mib": first_run.peak_mib,
        "first_floor_s": first_floor.seconds,
        "first_limit_s": first_limit.seconds,
        "first_ratio": first_run.seconds / (first_floor.seconds + first_limit.seconds),
    }


def measure_quick(r: Runner, contract: str, year: int) -> dict[str, Any]:
    """``--quick``: the inbox and the first run against its floor and limit; the scale's
    other measurements are None (not measured)."""
    year_args = ["--contract", contract, "--year", str(year)]
    not_measured = dict.fromkeys(key for key, _ in NIGHTLY + NIGHTS + FIRST)
    return not_measured | r.generate(year) | measure_first(r, year_args)


def measure_tiny(r: Runner, contract: str, year: int) -> dict[str, Any]:
    """The tiny inbox: its first run on an empty warehouse against its nightly run (on the
    warehouse holding the earlier years); nothing else, the data costs nothing here."""
    row = r.generate(year)
    earlier, prepared = r.prepare(contract, year)
    year_args = ["--contract", contract, "--year", str(year)]
    nightly = r.run("nightly run", CLI, "run", *year_args,
                    root=_copy_state(prepared, "nightly"))  # fmt: skip
    shutil.rmtree(prepared)
    first_run = r.run("first run", CLI, "run", *year_args)
    return row | {
        "earlier_years_s": earlier.seconds,
        "nightly_s": nightly.seconds,
        "first_run_s": first_run.seconds,
        "first_ratio": first_run.seconds / nightly.seconds,
    }


def bench(
    scales: list[float],
    contract: str,
    year: int,
    workdir: Path,
    backfill_contract: str = BACKFILL[0],
    backfill_years: tuple[int, int] = BACKFILL[1:],
    progress: Any = None,
    keep_runs: bool = False,
    lake_server: str | None = None,
    quick: bool = False,
) -> Results:
    """Measure the tiny inbox, then each scale; see the module's docstring. ``progress(name)``
    is told each measurement before it starts (default: a progress bar, or plain lines off a
    terminal). ``lake_server``: a PostgreSQL server (libpq connection string, no dbname) to
    measure each scale's nightly run on a DuckLake too. ``quick``: each scale's first run
    against its floor and limit only (:func:`measure_quick`), no tiny inbox, backfill or lake."""
    from resultatrapport.progress import progress as progress_bar

    per_scale = SCALE_STEPS + backfill_years[1] - backfill_years[0] + 1 + (2 if lake_server else 0)
    total = len(scales) * QUICK_STEPS if quick else TINY_STEPS + len(scales) * per_scale
    tiny = None
    with progress_bar(total, "bench", unit="measurement") as bar:
        if not quick:
            runner = Runner(f"tiny inbox (scale {TINY:g})", TINY, workdir / "tiny", bar, progress)
            tiny = measure_tiny(runner, contract, year)
            if not keep_runs:
                runner.clean()
        rows = []
        for scale in scales:
            runner = Runner(f"scale {scale:g}", scale, workdir / f"scale-{scale:g}", bar, progress)
            if quick:
                rows.append(measure_quick(runner, contract, year))
            else:
                rows.append(
                    measure_scale(
                        runner, contract, year, backfill_contract, backfill_years, lake_server
                    )
                )
            if not keep_runs:
                runner.clean()
    return Results(contract, year, rows, tiny, (backfill_contract, *backfill_years))


# --- the tables --------------------------------------------------------------------------


def _table(head: list[str], lines: list[str]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head), *lines]


def _cells(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


_COUNT = {2: "two", 3: "three", 4: "four", 5: "five"}


def target_rows(results: Results) -> list[dict[str, Any]]:
    """Each target of the issue with its ratio as measured in this one run (``measured``
    None: not measured in this run), the bound it must not exceed and whether it did not.
    A target per scale has a row for each scale the issue names and for any other scale
    this run measured it at."""
    by = {r["scale"]: r for r in results.rows}

    def at(scale: float, key: str) -> float | None:
        return by[scale].get(key) if scale in by else None

    def scales(key: str) -> list[float]:
        return sorted({*TARGET_SCALES, *(s for s, r in by.items() if r.get(key) is not None)})

    growth = None
    if (at10 := at(10, "pipeline_s")) is not None and (at100 := at(100, "pipeline_s")) is not None:
        growth = at100 / at10
    runs = ("pipeline_peak_mib", "nothing_new_peak_mib", "changed_peak_mib", "first_run_peak_mib")
    peaks = [p for p in (at(100, key) for key in runs) if p is not None]
    _, first, last = results.backfill
    years = last - first + 1
    tiny = results.tiny["first_ratio"] if results.tiny else None
    changed = f"one delivery changed ({CHANGED})"
    out = [
        *(
            ("everything new: pipeline / (floor + limit)", f"{s:g}", r, 2.0, "")
            for s, r in ((s, at(s, "ratio")) for s in scales("ratio"))
        ),
        *(
            ("nothing new: run / floor", f"{s:g}", r, 1.2, "")
            for s, r in ((s, at(s, "nothing_new_ratio")) for s in scales("nothing_new_ratio"))
        ),
        *(
            (f"{changed}: run / (path floor + path limit)", f"{s:g}", r, 1.5, "")
            for s, r in ((s, at(s, "changed_ratio")) for s in scales("changed_ratio"))
        ),
        *(
            ("first run, empty warehouse / (first floor + first limit)", f"{s:g}", r, 1.5, "")
            for s, r in ((s, at(s, "first_ratio")) for s in scales("first_ratio"))
        ),
        *(
            (f"{_COUNT.get(years, years)}-year backfill / one year", f"{s:g}", r, 1.5, "")
            for s, r in ((s, at(s, "backfill_ratio")) for s in scales("backfill_ratio"))
        ),
        ("tiny inbox: first run / nightly run", f"{TINY:g}", tiny, 1.5, ""),
        ("nightly run at scale 100 / at scale 10 (data × 10)", "10 → 100", growth, 10.0, ""),
        ("peak RSS of a run (MiB)", "100", max(peaks, default=None), 4096.0, " MiB"),
        # the issue bounds the lake at scale 100 only; the table of both backends has the rest
        ("nightly run on a DuckLake / on the file", "100", at(100, "lake_ratio"), 1.3, ""),
    ]
    return [
        {
            "target": t,
            "scale": s,
            "measured": m,
            "limit": lim,
            "unit": u,
            "met": None if m is None else round(m, 2) <= lim,  # as printed
        }
        for t, s, m, lim, u in out
    ]


def _targets_table(results: Results) -> list[str]:
    lines = []
    for t in target_rows(results):
        fmt = ".0f" if t["unit"] else ".2f"
        measured = "not measured" if t["measured"] is None else f"{t['measured']:{fmt}}{t['unit']}"
        met = {None: "not measured", True: "met", False: "**not met**"}[t["met"]]
        limit = f"≤ {t['limit']:{fmt}}{t['unit']}"
        lines.append(_cells(t["target"], t["scale"], measured, limit, met))
    head = _table(["target", "scale", "measured", "limit", "status"], lines)
    head[1] = "|---|---:|---:|---:|---|"
    return head


# the measurements of each table, in its columns' order: (key of a row, format)
NIGHTLY = [("generate_s", ".1f"), ("generate_peak_mib", ".0f"), ("inbox_mib", ".0f"),
           ("earlier_years_s", ".1f"), ("pipeline_s", ".1f"), ("pipeline_peak_mib", ".0f"),
           ("floor_s", ".1f"), ("limit_s", ".1f"), ("ratio", ".2f")]  # fmt: skip
NIGHTS = [("nothing_new_s", ".1f"), ("nothing_new_peak_mib", ".0f"),
          ("nothing_new_floor_s", ".1f"), ("nothing_new_ratio", ".2f"), ("changed_s", ".1f"),
          ("changed_peak_mib", ".0f"), ("path_floor_s", ".1f"), ("path_limit_s", ".1f"),
          ("changed_ratio", ".2f")]  # fmt: skip
FIRST = [("first_run_s", ".1f"), ("first_run_peak_mib", ".0f"), ("first_floor_s", ".1f"),
         ("first_limit_s", ".1f"), ("first_ratio", ".2f"), ("backfill_s", ".1f"),
         ("single_years_s", ".1f"), ("one_year_s", ".1f"), ("backfill_ratio", ".2f")]  # fmt: skip
TINY_COLUMNS = [("inbox_mib", ".1f"), ("earlier_years_s", ".1f"), ("nightly_s", ".1f"),
                ("first_run_s", ".1f"), ("first_ratio", ".2f")]  # fmt: skip
LAKE = [("pipeline_s", ".1f"), ("pipeline_peak_mib", ".0f"), ("lake_earlier_years_s", ".1f"),
        ("lake_pipeline_s", ".1f"), ("lake_pipeline_peak_mib", ".0f"), ("lake_ratio", ".2f")]  # fmt: skip


def _row(scale: float, row: dict[str, Any], columns: list[tuple[str, str]]) -> str:
    """A table's line for one scale; a measurement this run did not make (None) says so."""
    shown = ["not measured" if row[key] is None else f"{row[key]:{fmt}}" for key, fmt in columns]
    return _cells(f"{scale:g}", *shown)


def table(results: Results) -> str:
    """Markdown tables: the run of one contract-year (everything new), the nights after it
    (nothing new; one delivery changed), the first run and the backfill, the tiny inbox, the
    nightly run on both backends (when the lake was measured), and the targets (the ratios as
    measured in this run). Each scale has its line in the first three and the tiny inbox its
    line in the fourth, measured or not."""
    rows, what = results.rows, f"{results.contract} {results.year}"
    backfill, first, last = results.backfill
    lake = [_row(r["scale"], r, LAKE) for r in rows if "lake_ratio" in r]
    lake_table = [
        *_table([
            "scale", f"file: pipeline {what} (s)", "peak RSS (MiB)", "lake: earlier years (s)",
            f"lake: pipeline {what} (s)", "peak RSS (MiB)", "lake / file",
        ], lake),
        "",
    ] if lake else []  # fmt: skip
    return "\n".join([
        *_table(["scale", "generate (s)", "peak RSS (MiB)", "inbox (MiB)", "earlier years (s)",
                 f"pipeline {what} (s)", "peak RSS (MiB)", "floor (s)", "limit (s)",
                 "pipeline / (floor + limit)"], [_row(r["scale"], r, NIGHTLY) for r in rows]),
        "",
        *_table(["scale", f"nothing new {what} (s)", "peak RSS (MiB)", "floor (s)",
                 "nothing new / floor", f"one delivery changed: {CHANGED} {results.year} (s)",
                 "peak RSS (MiB)", "path floor (s)", "path limit (s)",
                 "changed / (path floor + path limit)"],
                [_row(r["scale"], r, NIGHTS) for r in rows]),
        "",
        *_table(["scale", "first run, empty warehouse (s)", "peak RSS (MiB)", "floor (s)",
                 "limit (s)", "first run / (floor + limit)",
                 f"backfill {backfill} {first}-{last} (s)", f"{last - first + 1} single years (s)",
                 "slowest single year (s)", "backfill / one year"],
                [_row(r["scale"], r, FIRST) for r in rows]),
        "",
        *_table(["tiny inbox, scale", "inbox (MiB)", "earlier years (s)",
                 f"nightly run {what} (s)", "first run, empty warehouse (s)",
                 "first run / nightly run"], [_row(TINY, results.tiny or dict.fromkeys(k for k, _ in TINY_COLUMNS), TINY_COLUMNS)]),
        "",
        *lake_table,
        *_targets_table(results),
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Entry of the measured subprocesses: ``python -m commands.bench floor|limit``
    (``--source S``: only the path of that delivery)."""
    parser = argparse.ArgumentParser(prog=f"python -m {BENCH}")
    parser.add_argument("what", choices=["floor", "limit"])
    parser.add_argument("--contract", required=True)
    parser.add_argument("--year", type=int, required=True)
    parser.add_argument("--earlier-loaded", action="store_true")
    parser.add_argument(
        "--source", help="only the path of this source's delivery (e.g. survey_answers)"
    )
    args = parser.parse_args(argv)
    if args.source is not None:
        from resultatrapport.formats import FORMATS

        if args.source not in FORMATS:
            parser.error(f"--source: no source {args.source!r}")
    if args.what == "limit":
        return limit(args.contract, args.year, args.earlier_loaded, args.source)
    return floor(args.contract, [args.year], args.source)


if __name__ == "__main__":
    sys.exit(main())
