"""The instance of the repository's dagster.yaml keeps its SQLite event log's connections open
(issue 28, ``pipelines/instance_storage.py``): a run's events take a few connections, not a
few each; what is stored reads back the same, in this process, in a forked child and in
another instance; a wiped event log takes the next events into its new files; and the UI's
watch of a running run still sees each event. The PostgreSQL variant
(``deploy/dagster.postgres.yaml``) keeps one connection per process likewise.

Every test opens the instance of ``$DAGSTER_HOME``, which ``tests/conftest.py`` makes with the
repository's ``dagster.yaml`` in it (the PostgreSQL test puts the variant's there)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
from dagster import AssetKey, AssetMaterialization, DagsterEvent, DagsterEventType, DagsterInstance
from dagster import EventLogEntry as Entry
from dagster._config import process_config, resolve_to_config_type
from dagster._core.events import StepMaterializationData
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes.config_class import class_from_code_pointer

from pipelines.instance_storage import RUN_SHARDS, PooledPostgresStorage
from resultatrapport.settings import PROJECT_ROOT
from tests.helpers import postgres_url

RUN = "a0a0a0a0-0000-4000-8000-000000000028"


def event(run_id: str, i: int) -> Entry:
    """Every third one a partition's materialisation (stored in the run's file and mirrored
    in the index), the others log lines."""
    if i % 3:
        return Entry(None, "INFO", f"linje {i}", run_id, time.time())
    materialized = DagsterEvent(
        DagsterEventType.ASSET_MATERIALIZATION.value,
        job_name="contract_x",
        event_specific_data=StepMaterializationData(
            AssetMaterialization(AssetKey(["kpi", "x"]), partition=str(2000 + i))
        ),
    )
    return Entry(None, logging.DEBUG, "", run_id, time.time(), dagster_event=materialized)


def stored(instance: DagsterInstance, run_id: str) -> list[tuple[str, str | None]]:
    return [
        (e.user_message, e.dagster_event.partition if e.dagster_event else None)
        for e in instance.all_logs(run_id)
    ]


def written(run_id: str, numbers: range) -> list[tuple[str, str | None]]:
    return [
        (e.user_message, e.dagster_event.partition if e.dagster_event else None)
        for e in (event(run_id, i) for i in numbers)
    ]


@pytest.fixture
def event_logs() -> Path:
    return Path(os.environ["DAGSTER_HOME"]) / "history" / "runs"


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The files SQLite connections are opened to, from now on, in this process (SQLAlchemy's
    SQLite dialect connects through ``sqlite3.dbapi2.connect``)."""
    files: list[str] = []
    connect = sqlite3.dbapi2.connect

    def counting(database: str, *args: object, **kwargs: object) -> sqlite3.Connection:
        files.append(str(database))
        return connect(database, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite3.dbapi2, "connect", counting)
    yield files


def test_a_runs_events_take_a_few_connections_and_read_back_the_same_after_a_wipe_too(
    event_logs, opened
):
    with DagsterInstance.get() as instance:
        opened.clear()  # made and opened: from here on, the run's events
        for i in range(60):  # 20 materialisations among them
            instance.store_event(event(RUN, i))
        events = [Path(f).name for f in opened if Path(f).parent == event_logs]
        # Dagster's own event log: a connection to the run's file per event and one more to
        # the index per materialisation (80 here); now the run's file's first ones only
        assert len(events) <= 6, f"{len(events)} connections for 60 events: {events}"
        assert stored(instance, RUN) == written(RUN, range(60))
        latest = instance.get_latest_materialization_event(AssetKey(["kpi", "x"]))
        assert latest is not None and latest.dagster_event.partition == "2057"  # the index

        # a process that reads or writes many runs (the UI) keeps few files open
        for n in range(RUN_SHARDS + 4):
            instance.store_event(event(f"{RUN[:-2]}{n:02d}", 1))
        open_files = [
            os.readlink(fd.path) for fd in os.scandir("/proc/self/fd") if fd.name.isdigit()
        ]
        open_logs = [f for f in open_files if Path(f).parent == event_logs and f.endswith(".db")]
        assert len(open_logs) <= RUN_SHARDS + 1, open_logs  # the index and the last runs
        with DagsterInstance.get() as other:  # another instance reads the same
            assert stored(other, RUN) == written(RUN, range(60))

        instance.wipe()  # deletes the runs' files: a connection kept to one would write nowhere
        instance.store_event(event(RUN, 4))
        with DagsterInstance.get() as other:
            assert stored(other, RUN) == [("linje 4", None)]


def _child(run_id: str, results: multiprocessing.Queue) -> None:
    """In a forked child: store events through the parent's instance object and say how many
    connections the child opened itself (none would mean it used its parent's)."""
    opened = [0]
    module, name = _CONNECT
    connect = getattr(module, name)

    def counting(*args: object, **kwargs: object) -> object:
        opened[0] += 1
        return connect(*args, **kwargs)

    setattr(module, name, counting)
    try:
        for i in range(20, 40):
            _INSTANCE.store_event(event(run_id, i))
        results.put(opened[0])
    except Exception as error:  # said to the parent, whose assert shows it
        results.put(repr(error))


