"""The sign-off as one verified act: a version is published whole or not at all (even when the
process is killed), signed files are read-only and checked against their recorded hashes,
signing unchanged data again says who signed it, an unsigned year does not pass silently, and
what a signer types cannot smuggle formulas or identifiers into the outputs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import stat
from pathlib import Path

import pytest

from resultatrapport.report import publish, submissions
from tests.test_submissions import municipality_row, result_row

VER = "viborg-ver-2020"
SCOPE = "viborg_ver_2020"
INJECTION = '=HYPERLINK("http://evil.example/?q=1") Jens Hansen 010190-1234'


# --- the signer's name ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Ida Kontrolsen", "Ida Kontrolsen"),
        ("  Søren   Ærø-Østergaard ", "Søren Ærø-Østergaard"),
        ("Anne-Marie O'Brien", "Anne-Marie O'Brien"),
        ("Lucia D’Angelo", "Lucia D’Angelo"),
        ("Zoë\tŁukasz", "Zoë Łukasz"),
        ("Jose\u0301 Nuñez", "José Nuñez"),  # decomposed accent: kept as one letter
        ("Jo", "Jo"),
    ],
)
def test_a_persons_name_is_accepted_trimmed_and_collapsed(given, kept):
    assert publish.signer_name(given) == kept


@pytest.mark.parametrize(
    "given",
    ["", "   ", "J", "A" * 81, "Jens 2", "Jens\x00Hansen", "-Jens Hansen", "Jens <b>", INJECTION],
)
def test_anything_but_a_persons_name_is_refused(given):
    with pytest.raises(publish.SignOffRefused) as refused:
        publish.signer_name(given)
    reason = str(refused.value)
    assert reason and "\n" not in reason and len(reason) < 200
    assert "Navn" in reason or "navn" in reason


def test_the_refusal_shows_at_most_a_short_excerpt_with_the_digits_masked():
    with pytest.raises(publish.SignOffRefused) as refused:
        publish.signer_name(INJECTION)
    reason = str(refused.value)
    assert "evil.example" not in reason and 'HYPERLINK("http' not in reason
    assert not any(digit in reason for digit in "0123456789")
    with pytest.raises(publish.SignOffRefused) as refused:
        publish.signer_name("Jens Hansen 010190-1234")
    assert "010190" not in str(refused.value) and "####" in str(refused.value)


# --- the CSV writer: no formulas --------------------------------------------------------------


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_neutralised():
    row = result_row(
        **{
            "Bemærkning": '=HYPERLINK("http://x")',
            "Målepunkt": "+Vækst",
            "Organisation": "@Erhverv",
            "Godkendt af": "-Ida",
            "Resultat": -3.5,
        }
    )
    row2 = result_row(**{"Mål-ID": "M4", "Bemærkning": "\tindrykket"})
    data = submissions.render_csv("resultatopfyldelse", [row, row2])
    header, first, second = _cells(data)
    cell = dict(zip(header, first, strict=True))
    assert cell["Bemærkning"] == '\'=HYPERLINK("http://x")'
    assert cell["Målepunkt"] == "'+Vækst"
    assert cell["Organisation"] == "'@Erhverv"
    assert cell["Godkendt af"] == "'-Ida"
    assert cell["Resultat"] == "-3,5"  # a number stays a number
    assert dict(zip(header, second, strict=True))["Bemærkning"] == "'\tindrykket"
    assert submissions.validate_bytes("resultatopfyldelse", data) == []


def test_a_negative_deviation_stays_a_number_in_kommunefordeling():
    data = submissions.render_csv("kommunefordeling", [municipality_row(Afvigelse=-3.54)])
    header, row = _cells(data)
    assert dict(zip(header, row, strict=True))["Afvigelse"] == "-3,5"
    assert submissions.validate_bytes("kommunefordeling", data) == []


def test_validation_refuses_a_text_cell_that_starts_like_a_formula():
    good = submissions.render_csv("resultatopfyldelse", [result_row()])
    bad = good.replace(b"Anne Jensen", b"=1+2")
    problems = submissions.validate_bytes("resultatopfyldelse", bad)
    assert any("Godkendt af" in p and "=1+2" in p for p in problems), problems


# --- publishing a version: whole or not at all ------------------------------------------------

FILES = {
    "aarsrapport_x_2026_v1.pdf": b"%PDF-1.7 signed\n%%EOF\n",
    "resultatopfyldelse_x_2026_v1.csv": b"\xef\xbb\xbfKontrakt;Resultat\r\nx;-3,5\r\n",
}


def _record(version: int = 1, files: dict[str, bytes] = FILES) -> publish.SignOff:
    return publish.SignOff(
        version=version,
        signed_by="Ida Kontrolsen",
        signed_at=dt.datetime(2026, 3, 2, 10, 0),
        data_hash="data",
        draft_sha256="draft",
        files={name: publish.sha256(data) for name, data in files.items()},
    )


def _visible(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def test_a_published_version_is_whole_read_only_and_leaves_no_temporary_folder(tmp_path):
    folder = tmp_path / "out" / "x" / "2026"
    recorded = []
    publish.publish_version(folder, 1, FILES, record=lambda: recorded.append(1))
    assert recorded == [1]
    assert _visible(folder) == FILES  # no temporary folder either
    for name in FILES:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o444


def test_a_publish_cut_off_before_its_record_leaves_no_trace_and_v1_is_written_again(tmp_path):
    folder = tmp_path / "2026"

    def fail() -> None:
        raise RuntimeError("warehouse gone")

    with pytest.raises(RuntimeError):
        publish.publish_version(folder, 1, FILES, record=fail)
    assert set(FILES) <= {p.name for p in folder.iterdir()}  # linked, not recorded
    removed = publish.recover(folder, {})
    assert removed and list(folder.iterdir()) == []
    publish.publish_version(folder, 1, FILES, record=lambda: None)
    assert _visible(folder) == FILES


def test_a_publish_cut_off_after_its_record_is_finished_by_the_next_start(tmp_path, monkeypatch):
    folder = tmp_path / "2026"

    def killed(staging: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(publish, "discard_staging", killed)
    with pytest.raises(KeyboardInterrupt):
        publish.publish_version(folder, 1, FILES, record=lambda: None)
    monkeypatch.undo()
    (folder / "aarsrapport_x_2026_v1.pdf").unlink()  # as if cut off while linking
    assert publish.recover(folder, {1: _record()})
    assert _visible(folder) == FILES
    assert publish.integrity_problems(folder, "x", 2026, [_record()]) == []


def test_recovery_takes_back_only_the_files_its_own_publish_linked(tmp_path, monkeypatch):
    folder = tmp_path / "2026"
    folder.mkdir()
    stranger = folder / "aarsrapport_x_2026_v1.pdf"
    stranger.write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        publish.publish_version(folder, 1, FILES, record=lambda: None)
    publish.recover(folder, {})
    assert _visible(folder) == {stranger.name: b"someone else's"}


def test_verification_names_a_changed_and_a_missing_signed_file(tmp_path):
    folder = tmp_path / "2026"
    publish.publish_version(folder, 1, FILES, record=lambda: None)
    assert publish.integrity_problems(folder, "x", 2026, [_record()]) == []
    csv_path = folder / "resultatopfyldelse_x_2026_v1.csv"
    csv_path.chmod(0o644)
    csv_path.write_bytes(csv_path.read_bytes().replace(b"-3,5", b"-2,5"))
    (folder / "aarsrapport_x_2026_v1.pdf").unlink()
    problems = publish.integrity_problems(folder, "x", 2026, [_record()])
    assert any("resultatopfyldelse_x_2026_v1.csv" in p and "ændret" in p for p in problems)
    assert any("aarsrapport_x_2026_v1.pdf" in p and "mangler" in p for p in problems)


def test_a_file_named_as_a_signed_version_without_a_record_is_reported(tmp_path):
    folder = tmp_path / "2026"
    folder.mkdir()
    (folder / "aarsrapport_x_2026_v1.pdf").write_bytes(b"orphan")
    (folder / "aarsrapport_x_2026_udkast.pdf").write_bytes(b"draft")
    problems = publish.integrity_problems(folder, "x", 2026, [])
    assert len(problems) == 1 and "aarsrapport_x_2026_v1.pdf" in problems[0]
