from __future__ import annotations

from pathlib import Path

import pytest

from resultatrapport.formats import FORMATS
from resultatrapport.ingest import ingest_file
from resultatrapport.reader import HeaderError, SourceError, detect_encoding
from tests.helpers import crm_row, write_crm

CRM = FORMATS["crm_cases"]
ORG = "erhvervshus-midtjylland"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8"), ("cp1252", "cp1252")],
)
def test_encoding_is_detected_and_danish_letters_survive(con, tmp_path, encoding, expected):
    inbox = tmp_path / "inbox"
    path = write_crm(inbox, [crm_row(1)], encoding=encoding)
    assert detect_encoding(path, "x") == expected
    ingest_file(con, CRM, inbox, 2026, ORG)
    assert con.execute("SELECT focus_area, referrals FROM raw.crm_cases").fetchone() == (
        "Innovation",
        "Erhvervshus Midtjylland|Innovationsfonden",
    )
    assert con.execute("SELECT encoding FROM ingest.deliveries").fetchone() == (expected,)


def test_unreadable_bytes_give_a_located_error(con, tmp_path):
    inbox = tmp_path / "inbox"
    path = write_crm(inbox, [crm_row(1)])
    path.write_bytes(path.read_bytes() + b"\x81\x8d\x90 broken\r\n")  # undefined in cp1252 too
    with pytest.raises(SourceError, match=r"vejledningsforloeb_2026\.csv: filen er hverken UTF-8"):
        ingest_file(con, CRM, inbox, 2026, ORG)


def test_changed_header_names_file_line_and_column(con, tmp_path):
    inbox = tmp_path / "inbox"
    header = ";".join(CRM.headers).replace("Kommunenr", "Kommunekode")
    write_crm(inbox, [crm_row(1)], header=header)
    with pytest.raises(HeaderError) as err:
        ingest_file(con, CRM, inbox, 2026, ORG)
    message = str(err.value)
    assert "vejledningsforloeb_2026.csv, linje 1, kolonne 'Kommunekode'" in message
    assert "kolonne 4 skulle være 'Kommunenr'" in message


def test_missing_column_in_header(con, tmp_path):
    inbox = tmp_path / "inbox"
    header = ";".join(CRM.headers[:-1])
    write_crm(inbox, [crm_row(1)], header=header)
    with pytest.raises(HeaderError, match="mangler kolonne\\(r\\) 'Note'"):
        ingest_file(con, CRM, inbox, 2026, ORG)


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_line_endings_trailing_blank_lines_and_line_numbers(con, tmp_path, newline):
    inbox = tmp_path / "inbox"
    rows = [crm_row(1), crm_row(2), "EHMJ-2026-00003;too;few", crm_row(4)]
    write_crm(inbox, rows, newline=newline, trailing=3)
    delivery, _ = ingest_file(con, CRM, inbox, 2026, ORG)
    assert delivery.rows_read == 4
    assert delivery.rows_rejected == 1
    got = con.execute(
        "SELECT line, case_id, parse_error FROM raw.crm_cases ORDER BY line"
    ).fetchall()
    assert [g[0] for g in got] == [2, 3, 4, 5]
    assert got[3][1] == "EHMJ-2026-00004"  # the line after the broken one keeps its number
    assert got[2][1] is None and "MISSING COLUMNS" in got[2][2]


def test_personal_data_is_never_stored(con, tmp_path):
    inbox = tmp_path / "inbox"
    rows = [crm_row(1, note="CPR 010203-1234"), crm_row(2, cvr="0102031234")]
    write_crm(inbox, rows)
    ingest_file(con, CRM, inbox, 2026, ORG)
    stored = con.execute("SELECT * FROM raw.crm_cases").fetchall()
    text = repr(stored)
    for secret in (
        "Åse Ærø",
        "aase@example.dk",
        "Jens Øst",
        "Søren Bæk",
        "010203-1234",
        "0102031234",
    ):
        assert secret not in text
    assert "[CPR fjernet]" in text  # the CPR-shaped CVR field is masked, not dropped
    columns = {r[0] for r in con.execute("DESCRIBE raw.crm_cases").fetchall()}
    assert not columns & {"contact_person", "contact_email", "adviser", "note", "firm_name"}


