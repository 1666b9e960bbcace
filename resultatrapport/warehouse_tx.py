"""The one way a partition of a warehouse table is written: in one transaction.

Every write of a partition (a delivery's rows, a KPI's result, a year's budget, the report
owner's texts, the inbox list) deletes the partition's rows and inserts the new ones inside
:func:`transaction`, so a failure at any point leaves the previous rows in place and a reader
never sees the partition half written. :func:`replace_rows` is that pattern for rows given
in Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block in one transaction: committed when it ends, rolled back if it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    where: str,
    params: Mapping[str, Any],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Delete the rows of ``table`` that ``where`` (with ``params``) selects and insert
    ``rows`` (positional, every column of the table); call it inside :func:`transaction`."""
    con.execute(f"DELETE FROM {table} WHERE {where}", dict(params))
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", [list(r) for r in rows])
