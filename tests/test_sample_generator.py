from __future__ import annotations

import json
from pathlib import Path

import pytest

from resultatrapport.formats import FORMATS
from resultatrapport.sample.generate import generate_inbox


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("sample")
    return root, generate_inbox(root, range(2020, 2028), scale=0.05, seed=3)


def test_same_seed_same_bytes(sample, tmp_path):
    _, first = sample
    again = generate_inbox(tmp_path, range(2020, 2028), scale=0.05, seed=3)
    assert {k: v["sha256"] for k, v in again["files"].items()} == {
        k: v["sha256"] for k, v in first["files"].items()
    }
    other = generate_inbox(tmp_path / "other", range(2020, 2028), scale=0.05, seed=4)
    assert (
        other["files"]["register/cvr_virksomheder.csv"]["sha256"]
        != first["files"]["register/cvr_virksomheder.csv"]["sha256"]
    )


def test_every_file_has_the_exact_header_in_its_recorded_encoding(sample):
    root, manifest = sample
    by_name = {f.path.split("/")[-1].split("_{year}")[0].split(".")[0]: f for f in FORMATS.values()}
    for relpath, info in manifest["files"].items():
        stem = relpath.split("/")[-1].rsplit(".", 1)[0]
        fmt = by_name.get(stem) or by_name[stem.rsplit("_", 1)[0]]
        if info["encoding"] == "xlsx":
            import openpyxl

            sheet = openpyxl.load_workbook(root / relpath, read_only=True)["Besvarelser"]
            assert [c.value for c in next(sheet.iter_rows(max_row=1))] == fmt.headers
            continue
        data = (root / relpath).read_bytes()
        text = data.decode(info["encoding"])
        assert (
            text.split("\r\n" if info["line_ending"] == "CRLF" else "\n")[0].split(";")
            == fmt.headers
        )
        if info["encoding"] == "cp1252" and any(ch in text for ch in "æøåÆØÅ"):
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        assert data.startswith(b"\xef\xbb\xbf") == (info["encoding"] == "utf-8-sig")


def test_quirks_occur(sample):
    _, manifest = sample
    encodings = {f["encoding"] for f in manifest["files"].values()}
    assert {"utf-8-sig", "utf-8", "cp1252", "xlsx"} <= encodings
    assert {f["line_ending"] for f in manifest["files"].values()} >= {"CRLF", "LF"}
    assert any(f["trailing_blank_lines"] for f in manifest["files"].values())
    assert "erst/kendskabsmaaling_2026.csv" not in manifest["files"]
    assert "erst/kendskabsmaaling_2025.csv" in manifest["files"]


def test_planted_bad_rows_are_where_the_manifest_says(sample):
    root, manifest = sample
    kinds = {b["kind"] for b in manifest["bad_rows"]}
    assert kinds == {"malformed_cvr", "unknown_municipality", "date_outside_year",
                     "duplicate_case_id", "nps_out_of_range"}  # fmt: skip
    dup_files = {b["file"] for b in manifest["bad_rows"] if b["kind"] == "duplicate_case_id"}
    assert dup_files == {"erhvervshus-midtjylland/crm/vejledningsforloeb_2020.csv"}
    for bad in manifest["bad_rows"]:
        if bad["file"].endswith(".csv") and bad["kind"] == "unknown_municipality":
            info = manifest["files"][bad["file"]]
            lines = (root / bad["file"]).read_bytes().decode(info["encoding"]).splitlines()
            assert ";999;" in lines[bad["line"] - 1]


def test_personal_data_is_planted_so_tests_can_look_for_it(sample):
    root, manifest = sample
    cprs = manifest["personal_data"]["cpr"]
    assert cprs and manifest["personal_data"]["emails"]
    crm = (root / "erhvervshus-midtjylland/crm/vejledningsforloeb_2026.csv").read_text(
        encoding="utf-8-sig"
    )
    assert any(c in crm for c in cprs)


def test_effects_and_labels_in_the_manifest(sample):
    _, manifest = sample
    effects = manifest["effects"]
    assert effects["tau_turnover_pp"] == 12.0
    assert set(effects["cohorts"]) == {"2025", "2026", "2027"}
    assert "synthetic" in manifest["synthetic"] and "illustrative" in manifest["synthetic"]
    json.dumps(manifest)  # serialisable
