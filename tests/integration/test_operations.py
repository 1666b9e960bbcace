"""Running it for real: backfill ranges, concurrent runs, a run killed halfway, the
PostgreSQL-backed instance. Each run is a separate process, as a scheduler would start it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from resultatrapport.settings import PROJECT_ROOT
from tests.helpers import postgres_url

pytestmark = pytest.mark.slow
VER = "viborg-ver-2020"


@pytest.fixture(scope="module")
def inbox(sample_inbox) -> Path:
    return sample_inbox(range(2020, 2028), 0.05, 9)  # read only (a test that writes copies it)


def environment(root: Path, inbox: Path, dagster_yaml: Path | None = None) -> dict[str, str]:
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dagster_yaml or PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        "RESULTATRAPPORT_INBOX": str(inbox),
        "RESULTATRAPPORT_WAREHOUSE": str(root / "warehouse.duckdb"),
        "RESULTATRAPPORT_OUT": str(root / "out"),
        "DAGSTER_HOME": str(home),
    }


def python(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """This Python in a child process with ``env``, beside the run's folders, its output
    (stdout and stderr together) to read with :func:`finish`."""
    return subprocess.Popen(
        [sys.executable, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(env["RESULTATRAPPORT_OUT"]).parent,
    )


def cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return python(env, "-m", "commands.cli", *args)


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = process.communicate(timeout=600)
    return process.returncode, out


def test_backfill_of_a_contract_builds_its_years_in_one_run_and_never_others(inbox, tmp_path):
    env = environment(tmp_path, inbox)
    code, out = finish(cli(env, "backfill", "--contract", VER, "--years", "2019-2021"))
    assert code == 2 and "2019 ligger uden for kontraktperioden for viborg-ver-2020" in out
    code, out = finish(cli(env, "backfill", "--contract", VER, "--years", "2020-2023"))
    assert code == 0, out
    for year in range(2020, 2024):
        assert (
            tmp_path / "out" / VER / str(year) / f"aarsrapport_{VER}_{year}_udkast.pdf"
        ).exists()
    assert not (tmp_path / "out" / VER / "2024").exists()
    from dagster import DagsterInstance, RunsFilter

    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    with DagsterInstance.get() as instance:
        runs = instance.get_runs(RunsFilter(job_name="contract_viborg_ver_2020"))
    assert len(runs) == 1  # the KPIs, budget and drafts of four years in one run
    assert runs[0].tags["dagster/asset_partition_range_start"] == "2020"
    assert runs[0].tags["dagster/asset_partition_range_end"] == "2023"
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    years = con.execute("SELECT DISTINCT year FROM kpi.results ORDER BY 1").fetchall()
    assert years == [(2020,), (2021,), (2022,), (2023,)]


def test_contract_partitions_are_the_contract_years_only():
    from pipelines.definitions import build_definitions

    defs = build_definitions()

    job = defs.resolve_job_def("contract_viborg_ver_2020")
    assert job.partitions_def.get_partition_keys() == ["2020", "2021", "2022", "2023"]


def test_two_runs_for_different_years_at_once_both_succeed(inbox, tmp_path):
    env = environment(tmp_path, inbox)
    first = cli(env, "run", "--contract", VER, "--year", "2021")
    second = cli(env, "run", "--contract", VER, "--year", "2022")
    (code1, out1), (code2, out2) = finish(first), finish(second)
    assert code1 == 0, out1
    assert code2 == 0, out2
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    counts = dict(con.execute("SELECT year, count(*) FROM kpi.results GROUP BY year").fetchall())
    # each report shows the contract's earlier years, computed with it where missing: once
    # each, whichever run got there first
    assert counts == {2020: 4, 2021: 4, 2022: 4}


# --- a run killed halfway ---------------------------------------------------------------

PARTITION_COLUMNS = ("contract", "year", "kpi_id", "org", "source")
VOLATILE = {"run_id", "computed_at", "read_at", "rendered_at", "checked_at", "pdf_sha256"}


def partitions(db: Path) -> dict[tuple[str, tuple], str]:
    """Every table's partitions (by contract, year, KPI, organisation, source) and a hash of
    their rows, leaving out run ids and timestamps."""
    con = duckdb.connect(str(db), read_only=True)
    out: dict[tuple[str, tuple], str] = {}
    try:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name <> 'ref'"
        ).fetchall()
        for schema, table in tables:
            columns = [r[0] for r in con.execute(f"DESCRIBE {schema}.{table}").fetchall()]
            keys = [c for c in PARTITION_COLUMNS if c in columns]
            kept = [f'"{c}"' for c in columns if c not in VOLATILE]
            rows = con.execute(f"SELECT {', '.join(kept)} FROM {schema}.{table}").fetchall()
            names = [c.strip('"') for c in kept]
            groups: dict[tuple, list[str]] = {}
            for row in rows:
                record = dict(zip(names, row, strict=True))
                groups.setdefault(tuple(record[k] for k in keys), []).append(repr(row))
            for key, members in groups.items():
                digest = hashlib.sha256("\n".join(sorted(members)).encode()).hexdigest()
                out[(f"{schema}.{table}", key)] = digest
    finally:
        con.close()
    return out


def deliverables(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def test_a_run_killed_halfway_leaves_every_partition_whole_and_the_next_run_completes(
    inbox, tmp_path
):
    own_inbox = tmp_path / "inbox"
    shutil.copytree(inbox, own_inbox)
    env = environment(tmp_path, own_inbox)
    db, out = tmp_path / "warehouse.duckdb", tmp_path / "out"
    started = time.perf_counter()
    code, log = finish(cli(env, "run", "--contract", VER, "--year", "2021"))
    duration = time.perf_counter() - started
    assert code == 0, log
    # a corrected delivery arrives; the run that reads it is killed at different points
    relpath = "viborgegnens-erhvervsraad/crm/vejledningsforloeb_2021.csv"
    crm = own_inbox / relpath
    lines = crm.read_bytes().splitlines(keepends=True)
    # the correction withdraws the planted bad rows and more, 20 rows in all (the rest of a
    # small file must stay under the trust threshold whichever line the bad row is on)
    manifest = json.loads((own_inbox / "manifest.json").read_text())
    planted = sorted({b["line"] for b in manifest["bad_rows"] if b["file"] == relpath})
    clean_from_end = [i for i in range(len(lines), 1, -1) if i not in planted]
    withdrawn = set(planted) | set(clean_from_end[: 20 - len(planted)])
    assert len(withdrawn) == 20
    crm.write_bytes(b"".join(line for i, line in enumerate(lines, 1) if i not in withdrawn))
    # three runs that read it killed in turn, each at a later point, then one that completes:
    # whatever a killed run left is, partition by partition and file by file, either what
    # the warehouse held before the correction or what the completed run holds after it
    before, files_before = partitions(db), deliverables(out)
    left: list[tuple[float, dict, dict]] = []
    for share in (0.35, 0.6, 0.85):
        process = cli(env, "run", "--contract", VER, "--year", "2021")
        time.sleep(duration * share)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        left.append((share, partitions(db), deliverables(out)))  # the file opens: not corrupt
    code, log = finish(cli(env, "run", "--contract", VER, "--year", "2021"))
    assert code == 0, log
    after, files_after = partitions(db), deliverables(out)
    for share, killed, files_killed in left:
        for key, digest in killed.items():
            assert digest in (before.get(key), after.get(key)), f"{key} half-written ({share})"
        for name, data in files_killed.items():
            assert data in (files_before.get(name), files_after.get(name)) or (
                name.endswith("_udkast.pdf") and data.rstrip().endswith(b"%%EOF")
            ), f"{name} half-written ({share})"
    assert not [p for p in out.rglob(".*") if p.is_file()], "temporary files left behind"
    con = duckdb.connect(str(db), read_only=True)
    clean = con.execute(
        "SELECT count(*) FROM ingest.crm_cases WHERE org = 'viborgegnens-erhvervsraad' AND year = 2021"
    ).fetchone()[0]
    quarantined = con.execute(
        "SELECT count(DISTINCT line) FROM ingest.quarantine WHERE source = 'crm_cases' "
        "AND org = 'viborgegnens-erhvervsraad' AND year = 2021"
    ).fetchone()[0]
    assert clean + quarantined == len(lines) - 1 - 20  # the corrected delivery, all of it


# --- the production storage ---------------------------------------------------------------


def test_a_run_on_postgresql_storage(inbox, tmp_path):
    url = postgres_url()
    env = environment(tmp_path, inbox, PROJECT_ROOT / "deploy" / "dagster.postgres.yaml")
    env["DAGSTER_PG_URL"] = url
    code, out = finish(cli(env, "run", "--contract", VER, "--year", "2021"))
    assert code == 0, out
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    with engine.connect() as connection:
        jobs = {
            row[0]
            for row in connection.execute(
                sqlalchemy.text("SELECT pipeline_name FROM runs WHERE status = 'SUCCESS'")
            )
        }
    assert {"ingest_viborg_ver_2020", "contract_viborg_ver_2020"} <= jobs
    assert not list((tmp_path / "dagster_home").glob("**/*.db"))  # nothing in SQLite
