"""Cells of a delivered sheet that look empty without being empty: a formula without a stored
value, a cell covered by a merged range. They are found in the sheet's XML and their rows
are quarantined as unreadable lines naming the cells."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest

from resultatrapport.formats import FORMATS
from resultatrapport.ingest import ingest_file
from resultatrapport.sample.generate import generate_inbox
from resultatrapport.xlsx_cells import CellProblem, XlsxStructureError, problem_cells

SURVEY = FORMATS["survey_answers"]
ORG = "erhvervshus-midtjylland"
N = len(SURVEY.columns)


def _answer(i: int) -> list[object]:
    return [
        f"R{i}",
        f"EHMJ-2026-{i:05d}",
        30000000 + i,
        dt.date(2026, 3, 4),
        "Vækst",
        9,
        "Ja",
        "Ja",
        "Nej",
        "I høj grad",
        None,
    ]


def _survey(path: Path, rows: list[list[object]], merged: tuple[str, ...] = ()) -> Path:
    """A survey workbook written by openpyxl, which stores a formula without its value."""
    import openpyxl

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Besvarelser"
    ws.append(SURVEY.headers)
    for row in rows:
        ws.append(row)
    for ref in merged:
        ws.merge_cells(ref)
    wb.save(path)
    return path


def _delivery(inbox: Path) -> Path:
    return inbox / SURVEY.relpath(2026, ORG)


def test_a_formula_without_value_and_the_covered_cells_of_a_merged_range(tmp_path):
    rows = [_answer(i) for i in range(1, 7)]
    rows[1][5] = "=B3*2"  # F3: a formula, saved without its value
    rows[3][1:4] = ["EHMJ-2026-00004", None, None]  # B5:D5 merged: C5 and D5 are covered
    rows[5] = [None] * 3 + ["=TODAY()"] + [None] * (N - 4)  # D7 alone in its row
    path = _survey(tmp_path / "s.xlsx", rows, merged=("B5:D5",))
    assert problem_cells(path, "Besvarelser", N) == [
        CellProblem(3, "F3", "Celle F3 indeholder en formel uden gemt værdi"),
        CellProblem(5, "C5", "Celle C5 er en del af den flettede celle B5:D5"),
        CellProblem(5, "D5", "Celle D5 er en del af den flettede celle B5:D5"),
        CellProblem(7, "D7", "Celle D7 indeholder en formel uden gemt værdi"),
    ]
    assert problem_cells(path, 0, N) == problem_cells(path, "Besvarelser", N)


def test_only_data_rows_and_the_formats_columns(tmp_path):
    rows = [[*_answer(1), "=1+1"], _answer(2)]  # L2: a column after the format's columns
    path = _survey(tmp_path / "s.xlsx", rows, merged=("A1:A3", "J3:M4"))
    # A1:A3 starts in the header row: A1 is its anchor, A2 and A3 are covered data cells;
    # of J3:M4 only the format's columns count (J-K), and J3 is its anchor
    got = problem_cells(path, "Besvarelser", N)
    assert [p.cell for p in got] == ["A2", "A3", "K3", "J4", "K4"]
    assert got[0].reason == "Celle A2 er en del af den flettede celle A1:A3"
    assert got[2].reason == "Celle K3 er en del af den flettede celle J3:M4"


def _package(path: Path, sheet_xml: str, prefix: str = "") -> Path:
    """A minimal xlsx package written by hand: the worksheet in ``sheet_xml``, its elements
    under a namespace prefix if given, the sheet at an unusual part name."""
    p = f"{prefix}:" if prefix else ""
    ns = f"xmlns{':' + prefix if prefix else ''}"
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/data/ark.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<{p}workbook {ns}="{main}" xmlns:rel="{rel}"><{p}sheets>'
            f'<{p}sheet name="Andet &amp; mere" sheetId="2" rel:id="rId7"/>'
            f'<{p}sheet rel:id="rId3" sheetId="1" name="Besvarelser"/>'
            f"</{p}sheets></{p}workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"<Relationship Id='rId3' Type='{rel}/worksheet' Target='data/ark.xml'/>"
            f'<Relationship Id="rId7" Type="{rel}/worksheet" Target="/xl/data/andet.xml"/>'
            "</Relationships>"
        ),
        "xl/data/ark.xml": (
            f'<{p}worksheet {ns}="{main}"><{p}sheetData>'
            + sheet_xml.replace("<", f"<{p}").replace(f"<{p}/", f"</{p}")
            + f"</{p}sheetData></{p}worksheet>"
        ),
        "xl/data/andet.xml": f'<{p}worksheet {ns}="{main}"><{p}sheetData/></{p}worksheet>',
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


# row 2: a shared formula stored with values (B2, C2) and without (D2, E2); a formula with an
# empty stored value (F2), a text formula whose value is the empty text (G2); row 3: cells
# without a reference (A3, then B3 and C3 follow it), a formula with its value written as an
# inline string (D3); row 4 without a reference follows row 3
SHEET = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c></row>'
    '<row r="2" spans="1:9">'
    '<c r="B2"><f t="shared" ref="B2:E2" si="0">A2*2</f><v>4</v></c>'
    '<c r="C2" s="1"><f t="shared" si="0"/><v>6</v></c>'
    '<c r="D2" s="1"><f t="shared" si="0"/></c>'
    '<c r="E2"> <f t="shared" si="0" /> </c>'
    '<c r="F2"><f>A2&amp;"&lt;x&gt;"</f><v></v></c>'
    '<c r="G2" t="str"><f>IF(A2&gt;0,"","x")</f><v></v></c>'
    "</row>"
    "<row>"
    '<c t="n"><v>1</v></c><c><f>A3+1</f></c><c><f>A3+2</f><v>3</v></c>'
    '<c t="inlineStr"><f>"x"</f><is><t>x</t></is></c>'
    "</row>"
    "<row><c r='B4'><f>1/0</f><v/></c></row>"
)


@pytest.mark.parametrize("prefix", ["", "x"])
def test_shared_formulas_prefixes_and_cells_without_reference(tmp_path, prefix):
    path = _package(tmp_path / "hand.xlsx", SHEET, prefix)
    assert [p.cell for p in problem_cells(path, "Besvarelser", N)] == ["D2", "E2", "F2", "B3", "B4"]
    assert problem_cells(path, "Andet & mere", N) == []


def test_a_missing_sheet_or_a_file_that_is_no_package(tmp_path):
    path = _package(tmp_path / "hand.xlsx", SHEET)
    with pytest.raises(XlsxStructureError, match="arket 'Ark1' findes ikke"):
        problem_cells(path, "Ark1", N)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(XlsxStructureError, match="kan ikke åbnes"):
        problem_cells(broken, "Besvarelser", N)


def test_the_rows_are_unreadable_lines_in_the_quarantine(con, tmp_path):
    inbox = tmp_path / "inbox"
    rows = [_answer(i) for i in range(1, 6)]
    rows[1][5] = "=B3*2"  # F3
    rows[2][2:5] = [30000004, None, None]  # C4:E4 merged
    rows[4] = [None] * 5 + ["=10-1"] + [None] * (N - 6)  # F6 alone in its row
    _survey(_delivery(inbox), rows, merged=("C4:E4",))
    ingest_file(con, SURVEY, inbox, 2026, ORG)
    got = con.execute(
        "SELECT line, parse_error, respondent_id, cvr FROM raw.survey_answers ORDER BY line"
    ).fetchall()
    assert got == [
        (2, None, "R1", "30000001"),
        (3, "Celle F3 indeholder en formel uden gemt værdi", None, None),
        (
            4,
            "Celle D4 er en del af den flettede celle C4:E4; "
            "Celle E4 er en del af den flettede celle C4:E4",
            None,
            None,
        ),
        (5, None, "R4", "30000004"),
        (6, "Celle F6 indeholder en formel uden gemt værdi", None, None),
    ]
    quarantined = con.execute(
        "SELECT line, rule, reason FROM ingest.quarantine WHERE rule = 'parsed_line' ORDER BY line"
    ).fetchall()
    assert [(line, rule) for line, rule, _ in quarantined] == [
        (3, "parsed_line"),
        (4, "parsed_line"),
        (6, "parsed_line"),
    ]
    assert "Celle F3" in quarantined[0][2] and "Celle E4" in quarantined[1][2]
    assert con.execute("SELECT line FROM ingest.survey_answers ORDER BY line").fetchall() == [
        (2,),
        (5,),
    ]


def test_a_sample_survey_file_has_no_problem_cells(con, tmp_path):
    inbox = tmp_path / "inbox"
    generate_inbox(inbox, [2026], scale=0.05, seed=5)
    assert problem_cells(_delivery(inbox), "Besvarelser", N) == []
    ingest_file(con, SURVEY, inbox, 2026, ORG)
    rows, unreadable = con.execute(
        "SELECT count(*), count(parse_error) FROM raw.survey_answers"
    ).fetchone()
    assert rows > 50 and unreadable == 0
