"""The write waits of six hubs' contract runs at once on one DuckLake (``docs/benchmarks.md``,
*Six hubs at once on one lake*).

    uv run python -m commands.write_waits --scale 10 --lake-server 'host=… port=… user=…'

Generates the six-hub inbox (``sample-data --hubs``, the years a first run of the year reads),
makes a new, empty catalog database on the PostgreSQL server, and starts the six hubs'
``resultatrapport run --contract <id> --year <year>`` at once, each a process with its own
Dagster instance (six machines), all on the one lake and its data folder. Every write
transaction on a lake takes the lake's one write turn (:func:`resultatrapport.lake.write_turn`);
each run prints how many turns it took, how long it waited for them and how long it held
them, and this prints a table of them per hub, with each run's wall time, as Markdown. The
catalog database is dropped afterwards (``--keep`` keeps it and the folder).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from resultatrapport.settings import PROJECT_ROOT, dagster_yaml

YEARS = (2021, 2026)  # a first run of 2026 reads 2021-2026 (the effect KPIs look back)
TURNS = re.compile(
    r"Write turns on the lake: (?P<turns>\d+), (?P<waited>[\d.]+) s waiting for them "
    r"\(longest (?P<longest>[\d.]+) s\), (?P<held>[\d.]+) s holding them"
)


@dataclass(frozen=True)
class Turns:
    turns: int
    waited: float
    longest: float
    held: float


def parse_turns(output: str) -> Turns | None:
    """The write-turn line `resultatrapport run` prints at its end on a lake (None: none)."""
    found = TURNS.search(output)
    if found is None:
        return None
    return Turns(
        int(found["turns"]),
        float(found["waited"]),
        float(found["longest"]),
        float(found["held"]),
    )


@dataclass(frozen=True)
class HubRun:
    slug: str
    contract: str
    code: int
    seconds: float
    turns: Turns | None


def _database(server: str, name: str, create: bool) -> None:
    import psycopg2

    session = psycopg2.connect(f"{server} dbname=postgres")
    try:
        session.autocommit = True
        with session.cursor() as cursor:
            if create:
                cursor.execute(f'CREATE DATABASE "{name}"')
            else:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        session.close()


def run_six(workdir: Path, scale: float, server: str, year: int, seed: int) -> list[HubRun]:
    """Generate the inbox, then run the six hubs' year at once on a new lake; per hub its
    exit code, wall time and write turns."""
    from resultatrapport.sample.generate import generate_inbox, hub_plans

    inbox = workdir / "inbox"
    started = time.perf_counter()
    manifest = generate_inbox(inbox, range(YEARS[0], year + 1), scale=scale, seed=seed,
                              hubs=True, progress=True)  # fmt: skip
    print(
        f"inbox: {len(manifest['files'])} files at scale {scale:g} in "
        f"{time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    name = f"write_waits_{uuid.uuid4().hex[:10]}"
    _database(server, name, create=True)
    try:
        lake = f"postgres:{server} dbname={name}|{workdir / 'lake'}/"
        processes = {}
        for hub in hub_plans():
            home = workdir / hub.slug / "dagster_home"
            home.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dagster_yaml(), home / "dagster.yaml")
            env = {
                **os.environ,
                "DAGSTER_HOME": str(home),
                "RESULTATRAPPORT_LAKE": lake,
                "RESULTATRAPPORT_INBOX": str(inbox),
                "RESULTATRAPPORT_OUT": str(workdir / "out"),
                "RESULTATRAPPORT_WAREHOUSE": str(workdir / hub.slug / "unused.duckdb"),
                "RESULTATRAPPORT_EXAMPLE_CONTRACTS": "1",
            }
            log = (workdir / f"{hub.slug}.log").open("w")
            command = [sys.executable, "-m", f"{__package__}.cli", "run", "--contract", hub.contract,
                       "--year", str(year)]  # fmt: skip
            processes[hub.slug] = (
                hub.contract,
                subprocess.Popen(
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT
                ),
                log,
                time.perf_counter(),
            )
        ended: dict[str, float] = {}
        while len(ended) < len(processes):  # each run's own end, in whatever order
            for slug, (_, process, _, _) in processes.items():
                if slug not in ended and process.poll() is not None:
                    ended[slug] = time.perf_counter()
            time.sleep(0.2)
        results = []
        for slug, (contract, process, log, began) in processes.items():
            log.close()
            output = (workdir / f"{slug}.log").read_text(errors="replace")
            turns = parse_turns(output)
            results.append(HubRun(slug, contract, process.returncode, ended[slug] - began, turns))
        return results
    finally:
        _database(server, name, create=False)


def table(results: list[HubRun]) -> str:
    """The Markdown table of the runs."""
    lines = [
        "| hub | contract | exit | wall time (s) | write turns | waited for them (s) | "
        "longest wait (s) | held them (s) |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        t = r.turns
        cells = (
            [str(t.turns), f"{t.waited:.1f}", f"{t.longest:.1f}", f"{t.held:.1f}"]
            if t
            else ["–"] * 4
        )
        lines.append(
            f"| {r.slug} | {r.contract} | {r.code} | {r.seconds:.0f} | " + " | ".join(cells) + " |"
        )
    done = [r.turns for r in results if r.turns]
    if done:
        lines.append(
            f"| all six | | | {max(r.seconds for r in results):.0f} | "
            f"{sum(t.turns for t in done)} | {sum(t.waited for t in done):.1f} | "
            f"{max(t.longest for t in done):.1f} | {sum(t.held for t in done):.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m commands.write_waits",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scale", type=float, default=10.0, help="sample scale (default 10)")
    parser.add_argument("--year", type=int, default=YEARS[1], help="the year run (default 2026)")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument(
        "--lake-server", required=True, help="the PostgreSQL server: 'host=… port=… user=…'"
    )
    parser.add_argument("--workdir", help="folder for the inbox, lake and logs (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="write-waits-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now().astimezone()
    revision = subprocess.run(  # the code the runs start with
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=PROJECT_ROOT
    ).stdout.strip()
    try:
        results = run_six(workdir, args.scale, args.lake_server, args.year, args.seed)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"Six hubs' `resultatrapport run --year {args.year}` at once on one new lake, scale "
        f"{args.scale:g}, started {started:%Y-%m-%d %H:%M %Z}, commit {revision or 'unknown'}:\n"
    )
    print(table(results))
    return 0 if all(r.code == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
