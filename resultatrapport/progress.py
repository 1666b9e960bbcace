"""Progress of long work: a tqdm bar on a terminal, plain lines everywhere else.

    with progress(len(files), "generating") as bar:
        for f in files:
            write(f)
            bar.update(note=f"{f}: done")

On a terminal (the stream's ``isatty()``) this draws a tqdm bar with the note as its postfix.
Anywhere else (logs, CI, Dagster, pipes) every update prints one plain line, without
carriage returns: ``generating: register/regnskaber_2024.csv (3/40)``. ``update(0, note)``
reports progress inside a step without counting it (e.g. a chunk of a big file).

Work whose steps print lines of their own (a Dagster run per year) is announced before it
starts, so the count stands above the lines it counts: ``start(note)`` prints
``ingesting: 2025 (2/3) ...`` as plain line (on a bar: the note), ``update()`` then counts it
silently; :func:`track` does this with ``announce=True``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

T = TypeVar("T")


class Progress:
    """Counts steps of ``total``; shows them as a bar or as plain lines (see the module)."""

    def __init__(
        self,
        total: int,
        desc: str,
        stream: IO[str],
        bar: bool,
        unit: str = "it",
        min_interval: float = 0.0,
    ) -> None:
        self.total, self.desc, self.stream = int(total), desc, stream
        self.done = 0
        self.min_interval = min_interval
        self._last = float("-inf")
        self._bar: Any = None
        self._started = False
        if bar:
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total, desc=desc, file=stream, unit=unit, dynamic_ncols=True
            )

    def start(self, note: str = "") -> None:
        """Announce the next step before its work starts; the following ``update()`` counts
        it without a line of its own (a bar still moves)."""
        if self._bar is not None:
            self._bar.set_postfix_str(note, refresh=True)
            return
        counts = f"({self.done + 1}/{self.total})"
        line = f"{self.desc}: {note} {counts}" if note else f"{self.desc}: {counts}"
        print(line + " ...", file=self.stream, flush=True)
        self._started = True

    def update(self, n: int = 1, note: str = "") -> None:
        """Count ``n`` more steps done (0: none, just the note) and show ``note``."""
        self.done += n
        if n and self._started and self._bar is None:
            self._started = False  # said by start(): no second line for the same step
            return
        if self._bar is not None:
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            if n:
                self._bar.update(n)
            else:
                self._bar.refresh()
            return
        now = time.monotonic()
        if now - self._last < self.min_interval and self.done < self.total:
            return  # plain lines: at most one per min_interval seconds, and always the last
        self._last = now
        counts = f"({self.done}/{self.total})"
        line = f"{self.desc}: {note} {counts}" if note else f"{self.desc}: {counts}"
        print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # closed or detached stream
        return False


@contextmanager
def progress(
    total: int,
    desc: str,
    *,
    stream: IO[str] | None = None,
    bar: bool | None = None,
    unit: str = "it",
    min_interval: float = 0.0,
) -> Iterator[Progress]:
    """A :class:`Progress` of ``total`` steps, on ``stream`` (default: stderr).

    ``bar``: force the tqdm bar (True) or plain lines (False); default: a bar only when the
    stream is a terminal. ``min_interval``: plain lines at most this often (seconds); 0 prints
    every update.
    """
    out = sys.stderr if stream is None else stream
    shown = Progress(
        total,
        desc,
        out,
        _is_terminal(out) if bar is None else bar,
        unit=unit,
        min_interval=min_interval,
    )
    try:
        yield shown
    finally:
        shown.close()


def track(
    items: Iterable[T],
    desc: str,
    *,
    total: int | None = None,
    note: Callable[[T], str] | None = None,
    announce: bool = False,
    **options: Any,
) -> Iterator[T]:
    """Yield ``items``, counting each one done once the caller asks for the next one.

    ``note(item)`` labels the step; ``total`` defaults to ``len(items)``; ``options`` go to
    :func:`progress`. ``announce``: the line for an item is printed before the caller works
    on it (``start``), not after: for work that prints lines of its own.
    """
    if total is None:
        total = len(items)  # type: ignore[arg-type]
    with progress(total, desc, **options) as shown:
        for item in items:
            label = note(item) if note else ""
            if announce:
                shown.start(label)
            yield item
            shown.update(1, label)