def test_missing_file_is_an_empty_partition_not_an_error(con, tmp_path):
    delivery, _ = ingest_file(con, CRM, tmp_path / "inbox", 2026, ORG)
    assert delivery.missing
    assert con.execute("SELECT sha256, rows_read FROM ingest.deliveries").fetchone() == (None, 0)


def _write_xlsx(
    path: Path, header: list[str], rows: list[list[object]], sheet: str = "Besvarelser"
):
    import openpyxl

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header)
    for row in rows:
        ws.append(row)
    ws.append([])
    wb.save(path)


def test_xlsx_survey_dates_numbers_and_comments(con, tmp_path):
    import datetime as dt

    fmt = FORMATS["survey_answers"]
    inbox = tmp_path / "inbox"
    rows = [
        [
            "R1",
            "EHMJ-2026-00001",
            12345678,
            dt.date(2026, 3, 4),
            "Vækst",
            9,
            "Ja",
            "Ja",
            "Nej",
            None,
            "Ring til Åse på 12345678, cpr 0102031234",
        ],
        [
            "R2",
            "EHMJ-2026-00002",
            None,
            dt.datetime(2026, 5, 6),
            "Drift",
            7.5,
            "Nej",
            None,
            "Ja",
            "I høj grad",
            None,
        ],
    ]
    _write_xlsx(inbox / fmt.relpath(2026, ORG), fmt.headers, rows)
    delivery, _ = ingest_file(con, fmt, inbox, 2026, ORG)
    assert delivery.rows_read == 2
    got = con.execute(
        "SELECT line, cvr, answered_on, recommend FROM raw.survey_answers ORDER BY line"
    ).fetchall()
    assert got == [(2, "12345678", "2026-03-04", "9"), (3, None, "2026-05-06", "7.5")]
    assert "Åse" not in repr(con.execute("SELECT * FROM raw.survey_answers").fetchall())


def test_xlsx_without_the_sheet_is_a_located_error(con, tmp_path):
    fmt = FORMATS["survey_answers"]
    inbox = tmp_path / "inbox"
    _write_xlsx(inbox / fmt.relpath(2026, ORG), fmt.headers, [], sheet="Ark1")
    with pytest.raises(SourceError, match=r"brugerevaluering_2026\.xlsx: arket 'Besvarelser'"):
        ingest_file(con, fmt, inbox, 2026, ORG)


def test_staging_a_workbook_leaves_no_open_result_on_the_connection(con, tmp_path):
    """The next query on the connection (a relation, as the GX frame is read) is not refused
    for a result the reader left open (DuckDB 2 keeps one after fetchone)."""
    from resultatrapport.ingest import stage

    fmt = FORMATS["survey_answers"]
    inbox = tmp_path / "inbox"
    row = [
        "R1",
        "EHMJ-2026-00001",
        12345678,
        "04-03-2026",
        "Vækst",
        9,
        "Ja",
        "Ja",
        "Nej",
        None,
        None,
    ]
    _write_xlsx(inbox / fmt.relpath(2026, ORG), fmt.headers, [row])
    assert stage(con, fmt, inbox, 2026, ORG).rows_read == 1
    assert con.sql("SELECT count(*) FROM _stage").fetchall() == [(1,)]


