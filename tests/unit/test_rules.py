from __future__ import annotations

import pytest

from resultatrapport.formats import FORMATS
from resultatrapport.ingest import ingest_file
from resultatrapport.reader import HeaderError
from tests.helpers import crm_row, write_crm

CRM = FORMATS["crm_cases"]
ORG = "erhvervshus-midtjylland"


def quarantine(con) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for line, reason in con.execute("SELECT line, reason FROM ingest.quarantine").fetchall():
        out.setdefault(line, set()).add(reason)
    return out


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (crm_row(1, cvr="1234567"), "Ugyldigt CVR-nummer (skal være 8 cifre, første ciffer 1-9)"),
        (crm_row(1, cvr="01234567"), "Ugyldigt CVR-nummer (skal være 8 cifre, første ciffer 1-9)"),
        (crm_row(1, cvr="1234567A"), "Ugyldigt CVR-nummer (skal være 8 cifre, første ciffer 1-9)"),
        (crm_row(1, kommune=999), "Ukendt kommunenummer"),
        (crm_row(1, kommune=""), "Kommunenr mangler"),
        (crm_row(1, start="31-12-2025"), "Dato uden for filens år"),
        (crm_row(1, start="2026-02-03"), "Ugyldig dato (forventet dd-mm-åååå)"),
        (crm_row(1, start="31-02-2026"), "Ugyldig dato (forventet dd-mm-åååå)"),
        (crm_row(1).replace(";Individuel;", ";Gruppe;"), "Ugyldig værdi i Vejledningsform"),
        (crm_row(1).replace(";12,5;", ";12.5;"), "Ugyldigt tal (forventet decimalkomma)"),
    ],
)
def test_each_rule_quarantines_with_its_reason(con, tmp_path, row, reason):
    inbox = tmp_path / "inbox"
    write_crm(inbox, [crm_row(0), row])
    _, result = ingest_file(con, CRM, inbox, 2026, ORG)
    assert quarantine(con) == {3: {reason}}
    assert (result.rows_clean, result.rows_quarantined) == (1, 1)
    assert con.execute("SELECT line FROM ingest.crm_cases").fetchall() == [(2,)]


def test_duplicate_case_ids_quarantine_every_occurrence(con, tmp_path):
    inbox = tmp_path / "inbox"
    write_crm(inbox, [crm_row(1), crm_row(2), crm_row(1, cvr=39999999)])
    ingest_file(con, CRM, inbox, 2026, ORG)
    assert quarantine(con) == {
        2: {"Forløbs-ID forekommer flere gange i filen"},
        4: {"Forløbs-ID forekommer flere gange i filen"},
    }


def test_clean_rows_are_typed(con, tmp_path):
    inbox = tmp_path / "inbox"
    write_crm(
        inbox, [crm_row(1), crm_row(2).replace("Erhvervshus Midtjylland|Innovationsfonden", "")]
    )
    ingest_file(con, CRM, inbox, 2026, ORG)
    rows = con.execute(
        "SELECT cvr, municipality_code, start_date, end_date, referrals, hours "
        "FROM ingest.crm_cases ORDER BY line"
    ).fetchall()
    import datetime as dt

    assert rows[0] == (
        "30000001",
        751,
        dt.date(2026, 2, 3),
        None,
        ["Erhvervshus Midtjylland", "Innovationsfonden"],
        12.5,
    )
    assert rows[1][4] == []


def test_rematerialising_replaces_exactly_the_partition(con, tmp_path):
    inbox = tmp_path / "inbox"
    write_crm(inbox, [crm_row(i) for i in range(3)], year=2026)
    write_crm(inbox, [crm_row(i, start="03-02-2025") for i in range(5)], year=2025)
    for year in (2025, 2026):
        ingest_file(con, CRM, inbox, year, ORG)
    write_crm(inbox, [crm_row(i) for i in range(2)], year=2026)
    ingest_file(con, CRM, inbox, 2026, ORG)
    counts = dict(
        con.execute("SELECT year, count(*) FROM ingest.crm_cases GROUP BY year").fetchall()
    )
    assert counts == {2025: 5, 2026: 2}
    assert con.execute("SELECT count(*) FROM ingest.deliveries").fetchone() == (2,)


def test_a_failed_read_leaves_the_previous_good_rows(con, tmp_path):
    inbox = tmp_path / "inbox"
    write_crm(inbox, [crm_row(i) for i in range(3)])
    ingest_file(con, CRM, inbox, 2026, ORG)
    before = con.execute("SELECT * FROM raw.crm_cases ORDER BY line").fetchall()
    write_crm(inbox, [crm_row(9)], header=";".join(CRM.headers).replace("Segment", "Segm"))
    with pytest.raises(HeaderError):
        ingest_file(con, CRM, inbox, 2026, ORG)
    assert con.execute("SELECT * FROM raw.crm_cases ORDER BY line").fetchall() == before
    assert con.execute("SELECT count(*) FROM ingest.crm_cases").fetchone() == (3,)
    sha = con.execute("SELECT sha256 FROM ingest.deliveries").fetchall()
    assert len(sha) == 1  # the delivery record still describes the file that was read


def test_population_names_are_mapped_to_codes_and_earlier_quarters_kept(con, tmp_path):
    fmt = FORMATS["population"]
    path = tmp_path / "inbox" / fmt.relpath(2023)
    path.parent.mkdir(parents=True)
    path.write_bytes(
        "\ufeffOMRÅDE;TID;INDHOLD\r\nAarhus;2023K1;361544\r\nRingkøbing-Skjern;2023K1;56009\r\n"
        "Aarhus;2024K1;349983\r\nÅrhus;2023K1;1\r\n".encode()
    )
    _, result = ingest_file(con, fmt, tmp_path / "inbox", 2023, None)
    assert result.rows_read == 3  # the 2024 row belongs to later partitions
    rows = con.execute(
        "SELECT municipality_code, municipality, quarter, inhabitants FROM ingest.population ORDER BY 1"
    ).fetchall()
    assert rows == [(751, "Aarhus", "2023K1", 361544), (760, "Ringkøbing-Skjern", "2023K1", 56009)]
    assert quarantine(con) == {5: {"Ukendt kommunenavn"}}
