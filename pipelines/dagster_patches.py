"""One correction to Dagster 1.13, applied when the code location is imported.

A run whose step waits for a slot of a concurrency pool (the ``warehouse`` pool of
``dagster.yaml``) asks :class:`InstanceConcurrencyContext` how long to sleep before it
claims again. Dagster answers ``min([0, *time_left])``, which is never more than 0, so the
run's executor loop never sleeps: a command-line run waiting behind another run spun a whole
core for as long as it waited (upstream: dagster-io/dagster pull request 20367, closed
unmerged). The time left until the next claim (Dagster backs off from 1 s to 15 s) is what
was meant, and is what the corrected method returns.

:func:`apply` is idempotent. ``tests/integration/test_interrupts.py`` holds both halves:
that the installed Dagster still has the defect (so this file goes when an upgrade mends
it) and that a waiting run now sleeps.
"""

from __future__ import annotations

import time

from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

ORIGINAL = InstanceConcurrencyContext.interval_to_next_pending_claim_check


def interval_to_next_pending_claim_check(self: InstanceConcurrencyContext) -> float:
    """Seconds until the earliest pending claim may be tried again (0: now)."""
    if not self._pending_claims or not self._pending_timeouts:
        return 0.0
    now = time.time()
    return max(0.0, min(ready_at - now for ready_at in self._pending_timeouts.values()))


def apply() -> None:
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = (  # type: ignore[method-assign]
        interval_to_next_pending_claim_check
    )
