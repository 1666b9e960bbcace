"""The CSV submission files: bytes in the recipients' dialect, and their validation."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from resultatrapport.contracts import KPI_ID
from resultatrapport.report import files as files_module
from resultatrapport.report.submissions import (
    MUNICIPALITY_COLUMNS,
    RESULT_COLUMNS,
    render_csv,
    schema_descriptor,
    validate_csv,
    write_atomically,
)
from resultatrapport.vocabulary import OPERATORS, RECKONINGS, STATUSES

BOM = b"\xef\xbb\xbf"

# copied from shared/formats/submissions.md, in its order
SPEC_RESULT_COLUMNS = [
    "Kontrakt",
    "Organisation",
    "År",
    "Opgørelse",
    "Mål-ID",
    "Målepunkt",
    "Enhed",
    "Resultat",
    "Målværdi",
    "Operator",
    "Status",
    "Usikker",
    "Grundlag",
    "Nedre 95 %",
    "Øvre 95 %",
    "Diskretioneret",
    "Bemærkning",
    "Godkendt af",
    "Godkendt dato",
]
SPEC_MUNICIPALITY_COLUMNS = [
    "Kontrakt",
    "År",
    "Kommunenr",
    "Kommune",
    "Folketal",
    "Folketal opgjort",
    "Andel",
    "Fordelingsgrundlag",
    "Bevilling",
    "Individuelle vejledninger",
    "Måltal",
    "Afvigelse",
    "Inden for spænd",
]


def result_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "Kontrakt": "kkr-midtjylland-2026",
        "Organisation": "Erhvervshus Midtjylland",
        "År": 2026,
        "Opgørelse": "Foreløbig",
        "Mål-ID": "M3",
        "Målepunkt": "Tilfredse virksomheder",
        "Enhed": "pct.",
        "Resultat": Decimal("12.5"),
        "Målværdi": 80,
        "Operator": ">=",
        "Status": "Ikke opfyldt",
        "Usikker": True,
        "Grundlag": 120,
        "Nedre 95 %": Decimal("8.0"),
        "Øvre 95 %": Decimal("17.0"),
        "Diskretioneret": False,
        "Bemærkning": None,
        "Godkendt af": "Anne Jensen",
        "Godkendt dato": dt.date(2026, 3, 2),
    }
    row.update(changes)
    return row


def municipality_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "Kontrakt": "kkr-midtjylland-2026",
        "År": 2026,
        "Kommunenr": 751,
        "Kommune": "Aarhus",
        "Folketal": 367095,
        "Folketal opgjort": "2025K1",
        "Andel": 26.123456,
        "Fordelingsgrundlag": "Beregnet",
        "Bevilling": 44815000,
        "Individuelle vejledninger": 120,
        "Måltal": 118.44,
        "Afvigelse": 1.32,
        "Inden for spænd": True,
    }
    row.update(changes)
    return row


def result_rows() -> list[dict[str, object]]:
    return [
        result_row(),
        result_row(
            **{
                "Mål-ID": "R1",
                "Målepunkt": "Omsætning; vejledte virksomheder",
                "Enhed": "kr.",
                "Resultat": 44815000,
                "Målværdi": None,
                "Operator": None,
                "Status": "Intet mål i år",
                "Usikker": None,
                "Nedre 95 %": None,
                "Øvre 95 %": None,
            }
        ),
        result_row(
            **{
                "Mål-ID": "M5-O",
                "Resultat": None,
                "Status": "Ikke målbar",
                "Usikker": None,
                "Grundlag": 2,
                "Nedre 95 %": None,
                "Øvre 95 %": None,
                "Diskretioneret": True,
                "Bemærkning": "For få besvarelser (n=2)",
            }
        ),
    ]


def municipality_rows() -> list[dict[str, object]]:
    return [
        municipality_row(),
        municipality_row(
            Kommunenr="791",
            Kommune="Viborg",
            Folketal=97981,
            Andel=6.9721,
            Bevilling=11960000,
            **{"Individuelle vejledninger": 20, "Måltal": 31.6, "Afvigelse": -36.7},
            **{"Inden for spænd": False},
        ),
    ]


def lines(data: bytes) -> list[str]:
    assert data.startswith(BOM)
    return data[len(BOM) :].decode("utf-8").split("\r\n")


# --- the schemas ---------------------------------------------------------------------------


def test_headers_are_exactly_those_of_the_spec():
    assert list(RESULT_COLUMNS) == SPEC_RESULT_COLUMNS
    assert list(MUNICIPALITY_COLUMNS) == SPEC_MUNICIPALITY_COLUMNS
    assert lines(render_csv("resultatopfyldelse", []))[0] == ";".join(SPEC_RESULT_COLUMNS)
    assert lines(render_csv("kommunefordeling", []))[0] == ";".join(SPEC_MUNICIPALITY_COLUMNS)


def test_schemas_ship_inside_the_package():
    folder = files("resultatrapport.report") / "schemas"
    for kind in ("resultatopfyldelse", "kommunefordeling"):
        assert (folder / f"{kind}.schema.json").is_file()


def test_schemas_agree_with_the_code():
    fields = {f["name"]: f for f in schema_descriptor("resultatopfyldelse")["fields"]}
    assert fields["Status"]["constraints"]["enum"] == list(STATUSES)
    assert fields["Opgørelse"]["constraints"] == {"required": True, "enum": list(RECKONINGS)}
    assert fields["Operator"]["constraints"]["enum"] == list(OPERATORS)
    assert "^" + fields["Mål-ID"]["constraints"]["pattern"] + "$" == KPI_ID
    for kind in ("resultatopfyldelse", "kommunefordeling"):
        descriptor = schema_descriptor(kind)
        assert descriptor["missingValues"] == [""]
        for field in descriptor["fields"]:
            if field["type"] == "number":
                assert field["decimalChar"] == ","
                assert "groupChar" not in field
    with pytest.raises(ValueError, match="unknown submission kind"):
        schema_descriptor("budget")


# --- rendering -----------------------------------------------------------------------------


def test_result_file_bytes():
    data = render_csv("resultatopfyldelse", result_rows())
    assert data.startswith(BOM)
    assert data.endswith(b"\r\n")
    assert data.count(b"\n") == data.count(b"\r\n") == 4  # header, three rows
    header, first, second, third, end = lines(data)
    assert header == ";".join(SPEC_RESULT_COLUMNS)
    assert end == ""
    assert first == (
        "kkr-midtjylland-2026;Erhvervshus Midtjylland;2026;Foreløbig;M3;Tilfredse virksomheder;pct.;"
        "12,5;80;>=;Ikke opfyldt;Ja;120;8,0;17,0;Nej;;Anne Jensen;2026-03-02"
    )
    # no thousands separator; empty fields for no value; a ';' in a text is quoted
    assert second == (
        'kkr-midtjylland-2026;Erhvervshus Midtjylland;2026;Foreløbig;R1;"Omsætning; vejledte virksomheder";'
        "kr.;44815000;;;Intet mål i år;;120;;;Nej;;Anne Jensen;2026-03-02"
    )
    assert ";pct.;;80;>=;Ikke målbar;;2;;;Ja;For få besvarelser (n=2);Anne Jensen;" in third
    assert b"44.815.000" not in data


def test_municipality_file_bytes():
    data = render_csv("kommunefordeling", municipality_rows())
    header, first, second, _ = lines(data)
    assert header == ";".join(SPEC_MUNICIPALITY_COLUMNS)
    assert first == (
        "kkr-midtjylland-2026;2026;751;Aarhus;367095;2025K1;26,1235;Beregnet;44815000;120;118,4;1,3;Ja"
    )
    assert second == (
        "kkr-midtjylland-2026;2026;791;Viborg;97981;2025K1;6,9721;Beregnet;11960000;20;31,6;-36,7;Nej"
    )


@pytest.mark.parametrize(
    ("column", "value", "text"),
    [
        ("Resultat", Decimal("12.5"), "12,5"),
        ("Resultat", 80.0, "80"),  # a whole number is written whole
        # the caller's rounding (report/rounding.py), exactly: a Decimal keeps its decimals
        ("Resultat", Decimal("0.98"), "0,98"),
        ("Resultat", Decimal("0.997"), "0,997"),
        ("Resultat", Decimal("1.00"), "1,00"),
        ("Resultat", Decimal("1234.6"), "1234,6"),
        ("Resultat", Decimal("-3.2"), "-3,2"),
        ("Nedre 95 %", Decimal("-0.0"), "0,0"),  # never "-0,0"
        ("Målværdi", 44815000, "44815000"),
        ("Målværdi", Decimal("2.5"), "2,5"),
        ("Grundlag", 7.0, "7"),
        ("Grundlag", np.int64(7), "7"),  # numbers from pandas are welcome
        ("Resultat", np.float64(2.0), "2"),
        ("Resultat", Decimal("2.50"), "2,50"),
        ("Grundlag", Decimal("120"), "120"),
        ("Opgørelse", "Endelig", "Endelig"),
    ],
)
def test_number_rules(column, value, text):
    fields = lines(render_csv("resultatopfyldelse", [result_row(**{column: value})]))[1]
    assert fields.split(";")[SPEC_RESULT_COLUMNS.index(column)] == text


def test_fixed_decimals_in_the_municipality_file():
    row = municipality_row(Andel=25, Måltal=31, Afvigelse=-0.04)
    fields = lines(render_csv("kommunefordeling", [row]))[1].split(";")
    assert fields[6] == "25,0000"
    assert fields[10:12] == ["31,0", "0,0"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"Ekstra": 1}, "unknown columns \\['Ekstra'\\]"),
        ({"Grundlag": 2.5}, "'Grundlag'.*not a whole number"),
        ({"Resultat": float("nan")}, "'Resultat'.*not a finite number"),
        ({"Resultat": "12,5"}, "'Resultat'.*expected a number"),
        # a fraction the caller did not round: the writer does not round it a second way
        ({"Resultat": 0.977}, "'Resultat'.*not rounded"),
        ({"Nedre 95 %": np.float64(2.25)}, "'Nedre 95 %'.*not rounded"),
        ({"År": True}, "'År'.*expected a whole number"),
        ({"Godkendt dato": dt.datetime(2026, 3, 2, 12)}, "'Godkendt dato'.*expected a date"),
        ({"Bemærkning": "to\nlinjer"}, "'Bemærkning'.*line break"),
    ],
)
def test_render_refuses_bad_rows(changes, message):
    with pytest.raises(ValueError, match=message):
        render_csv("resultatopfyldelse", [result_row(**changes)])


def test_render_names_missing_columns():
    row = result_row()
    del row["Status"], row["Godkendt af"]
    with pytest.raises(ValueError, match="missing columns \\['Status', 'Godkendt af'\\]"):
        render_csv("resultatopfyldelse", [row])
    with pytest.raises(ValueError, match="unknown submission kind"):
        render_csv("resultater", [])


# --- validation ----------------------------------------------------------------------------


def test_valid_files_pass(tmp_path: Path):
    for kind, rows in (
        ("resultatopfyldelse", result_rows()),
        ("kommunefordeling", municipality_rows()),
    ):
        path = tmp_path / f"{kind}.csv"
        write_atomically(path, render_csv(kind, rows))
        assert validate_csv(kind, path) == []


def _bad(tmp_path: Path, data: bytes, kind: str = "resultatopfyldelse") -> list[str]:
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    errors = validate_csv(kind, path)
    assert errors
    return errors


def test_wrong_status_word_is_caught(tmp_path: Path):
    data = render_csv("resultatopfyldelse", result_rows()).replace(b"Ikke opfyldt", b"Usikker")
    (error,) = _bad(tmp_path, data)
    assert error.startswith("row 2, field 'Status': 'Usikker' is not one of")


def test_opgoerelse_is_endelig_or_foreloebig_and_required(tmp_path: Path):
    data = render_csv("resultatopfyldelse", result_rows())
    (error,) = _bad(tmp_path, data.replace(b"Forel\xc3\xb8big", b"Forel\xc3\xb8bigt", 1))
    assert error.startswith("row 2, field 'Opgørelse': 'Foreløbigt' is not one of")
    (error,) = _bad(tmp_path, data.replace(b";Forel\xc3\xb8big;", b";;", 1))
    assert error == "row 2, field 'Opgørelse': a value is required"


def test_thousands_separator_is_caught(tmp_path: Path):
    data = render_csv("kommunefordeling", municipality_rows()).replace(b"44815000", b"44.815.000")
    (error,) = _bad(tmp_path, data, "kommunefordeling")
    assert error.startswith("row 2, field 'Bevilling': '44.815.000' is not a whole number")
    # in a decimal-comma number field frictionless takes no '.' at all
    data = render_csv("resultatopfyldelse", [result_row(Resultat=1234)]).replace(b"1234", b"1.234")
    (error,) = _bad(tmp_path, data)
    assert error.startswith("row 2, field 'Resultat': '1.234' is not a number")


@pytest.mark.parametrize("cell", [b"1e3", b"NaN", b"+5", b"1_000", b"12.5"])
def test_number_syntax_frictionless_would_accept_is_caught(tmp_path: Path, cell: bytes):
    data = render_csv("resultatopfyldelse", [result_row(Resultat=777)]).replace(b"777", cell)
    (error,) = _bad(tmp_path, data)
    assert error.startswith(f"row 2, field 'Resultat': {cell.decode()!r} is not a number")


def test_missing_column_is_caught(tmp_path: Path):
    rows = [{k: v for k, v in r.items() if k != "Status"} for r in result_rows()]
    text = ";".join(c for c in SPEC_RESULT_COLUMNS if c != "Status") + "\r\n"
    for row in rows:
        text += ";".join("" if v is None else str(v) for v in row.values()) + "\r\n"
    errors = _bad(tmp_path, BOM + text.encode())
    assert errors[0].startswith("header row: missing columns ['Status']")


def test_wrong_column_order_is_caught(tmp_path: Path):
    data = render_csv("resultatopfyldelse", result_rows())
    swapped = data.replace("Organisation;År".encode(), "År;Organisation".encode(), 1)
    errors = _bad(tmp_path, swapped)
    assert errors[0].startswith("header row: columns in the wrong order")


def test_missing_value_in_required_field_is_caught(tmp_path: Path):
    data = render_csv("resultatopfyldelse", [result_row(**{"Godkendt af": None})])
    assert _bad(tmp_path, data) == ["row 2, field 'Godkendt af': a value is required"]


def test_duplicate_kpi_is_caught(tmp_path: Path):
    data = render_csv("resultatopfyldelse", [result_row(), result_row()])
    (error,) = _bad(tmp_path, data)
    assert error.startswith("row 3: PrimaryKey Error")


def test_lf_line_ends_are_caught(tmp_path: Path):
    data = render_csv("resultatopfyldelse", result_rows()).replace(b"\r\n", b"\n")
    assert _bad(tmp_path, data) == ["4 line(s) end with LF instead of CRLF"]


def test_missing_bom_is_caught(tmp_path: Path):
    data = render_csv("resultatopfyldelse", result_rows())[len(BOM) :]
    assert _bad(tmp_path, data) == ["the file does not start with a UTF-8 byte-order mark (BOM)"]


def test_other_encoding_is_caught(tmp_path: Path):
    data = render_csv("resultatopfyldelse", result_rows())[len(BOM) :]
    errors = _bad(tmp_path, data.decode("utf-8").encode("cp1252"))
    assert errors[-1].startswith("the file is not UTF-8")


def test_bad_municipality_cells_are_caught(tmp_path: Path):
    rows = [municipality_row(Kommunenr="75", **{"Folketal opgjort": "2025Q1"})]
    errors = _bad(tmp_path, render_csv("kommunefordeling", rows), "kommunefordeling")
    assert [e.split(":")[0] for e in errors] == [
        "row 2, field 'Kommunenr'",
        "row 2, field 'Folketal opgjort'",
    ]


# --- writing -------------------------------------------------------------------------------


def _folder(tmp_path: Path) -> Path:
    """An empty folder of its own (the conftest fixture puts dagster_home in tmp_path)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def test_write_atomically_replaces_whole_files(tmp_path: Path):
    folder = _folder(tmp_path)
    path = folder / "out.csv"
    write_atomically(path, b"first")
    write_atomically(path, b"second")
    assert path.read_bytes() == b"second"
    assert [p.name for p in folder.iterdir()] == ["out.csv"]  # no temp file left