# every shape of personal data a kept column may carry, and what is stored instead
MASKED_SHAPES = [
    ("CPR 010190 1234", "CPR [CPR fjernet]"),
    ("CPR 010190-1234", "CPR [CPR fjernet]"),
    ("CPR 010190–1234", "CPR [CPR fjernet]"),  # en dash
    ("CPR 010190—1234", "CPR [CPR fjernet]"),  # em dash
    ("CPR 010190\u22121234", "CPR [CPR fjernet]"),  # minus sign
    ("CPR 010190\u20111234", "CPR [CPR fjernet]"),  # non-breaking hyphen
    ("CPR 020290\\-4321", "CPR [CPR fjernet]"),  # a Markdown escape
    ("CPR &#48;10190-1234", "CPR [CPR fjernet]"),  # an HTML entity
    ("CPR &#x30;10190 - 1234", "CPR [CPR fjernet]"),
    ("CPR 030390-\n1234", "CPR [CPR fjernet]"),  # a line break inside a quoted field
    ("ring 20304050", "ring [telefonnummer fjernet]"),
    ("ring 20 30 40 50", "ring [telefonnummer fjernet]"),
    ("ring 2030 4050", "ring [telefonnummer fjernet]"),
    ("ring +45 20 30 40 50", "ring [telefonnummer fjernet]"),
    ("ring 004520304050", "ring [telefonnummer fjernet]"),
    ("20304050/30405060", "[telefonnummer fjernet]/[telefonnummer fjernet]"),
    ("Ring til Jens Hansen", "Ring til [personoplysning fjernet]"),
    ("Mød Anne Marie Østergaard i dag", "Mød [personoplysning fjernet] i dag"),
    ("Åse", "[personoplysning fjernet]"),
    ("skriv til jens.hansen@firma.dk", "skriv til [e-mail fjernet]"),
    ("Åse Ærø ringer", "[personoplysning fjernet] ringer"),  # the row's own contact
]
# what a free-text column legitimately holds stays as it is
UNMASKED = [
    "Hansestaden",  # no given name inside a longer word
    "Perspektiv",
    "Frederiksberg",
    "12345678",  # 8 digits starting with 1: no Danish phone number
    "2026",
    "Karriereby Viborg",
    "Møde 12,5 timer",
]


@pytest.mark.parametrize(("delivered", "stored"), MASKED_SHAPES)
def test_personal_data_in_a_free_text_column_is_masked_in_every_shape(
    con, tmp_path, delivered, stored
):
    """A free-text column (Segment, as a person types into it) keeps no CPR number in any
    shape, no phone number, name or e-mail: in the raw rows nor in the quarantine's stored
    value (the value breaks the Segment rule)."""
    inbox = tmp_path / "inbox"
    quoted = '"' + delivered.replace('"', '""') + '"'
    write_crm(inbox, [crm_row(1, segment=quoted)])
    ingest_file(con, CRM, inbox, 2026, ORG)
    assert con.execute("SELECT segment FROM raw.crm_cases").fetchall() == [(stored,)]
    assert con.execute(
        "SELECT value FROM ingest.quarantine WHERE column_name = 'segment'"
    ).fetchall() == [(stored,)]


@pytest.mark.parametrize("delivered", UNMASKED)
def test_masking_leaves_ordinary_free_text_alone(con, tmp_path, delivered):
    inbox = tmp_path / "inbox"
    write_crm(inbox, [crm_row(1, segment=delivered)])
    ingest_file(con, CRM, inbox, 2026, ORG)
    assert con.execute("SELECT segment FROM raw.crm_cases").fetchall() == [(delivered,)]


def test_masking_leaves_every_declared_category_value_alone(con):
    """No value of a vocabulary a free-text column holds (nor a municipality name) is taken
    for a name or a number by the masking."""
    from resultatrapport import vocabulary
    from resultatrapport.municipalities import municipality_names
    from resultatrapport.reader import masked

    values = [
        *vocabulary.REFERRAL_TARGETS,
        *vocabulary.FORMS,
        *vocabulary.SEGMENTS,
        *vocabulary.CASE_TYPES,
        *vocabulary.FOCUS_AREAS,
        *vocabulary.JA_NEJ_VED_IKKE,
        *vocabulary.DEGREES,
        *municipality_names(),
    ]
    got = [con.execute(f"SELECT {masked('$1', [], True)}", [v]).fetchall()[0][0] for v in values]
    assert got == values


def test_cvr_numbers_and_amounts_are_not_taken_for_phone_numbers(con, tmp_path):
    """Phone numbers are masked in free-text columns only: a CVR number has 8 digits too."""
    inbox = tmp_path / "inbox"
    write_crm(inbox, [crm_row(1, cvr="20304050")])
    ingest_file(con, CRM, inbox, 2026, ORG)
    assert con.execute("SELECT cvr FROM ingest.crm_cases").fetchall() == [("20304050",)]
