"""Writing output files so that a reader never sees a half-written one."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# why an output folder cannot take a file, in Danish; a full disk may be freed (worth another
# try), the others stay as they are until someone changes them
_UNWRITABLE = {
    errno.ENOSPC: ("der er ikke mere plads på disken", True),
    errno.EDQUOT: ("kvoten på disken er brugt op", True),
    errno.EROFS: ("filsystemet er skrivebeskyttet", False),
    errno.EACCES: ("der er ikke skriveadgang", False),
    errno.EPERM: ("der er ikke skriveadgang", False),
}


class OutputNotWritable(OSError):
    """An output file could not be written for a reason outside the pipeline (a full disk, a
    read-only or forbidden folder); the message says which folder and why, in Danish."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient  # worth trying again later (a disk may be freed)

    def __str__(self) -> str:
        return str(self.args[0])


@contextlib.contextmanager
def writing_to(folder: Path) -> Iterator[None]:
    """Turn the errors of writing into ``folder`` that no retry of the code mends into
    :class:`OutputNotWritable`, naming the folder and the reason in one Danish sentence
    (instead of a bare ``OSError`` that, retried, ends as a count of attempts)."""
    try:
        yield
    except OutputNotWritable:
        raise
    except OSError as error:
        known = _UNWRITABLE.get(error.errno or 0)
        if known is None:
            raise
        reason, transient = known
        message = f"Rapporten kan ikke skrives i {folder}: {reason}."
        raise OutputNotWritable(message, transient) from error


def _umask() -> int:
    # os.umask can only be read by setting it; the restrictive value in between is harmless
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def fsync_directory(directory: Path) -> None:
    """Make the entries of ``directory`` durable: a rename, link or removal in it (POSIX; a
    no-op where directories can't be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new(path: Path, data: bytes, *, mode: int) -> None:
    """Create ``path``, which must not exist (:class:`FileExistsError`), holding ``data``
    flushed to disk and with the permissions ``mode`` (e.g. 0o444 for a file that is never
    changed). The caller makes the directory entry durable (:func:`fsync_directory`)."""
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
        os.fchmod(fh.fileno(), mode)


def remove_leftovers(path: Path) -> None:
    """Remove temporary files of ``path`` left by a writer that was killed (SIGKILL) before it
    could clean up. Writers of one output folder are serialised (the warehouse pool), so a
    temporary file of the same target that exists now belongs to no live writer."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


def write_atomically(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Write ``data`` to ``path`` all at once: a temporary file in the same directory is
    written, flushed to disk and then renamed over ``path`` (``os.replace``), so ``path``
    holds either its old content or the whole new content, never a part.

    With ``replace=False`` an existing ``path`` is never touched: the file is linked into
    place, and :class:`FileExistsError` is raised if ``path`` exists (for files that are
    written once, like a signed-off version).
    """
    path = Path(path)
    directory = path.parent
    remove_leftovers(path)
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), 0o666 & ~_umask())  # as a plain open() would create it
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # atomic, and fails if path exists
            tmp.unlink()
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_directory(directory)
