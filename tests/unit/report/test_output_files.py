"""Writing into an output folder that cannot take a file says which folder and why, in one
Danish sentence, instead of a bare OSError (that the retries turned into a count of tries)."""

from __future__ import annotations

import pytest

from resultatrapport.report.files import OutputNotWritable, write_atomically, writing_to
from tests.helpers import small_filesystem


def test_a_full_disk_is_named_and_may_be_tried_again(tmp_path):
    with small_filesystem(tmp_path / "full", "64k") as out:
        with pytest.raises(OutputNotWritable) as raised, writing_to(out):
            write_atomically(out / "rapport.pdf", b"x" * 200_000)
        assert not list(out.iterdir())  # no half-written file left behind
    assert (
        str(raised.value)
        == f"Rapporten kan ikke skrives i {out}: der er ikke mere plads på disken."
    )
    assert raised.value.transient


def test_a_read_only_folder_is_named_and_not_tried_again(tmp_path):
    out = tmp_path / "ro"
    with (
        small_filesystem(out, "64k", read_only=True),
        pytest.raises(OutputNotWritable) as raised,
        writing_to(out),
    ):
        (out / "kkr" / "2026").mkdir(parents=True)
    assert (
        str(raised.value) == f"Rapporten kan ikke skrives i {out}: filsystemet er skrivebeskyttet."
    )
    assert not raised.value.transient


def test_other_errors_pass_through_unchanged(tmp_path):
    with pytest.raises(FileNotFoundError), writing_to(tmp_path):
        write_atomically(tmp_path / "no such folder" / "rapport.pdf", b"x")
