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
    from resultatrapport.settings import PROJECT_ROOT

    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_bytes((PROJECT_ROOT / "dagster.yaml").read_bytes())
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

    from resultatrapport.pipelines.definitions import defs

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
        if getattr(job, "name", "").startswith(("ingest_", "contract_"))
        and job.name != "ingest_all"
    ]
    return Definitions(assets=assets, jobs=jobs, executor=in_process_executor)


# --- the limit: the data's own cost ------------------------------------------------------


def limit(contract_id: str, year: int) -> int:
    """Read and type the deliveries the contract-year needs with DuckDB, and compute every
    KPI and the budget as plain queries; no Dagster, no validation, no rendering."""
    import duckdb

    from resultatrapport import settings
    from resultatrapport.contracts import PopulationKeyBudget, load_contracts
    from resultatrapport.formats import FORMATS
    from resultatrapport.ingest import build_clean, load_raw
    from resultatrapport.kpis import budget as budgets
    from resultatrapport.kpis.compute import evaluate, measure, partitions_read
    from resultatrapport.warehouse_schema import ensure_schema

    contract = load_contracts()[contract_id]
    inbox = settings.inbox_dir()
    con = duckdb.connect(str(settings.warehouse_path()))
    ensure_schema(con)
    for (source, org), years in partitions_read(contract, year).items():
        for y in years:
            load_raw(con, FORMATS[source], inbox, y, org)
            build_clean(con, FORMATS[source], y, org)
    for kpi in contract.kpis:
        evaluate(contract, kpi, year, measure(con, contract, kpi, year))
    b = contract.budget
    try:
        if isinstance(b, PopulationKeyBudget):
            total = b.totals[year]
            if total is not None:
                budgets.population_key(
                    con, year, total, b.population_quarter[year], b.municipalities
                )
        else:
            earmarks = {e.name: e.amount for e in b.earmarks.get(year, [])}
            budgets.indexed_sum(con, b.base_amount, b.base_year, year, earmarks)
    except budgets.BudgetError:
        pass
    con.close()
    return 0


def floor(contract_id: str, years: list[int]) -> int:
    from resultatrapport.cli import _build
    from resultatrapport.contracts import load_contracts
    from resultatrapport.instance import ensure_dagster_home

    ensure_dagster_home()
    return _build(load_contracts()[contract_id], years, floor_definitions())


# --- the benchmark -----------------------------------------------------------------------


def bench(
    scales: list[float],
    contract: str,
    year: int,
    workdir: Path,
    backfill_contract: str = "viborg-ver-2020",
    backfill_years: tuple[int, int] = (2020, 2023),
    progress: Any = print,
) -> list[dict[str, Any]]:
    from resultatrapport.sample.generate import generate_inbox

    python = [sys.executable, "-m"]
    rows = []
    for scale in scales:
        inbox = workdir / f"scale-{scale:g}" / "inbox"
        started = time.perf_counter()
        progress(f"scale {scale:g}: generating the sample inbox ...")
        generate_inbox(inbox, range(2020, max(year, backfill_years[1]) + 1), scale=scale)
        generated = time.perf_counter() - started

        def run(name: str, *args: str, scale: float = scale, inbox: Path = inbox) -> Measured:
            progress(f"scale {scale:g}: {name} ...")
            root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=inbox.parent))
            m = measure_process([*python, *args], fresh_env(root, inbox))
            if not m.ok:
                raise RuntimeError(f"{name} failed at scale {scale:g}:\n{m.output[-3000:]}")
            return m

        year_args = ["--contract", contract, "--year", str(year)]
        pipeline = run("pipeline", "resultatrapport.cli", "run", *year_args)
        floor_m = run("floor", "resultatrapport.bench", "floor", *year_args)
        limit_m = run("limit", "resultatrapport.bench", "limit", *year_args)
        first, last = backfill_years
        span = f"{first}-{last}"
        backfill_m = run("backfill", "resultatrapport.cli", "backfill", "--contract",
                         backfill_contract, "--years", span)  # fmt: skip
        single = [
            run(
                f"single-{y}",
                "resultatrapport.cli",
                "run",
                "--contract",
                backfill_contract,
                "--year",
                str(y),
            )
            for y in range(first, last + 1)
        ]
        rows.append(
            {
                "scale": scale,
                "generate_s": generated,
                "pipeline_s": pipeline.seconds,
                "pipeline_peak_mib": pipeline.peak_mib,
                "floor_s": floor_m.seconds,
                "limit_s": limit_m.seconds,
                "limit_peak_mib": limit_m.peak_mib,
                "ratio": pipeline.seconds / (floor_m.seconds + limit_m.seconds),
                "backfill_s": backfill_m.seconds,
                "single_years_s": sum(s.seconds for s in single),
                "one_year_s": single[0].seconds,
            }
        )
        progress(f"scale {scale:g}: done")
    return rows


def table(rows: list[dict[str, Any]], contract: str, year: int, backfill: str) -> str:
    head = (
        f"| scale | generate (s) | pipeline {contract} {year} (s) | peak RSS (MiB) | floor (s) "
        f"| limit (s) | pipeline / (floor + limit) | backfill {backfill} (s) "
        "| 4 single years (s) | backfill / one year |"
    )
    lines = [head, "|" + "---:|" * 10]
    for r in rows:
        lines.append(
            f"| {r['scale']:g} | {r['generate_s']:.1f} | {r['pipeline_s']:.1f} "
            f"| {r['pipeline_peak_mib']:.0f} | {r['floor_s']:.1f} | {r['limit_s']:.1f} "
            f"| {r['ratio']:.2f} | {r['backfill_s']:.1f} | {r['single_years_s']:.1f} "
            f"| {r['backfill_s'] / r['one_year_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry of the measured subprocesses: ``python -m resultatrapport.bench floor|limit``."""
    parser = argparse.ArgumentParser(prog="python -m resultatrapport.bench")
    parser.add_argument("what", choices=["floor", "limit"])
    parser.add_argument("--contract", required=True)
    parser.add_argument("--year", type=int, required=True)
    args = parser.parse_args(argv)
    if args.what == "limit":
        return limit(args.contract, args.year)
    return floor(args.contract, [args.year])


if __name__ == "__main__":
    sys.exit(main())
