"""What a run costs as the data grows: ``resultatrapport bench``.

For each scale, on the same generated inbox, each in a fresh process with a fresh warehouse
and Dagster instance:

- **pipeline**: ``resultatrapport run`` for one contract-year, up to and including the
  draft PDF (ingestion of the year and of the earlier years the KPIs read, then KPIs to
  draft), exactly as a user runs it;
- **floor**: the same asset graph and jobs with bodies that do nothing: what Dagster costs;
- **limit**: the same deliveries read and typed by DuckDB and the same KPI computations as
  plain queries, with no orchestration, validation or rendering: what the data costs;

and, for the four-year backfill, ``resultatrapport backfill`` against four single-year runs.
Wall time and peak resident memory are measured per process (``os.wait4``).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
    return {
        **os.environ,
        "RESULTATRAPPORT_INBOX": str(inbox),
        "RESULTATRAPPORT_WAREHOUSE": str(root / "warehouse.duckdb"),
        "RESULTATRAPPORT_OUT": str(root / "out"),
        "DAGSTER_HOME": str(home),
    }


# --- the floor: the same graph, bodies that do nothing -------------------------------------


def floor_definitions() -> Any:
    """The code location's assets and jobs with every body replaced by one that reports its
    assets and checks materialised and does nothing else."""
    from dagster import (
        AssetCheckResult,
        AssetChecksDefinition,
        AssetExecutionContext,
        Definitions,
        MaterializeResult,
        asset_check,
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
    jobs = [
        job
        for job in defs.jobs or []
        if getattr(job, "name", "").startswith(("ingest_", "contract_")) and job.name != INGEST_ALL
    ]
    return Definitions(assets=assets, jobs=jobs, executor=in_process_executor)


# --- the limit: the data's own cost ------------------------------------------------------


def limit(contract_id: str, year: int, earlier_loaded: bool = False) -> int:
    """Read and type the deliveries the contract-year needs with DuckDB, and compute every
    KPI and the budget as plain queries; no Dagster, no validation, no rendering.

    With ``earlier_loaded`` the warehouse already holds the earlier years the KPIs read (as
    for the pipeline it is compared with), so only the year's own deliveries are loaded."""
    import duckdb

    from resultatrapport import settings
    from resultatrapport.contracts import load_contracts
    from resultatrapport.formats import FORMATS
    from resultatrapport.ingest import ingest_file
    from resultatrapport.kpis.budget import budget_lines
    from resultatrapport.kpis.compute import evaluate, measure, partitions_read
    from resultatrapport.warehouse_schema import ensure_schema

    contract = load_contracts()[contract_id]
    inbox = settings.inbox_dir()
    con = duckdb.connect(str(settings.warehouse_path()), config=settings.duckdb_config())
    ensure_schema(con)
    for (source, org), years in partitions_read(contract, year).items():
        for y in years:
            if earlier_loaded and y != year:
                continue
            ingest_file(con, FORMATS[source], inbox, y, org)
    for kpi in contract.kpis:
        evaluate(contract, kpi, year, measure(con, contract, kpi, year))
    budget_lines(con, contract.budget, year)
    con.close()
    return 0


def floor(contract_id: str, years: list[int]) -> int:
    from commands.instance import ensure_dagster_home
    from commands.runs import build_years
    from resultatrapport.contracts import load_contracts

    ensure_dagster_home()
    return build_years(load_contracts()[contract_id], years, floor_definitions())


# --- the benchmark -----------------------------------------------------------------------


def _copy_state(src: Path, name: str) -> Path:
    """A copy of a prepared warehouse and Dagster instance, so every measured process starts
    from the same state (the copying is not timed)."""
    dst = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=src.parent))
    shutil.copytree(src, dst, dirs_exist_ok=True)
    return dst


