"""The Dagster instance's event log with its connections kept open (issue 28), for the
embedded SQLite instance (``dagster.yaml``) and the PostgreSQL ones (``deploy/``).

Dagster's :class:`SqliteEventLogStorage` makes a new SQLAlchemy engine with ``NullPool`` for
every ``_connect`` and disposes it afterwards: every event a run stores opens and closes the
run's database file (``history/runs/<run id>.db``), an asset event the cross-run index
(``index.db``) as well, and so does every claim of a concurrency slot. A ``resultatrapport
run`` at scale 1 opened about four SQLite connections per event, each reading the schema and
checking the alembic revision again.

:class:`PooledSqliteEventLogStorage` is the same storage (same files, same schema, same
config: ``base_dir``) whose ``_connect`` takes its connection from one engine per shard per
process, kept for the index shard and the :data:`RUN_SHARDS` run shards used last:

- one connection per engine (a ``QueuePool`` of one, no overflow): Dagster already holds
  ``self._db_lock`` for the whole of a ``_connect``, so a process never uses two connections
  to a shard at once, and the lock is kept;
- the engines are keyed by ``os.getpid()``: a forked child makes its own and never touches
  (uses or closes) a connection its parent opened;
- whether a table exists is asked of the file once per table and process (Dagster asks before
  many writes, on a connection of its own each time);
- Dagster's busy timeout (``SQLITE_BUSY_TIMEOUT_SECONDS``) and its per-shard ``_initdb``, run
  once per shard per process on a throwaway engine as before;
- a write to a run's file is announced to its watchers by setting the file's modification
  time (``_announce``). The UI learns of a running run's new events from the file system
  (``SqliteEventLogStorageWatchdog`` watches ``<run id>.db``, not its ``-wal``): with a
  connection closed after every write, the close checkpointed the log into the file; a kept
  connection leaves the events in the ``-wal`` until a thousand pages have gathered, and the
  UI's live log of a running run would stand still;
- the engines are disposed where Dagster wipes or deletes shards (``wipe``,
  ``delete_events``) and where the instance ends (``dispose``).

The instance uses it through :class:`Instance` (``instance_class`` in ``dagster.yaml``):
the event log's ``base_dir`` is a folder of the instance's home, which only the instance's
defaults know (a storage's config cannot name it relative to ``$DAGSTER_HOME``, and the
command line opens ``var/dagster_home`` without setting that variable). Its defaults are
Dagster's, with the unified SQLite storage made of this event log; a ``storage:`` section in
the file (PostgreSQL) replaces them as before.

:class:`PooledPostgresStorage` (``storage: custom:`` in ``deploy/``, the config of ``storage:
postgres:``) is dagster-postgres's storage with an event log that keeps one connection per
process likewise (below).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import yaml
from dagster import DagsterInstance
from dagster import _check as check
from dagster._config.config_schema import UserConfigSchema
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from dagster_postgres import (
    DagsterPostgresStorage,
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, QueuePool

# run shards whose engine a process keeps besides the index shard's: a run writes its own
# shard only; the UI, which reads the runs it shows, holds no more than this many files open
RUN_SHARDS = 4


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """:class:`SqliteEventLogStorage` with one kept connection per shard per process (the
    index shard and the :data:`RUN_SHARDS` run shards used last); see the module."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # before Dagster's __init__, which connects when it creates the index shard
        self._engines: dict[int, OrderedDict[str, Engine]] = {}
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return SqliteEventLogStorage.config_type()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        """This process's engine for ``shard`` (made, and the shard initialised, the first
        time); called with ``self._db_lock`` held."""
        engines = self._engines.setdefault(os.getpid(), OrderedDict())
        engine = engines.get(shard)
        if engine is not None and shard in self._initialized_dbs:
            engines.move_to_end(shard)
            return engine
        # the first time in this process, or again after Dagster forgot the shards (wipe, upgrade)
        conn_string = self.conn_string_for_shard(shard)
        if shard not in self._initialized_dbs:
            # Dagster's initialisation, as its _connect does it: on an engine of its own, since
            # it holds a connection while it inspects the tables with another
            init = create_engine(
                conn_string,
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            try:
                self._initdb(init)
            finally:
                init.dispose()
            self._initialized_dbs.add(shard)
        if engine is None:
            engine = create_engine(
                conn_string,
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=0,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            engines[shard] = engine
        engines.move_to_end(shard)
        runs = [name for name in engines if name != INDEX_SHARD_NAME]
        for name in runs[: max(0, len(runs) - RUN_SHARDS)]:
            engines.pop(name).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            check.str_param(shard, "shard")
            with self._engine(shard).connect() as conn:
                sqlite = conn.connection.dbapi_connection
                assert isinstance(sqlite, sqlite3.Connection)
                changes = sqlite.total_changes
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME and sqlite.total_changes != changes:
                    self._announce(shard)

    def _announce(self, shard: str) -> None:
        """Tell the run's watchers that it has new events: the UI follows a running run by
        watching ``<run id>.db`` for changes (``SqliteEventLogStorageWatchdog``), and an event
        committed through a kept connection is in the write-ahead log (``-wal``), the file
        itself unchanged until a checkpoint, which the closing of every connection did before.
        Its modification time set is a change every watchdog observer reports, without the
        checkpoint's writes and syncs (a third of the time of storing an event)."""
        with contextlib.suppress(FileNotFoundError):  # deleted meanwhile (wipe): no one to tell
            os.utime(self.path_for_shard(shard))

    def has_table(self, table_name: str) -> bool:
        # Dagster asks before many writes (an asset event's tags, a concurrency slot, a check's
        # execution), each time on an engine and connection of its own, and may ask while it
        # holds self._db_lock; a table once there stays (migrations add tables), so a yes is kept
        if table_name in self._tables:
            return True
        present = super().has_table(table_name)
        if present:
            self._tables.add(table_name)
        return present

    def _dispose_engines(self, shard: str | None = None) -> None:
        """Close this process's connections: to ``shard``, or to every shard."""
        with self._db_lock:
            engines = self._engines.get(os.getpid(), OrderedDict())
            for name in [shard] if shard is not None else list(engines):
                engine = engines.pop(name, None)
                if engine is not None:
                    engine.dispose()

    def delete_events(self, run_id: str) -> None:
        super().delete_events(run_id)
        self._dispose_engines(run_id)

    def wipe(self) -> None:
        # the run shards' files are deleted: no connection may stay open on one
        self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()


class PooledSqliteStorage(DagsterSqliteStorage):
    """Dagster's unified SQLite storage (runs, events, schedules under one ``base_dir``) with
    :class:`PooledSqliteEventLogStorage` as its event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # DagsterSqliteStorage.__init__ with the event log replaced (it would open its own)
        self.base_dir = check.str_param(base_dir, "base_dir")
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = check.opt_inst_param(inst_data, "inst_data", ConfigurableClassData)
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> PooledSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)


class Instance(DagsterInstance):
    """Dagster's instance with :class:`PooledSqliteStorage` as its default storage
    (``instance_class`` in ``dagster.yaml``); nothing else differs."""

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        defaults = dict(InstanceRef.config_defaults(base_dir))
        defaults["storage"] = ConfigurableClassData(
            __name__, PooledSqliteStorage.__name__, yaml.dump({"base_dir": base_dir})
        )
        # the older per-part form (a run_storage or schedule_storage section without an
        # event_log_storage one)
        defaults["event_log_storage"] = ConfigurableClassData(
            __name__,
            PooledSqliteEventLogStorage.__name__,
            yaml.dump({"base_dir": _event_logs_directory(base_dir)}),
        )
        return defaults


# --- PostgreSQL -----------------------------------------------------------------------------
# dagster-postgres's event log makes its engine with NullPool too (only the webserver gets a
# pool, optimize_for_webserver): every event a run stores is a new connection to the server,
# its TCP connect, authentication and backend start. The pooled event log keeps one per
# process and makes more only while threads of the process write at once (the daemon's).

PG_OVERFLOW = 10  # connections beyond the kept one, closed when given back


def _pg_arguments(config_value: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor arguments of dagster-postgres's storages from their config (``storage:
    postgres:``'s), as their own ``from_config_value`` reads them."""
    return {
        "postgres_url": pg_url_from_config(config_value),
        "should_autocreate_tables": config_value.get("should_autocreate_tables", True),
        "token_provider": get_token_provider_from_config(config_value),
    }


class PooledPostgresEventLogStorage(PostgresEventLogStorage):
    """:class:`PostgresEventLogStorage` whose engine keeps one connection (``QueuePool``: one
    kept, up to :data:`PG_OVERFLOW` more at once), checked with a ping before use (a server
    restart or an idle timeout leaves a dead one behind) and never used in a forked child."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: Any = None,
    ):
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        nullpool, self._engine = (
            self._engine,
            create_pg_engine(
                self.postgres_url,
                self._token_provider,
                isolation_level="AUTOCOMMIT",
                pool_size=1,
                max_overflow=PG_OVERFLOW,
                pool_pre_ping=True,
                pool_recycle=3600,
            ),
        )
        nullpool.dispose()
        _per_process(self._engine)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledPostgresEventLogStorage:
        return cls(inst_data=inst_data, **_pg_arguments(config_value))

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()


def _per_process(engine: Engine) -> None:
    """A pooled connection is used only in the process that opened it: a forked child that
    finds its parent's in the pool drops it (without closing the parent's socket) and opens
    its own (SQLAlchemy's recipe for pools and ``os.fork``)."""

    @event.listens_for(engine, "connect")
    def opened(_dbapi_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def taken(_dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise exc.DisconnectionError("a connection of the parent process, not used here")


class PooledPostgresStorage(DagsterPostgresStorage):
    """Dagster's PostgreSQL storage (``storage: postgres:``; the same config) with
    :class:`PooledPostgresEventLogStorage` as its event log, for ``storage: custom:``."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: Any = None,
    ):
        # DagsterPostgresStorage.__init__ with the event log replaced (it would make its own)
        self.postgres_url = postgres_url
        self.should_autocreate_tables = check.bool_param(
            should_autocreate_tables, "should_autocreate_tables"
        )
        self._inst_data = check.opt_inst_param(inst_data, "inst_data", ConfigurableClassData)
        self._run_storage = PostgresRunStorage(
            postgres_url, should_autocreate_tables, token_provider=token_provider
        )
        self._event_log_storage = PooledPostgresEventLogStorage(
            postgres_url, should_autocreate_tables, token_provider=token_provider
        )
        self._schedule_storage = PostgresScheduleStorage(
            postgres_url, should_autocreate_tables, token_provider=token_provider
        )
        super(DagsterPostgresStorage, self).__init__()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledPostgresStorage:
        return cls(inst_data=inst_data, **_pg_arguments(config_value))
