"""`resultatrapport submit`'s library half: every signed version's resultatopfyldelse file, as
its sign-off recorded it, copied to the recipients' folder of the hub, never replacing a file
there, and refused when the signed file changed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from resultatrapport.contracts import Contract
from resultatrapport.report import publish
from resultatrapport.report.submit import SubmitRefused, submit

YEAR = 2026


def sign(con, out: Path, contract: Contract, version: int, data: bytes) -> Path:
    """A recorded sign-off of ``version`` with its resultatopfyldelse file in ``out``."""
    name = publish.version_names(contract.id, YEAR, version)["resultatopfyldelse"]
    path = publish.year_dir(out, contract.id, YEAR) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    signoff = publish.SignOff(
        version, "Ida Hansen", dt.datetime(2026, 12, 7, 12), "hash", "draft",
        {name: publish.sha256(data)}, None, "direktør",
    )  # fmt: skip
    publish.record_signoff(con, contract.id, YEAR, signoff, None)
    return path


def test_every_signed_version_goes_to_the_hub_s_folder_once(con, kkr, tmp_path):
    out, to = tmp_path / "out", tmp_path / "indberetninger"
    assert submit(con, out, kkr, YEAR, to) == []  # nothing signed: nothing sent
    sign(con, out, kkr, 1, b"v1")
    sign(con, out, kkr, 2, b"v2")
    sent = submit(con, out, kkr, YEAR, to)
    folder = to / "erhvervshus-midtjylland"
    assert [(s.version, s.path, s.new) for s in sent] == [
        (1, folder / "resultatopfyldelse_kkr-midtjylland-2026_2026_v1.csv", True),
        (2, folder / "resultatopfyldelse_kkr-midtjylland-2026_2026_v2.csv", True),
    ]
    assert [p.read_bytes() for p in sorted(folder.iterdir())] == [b"v1", b"v2"]
    again = submit(con, out, kkr, YEAR, to)
    assert [s.new for s in again] == [False, False]


def test_a_signed_file_changed_since_is_not_sent(con, kkr, tmp_path):
    out, to = tmp_path / "out", tmp_path / "indberetninger"
    sign(con, out, kkr, 1, b"v1").write_bytes(b"v1 rettet")
    with pytest.raises(SubmitRefused, match="filen er ændret, siden v1 blev godkendt"):
        submit(con, out, kkr, YEAR, to)
    assert not (to / "erhvervshus-midtjylland").exists()


def test_another_file_under_the_name_in_the_recipients_folder_is_not_replaced(con, kkr, tmp_path):
    out, to = tmp_path / "out", tmp_path / "indberetninger"
    sign(con, out, kkr, 1, b"v1")
    there = to / "erhvervshus-midtjylland" / "resultatopfyldelse_kkr-midtjylland-2026_2026_v1.csv"
    there.parent.mkdir(parents=True)
    there.write_bytes(b"noget andet")
    with pytest.raises(SubmitRefused, match="har en anden fil med samme navn"):
        submit(con, out, kkr, YEAR, to)
    assert there.read_bytes() == b"noget andet"


def test_the_command_sends_only_hubs_contracts(tmp_path, capsys):
    from commands.cli import main

    to = str(tmp_path / "indberetninger")
    assert main(["submit", "--year", "2026", "--to", to, "--contract", "viborg-ver-2020"]) == 2
    assert capsys.readouterr().err.strip() == (
        "viborg-ver-2020 er ikke et erhvervshus' kontrakt under rammeaftalen for 2026; "
        "intet er sendt"
    )
