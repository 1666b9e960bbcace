"""The Dagster instance the CLI and `make dev` use."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from resultatrapport import settings


def ensure_dagster_home() -> Path:
    """$DAGSTER_HOME, or var/dagster_home with the project's dagster.yaml in it. The
    instance is opened from this folder (:func:`open_instance`); nothing is written into
    the process's environment."""
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    repo_config = settings.dagster_yaml()
    fresh = not config.exists() or config.read_bytes() != repo_config.read_bytes()
    if "DAGSTER_HOME" not in os.environ and repo_config.exists() and fresh:
        shutil.copyfile(repo_config, config)
    return home


# The command line's runs execute in its own process, whose stdout and stderr are the user's
# terminal. Dagster's local compute log manager would redirect both into files for the whole
# run and mirror them back through a `tail -F` child, watched by two more children; all three
# are in the terminal's process group, so a Ctrl-C killed them too: two Dagster tracebacks
# on the screen, and what the command printed after (its 'Afbrudt' line) went into the file
# only. The command line's runs capture nothing (their events and log lines are in the event
# log as always); the UI's and the daemon's runs keep the manager of dagster.yaml.
CLI_OVERRIDES = {
    "compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
}


@contextmanager
def open_instance() -> Iterator[Any]:
    """The Dagster instance of :func:`ensure_dagster_home`'s folder, opened from it (not from
    the environment) with :data:`CLI_OVERRIDES`. Its SQLite storage is created the first time
    it is opened; two processes doing that at once collide ("table … already exists"), so the
    opening is serialised by a lock file in the folder."""
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef  # from_config without overrides

    home = ensure_dagster_home()
    with open(home / ".resultatrapport-open.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            ref = InstanceRef.from_dir(str(home), overrides=CLI_OVERRIDES)
            instance = DagsterInstance.from_ref(ref)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    with instance:
        yield instance


# --- runs whose process died --------------------------------------------------------------
# A run the CLI executes in its own process is not watched by Dagster's run monitoring: if
# the process is killed (SIGKILL, a lost machine), the run stays STARTED and keeps its slot
# of the warehouse pool, and every later run would wait for it. The CLI tags its runs with
# its host and process id, and before it starts, ends the runs of processes that are gone.

PID_TAG = "resultatrapport/pid"
HOST_TAG = "resultatrapport/host"


def process_tags() -> dict[str, str]:
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _alive(pid: int) -> bool:
    cmdline = Path(f"/proc/{pid}/cmdline")
    if Path("/proc").is_dir():
        # a process id can be reused: only a resultatrapport process counts
        try:
            return b"resultatrapport" in cmdline.read_bytes()
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_runs(instance: Any, tags: dict[str, str], reason: Any) -> list[str]:
    """Mark the unfinished runs with ``tags`` for which ``reason(run)`` gives a reason (None:
    leave it) as failed with that reason, and free their concurrency slots; returns their
    run ids."""
    from dagster import DagsterRunStatus, RunsFilter

    ended = []
    unfinished = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.NOT_STARTED]
    for run in instance.get_runs(RunsFilter(statuses=unfinished, tags=tags)):
        why = reason(run)
        if why is None:
            continue
        instance.report_run_failed(run, why)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        ended.append(run.run_id)
    return ended


def end_dead_runs(instance: Any) -> list[str]:
    """Mark the unfinished runs of this host whose process is gone as failed and free their
    concurrency slots; returns their run ids."""

    def gone(run: Any) -> str | None:
        pid = run.tags.get(PID_TAG, "")
        if not pid.isdigit() or _alive(int(pid)):
            return None
        return f"Process {pid} ended without finishing the run (killed); its slots are freed."

    return end_runs(instance, {HOST_TAG: socket.gethostname()}, gone)