def bench(
    scales: list[float],
    contract: str,
    year: int,
    workdir: Path,
    backfill_contract: str = "viborg-ver-2020",
    backfill_years: tuple[int, int] = (2020, 2023),
    progress: Any = None,
    keep_runs: bool = False,
) -> list[dict[str, Any]]:
    """Measure each scale; see the module's docstring. ``progress(name)`` is told each
    measurement before it starts (default: a progress bar, or plain lines off a terminal)."""
    from resultatrapport.contracts import load_contracts
    from resultatrapport.kpis.compute import partitions_read
    from resultatrapport.progress import progress as progress_bar

    python = [sys.executable, "-m"]
    first_needed = min(min(ys) for ys in partitions_read(load_contracts()[contract], year).values())
    first, last = backfill_years
    steps = ["generate", "earlier years", "pipeline", "floor", "limit", "first run",
             "first floor", "first limit", "backfill", *(f"single {y}" for y in range(first, last + 1))]  # fmt: skip
    rows = []
    with progress_bar(len(scales) * len(steps), "bench", unit="measurement") as bar:
        for scale in scales:
            base = workdir / f"scale-{scale:g}"
            inbox = base / "inbox"

            def run(name: str, *args: str, root: Path | None = None, scale: float = scale,
                    inbox: Path = inbox, base: Path = base) -> Measured:  # fmt: skip
                note = f"scale {scale:g}: {name}"
                if progress is not None:
                    progress(note)
                if root is None:
                    root = Path(tempfile.mkdtemp(prefix=f"{name.replace(' ', '-')}-", dir=base))
                m = measure_process([*python, *args], fresh_env(root, inbox))
                bar.update(note=f"{note} {m.seconds:.1f} s")
                if not m.ok:
                    raise RuntimeError(f"{name} failed at scale {scale:g}:\n{m.output[-3000:]}")
                return m

            base.mkdir(parents=True, exist_ok=True)
            generated = run("generate", "commands.cli", "sample-data", "--out", str(inbox),
                            "--scale", f"{scale:g}", "--years", f"2020-{max(year, last)}")  # fmt: skip
            # the state a nightly or January run meets: the earlier years the effect KPIs
            # follow are in the warehouse already
            prepared = base / "prepared"
            prepared.mkdir(exist_ok=True)
            earlier = run("earlier years", "commands.cli", "ingest", "--contract", contract,
                          "--years", f"{first_needed}-{year - 1}", root=prepared)  # fmt: skip
            year_args = ["--contract", contract, "--year", str(year)]
            pipeline = run("pipeline", "commands.cli", "run", *year_args,
                           root=_copy_state(prepared, "pipeline"))  # fmt: skip
            floor_m = run("floor", "commands.bench", "floor", *year_args,
                          root=_copy_state(prepared, "floor"))  # fmt: skip
            limit_m = run("limit", "commands.bench", "limit", *year_args,
                          "--earlier-loaded", root=_copy_state(prepared, "limit"))  # fmt: skip
            shutil.rmtree(prepared)
            # the very first run: empty warehouse and instance, so it ingests the earlier
            # years as well
            first_run = run("first run", "commands.cli", "run", *year_args)
            first_floor = run("first floor", "commands.bench", "floor", *year_args)
            first_limit = run("first limit", "commands.bench", "limit", *year_args)
            span = f"{first}-{last}"
            single_args = ["--contract", backfill_contract, "--year"]
            backfill_m = run("backfill", "commands.cli", "backfill", "--contract",
                             backfill_contract, "--years", span)  # fmt: skip
            single = [
                run(f"single {y}", "commands.cli", "run", *single_args, str(y))
                for y in range(first, last + 1)
            ]
            rows.append(
                {
                    "scale": scale,
                    "backfill": f"{backfill_contract} {span}",
                    "single_years": len(single),
                    "generate_s": generated.seconds,
                    "generate_peak_mib": generated.peak_mib,
                    "inbox_mib": sum(f.stat().st_size for f in inbox.rglob("*") if f.is_file())
                    / 2**20,
                    "earlier_years_s": earlier.seconds,
                    "pipeline_s": pipeline.seconds,
                    "pipeline_peak_mib": pipeline.peak_mib,
                    "floor_s": floor_m.seconds,
                    "limit_s": limit_m.seconds,
                    "limit_peak_mib": limit_m.peak_mib,
                    "ratio": pipeline.seconds / (floor_m.seconds + limit_m.seconds),
                    "first_run_s": first_run.seconds,
                    "first_run_peak_mib": first_run.peak_mib,
                    "first_floor_s": first_floor.seconds,
                    "first_limit_s": first_limit.seconds,
                    "first_ratio": first_run.seconds / (first_floor.seconds + first_limit.seconds),
                    "backfill_s": backfill_m.seconds,
                    "single_years_s": sum(s.seconds for s in single),
                    "one_year_s": max(s.seconds for s in single),
                }
            )
            # the runs' warehouses and instances are big at large scales; the inbox is kept
            for child in [] if keep_runs else base.iterdir():
                if child.is_dir() and child.name != "inbox":
                    shutil.rmtree(child)
    return rows


def table(rows: list[dict[str, Any]], contract: str, year: int) -> str:
    """Two markdown tables: the run of one contract-year, and the first run and backfill."""
    head = (
        f"| scale | generate (s) | peak RSS (MiB) | inbox (MiB) | earlier years (s) "
        f"| pipeline {contract} {year} (s) | peak RSS (MiB) | floor (s) | limit (s) "
        "| pipeline / (floor + limit) |"
    )
    lines = [head, "|" + "---:|" * 10]
    for r in rows:
        lines.append(
            f"| {r['scale']:g} | {r['generate_s']:.1f} | {r['generate_peak_mib']:.0f} "
            f"| {r['inbox_mib']:.0f} | {r['earlier_years_s']:.1f} | {r['pipeline_s']:.1f} "
            f"| {r['pipeline_peak_mib']:.0f} | {r['floor_s']:.1f} | {r['limit_s']:.1f} "
            f"| {r['ratio']:.2f} |"
        )
    lines += [
        "",
        "| scale | first run, empty warehouse (s) | peak RSS (MiB) | floor (s) | limit (s) "
        f"| first run / (floor + limit) | backfill {rows[0]['backfill']} (s) "
        f"| {rows[0]['single_years']} single years (s) "
        "| slowest single year (s) | backfill / one year |",
        "|" + "---:|" * 10,
    ]
    for r in rows:
        lines.append(
            f"| {r['scale']:g} | {r['first_run_s']:.1f} | {r['first_run_peak_mib']:.0f} "
            f"| {r['first_floor_s']:.1f} | {r['first_limit_s']:.1f} | {r['first_ratio']:.2f} "
            f"| {r['backfill_s']:.1f} | {r['single_years_s']:.1f} | {r['one_year_s']:.1f} "
            f"| {r['backfill_s'] / r['one_year_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry of the measured subprocesses: ``python -m commands.bench floor|limit``."""
    parser = argparse.ArgumentParser(prog="python -m commands.bench")
    parser.add_argument("what", choices=["floor", "limit"])
    parser.add_argument("--contract", required=True)
    parser.add_argument("--year", type=int, required=True)
    parser.add_argument("--earlier-loaded", action="store_true")
    args = parser.parse_args(argv)
    if args.what == "limit":
        return limit(args.contract, args.year, args.earlier_loaded)
    return floor(args.contract, [args.year])


if __name__ == "__main__":
    sys.exit(main())
