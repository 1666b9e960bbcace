from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource
from pydantic import Field

from resultatrapport import lake as lakes
from resultatrapport import settings
from resultatrapport.warehouse_schema import LAST_TABLE, ensure_schema
from resultatrapport.warehouse_tx import write_attempts

# the warehouse files whose schema this process has made sure of (resolved paths)
_ensured: set[str] = set()


def _ready(con: duckdb.DuckDBPyConnection, path: str) -> None:
    """Make sure the schema is there: on the first connection to a file in this process by
    creating what is missing (some forty DDL statements, and the columns a newer version
    adds), on each later one by one probe of the table :func:`ensure_schema` creates last,
    which a file deleted or replaced meanwhile lacks.

    The check is a fixed cost every step pays on its new connection. It was a catalog query
    (``duckdb_tables()``), which on a new connection loads every table's metadata: 87 ms
    against 1.4 ms for the probe (medians over 25 fresh connections each to the warehouse of
    a scale-0.05 run; opening the connection itself costs about 100 ms)."""
    if path in _ensured:
        try:
            con.execute(f"SELECT 1 FROM {LAST_TABLE} LIMIT 0").fetchall()
            return
        except duckdb.CatalogException:
            pass
    with lakes.write_turn(con):  # on a lake, two processes must not create it at once
        ensure_schema(con)
    _ensured.add(path)


class Warehouse(ConfigurableResource):
    """The warehouse: the embedded DuckDB file, or a DuckLake when ``lake`` (or
    ``$RESULTATRAPPORT_LAKE``) names one (:mod:`resultatrapport.lake`). Same SQL, same tables.

    File connections come from dagster-duckdb's resource, which retries while another process
    holds the file lock; a lake connection is retried while its catalog is busy being made by
    another process. The schema is created on first use.
    """

    # no default values in the run config (None, not ""), so the launchpad does not pre-fill
    # them as empty strings to delete: unset, they come from the environment at run time
    database: str | None = Field(
        default=None,
        description="DuckDB file; unset: $RESULTATRAPPORT_WAREHOUSE, else var/warehouse.duckdb.",
    )

    memory_limit: str | None = Field(
        default=None,
        description="DuckDB memory limit, e.g. '2GB'; unset: $RESULTATRAPPORT_DUCKDB_MEMORY, "
        f"else {settings.DEFAULT_DUCKDB_MEMORY}. Above it DuckDB spills to disk.",
    )

    lake: str | None = Field(
        default=None,
        description="DuckLake catalog and data path, 'postgres:dbname=… host=…|/data/lake/'; "
        f"unset: ${lakes.ENV_LAKE}, else the DuckDB file.",
    )

    @property
    def path(self) -> Path:
        return settings.warehouse_path(self.database or "")

    @property
    def location(self) -> lakes.Lake | None:
        """The lake the warehouse is, or None for the file."""
        return lakes.configured(self.lake or "")

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        lake = self.location
        if lake is not None:
            for attempt in write_attempts():
                with attempt:
                    con = lakes.connect(self.path, self._config(), lake)
                    try:
                        _ready(con, f"lake:{lake.catalog}|{lake.data_path}")
                    except BaseException:
                        con.close()
                        raise
            try:
                yield con
            finally:
                con.close()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with DuckDBResource(
            database=str(self.path),
            connection_config=self._config(),
        ).get_connection() as con:
            # dagster-duckdb closes the connection only when the block ends without an
            # exception; a failed step must not leave the file open (and locked) behind it
            try:
                _ready(con, str(self.path))
                yield con
            finally:
                con.close()

    def _config(self) -> dict[str, str | bool | int | float | list[str]]:
        return settings.duckdb_config(self.memory_limit or "")
