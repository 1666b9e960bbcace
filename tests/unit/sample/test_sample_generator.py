from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest

from resultatrapport.formats import FORMATS
from resultatrapport.sample.generate import EHMJ, generate_inbox, revise_survey
from resultatrapport.sample.writers import NUMBER, TEXT, Cells, InboxWriter, comma, read_xlsx


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

            book = openpyxl.load_workbook(root / relpath, read_only=True)
            try:  # a read-only workbook keeps its file open until closed
                header = [c.value for c in next(book["Besvarelser"].iter_rows(max_row=1))]
            finally:
                book.close()
            assert header == fmt.headers
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


# a number as prose writes it (61, 1.628, 12,5); a year is the one number the owner's texts hold
FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
YEAR = re.compile(r"20\d\d")


def owner_figures(root: Path) -> dict[str, list[str]]:
    """The numbers other than years in the prose of every report owner's text of a sample
    inbox, by file and section (the headings left out: a section's id, »F1-2«, is none)."""
    from resultatrapport import texts
    from resultatrapport.contracts import load_contracts
    from resultatrapport.inventory import Delivery, classify

    contracts = load_contracts()
    found = {}
    for path in sorted(root.glob("*/tekster/*.md")):
        relpath = path.relative_to(root).as_posix()
        found_as = classify(relpath)
        assert isinstance(found_as, Delivery) and found_as.contract, relpath
        contract_id = found_as.contract
        for section in texts.parse(path.read_bytes(), contracts[contract_id], relpath):
            numbers = [n for n in FIGURE.findall(section.markdown) if not YEAR.fullmatch(n)]
            if numbers:
                found[f"{relpath} {section.id}"] = numbers
    return found


def test_the_report_owners_texts_quote_no_figure_but_years_at_any_scale(sample, tmp_path):
    """Issue 26 point 8: the texts quoted counts (»61 afklaringsforløb«) drawn at random,
    which the tables the pipeline computes from the same sample contradicted (529); they
    state none, in both contracts' texts of every year, at two scales."""
    generate_inbox(tmp_path, range(2020, 2028), scale=0.5, seed=11)
    for root in (sample[0], tmp_path):
        written = sorted(p.name for p in root.glob("*/tekster/*.md"))
        assert len(written) == 6 and {n.split("_")[0] for n in written} == {
            "kkr-midtjylland-2026",
            "viborg-ver-2020",
        }
        assert owner_figures(root) == {}


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


# --- streamed, chunked writing ----------------------------------------------------------------


def test_chunk_size_does_not_change_a_byte(sample, tmp_path):
    """Tiny chunks (the firm panel, the CVR extract, the financial and awareness files, the
    sheets) give exactly the files of the default chunk size."""
    _, whole = sample
    chunked = generate_inbox(tmp_path, range(2020, 2028), scale=0.05, seed=3, chunk_rows=97)
    assert chunked["files"]["register/cvr_virksomheder.csv"]["rows"] > 97 * 10
    assert chunked["files"] == whole["files"]
    assert chunked == whole


def test_progress_lines_count_files(tmp_path, capsys):
    manifest = generate_inbox(tmp_path, [2025], scale=0.01, seed=1, progress=True)
    lines = capsys.readouterr().err.splitlines()
    total = len(manifest["files"])
    assert lines[-1].startswith("generating: ") and lines[-1].endswith(f"({total}/{total})")
    assert not any("\r" in line for line in lines)
    notes: list[str] = []
    generate_inbox(tmp_path / "again", [2025], scale=0.01, seed=1, progress=notes.append)
    assert f"{FORMATS['cvr_firms'].path}: 600 rows" in notes


def _pandas_csv(frame, encoding, newline, trailing) -> bytes:
    """What the generator wrote before it streamed: the reference for the CSV format."""
    buffer = io.StringIO()
    frame.to_csv(buffer, sep=";", index=False, lineterminator=newline, na_rep="")
    return (buffer.getvalue() + newline * trailing).encode(encoding)


