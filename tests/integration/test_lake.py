"""The warehouse as a DuckLake (``$RESULTATRAPPORT_LAKE``), for real: its catalog in the
PostgreSQL server ``.ci/run`` starts (a fresh database per test), its data in a temporary
folder, the pipeline in separate processes as the scheduler starts them. A writer is killed
inside a transaction, a lost conflict is retried, writers of one table take turns, the data
lives in an S3 bucket, and two ingesting one register at once read it once. Runs, sign-offs
and a signed version read back on a lake, with six processes writing it at once:
test_six_hubs.py."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from resultatrapport import lake, settings
from tests.helpers import lake_catalog
from tests.integration.test_operations import cli, environment, finish, python

pytestmark = pytest.mark.slow
VER = "viborg-ver-2020"


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[str]:
    """``$RESULTATRAPPORT_LAKE`` for a new, empty catalog database (dropped afterwards) and a
    data folder in the test's temporary directory."""
    with lake_catalog(tmp_path / "lake") as value:
        yield value


@pytest.fixture(scope="module")
def inbox(sample_inbox) -> Path:
    return sample_inbox(range(2020, 2028), 0.05, 9)  # read only


def lake_env(root: Path, inbox: Path, value: str) -> dict[str, str]:
    env = environment(root, inbox)
    env["RESULTATRAPPORT_LAKE"] = value
    return env


def query(value: str, sql: str, snapshot: int | None = None) -> list[tuple]:
    where = lake.parse(value)
    with lake.connect(Path("unused"), settings.duckdb_config(), where, True, snapshot) as con:
        return con.execute(sql).fetchall()


def deliveries_recorded_twice(value: str) -> list[tuple]:
    """The partitions whose delivery record is there more than once (a doubled partition)."""
    return query(
        value,
        "SELECT source, org, year, count(*) FROM ingest.deliveries GROUP BY ALL "
        "HAVING count(*) > 1",
    )


def kpis_json(env: dict[str, str], *args: str) -> dict[str, object]:
    code, out = finish(cli(env, *args, "--json"))
    assert code == 0, out
    listed = json.loads(out[out.index("[") :])
    return {r["id"]: r["value"] for r in listed}


# a run and a sign-off on a lake, a signed version read back from its snapshot after the data
# changed, and processes (machines, each its own Dagster instance) writing one lake at once:
# tests/integration/test_six_hubs.py (six hubs' runs at once, each signed)


KILLED_IN_TRANSACTION = """
import os, signal, sys
from contextlib import contextmanager
from resultatrapport import warehouse_tx

original, done, at = warehouse_tx.transaction, [0], int(sys.argv[1])

@contextmanager
def transaction(con):
    with original(con):
        yield
        done[0] += 1
        if done[0] == at:  # the block's writes made, its commit not
            os.kill(os.getpid(), signal.SIGKILL)

warehouse_tx.transaction = transaction
from commands.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_writer_killed_inside_a_transaction_leaves_the_lake_consistent(inbox, tmp_path, catalog):
    env = lake_env(tmp_path, inbox, catalog)
    run = ("run", "--contract", VER, "--year", "2021")
    killed = python(env, "-c", KILLED_IN_TRANSACTION, "4", *run)
    code, out = finish(killed)
    assert code == -signal.SIGKILL, out
    # the lake opens and reads; what was committed before the kill is whole
    committed = query(catalog, "SELECT source, org, year, rows_read FROM ingest.deliveries")
    assert committed, "nothing was committed before the kill"
    from resultatrapport.formats import FORMATS

    for source, org, year, rows_read in committed:
        if source not in FORMATS:  # the report owner's texts: no raw table
            continue
        org_is = "IS NULL" if org is None else f"= '{org}'"
        [(raw,)] = query(
            catalog, f"SELECT count(*) FROM raw.{source} WHERE org {org_is} AND year = {year}"
        )
        assert raw == rows_read, (source, org, year)

    code, out = finish(cli(env, *run))
    assert code == 0, out
    [(n,)] = query(
        catalog, f"SELECT count(DISTINCT kpi_id) FROM kpi.results WHERE contract = '{VER}'"
    )
    assert n > 0
    assert deliveries_recorded_twice(catalog) == []


def test_a_lost_conflict_is_retried_and_then_said(catalog, tmp_path):
    """Two connections replace the same partition at once: the second commit loses and its
    block runs again on the new state; a write that keeps losing ends in WriteConflict."""
    from resultatrapport.warehouse_tx import WriteConflict, transaction, write_attempts

    where = lake.parse(catalog)
    config = settings.duckdb_config()
    with (
        lake.connect(tmp_path, config, where) as a,
        lake.connect(tmp_path, config, where) as b,
    ):
        a.execute("CREATE SCHEMA IF NOT EXISTS kpi")
        a.execute("CREATE TABLE kpi.t (year INTEGER, v INTEGER)")
        a.execute("INSERT INTO kpi.t VALUES (1, 0)")
        tries = 0
        for attempt in write_attempts(first_wait=0.01):
            with attempt, transaction(b):
                tries += 1
                b.execute("DELETE FROM kpi.t WHERE year = 1")
                b.execute("INSERT INTO kpi.t VALUES (1, 2)")
                if tries == 1:  # another writer commits the same partition meanwhile
                    a.execute("DELETE FROM kpi.t WHERE year = 1")
                    a.execute("INSERT INTO kpi.t VALUES (1, 1)")
        assert tries == 2
        assert b.execute("SELECT v FROM kpi.t").fetchall() == [(2,)]

        with pytest.raises(WriteConflict, match="lost to other writers 3 times"):
            for attempt in write_attempts(attempts=3, first_wait=0.01):
                with attempt, transaction(b):
                    b.execute("DELETE FROM kpi.t WHERE year = 1")
                    a.execute("DELETE FROM kpi.t WHERE year = 1")
                    a.execute("INSERT INTO kpi.t VALUES (1, 1)")


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """An S3 bucket on a local S3 server (moto), and the environment that reaches it."""
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {
        "AWS_ACCESS_KEY_ID": "resultatrapport",
        "AWS_SECRET_ACCESS_KEY": "test-only",
        "AWS_REGION": "eu-north-1",
        "RESULTATRAPPORT_LAKE_S3_ENDPOINT": f"http://127.0.0.1:{port}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=env["RESULTATRAPPORT_LAKE_S3_ENDPOINT"])
    s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    try:
        yield env
    finally:
        server.stop()


def test_a_lake_with_its_data_in_an_s3_bucket(inbox, tmp_path, catalog, bucket):
    import boto3

    value = catalog.rpartition("|")[0] + "|s3://lake/warehouse/"
    env = lake_env(tmp_path, inbox, value) | bucket
    code, out = finish(cli(env, "run", "--contract", VER, "--year", "2021"))
    assert code == 0, out
    s3 = boto3.client("s3", endpoint_url=bucket["RESULTATRAPPORT_LAKE_S3_ENDPOINT"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake", Prefix="warehouse/")["Contents"]]
    assert any(k.endswith(".parquet") for k in keys)
    assert not (tmp_path / "lake").exists() and not (tmp_path / "warehouse.duckdb").exists()
    [(n,)] = query(
        value, f"SELECT count(DISTINCT kpi_id) FROM kpi.results WHERE contract = '{VER}'"
    )
    assert n > 0


HOLDS_THE_TURN = """
import sys, time
from pathlib import Path
from resultatrapport import lake, settings
from resultatrapport.warehouse_tx import transaction

