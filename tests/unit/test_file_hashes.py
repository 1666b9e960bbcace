"""A delivery's content hash is read from the file once per change of it (issue 28): an
unchanged file is not read again, a rewrite of the same size with its old modification time
restored is, so is a file hashed within moments of its last change ("racy"), and a corrupt
entry or a cache folder that cannot be written costs only the reading."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import IO

from resultatrapport import file_hashes
from resultatrapport.file_hashes import SETTLE_NS, content_sha256


class Opens:
    """The opener the hash reads through, counting the files it opened."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def __call__(self, path: Path) -> IO[bytes]:
        self.paths.append(path)
        return path.open("rb")


def settled() -> int:
    """A clock at which every file written by the test is well past its last change: the
    hash taken long after it, so the entry is not racy."""
    return time.time_ns() + 10 * SETTLE_NS


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_unchanged_file_is_read_once(tmp_path):
    path, cache, opens = tmp_path / "crm_2026.csv", tmp_path / "cache", Opens()
    path.write_bytes(b"a;b\n1;2\n")
    before = file_hashes.HASHED.bytes
    assert content_sha256(path, cache, clock=settled, opener=opens) == sha(b"a;b\n1;2\n")
    assert content_sha256(path, cache, clock=settled, opener=opens) == sha(b"a;b\n1;2\n")
    assert opens.paths == [path]  # the second answer came from the entry
    assert file_hashes.HASHED.bytes - before == 8
    # read by another name (a link to it): the same file, not read again
    (tmp_path / "link.csv").symlink_to(path)
    assert content_sha256(tmp_path / "link.csv", cache, opener=opens) == sha(b"a;b\n1;2\n")
    assert opens.paths == [path]


def test_a_rewrite_of_the_same_size_with_the_old_mtime_restored_is_read_again(tmp_path):
    path, cache, opens = tmp_path / "crm_2026.csv", tmp_path / "cache", Opens()
    path.write_bytes(b"a;b\n1;2\n")
    old = path.stat()
    assert content_sha256(path, cache, clock=settled, opener=opens) == sha(b"a;b\n1;2\n")
    path.write_bytes(b"a;b\n1;3\n")  # same size, same inode
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    while path.stat().st_ctime_ns == old.st_ctime_ns:  # within one tick of the kernel's clock
        time.sleep(0.01)
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    now = path.stat()
    assert (now.st_size, now.st_mtime_ns, now.st_ino) == (old.st_size, old.st_mtime_ns, old.st_ino)
    assert content_sha256(path, cache, clock=settled, opener=opens) == sha(b"a;b\n1;3\n")
    assert opens.paths == [path, path]


def test_a_file_hashed_just_after_its_last_change_is_read_again_until_settled(tmp_path):
    path, cache, opens = tmp_path / "crm_2026.csv", tmp_path / "cache", Opens()
    path.write_bytes(b"a;b\n1;2\n")
    # hashed now, within moments of the write: the entry is racy and not trusted
    content_sha256(path, cache, opener=opens)
    content_sha256(path, cache, opener=opens)
    assert len(opens.paths) == 2
    # hashed long after the last change (a later night): the entry stands from then on
    content_sha256(path, cache, clock=settled, opener=opens)
    assert content_sha256(path, cache, opener=opens) == sha(b"a;b\n1;2\n")
    assert len(opens.paths) == 3


def test_a_corrupt_entry_or_an_unwritable_cache_only_costs_the_reading(tmp_path):
    path, cache, opens = tmp_path / "crm_2026.csv", tmp_path / "cache", Opens()
    path.write_bytes(b"a;b\n1;2\n")
    content_sha256(path, cache, clock=settled, opener=opens)
    [entry] = cache.iterdir()
    good = entry.read_bytes()
    for corrupt in (b"\x00\xff not json", good[: len(good) // 2], b"[]", b'{"key": 1}',
                    good.replace(b'"sha256": "', b'"sha256": "x')):  # fmt: skip
        entry.write_bytes(corrupt)
        assert content_sha256(path, cache, clock=settled, opener=opens) == sha(b"a;b\n1;2\n")
    assert len(opens.paths) == 6
    assert content_sha256(path, cache, opener=opens) == sha(b"a;b\n1;2\n")  # written anew
    assert len(opens.paths) == 6 and [p.name for p in cache.iterdir()] == [entry.name]
    # a cache folder that cannot be made: read every time, no failure
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder would be")
    for _ in range(2):
        assert content_sha256(path, blocked / "x", clock=settled, opener=opens) == sha(
            b"a;b\n1;2\n"
        )
    assert len(opens.paths) == 8


def test_the_default_cache_is_under_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("RESULTATRAPPORT_CACHE", str(tmp_path / "elsewhere"))
    path = tmp_path / "crm_2026.csv"
    path.write_bytes(b"x")
    content_sha256(path)
    assert [p.suffix for p in (tmp_path / "elsewhere" / "file_hashes").iterdir()] == [".json"]
