"""A delivery's content hash, read from the file once per change of it (issue 28).

A delivery's data version is its SHA-256: what the warehouse records, what a run compares to
know nothing changed. :func:`content_sha256` gives it without reading the file again while
the file system says the file is the one hashed before: an entry per file under the cache
folder (``$RESULTATRAPPORT_CACHE/file_hashes/``) holds the hash with what ``os.stat`` said of
the file then: its resolved path, size, modification and status-change times (ns), inode and
device. The status-change time (ctime) cannot be set back by a user (``touch`` and
``os.utime`` move it to now), so a rewrite of the same size with the old modification time
restored is hashed again.

An entry whose file was modified or changed status less than :data:`SETTLE_NS` before the
hash was taken is never trusted ("racy", as git's racy-clean index entries): a file written
just before or while it was read may be written again within the file system's timestamp
granularity (a kernel clock tick; seconds on some file systems) with nothing in its stat
changing. Such a file is read again, until an entry taken well after its last change stands.

One small JSON file per path, written whole to a temporary name and renamed over the old
(atomic on a local and on a network file system), so concurrent runs never leave a partial
entry, only at worst the hash one of them took; a missing, unreadable, corrupt or foreign
entry means "read the file", and a cache folder that cannot be written costs only the
reading. The key holds nothing of the machine: where the cache folder is shared (the
production volume every run pod mounts, beside the inbox), the inbox is the same shared file
system, whose stat describes the same file to every pod; on file systems of their own, two
machines' files agree on path, size, inode, device and both times to the nanosecond only by
accident. Clocks: a file server whose clock runs more than :data:`SETTLE_NS` behind this
machine's shortens the racy window by as much.

The recorded hash is still the content's SHA-256 (:func:`read_sha256`): only how it is
obtained changes. :data:`HASHED` counts what this process read to hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from resultatrapport import settings

# an entry is trusted only where its file last changed this long before the hash was taken
SETTLE_NS = 2_000_000_000
_CHUNK = 1 << 20

Opener = Callable[[Path], IO[bytes]]


@dataclass
class Hashed:
    """What this process read to hash files: how many files, how many bytes."""

    files: int = 0
    bytes: int = 0


HASHED = Hashed()


def _open(path: Path) -> IO[bytes]:
    return path.open("rb")


def read_sha256(path: Path, opener: Opener = _open) -> str:
    """The SHA-256 of the file's content, read whole (counted in :data:`HASHED`)."""
    digest = hashlib.sha256()
    size = 0
    with opener(path) as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    HASHED.files += 1
    HASHED.bytes += size
    return digest.hexdigest()


def folder() -> Path:
    """Where the entries live: ``file_hashes/`` under the cache folder."""
    return settings.cache_dir() / "file_hashes"


def _key(path: Path, stat: os.stat_result) -> dict[str, Any]:
    return {
        "path": str(path),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns,
        "ino": stat.st_ino,
        "dev": stat.st_dev,
    }


def _entry_path(where: Path, path: Path) -> Path:
    return where / f"{hashlib.sha256(str(path).encode()).hexdigest()}.json"


def _kept(entry: Path, key: dict[str, Any], stat: os.stat_result) -> str | None:
    """The hash the entry holds for the file as ``key`` describes it, where it stands: the
    same stat, taken well after the file's last change; None otherwise."""
    try:
        held = json.loads(entry.read_bytes())
        sha, hashed_at = held["sha256"], held["hashed_at_ns"]
        if held["key"] != key or not isinstance(hashed_at, int):
            return None
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not (isinstance(sha, str) and len(sha) == 64 and set(sha) <= set("0123456789abcdef")):
        return None
    if max(stat.st_mtime_ns, stat.st_ctime_ns) > hashed_at - SETTLE_NS:  # racy
        return None
    return sha


def _keep(entry: Path, key: dict[str, Any], sha: str, hashed_at: int) -> None:
    """Write the entry whole or not at all (a temporary file renamed over the old one)."""
    data = json.dumps({"key": key, "sha256": sha, "hashed_at_ns": hashed_at}).encode()
    tmp: str | None = None
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{entry.stem[:16]}.", suffix=".tmp", dir=entry.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, entry)
    except OSError:  # a cache that cannot be written only costs reading the file next time
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def content_sha256(
    path: Path,
    where: Path | None = None,
    *,
    clock: Callable[[], int] = time.time_ns,
    opener: Opener = _open,
) -> str:
    """The SHA-256 of the file's content: the entry's (in ``where``, by default
    :func:`folder`) where the file is as it was when hashed well after its last change;
    otherwise read (``opener``), and the entry written. ``clock`` is the time in ns since the
    epoch (the file system's timestamps' clock)."""
    real = path.resolve()
    stat = real.stat()
    key = _key(real, stat)
    entry = _entry_path(folder() if where is None else where, real)
    sha = _kept(entry, key, stat)
    if sha is not None:
        return sha
    hashed_at = clock()  # before reading: a change from here on is racy or another stat
    sha = read_sha256(real, opener)
    _keep(entry, key, sha, hashed_at)
    return sha
