"""A command stops at once on SIGTERM or Ctrl-C, even while its run waits for a slot of the
warehouse pool, and the wait itself costs no CPU."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import types
from pathlib import Path

import pytest

from pipelines import dagster_patches
from tests.integration.test_operations import cli, environment

pytestmark = pytest.mark.slow
VER = "viborg-ver-2020"
HOLDER = "f" * 36  # a run id that holds the pool's one slot for the test


def test_the_installed_dagster_still_sleeps_zero_seconds_before_a_pending_claim():
    # the defect the patch mends (remove pipelines/dagster_patches.py when this fails)
    waiting = types.SimpleNamespace(
        _pending_claims={"step"}, _pending_timeouts={"step": time.time() + 5.0}
    )
    assert dagster_patches.ORIGINAL(waiting) == 0
    assert 4.0 < dagster_patches.interval_to_next_pending_claim_check(waiting) <= 5.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGINT])
def test_a_run_waiting_for_the_pool_sleeps_and_stops_at_once_on_a_signal(
    sample_inbox, tmp_path, monkeypatch, signo
):
    env = environment(tmp_path, sample_inbox(range(2020, 2022), 0.05, 9))
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    from dagster import DagsterInstance, DagsterRunStatus

    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("warehouse")
        assert storage.claim_concurrency_slot("warehouse", HOLDER, "holder").is_claimed
        run = cli(env, "run", "--contract", VER, "--year", "2021")
        deadline = time.monotonic() + 60
        while not storage.get_concurrency_info("warehouse").pending_step_count:
            assert run.poll() is None and time.monotonic() < deadline, "never waited"
            time.sleep(0.2)
        # waiting: before the patch the executor loop spun a core (about 1 s per second)
        before = cpu_seconds(run.pid)
        time.sleep(3)
        assert cpu_seconds(run.pid) - before < 0.5
        run.send_signal(signo)
        try:  # before: the signal was swallowed while waiting, and the run went on
            out, _ = run.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            run.kill()
            pytest.fail(f"{signal.Signals(signo).name} did not stop the waiting run")
        assert run.returncode == 130, out
        assert "Afbrudt: kørslen er stoppet" in out and "Traceback" not in out
        [record] = instance.get_runs()
        assert record.status == DagsterRunStatus.FAILURE
        claimed = storage.get_concurrency_info("warehouse").claimed_slots
        assert [c.run_id for c in claimed] == [HOLDER]  # its own claim is gone with it
        assert storage.get_concurrency_info("warehouse").pending_step_count == 0
