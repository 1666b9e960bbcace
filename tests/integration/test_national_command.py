"""`resultatrapport national`: the national overview as a Dagster run of the asset
national/maalopfyldelse, writing the CSV and the accessible PDF (rendered once here, and
validated by page-validation), and refusals in one line before anything runs."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from commands.cli import main
from resultatrapport.report.render import validation_failures
from resultatrapport.report.submissions import validate_csv
from tests.helpers import figure_alts
from tests.unit.national.hubs import YEAR, write_all, write_hub

WITHHELD = {
    "Resultat": None, "Diskretioneret": True, "Status": "Ikke målbar", "Usikker": None,
    "Nedre 95 %": None, "Øvre 95 %": None, "Grundlag": 2, "Bemærkning": "For få besvarelser (n=2)",
}  # fmt: skip


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and "Run " not in captured.out
    return lines[0]


@pytest.mark.slow  # a Dagster run and the PDF rendered and validated (about 30 s)
def test_the_command_runs_the_asset_and_writes_the_csv_and_an_accessible_pdf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    folder = write_all(tmp_path / "indberetninger")
    write_hub(folder, "erhvervshus-fyn", 2, M3=WITHHELD)
    write_hub(folder, "erhvervshus-sjaelland", 2, data=b"\xef\xbb\xbfKontrakt\r\nx\r\n")
    out = tmp_path / "ud"
    assert main(["national", "--year", str(YEAR), "--submissions", str(folder),
                 "--out", str(out)]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert "materialised national/maalopfyldelse" in said
    assert "check WARN national/maalopfyldelse:hubs_received" in said
    assert "ikke modtaget i gyldig form" in said and "linje 1: overskriftslinjen" in said

    target = out / "national" / str(YEAR)
    data = target / f"maalopfyldelse_national_{YEAR}.csv"
    pdf = target / f"maalopfyldelse_national_{YEAR}.pdf"
    assert f"Landsoverblik: {data} og {pdf}" in said
    assert validate_csv("maalopfyldelse_national", data) == []
    rows = list(csv.DictReader(io.StringIO(data.read_text("utf-8-sig")), delimiter=";"))
    m3 = next(r for r in rows if r["Mål-ID"] == "M3" and r["Erhvervshus"] == "Alle erhvervshuse")
    assert m3["Kilde"] == "4 af 6 erhvervshuse" and Decimal(m3["Resultat"].replace(",", "."))

    content = pdf.read_bytes()
    assert validation_failures(content) == []
    alts = figure_alts(content)
    assert len(alts) == 10  # a chart per measure and Mål 2's collective path
    assert all(a for a in alts)
    m3_alt = next(a for a in alts if a.startswith("M3 pr. erhvervshus"))
    assert "Erhvervshus Fyn: – diskretioneret (mål ≥ 70)" in m3_alt
    assert "Erhvervshus Sjælland: ikke modtaget i gyldig form" in m3_alt
    assert "Alle erhvervshuse: " in m3_alt
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext (poppler-utils) is missing: `make setup` installs it"
    text = subprocess.run([tool, str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Erhvervshusenes målopfyldelse 2026" in text
    assert "Fælles sti fra 1.200 (2024) til 2.400 (2027)" in " ".join(text.split())

    # the run is recorded in the instance, with the asset's partition and checks
    with DagsterInstance.get() as instance:
        key = AssetKey(["national", "maalopfyldelse"])
        assert instance.get_materialized_partitions(key) == {str(YEAR)}


def test_a_folder_that_does_not_exist_is_one_line(tmp_path, capsys):
    assert main(["national", "--year", "2026", "--submissions", str(tmp_path / "nej")]) == 2
    assert one_error_line(capsys) == (
        f"Mappen med indberetninger {tmp_path / 'nej'} findes ikke; intet er kørt"
    )


def test_a_year_no_framework_covers_is_one_line(tmp_path, capsys):
    assert main(["national", "--year", "2030", "--submissions", str(tmp_path)]) == 2
    assert one_error_line(capsys) == (
        "Ingen rammeaftale dækker 2030; rammeaftaler: rammeaftale-2024-2027 (2024-2027); "
        "intet er kørt"
    )