@pytest.mark.parametrize("chunk_rows", [1, 2, 1_000])
@pytest.mark.parametrize(
    ("encoding", "newline", "trailing"),
    [("utf-8-sig", "\r\n", 0), ("utf-8", "\n", 1), ("cp1252", "\r\n", 2)],
)
def test_csv_writer_writes_what_pandas_wrote(tmp_path, chunk_rows, encoding, newline, trailing):
    frame = pd.DataFrame(
        {
            "Forløbs-ID": ["EHMJ-2026-00001", "EHMJ-2026-00002", "EHMJ-2026-00003"],
            "CVR-nummer": ["12345678", "", None],
            "Kommunenr": [751, 999, 101],
            "Timer": ["12,5", "-0,0", ""],
            "Note": ["Søren Bæk ApS – Århus", "a|b", "x, y (z)"],
        }
    )
    w = InboxWriter(tmp_path, chunk_rows=chunk_rows)
    w.csv_frame("x.csv", frame, encoding, newline, trailing)
    data = (tmp_path / "x.csv").read_bytes()
    assert data == _pandas_csv(frame, encoding, newline, trailing)
    assert w.files["x.csv"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert w.files["x.csv"]["rows"] == 3


def test_csv_writer_refuses_a_value_that_would_need_quotes(tmp_path):
    w = InboxWriter(tmp_path)
    with pytest.raises(pa.ArrowInvalid):
        w.csv("x.csv", ["a", "b"], [["ok", "semi;colon"], [1, 2]])


def _openpyxl_xlsx(frame: pd.DataFrame, sheet: str) -> bytes:
    """What the generator wrote before it streamed: the reference for the xlsx format."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = dt.datetime(2026, 1, 1)
    ws = wb.create_sheet(sheet)
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False, name=None):
        ws.append([None if (isinstance(v, float) and np.isnan(v)) else v for v in row])
    raw = io.BytesIO()
    wb.save(raw)
    buffer = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"<dcterms:modified([^>]*)>[^<]*<",
                    rb"<dcterms:modified\1>2026-01-01T00:00:00Z<",
                    data,
                )
            dst.writestr(entry, data)
    return buffer.getvalue()


@pytest.mark.parametrize("chunk_rows", [1, 3, 1_000])
def test_xlsx_writer_writes_what_openpyxl_wrote(tmp_path, chunk_rows):
    days = np.array([20_000, 20_100, 20_200, 20_300, 20_400])
    texts = ["Ja", "", "Tak & <hej>", " padded ", "Bæredygtighed – bedre"]
    numbers = np.array([10.0, np.nan, 0.0, 12345678.0, 3.0])
    frame = pd.DataFrame(
        {
            "Respondent-ID": [f"R-{i}" for i in range(5)],
            "Tekst": texts,
            "Tal": [11, None, 0, "1234567", 7.5],  # whole numbers, no cell, text, a fraction
            "Dato": [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days],
        }
    ).astype({"Tal": object})
    cells = [
        Cells.texts(frame["Respondent-ID"]),
        Cells.texts(texts),
        Cells.numbers(numbers)
        .put([0], NUMBER, "11")
        .put([3], TEXT, "1234567")
        .put([4], NUMBER, "7.5"),
        Cells.dates(days),
    ]
    w = InboxWriter(tmp_path, chunk_rows=chunk_rows)
    w.xlsx("x.xlsx", "Besvarelser", list(frame.columns), cells)
    assert (tmp_path / "x.xlsx").read_bytes() == _openpyxl_xlsx(frame, "Besvarelser")
    assert w.files["x.xlsx"]["rows"] == 5


def test_decimal_comma_is_python_formatting():
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.normal(0, 1e6, 20_000),
            rng.normal(0, 1, 20_000),
            np.round(rng.normal(0, 100, 20_000), 2) + 0.005,  # halfway cases
            [0.0, -0.0, -0.04, 0.04, 0.05, -0.05, 1e12 + 0.25, np.nan],
        ]
    )
    for decimals in range(4):
        expected = [
            "" if np.isnan(v) else f"{np.round(v, decimals):.{decimals}f}".replace(".", ",")
            for v in values
        ]
        assert comma(values, decimals).fill_null("").to_pylist() == expected


def test_referrals_are_only_the_crms_referral_targets(sample):
    """The generator writes only targets of the CRM's list into 'Henvisninger': an entry
    that is not on it would be no referral (quarantined), not part of the sample's counts."""
    import csv

    from resultatrapport.vocabulary import REFERRAL_TARGETS

    root, _ = sample
    entries: set[str] = set()
    for path in root.glob("*/crm/vejledningsforloeb_*.csv"):
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("cp1252")
        for row in csv.DictReader(text.splitlines(), delimiter=";"):
            entries.update(e.strip() for e in (row["Henvisninger"] or "").split("|") if e.strip())
    assert entries and entries <= set(REFERRAL_TARGETS)


def test_a_later_survey_delivery_changes_some_answers_and_nothing_else(sample, tmp_path):
    """revise_survey (the benchmark's "one delivery changed"): the generator's own sheet read
    back as its writer was given the cells writes the same bytes again, and the later
    delivery differs from the first in some recommendations only, the same for the same seed."""
    root, _ = sample
    first = root / FORMATS["survey_answers"].relpath(2026, EHMJ)
    headers, columns = read_xlsx(first)
    InboxWriter(tmp_path).xlsx("again.xlsx", "Besvarelser", headers, columns)
    assert (tmp_path / "again.xlsx").read_bytes() == first.read_bytes()
    later = [tmp_path / "later-1.xlsx", tmp_path / "later-2.xlsx"]
    changed = []
    for path in later:
        shutil.copy(first, path)
        changed.append(revise_survey(path))
    assert later[0].read_bytes() == later[1].read_bytes() != first.read_bytes()
    before, after = (pd.read_excel(p, engine="calamine", dtype=str).fillna("") for p in
                     (first, later[0]))  # fmt: skip
    differs = (before != after).sum()
    assert differs[differs > 0].to_dict() == {"Anbefaling (0-10)": changed[0]}
    answers = after["Anbefaling (0-10)"][before["Anbefaling (0-10)"] != after["Anbefaling (0-10)"]]
    assert set(answers) <= {str(v) for v in range(11)} | {""}
    # a cell the generator does not write (a formula) is not read as something else
    book = openpyxl.Workbook()
    book.active.append(["Respondent-ID", "=1+1"])
    book.save(tmp_path / "other.xlsx")
    book.close()
    with pytest.raises(ValueError, match="not a sheet this generator wrote"):
        read_xlsx(tmp_path / "other.xlsx")