_INSTANCE: DagsterInstance
_CONNECT: tuple[object, str] = (sqlite3.dbapi2, "connect")


def forked_child_writes(instance: DagsterInstance, run_id: str) -> object:
    """Store events of ``run_id`` in a forked child through ``instance`` (whose connection to
    the run's events is open in this process); the number of connections the child opened."""
    global _INSTANCE
    _INSTANCE = instance
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    child = fork.Process(target=_child, args=(run_id, results))
    child.start()
    answer = results.get(timeout=60)
    child.join(timeout=60)
    results.close()
    results.join_thread()
    assert child.exitcode == 0
    return answer


def test_a_forked_child_opens_its_own_connections_and_both_processes_write():
    with DagsterInstance.get() as instance:
        for i in range(20):  # the parent's connection to the run's file is open and kept
            instance.store_event(event(RUN, i))
        answer = forked_child_writes(instance, RUN)
        assert isinstance(answer, int) and answer >= 1, answer
        for i in range(40, 60):  # the parent's kept connection after the child's writes
            instance.store_event(event(RUN, i))
        assert stored(instance, RUN) == written(RUN, range(60))


def test_the_ui_watching_a_running_run_sees_each_event_as_it_is_stored():
    """The UI follows a running run's log by watching its file (`<run id>.db`) for changes:
    a connection kept open must still put each event into that file, not leave it in the
    write-ahead log."""
    with DagsterInstance.get() as writer, DagsterInstance.get() as ui:
        writer.store_event(event(RUN, 1))  # the run's file exists
        seen: list[str] = []
        arrived = threading.Event()

        def on_event(entry: Entry, _cursor: str) -> None:
            seen.append(entry.user_message)
            if entry.user_message == "linje 5":
                arrived.set()

        ui.watch_event_logs(RUN, None, on_event)
        try:
            time.sleep(0.3)  # the watch is set up
            for i in (2, 4, 5):
                writer.store_event(event(RUN, i))
                time.sleep(0.1)
            assert arrived.wait(timeout=20), seen
        finally:
            ui.end_watch_event_logs(RUN, on_event)
        assert seen == ["linje 1", "linje 2", "linje 4", "linje 5"]
        # only a write tells: the UI's own reading would otherwise tell its watch again, for ever
        run_file = Path(os.environ["DAGSTER_HOME"]) / "history" / "runs" / f"{RUN}.db"
        changed = run_file.stat().st_mtime_ns
        assert len(ui.all_logs(RUN)) == 4
        assert run_file.stat().st_mtime_ns == changed


def test_on_postgresql_a_runs_events_take_one_connection_and_a_forked_child_its_own(monkeypatch):
    url = postgres_url()
    home = Path(os.environ["DAGSTER_HOME"])
    shutil.copyfile(PROJECT_ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_URL", url)
    run_id = str(uuid.uuid4())  # the server's database is shared with other tests
    connected: list[object] = []
    connect: Callable[..., object] = psycopg2.connect

    def counting(*args: object, **kwargs: object) -> object:
        connected.append(args)
        return connect(*args, **kwargs)

    with DagsterInstance.get() as instance:
        instance.store_event(event(run_id, 1))  # its connection opened
        monkeypatch.setattr(psycopg2, "connect", counting)
        for i in range(2, 20):  # 6 materialisations among them
            instance.store_event(event(run_id, i))
        # dagster-postgres's own: a connection per event, two per materialisation (24 here)
        assert len(connected) <= 1, f"{len(connected)} connections for 18 events"
        monkeypatch.setattr(psycopg2, "connect", connect)
        monkeypatch.setattr(sys.modules[__name__], "_CONNECT", (psycopg2, "connect"))
        answer = forked_child_writes(instance, run_id)
        assert isinstance(answer, int) and answer >= 1, answer  # not the parent's socket
        for i in range(40, 45):
            instance.store_event(event(run_id, i))
        expected = written(run_id, range(1, 20)) + written(run_id, range(20, 45))
        assert stored(instance, run_id) == expected


@pytest.mark.parametrize("variant", ["dagster.postgres.yaml", "dagster.production.yaml"])
def test_the_postgresql_variants_name_the_pooled_storage_with_postgres_config(
    variant, monkeypatch, tmp_path
):
    shutil.copyfile(PROJECT_ROOT / "deploy" / variant, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql+psycopg2://u@h:5432/d")
    config, _ = dagster_instance_config(str(tmp_path))  # validated as Dagster loads it
    custom = config["storage"]["custom"]
    storage = class_from_code_pointer(custom["module"], custom["class"])
    assert storage is PooledPostgresStorage
    processed = process_config(resolve_to_config_type(storage.config_type()), custom["config"])
    assert processed.success, processed.errors
    assert processed.value["postgres_url"] == "postgresql+psycopg2://u@h:5432/d"
