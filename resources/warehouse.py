from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from resultatrapport import settings
from resultatrapport.warehouse_schema import ensure_schema

_TABLES = "SELECT schema_name || '.' || table_name FROM duckdb_tables()"


def _ready(con: duckdb.DuckDBPyConnection, schema_tables: set[str]) -> None:
    """Create the schema unless ``schema_tables`` (the tables once it was created, filled
    here) are all there already: one catalog query instead of some forty DDL statements,
    which cost about 10 ms per connection, and a run opens well over a hundred."""
    present = {name for (name,) in con.execute(_TABLES).fetchall()}
    if not schema_tables or not schema_tables <= present:
        ensure_schema(con)
        schema_tables.update(name for (name,) in con.execute(_TABLES).fetchall())


class Warehouse(ConfigurableResource):
    """The embedded DuckDB warehouse (one file).

    Connections come from dagster-duckdb's resource, which retries while another process
    holds the file lock. The schema is created on first use.
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

    # the tables this resource has seen the schema created with (not config: the resource's
    # own state, none of the process's)
    _schema_tables: set[str] = PrivateAttr(default_factory=set)

    @property
    def path(self) -> Path:
        return settings.warehouse_path(self.database or "")

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with DuckDBResource(
            database=str(self.path),
            connection_config=settings.duckdb_config(self.memory_limit or ""),
        ).get_connection() as con:
            # dagster-duckdb closes the connection only when the block ends without an
            # exception; a failed step must not leave the file open (and locked) behind it
            try:
                _ready(con, self._schema_tables)
                yield con
            finally:
                con.close()