con = lake.connect(Path("unused"), settings.duckdb_config(), lake.parse(sys.argv[1]))
with transaction(con):
    con.execute("DELETE FROM kpi.turn WHERE year = 1")
    con.execute("INSERT INTO kpi.turn SELECT 1, 'child' FROM range(3)")
    print("held", flush=True)
    time.sleep(3)
"""


def test_writers_of_one_table_take_turns_instead_of_doubling_a_partition(catalog, tmp_path):
    """Two processes fill the same empty partition at once: without the write turn both
    commit (DuckLake's delete found nothing to conflict on) and the partition holds both
    writers' rows; with it the second waits, then replaces the first's rows."""
    import time

    from resultatrapport.warehouse_tx import transaction, write_attempts

    where = lake.parse(catalog)
    con = lake.connect(tmp_path, settings.duckdb_config(), where)
    con.execute("CREATE SCHEMA IF NOT EXISTS kpi")
    con.execute("CREATE TABLE kpi.turn (year INTEGER, writer VARCHAR)")
    child = python(lake_env(tmp_path, tmp_path, catalog), "-c", HOLDS_THE_TURN, catalog)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    started, before = time.perf_counter(), lake.turn_stats()
    for attempt in write_attempts(first_wait=0.01):
        with attempt, transaction(con):
            con.execute("DELETE FROM kpi.turn WHERE year = 1")
            con.execute("INSERT INTO kpi.turn SELECT 1, 'parent' FROM range(3)")
    waited, after = time.perf_counter() - started, lake.turn_stats()
    code, out = finish(child)
    assert code == 0, out
    assert waited > 1.5, "the second writer did not wait for the first"
    # and the process counts the turn and the wait (what `resultatrapport run` prints)
    assert after.turns == before.turns + 1
    assert waited >= after.waited - before.waited > 1.5 and after.longest > 1.5
    assert after.held > before.held
    rows = con.execute("SELECT writer, count(*) FROM kpi.turn GROUP BY ALL").fetchall()
    assert rows == [("parent", 3)]
    # a transaction inside a held turn (the schema made under it) takes it again, not waits,
    # and is no turn of its own
    with lake.write_turn(con), transaction(con):
        con.execute("DELETE FROM kpi.turn WHERE year = 1")
    assert lake.turn_stats().turns == after.turns + 1


def test_two_ingesting_the_same_register_at_once_read_and_validate_it_once(catalog, tmp_path):
    """Two connections to one lake ingest the same register year at once, as six hubs'
    runs starting together do: the second waits on the delivery's lock for the first, then
    finds the delivery it recorded unchanged, instead of reading, validating and writing it
    again (and queueing for the write turn to do so)."""
    from resultatrapport.formats import FORMATS
    from resultatrapport.ingestion import delivery_lock
    from resultatrapport.warehouse_schema import ensure_schema
    from tests.helpers import ingested_by_two_at_once

    where, config = lake.parse(catalog), settings.duckdb_config()
    with lake.connect(tmp_path, config, where) as con:
        with lake.write_turn(con):
            ensure_schema(con)
        first, second, second_read = ingested_by_two_at_once(
            lambda: lake.connect(tmp_path, config, where), tmp_path / "inbox"
        )
        assert first.unchanged is None and first.committed is not None
        assert not second_read, "the second read the register while the first did"
        assert second.unchanged is not None and second.taken and second.trusted
        assert second.delivery == first.delivery and second.checks == first.checks
        assert query(catalog, "SELECT DISTINCT run_id FROM ingest.checks") == [("first",)]
        [(read_at,)] = query(catalog, "SELECT read_at FROM ingest.deliveries")
        assert second.unchanged.since == read_at
        # the delivery's lock was let go with its block; held, it is waited for, not forever
        name = delivery_lock(FORMATS["price_index"], None, 2021)
        with lake.exclusive(con, name) as held:
            assert held
            with pytest.raises(lake.LockWaitTimeout), lake.exclusive_waited(con, [name], 0.2):
                pass