def test_write_atomically_once(tmp_path: Path):
    folder = _folder(tmp_path)
    path = folder / "v1.csv"
    write_atomically(path, b"signed", replace=False)
    with pytest.raises(FileExistsError):
        write_atomically(path, b"changed", replace=False)
    assert path.read_bytes() == b"signed"
    assert [p.name for p in folder.iterdir()] == ["v1.csv"]


def test_write_atomically_leaves_nothing_half_written(tmp_path: Path, monkeypatch):
    folder = _folder(tmp_path)
    path = folder / "out.csv"
    path.write_bytes(b"old")

    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files_module.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in folder.iterdir()] == ["out.csv"]


def test_write_atomically_uses_normal_permissions(tmp_path: Path):
    path = tmp_path / "out.csv"
    write_atomically(path, b"x")
    mask = os.umask(0o077)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_findings_name_the_physical_line_and_the_column_in_danish_too():
    """A file received from another hub is refused naming file, line and column for its
    recipients (Danish): the line is the file's own, which differs from the record's number
    after a quoted line break."""
    from resultatrapport.report.submissions import findings

    rows = result_rows()
    rows[0]["Bemærkning"] = "x"
    text = render_csv("resultatopfyldelse", rows).decode("utf-8-sig")
    text = text.replace(";x;", ';"to\r\nlinjer";', 1).replace("44815000", "44.815.000")
    (found,) = findings("resultatopfyldelse", text.encode("utf-8-sig"))
    assert found.text.startswith("row 3, field 'Resultat': '44.815.000' is not a number")
    assert (found.row, found.line, found.field) == (3, 4, "Resultat")
    assert found.located == (
        "linje 4, kolonne 'Resultat': '44.815.000' er ikke et tal skrevet med cifre og "
        "decimalkomma (uden tusindtalsseparator)"
    )
