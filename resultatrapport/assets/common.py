"""What every asset shares: the warehouse pool, the retry policy, the backfill policy."""

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
