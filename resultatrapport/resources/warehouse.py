from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource
from pydantic import Field

from resultatrapport import settings
from resultatrapport.warehouse_schema import ensure_schema


class Warehouse(ConfigurableResource):
    """The embedded DuckDB warehouse (one file).

    Connections come from dagster-duckdb's resource, which retries while another process
    holds the file lock. The schema is created on first use.
    """

    database: str = Field(
        default="",
        description="DuckDB file; empty: $RESULTATRAPPORT_WAREHOUSE, else var/warehouse.duckdb.",
    )

    @property
    def path(self) -> Path:
        return settings.warehouse_path(self.database)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with DuckDBResource(database=str(self.path)).get_connection() as con:
            # dagster-duckdb closes the connection only when the block ends without an
            # exception; a failed step must not leave the file open (and locked) behind it
            try:
                ensure_schema(con)
                yield con
            finally:
                con.close()
