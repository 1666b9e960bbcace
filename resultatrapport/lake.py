"""The warehouse's two backends, and the one way to open a connection to either.

- **file** (the default): one DuckDB file (``$RESULTATRAPPORT_WAREHOUSE``). One process
  writes it at a time; the Dagster pool ``warehouse`` (``dagster.yaml``) keeps the runs' writing
  steps in line.
- **lake**: DuckLake, with its catalog in PostgreSQL and its data as Parquet files in a
  folder every machine sees (``$RESULTATRAPPORT_LAKE``). The same SQL and the same tables;
  many processes read and write at once, a commit that meets another's change fails with a
  conflict (:func:`is_conflict`) and is retried (:mod:`resultatrapport.warehouse_tx`), and
  every commit is a snapshot that can be read back later (:func:`current_snapshot`).

``$RESULTATRAPPORT_LAKE`` is the catalog and the data path, split by the last ``|``::

    postgres:dbname=lake host=db.internal port=5432 user=resultatrapport|/data/lake/

The catalog is a libpq connection string (``ducklake:`` in front is allowed). It must not
hold a password: libpq takes it from ``$PGPASSWORD`` or ``~/.pgpass``, and this value shows
in the run's configuration and in error messages.

The data path is a folder every machine mounts, or an S3 bucket (``s3://bucket/prefix/``),
read and written through the ``httpfs`` and ``aws`` extensions with the credentials of the
AWS credential chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, or the pod's
role); an S3-compatible store elsewhere than AWS is named by ``$RESULTATRAPPORT_LAKE_S3_ENDPOINT``
(``http://minio.internal:9000``: path-style requests, TLS as its scheme says).

The DuckLake and PostgreSQL extensions are loaded from the wheels ``uv.lock`` pins
(``duckdb-extension-ducklake``, ``duckdb-extension-postgres``), never downloaded: a run has no
network, in CI or in production. Nothing here knows Dagster.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Any

import duckdb
import filelock
import psycopg2
import psycopg2.errors

from resultatrapport import settings

ENV_LAKE = "RESULTATRAPPORT_LAKE"
ENV_S3_ENDPOINT = "RESULTATRAPPORT_LAKE_S3_ENDPOINT"
# set in production (deploy/): a missing lake setting is an error there, not a quiet fallback
# to a DuckDB file inside a container that is thrown away with its data
ENV_REQUIRE_LAKE = "RESULTATRAPPORT_REQUIRE_LAKE"
CATALOG = "lake"  # the name the lake is attached under, and made the default


class LakeConfigError(ValueError):
    """``$RESULTATRAPPORT_LAKE`` (or the resource's ``lake`` setting) cannot be used."""


@dataclass(frozen=True)
class Lake:
    catalog: str  # "postgres:<libpq connection string>"
    data_path: str

    @property
    def on_s3(self) -> bool:
        return self.data_path.startswith("s3://")

    def describe(self) -> str:
        """Where the lake is, for messages: the catalog's database and host, the data path."""
        fields = dict(re.findall(r"(\w+)=(\S+)", self.catalog))
        where = " ".join(f"{k}={fields[k]}" for k in ("dbname", "host", "port") if k in fields)
        return f"DuckLake ({where}; data in {self.data_path})"


def parse(value: str, origin: str = f"${ENV_LAKE}") -> Lake:
    """The lake a setting names; :class:`LakeConfigError` saying what is wrong otherwise (the
    value itself is not repeated: it may hold credentials by mistake)."""
    text = value.strip()
    if text.startswith("ducklake:"):
        text = text[len("ducklake:") :]
    catalog, bar, data_path = text.rpartition("|")
    catalog, data_path = catalog.strip(), data_path.strip()
    if not bar or not catalog or not data_path:
        raise LakeConfigError(
            f"{origin} must be the catalog and the data path split by '|': "
            "'postgres:dbname=<database> host=<host> port=<port> user=<user>|<data folder>/'"
        )
    if not catalog.startswith("postgres:"):
        raise LakeConfigError(
            f"{origin}: the catalog must be a PostgreSQL one ('postgres:dbname=… host=…'); "
            "only its extension is installed"
        )
    if "://" in catalog:
        raise LakeConfigError(
            f"{origin}: give the catalog as 'postgres:dbname=… host=… port=… user=…' "
            "(key=value), not as a URL"
        )
    # libpq reads its keywords in lower case only, but a key in capitals (PASSWORD=) would
    # still carry the secret into the run's configuration and a connection error's text
    if re.search(r"(^|[\s:])(ssl)?password\s*=", catalog, re.IGNORECASE):
        raise LakeConfigError(
            f"{origin} holds a password; give it in $PGPASSWORD or ~/.pgpass instead"
        )
    if "'" in catalog or "'" in data_path:
        raise LakeConfigError(f"{origin} must not contain a single quote")
    if re.match(r"^[a-z][a-z0-9+]*://", data_path) and not data_path.startswith("s3://"):
        raise LakeConfigError(
            f"{origin}: the data path must be a folder or an s3:// bucket; the extensions "
            "for other object stores are not installed"
        )
    if not data_path.endswith("/"):
        data_path += "/"
    return Lake(catalog, data_path)


def configured(value: str = "") -> Lake | None:
    """The lake ``value`` or, if empty, ``$RESULTATRAPPORT_LAKE`` names; None for the file."""
    text = value or os.environ.get(ENV_LAKE, "")
    if not text.strip():
        if os.environ.get(ENV_REQUIRE_LAKE, "").strip() not in ("", "0"):
            raise LakeConfigError(
                f"${ENV_REQUIRE_LAKE} is set (production) but ${ENV_LAKE} is not: the warehouse "
                "would be a file inside this container; give the run its lake (deploy/)"
            )
        return None
    return parse(text, "the warehouse's lake setting" if value else f"${ENV_LAKE}")


# --- the extensions, from their wheels ---------------------------------------------------------


def _wheel_extension(package: str, name: str) -> Path:
    spec = util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LakeConfigError(
            f"the DuckDB extension {name} is not installed (package {package}); "
            "run `make setup` (uv sync --frozen)"
        )
    version = duckdb.__version__
    path = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{version}"
    path = path / f"{name}.duckdb_extension"
    if not path.is_file():
        raise LakeConfigError(
            f"{package} has no build for DuckDB {version} (looked for {path}); the wheels "
            "and duckdb must be the same version (pyproject.toml)"
        )
    return path


def _link(path: Path, name: str) -> Path:
    """``path`` under the file name ``name``: a symbolic link, made once per DuckDB version and
    user in a private temporary folder (atomically: another process may do the same)."""
    folder = (
        Path(tempfile.gettempdir()) / f"resultatrapport-duckdb-{duckdb.__version__}-{os.getuid()}"
    )
    link = folder / name
    if not (link.is_symlink() and link.resolve() == path.resolve()):
        folder.mkdir(mode=0o700, exist_ok=True)
        fresh = folder / f".link-{os.getpid()}"
        fresh.unlink(missing_ok=True)
        fresh.symlink_to(path)
        fresh.replace(link)
    return link


def object_store_extensions() -> tuple[Path, Path]:
    """The httpfs and aws extension files of the installed wheels (an S3 data path)."""
    return (
        _wheel_extension("duckdb_extension_httpfs", "httpfs"),
        _wheel_extension("duckdb_extension_aws", "aws"),
    )


def extension_files() -> tuple[Path, Path]:
    """The DuckLake and PostgreSQL extension files of the installed wheels.

    DuckDB finds an extension's entry point by its file name, and the PostgreSQL one's is
    ``postgres_scanner_duckdb_cpp_init``: it is loaded through a symbolic link named
    ``postgres_scanner.duckdb_extension``, made once in a private temporary folder."""
    ducklake = _wheel_extension("duckdb_extension_ducklake", "ducklake")
    postgres = _wheel_extension("duckdb_extension_postgres", "postgres")
    return ducklake, _link(postgres, "postgres_scanner.duckdb_extension")


def s3_secret(endpoint: str = "") -> str:
    """The statement that gives DuckDB the S3 credentials of the AWS credential chain, and the
    endpoint of an S3-compatible store if one is named (``$RESULTATRAPPORT_LAKE_S3_ENDPOINT``)."""
    options = ["TYPE s3", "PROVIDER credential_chain"]
    endpoint = endpoint or os.environ.get(ENV_S3_ENDPOINT, "")
    if endpoint:
        found = re.fullmatch(r"(https?)://([A-Za-z0-9.\-]+(?::\d+)?)/?", endpoint.strip())
        if not found:
            raise LakeConfigError(
                f"${ENV_S3_ENDPOINT} must be http(s)://host[:port], e.g. http://minio:9000"
            )
        scheme, host = found.groups()
        options += [f"ENDPOINT '{host}'", "URL_STYLE 'path'", f"USE_SSL {scheme == 'https'}"]
    return f"CREATE OR REPLACE SECRET resultatrapport_lake_s3 ({', '.join(options)})"


def attach(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    read_only: bool = False,
    snapshot: int | None = None,
) -> None:
    """Load the two extensions into ``con``, attach the lake as ``lake`` and make it the
    default catalog, so unqualified names (``kpi.results``) are the lake's; with ``snapshot``
    read-only, as the lake was at that snapshot."""
    ducklake, postgres = extension_files()
    con.execute(f"LOAD '{ducklake}'")
    con.execute(f"LOAD '{postgres}'")
    if lake.on_s3:
        for extension in object_store_extensions():
            con.execute(f"LOAD '{extension}'")
        con.execute(s3_secret())
    options = [f"DATA_PATH '{lake.data_path}'"]
    if read_only or snapshot is not None:
        options.append("READ_ONLY")
    if snapshot is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    con.execute(f"ATTACH 'ducklake:{lake.catalog}' AS {CATALOG} ({', '.join(options)})")
    con.execute(f"USE {CATALOG}")


# the lake attached once per process and mode: (lake, read_only, settings) -> the database
# whose connections (cursors) the steps get
_attached: dict[tuple[Lake, bool, str], duckdb.DuckDBPyConnection] = {}
_attaching = threading.Lock()  # a sensor daemon evaluates in threads


def connect(
    database: Path,
    config: dict[str, Any],
    lake: Lake | None,
    read_only: bool = False,
    snapshot: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse: the file ``database``, or the ``lake`` if one is
    configured (an in-memory DuckDB with the lake attached; ``database`` is then unused).
    ``config`` is :func:`resultatrapport.settings.duckdb_config`'s.

    A lake is attached once per process (loading its extensions and reading its catalog costs
    about 0.2 s, some twenty times a run): each call gets a new connection to that database,
    with its own transactions, which sees every commit made since, by this process or another.
    A snapshot is attached on its own, for the one caller that asks for it."""
    if lake is None:
        return duckdb.connect(str(database), read_only=read_only, config=config)
    if snapshot is not None:
        return _attach_new(config, lake, True, snapshot)
    key = (lake, read_only, repr(sorted(config.items())))
    with _attaching:
        base = _attached.get(key)
        if base is None:
            base = _attached[key] = _attach_new(config, lake, read_only, None)
        try:
            con = base.cursor()
            con.execute(f"USE {CATALOG}")
            con.execute(f"SELECT id FROM {CATALOG}.current_snapshot()").fetchall()
        except duckdb.Error:  # closed, invalidated, or its catalog session lost: attach again
            base = _attached[key] = _attach_new(config, lake, read_only, None)
            con = base.cursor()
            con.execute(f"USE {CATALOG}")
    return con


def _attach_new(
    config: dict[str, Any], lake: Lake, read_only: bool, snapshot: int | None
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config=config)
    try:
        if not read_only and not lake.on_s3:
            Path(lake.data_path).mkdir(parents=True, exist_ok=True)
        attach(con, lake, read_only, snapshot)
    except BaseException:
        con.close()
        raise
    return con


# --- conflicts and snapshots -------------------------------------------------------------------


def open_configured(read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse the environment names, for the command line and the
    sensors (the pipeline's steps use the ``warehouse`` resource)."""
    return connect(settings.warehouse_path(), settings.duckdb_config(), configured(), read_only)


def is_conflict(error: BaseException) -> bool:
    """Whether ``error`` is a commit that lost to another writer's (DuckLake's conflict
    detection, or the catalog's own serialisation failure): retrying the transaction is the
    cure."""
    if not isinstance(error, duckdb.Error):
        return False
    text = str(error)
    return (
        "Transaction conflict" in text
        or "could not serialize access" in text
        or "duplicate key value violates unique constraint" in text  # two first snapshots
    )


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int:
    """The id of the lake's latest snapshot (the state a reader sees now)."""
    row = con.execute(f"SELECT id FROM {CATALOG}.current_snapshot()").fetchall()
    return int(row[0][0])


def catalog_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """The catalog (``postgres:…``) of the lake ``con`` works on, or None for a DuckDB file."""
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database() "
        "AND type = 'ducklake'"
    ).fetchall()
    return str(rows[0][0]) if rows else None


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con`` works on a lake (its default catalog is an attached DuckLake)."""
    return catalog_of(con) is not None


# --- the write turn --------------------------------------------------------------------------

# DuckLake detects conflicts per table: a transaction that deletes rows of a table conflicts
# with any other that inserted into it meanwhile, whatever partitions the two touched, and two
# that fill the same empty partition both commit (the delete found nothing to conflict on).
# Every write transaction on a lake therefore takes the lake's one write turn first: a
# PostgreSQL advisory lock in its catalog database, held by this process's own session (so a
# killed process lets go at once), and a lock among this process's threads.
WRITE_TURN_KEY = 0x52524C4B  # "RRLK": the advisory lock of the write turn
WRITE_TURN_TIMEOUT = "15min"
_turn = threading.RLock()  # a transaction inside a held turn (the schema) nests
_sessions: dict[str, Any] = {}


@dataclass
class TurnStats:
    """What this process's writes cost in turns on the lake: how many write turns it took
    (a nested one, inside a turn it holds, is no new turn), the seconds it waited for them
    (for another process, or another thread of this one, to let go), the longest of those
    waits, and the seconds it held them. ``resultatrapport run`` prints them; the write-wait
    measurement of six hubs at once reads them there (``docs/benchmarks.md``)."""

    turns: int = 0
    waited: float = 0.0
    longest: float = 0.0
    held: float = 0.0


_stats = TurnStats()
_depth = threading.local()  # how deep this thread is in turns it holds


def turn_stats() -> TurnStats:
    """This process's write turns on the lake so far (a copy)."""
    return TurnStats(_stats.turns, _stats.waited, _stats.longest, _stats.held)


class WriteTurnTimeout(RuntimeError):
    """Another writer held the lake's write turn longer than :data:`WRITE_TURN_TIMEOUT`."""


def _session(conninfo: str) -> Any:
    session = _sessions.get(conninfo)
    if session is None or session.closed:
        session = psycopg2.connect(conninfo, application_name="resultatrapport write turn")
        session.autocommit = True
        with session.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = '{WRITE_TURN_TIMEOUT}'")
        _sessions[conninfo] = session
    return session


@contextmanager
def write_turn(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Hold the lake's write turn while the block runs (nothing on a DuckDB file, whose one
    writer the ``warehouse`` pool and the file lock ensure)."""
    catalog = catalog_of(con)
    if catalog is None:
        yield
        return
    conninfo = catalog.removeprefix("postgres:")
    asked = time.perf_counter()
    with _turn:
        try:
            session = _session(conninfo)
            with session.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", (WRITE_TURN_KEY,))
        except psycopg2.errors.LockNotAvailable as waited:
            raise WriteTurnTimeout(
                f"waited {WRITE_TURN_TIMEOUT} for the lake's write turn; another writer holds "
                "it (pg_locks in the catalog database names its session)"
            ) from waited
        except psycopg2.OperationalError:  # the session was lost (a restarted server)
            _sessions.pop(conninfo, None)
            session = _session(conninfo)
            with session.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", (WRITE_TURN_KEY,))
        got = time.perf_counter()
        outermost = getattr(_depth, "n", 0) == 0
        _depth.n = getattr(_depth, "n", 0) + 1
        try:
            yield
        finally:
            _depth.n -= 1
            if outermost:  # a new turn (a nested one waits for nothing and holds no more)
                _stats.turns += 1
                _stats.waited += got - asked
                _stats.longest = max(_stats.longest, got - asked)
                _stats.held += time.perf_counter() - got
            try:
                with session.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", (WRITE_TURN_KEY,))
            except psycopg2.Error:  # a lost session has let go of its locks already
                _sessions.pop(conninfo, None)


# --- a named lock, tried once ------------------------------------------------------------------


def exclusive(con: duckdb.DuckDBPyConnection, name: str) -> AbstractContextManager[bool]:
    """A lock called ``name`` (letters, digits, ``-``, ``_``) on the warehouse ``con`` works on, held
    while the block runs, by this process alone across every process and machine that uses
    the same warehouse; the block gets True when it holds it, False at once when another does
    (it is tried, never waited for).

    On a lake it is a PostgreSQL advisory lock in the catalog database, on a session of its
    own (not the write turn's: the block takes the write turn for its writes); on a DuckDB
    file, an OS lock (``flock``) on the file ``<warehouse>.<name>.lock`` beside it, whoever
    runs the process and whether or not the Dagster pool does. Either lets go when its process
    dies. Only ``con``'s warehouse is read from it: the block may close it and open others. An
    in-memory database is one process's alone: its lock is always held."""
    _lock_name(name)
    catalog = catalog_of(con)
    if catalog is not None:
        return _advisory_lock(catalog.removeprefix("postgres:"), lock_key(name))
    warehouse = _database_file(con)
    if warehouse is None:
        return nullcontext(True)
    return _file_lock(warehouse.with_name(f"{warehouse.name}.{name}.lock"))


def _lock_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ValueError(f"a lock's name is letters, digits, '-' and '_': {name!r}")
    return name


def _database_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The DuckDB file ``con`` works on, resolved (one lock whatever path names it); None for
    an in-memory database."""
    rows = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    path = rows[0][0] if rows else None
    if not path or path == ":memory:":
        return None
    return Path(path).resolve()


def _try_advisory_lock(cursor: Any, key: int) -> bool:
    """Whether the session of ``cursor`` got the advisory lock ``key`` (tried, not waited)."""
    cursor.execute("SELECT pg_try_advisory_lock(%s)", (key,))
    row = cursor.fetchone()
    return bool(row and row[0])


def lock_key(name: str) -> int:
    """The advisory lock key of ``name``: 64 bits of its SHA-256, as PostgreSQL's bigint."""
    digest = hashlib.sha256(f"resultatrapport {name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _advisory_lock(conninfo: str, key: int) -> Iterator[bool]:
    session = psycopg2.connect(conninfo, application_name="resultatrapport lock")
    try:
        session.autocommit = True
        with session.cursor() as cursor:
            got = _try_advisory_lock(cursor, key)
        yield got
    finally:
        session.close()  # a session's advisory locks end with it


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    # filelock: the flock, and an open that loses no race to a holder that removes the file
    lock = filelock.FileLock(path, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


# --- named locks, waited for -------------------------------------------------------------------

LOCK_WAIT_TIMEOUT = 60 * 60.0  # seconds: many times a delivery's ingestion at scale 100
_POLL = (0.02, 0.5)  # the first and the longest pause between two tries of a held lock
_local_locks: dict[tuple[str, str], threading.Lock] = {}
_local_locks_guard = threading.Lock()


class LockWaitTimeout(RuntimeError):
    """Another process held a lock :func:`exclusive_waited` waits for longer than
    :data:`LOCK_WAIT_TIMEOUT`."""


def exclusive_waited(
    con: duckdb.DuckDBPyConnection, names: Iterable[str], timeout: float = LOCK_WAIT_TIMEOUT
) -> AbstractContextManager[None]:
    """The locks called ``names`` on the warehouse ``con`` works on, held while the block
    runs, by this process alone across every process and machine that uses the warehouse;
    unlike :func:`exclusive` each is waited for while another holds it (at most ``timeout``
    seconds in all, then :class:`LockWaitTimeout`). They are taken in one order (sorted), so
    two blocks that want some of the same locks never wait for each other both.

    Take them before any write transaction, never inside one: a block that holds one of them
    may wait for the lake's write turn (:func:`write_turn`), so the turn's holder must never
    wait for one of them.

    On a lake they are PostgreSQL advisory locks in the catalog database, on a session of
    their own that ends with the block or the process (a killed holder lets go at once); a
    held lock is tried again after a short pause (up to half a second), not waited for in one
    blocking call, which Ctrl-C could not interrupt. On a DuckDB file they are locks among
    this process's threads: a file is open for writing in one process at a time (DuckDB's
    own lock), so only its threads can meet at one. An in-memory database's are held at
    once (it is one connection's alone)."""
    wanted = sorted({_lock_name(n) for n in names})
    catalog = catalog_of(con)
    if catalog is not None:
        keys = sorted({lock_key(n) for n in wanted})
        return _advisory_locks_waited(catalog.removeprefix("postgres:"), keys, timeout)
    database = _database_file(con)
    if database is None:
        return nullcontext()
    warehouse = str(database)
    with _local_locks_guard:
        locks = [_local_locks.setdefault((warehouse, n), threading.Lock()) for n in wanted]
    return _local_locks_waited(locks, timeout)


def _waited(tried: Callable[[], bool], deadline: float, timeout: float) -> None:
    """Try ``tried`` until it gets its lock, pausing longer each time (:data:`_POLL`), or
    :class:`LockWaitTimeout` at ``deadline`` (``time.monotonic``)."""
    pause = _POLL[0]
    while not tried():
        left = deadline - time.monotonic()
        if left <= 0:
            raise LockWaitTimeout(
                f"waited {timeout:.0f} s for a lock another process holds (pg_locks in the "
                "lake's catalog database names its session)"
            )
        time.sleep(min(pause, left))
        pause = min(pause * 2, _POLL[1])


@contextmanager
def _advisory_locks_waited(conninfo: str, keys: list[int], timeout: float) -> Iterator[None]:
    deadline = time.monotonic() + timeout
    session = psycopg2.connect(conninfo, application_name="resultatrapport lock")
    try:
        session.autocommit = True
        with session.cursor() as cursor:
            for key in keys:
                _waited(functools.partial(_try_advisory_lock, cursor, key), deadline, timeout)
        yield
    finally:
        session.close()  # a session's advisory locks end with it


@contextmanager
def _local_locks_waited(locks: list[threading.Lock], timeout: float) -> Iterator[None]:
    held: list[threading.Lock] = []
    started = time.monotonic()
    try:
        for lock in locks:
            left = max(0.0, timeout - (time.monotonic() - started))
            if not lock.acquire(timeout=left):
                raise LockWaitTimeout(
                    f"waited {timeout:.0f} s for a lock another thread of this process holds"
                )
            held.append(lock)
        yield
    finally:
        for lock in reversed(held):
            lock.release()
