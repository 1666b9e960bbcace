"""The one way a partition of a warehouse table is written: in one transaction.

Every write of a partition (a delivery's rows, a KPI's result, a year's budget, the report
owner's texts, the inbox list) deletes the partition's rows and inserts the new ones inside
:func:`transaction`, so a failure at any point leaves the previous rows in place and a reader
never sees the partition half written. :func:`replace_rows` is that pattern for rows given
in Python.

On a lake (:mod:`resultatrapport.lake`) other processes write at the same time, and a commit
that meets another's change fails with a conflict. Every write therefore runs as

    for attempt in write_attempts():
        with attempt, transaction(con):
            ...

which runs the block again, from a rolled-back state, when it lost such a conflict: at most
:data:`ATTEMPTS` times, with exponential back-off and jitter (tenacity), then
:class:`WriteConflict`. On the single file there is one writer and no conflict, and the loop
runs once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import duckdb
from tenacity import (
    AttemptManager,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from resultatrapport.lake import is_conflict, write_turn

ATTEMPTS = 6  # about 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s of back-off, with jitter, before giving up


class WriteConflict(RuntimeError):
    """A write that lost its commit to other writers :data:`ATTEMPTS` times in a row."""


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block in one transaction: committed when it ends, rolled back if it raises. On
    a lake the transaction holds the lake's write turn (:func:`resultatrapport.lake.write_turn`),
    so writers of the same tables take turns instead of conflicting."""
    with write_turn(con):  # a lake's one write turn (nothing on a file)
        con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            con.execute("ROLLBACK")
            raise
        try:
            con.execute("COMMIT")
        except duckdb.Error:
            # a commit that failed (a lake's conflict) may leave the transaction open; it
            # holds nothing worth keeping, and the next attempt begins a new one
            with suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise


def write_attempts(attempts: int = ATTEMPTS, first_wait: float = 0.2) -> Iterator[AttemptManager]:
    """The attempts of one write (see the module's docstring): a new one after each lost
    conflict, :class:`WriteConflict` after the last; any other error ends them at once."""
    retrying = Retrying(
        retry=retry_if_exception(is_conflict),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=first_wait, max=10, jitter=first_wait),
        reraise=False,
    )
    try:
        yield from retrying
    except RetryError as exhausted:
        raise WriteConflict(
            f"the warehouse write lost to other writers {attempts} times in a row; "
            "the step fails and its retry policy tries again later"
        ) from exhausted.last_attempt.exception()


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
