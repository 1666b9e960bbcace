"""Stopping a command at once on Ctrl-C (SIGINT) or SIGTERM, whatever it is doing.

Dagster takes over both signals while a run executes in-process: it records the interrupt
and acts on it only inside a step. A run waiting for a slot of the warehouse pool, or
between two steps, never looks, so the signal was swallowed and the run went on (a second
Ctrl-C the same). So a command's work runs in a worker thread, where Dagster leaves the
signals alone, and the main thread keeps them: on the first one it ends the runs this process
started (marked failed, their pool slots freed), says so in one line and leaves with exit code
130 at once, as a killed process would. Nothing is left half-done by that: every warehouse
write is one transaction (an unfinished one is never committed), every output file is written
aside and renamed or linked into place, and a sign-off cut off anywhere is finished or taken
back by the next start (:func:`resultatrapport.report.publish.recover`).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
SIGNALS = (signal.SIGINT, signal.SIGTERM)
MESSAGE = (
    "Afbrudt: kørslen er stoppet og markeret som fejlet i Dagster; det, den nåede at skrive "
    "færdigt, står, og intet er halvt skrevet."
)
# stopped where no run of it was under way (before the first, between two)
MESSAGE_NO_RUN = (
    "Afbrudt: kommandoen er stoppet; det, den nåede at skrive færdigt, står, og intet er "
    "halvt skrevet."
)


def end_own_runs(reason: str) -> list[str]:
    """Mark the unfinished runs this process started as failed and free their pool slots;
    returns their run ids (nothing if the instance cannot be opened: the next command
    ends them, :func:`commands.instance.end_dead_runs`)."""
    from commands.instance import HOST_TAG, PID_TAG, end_runs, open_instance

    own = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    try:
        with open_instance() as instance:
            return end_runs(instance, own, lambda _run: reason)
    except Exception:  # the exit must not wait on a broken instance
        return []


def run_interruptibly(work: Callable[[], int]) -> int:
    """``work()``'s exit code; on SIGINT or SIGTERM (in the main thread) the process ends
    with :data:`INTERRUPTED` at once, after :func:`end_own_runs`. Off the main thread (a
    caller that is itself a worker) ``work`` just runs."""
    if threading.current_thread() is not threading.main_thread():
        return work()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["code"] = work()
        except BaseException as error:  # raised again in the main thread
            outcome["error"] = error

    worker = threading.Thread(target=target, name="resultatrapport-command", daemon=True)
    previous = {s: signal.getsignal(s) for s in SIGNALS}

    def stop(signo: int, _frame: FrameType | None) -> None:
        for s in SIGNALS:  # a second signal while ending the runs: leave at once
            signal.signal(s, lambda *_: os._exit(INTERRUPTED))
        name = signal.Signals(signo).name
        ended = end_own_runs(f"Afbrudt ({name}) fra kommandolinjen")
        print(MESSAGE if ended else MESSAGE_NO_RUN, file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED)

    for s in SIGNALS:
        signal.signal(s, stop)
    try:
        worker.start()
        while worker.is_alive():
            worker.join(0.2)  # short waits: a signal handler runs between them
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if "error" in outcome:
        raise outcome["error"]
    return int(outcome["code"])
