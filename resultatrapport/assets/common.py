"""What every asset shares: the warehouse pool, the retry policy, the backfill policy, and
the early import of what a later step needs."""

import importlib
import threading

from dagster import AssetExecutionContext, BackfillPolicy, Backoff, RetryPolicy

# every step that writes the DuckDB file takes a slot of this pool; dagster.yaml limits it to
# one at a time across runs, so two runs never meet on the file lock
WAREHOUSE_POOL = "warehouse"
# a transient failure (the file lock held by a process outside Dagster, a full disk that was
# freed) gets two more tries; bad input raises Failure(allow_retries=False) instead
RETRY = RetryPolicy(max_retries=2, delay=5, backoff=Backoff.EXPONENTIAL)
# a contract's assets rebuild a range of years in one run
SINGLE_RUN = BackfillPolicy.single_run()


def years_of(context: AssetExecutionContext) -> list[int]:
    """The years a run covers: one partition, or a range in a single-run backfill."""
    return [int(k) for k in context.partition_keys]


_preloading: set[tuple[str, ...]] = set()


def preload(*modules: str) -> None:
    """Import ``modules`` in a background thread while this step waits for DuckDB.

    Great Expectations takes about 2 s to import and WeasyPrint with matplotlib about 1 s,
    all of it Python holding the GIL; a step that runs a long DuckDB query releases the GIL,
    so on a second core the import costs nothing. A step that needs a module before the
    thread is done waits on Python's import lock; an import error surfaces there.
    """

    if modules in _preloading:
        return
    _preloading.add(modules)

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # raised again where the module is used
                return

    threading.Thread(target=load, name="preload", daemon=True).start()
