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


# the CRM line: a referral, then an adviser's note with a name and a phone number,
# then a CPR number written with a space
HOSTILE_REFERRALS = "Erhvervshus Midtjylland|Ring til Jens Hansen på 20304050|CPR 010190 1234"


def test_an_unknown_referral_entry_is_quarantined_on_its_own_and_the_row_kept(con, tmp_path):
    from resultatrapport.kpis.kinds.count import count_referrals

    inbox = tmp_path / "inbox"
    write_crm(inbox, [crm_row(1), crm_row(2, refs=HOSTILE_REFERRALS)])
    _, result = ingest_file(con, CRM, inbox, 2026, ORG)
    clean = dict(con.execute("SELECT case_id, referrals FROM ingest.crm_cases").fetchall())
    assert clean == {
        "EHMJ-2026-00001": ["Erhvervshus Midtjylland", "Innovationsfonden"],
        "EHMJ-2026-00002": ["Erhvervshus Midtjylland"],
    }
    rows = con.execute(
        "SELECT line, column_name, rule, reason, value FROM ingest.quarantine ORDER BY reason"
    ).fetchall()
    reason = (
        "Ukendt henvisningsmodtager (ikke på CRM'ets liste); punktet tælles ikke som en henvisning"
    )
    assert rows == [
        (3, "referrals", "referrals.known_entries.0", f"{reason} (punkt 2 af 3)",
         "Ring til [personoplysning fjernet] på [telefonnummer fjernet]"),
        (3, "referrals", "referrals.known_entries.0", f"{reason} (punkt 3 af 3)",
         "CPR [CPR fjernet]"),
    ]  # fmt: skip
    # the row is in use: two clean rows, none quarantined, none out of scope
    assert (result.rows_clean, result.rows_quarantined, result.rows_out_of_scope) == (2, 0, 0)
    measure = count_referrals(con, ORG, 2026)
    assert measure.value == 3  # the free texts count as no referral


def test_referral_targets_are_matched_after_trimming_spaces_and_case(con, tmp_path):
    inbox = tmp_path / "inbox"
    refs = " erhvervshus  midtjylland |INNOVATIONSFONDEN||Privat\u00a0rådgiver"
    write_crm(inbox, [crm_row(1, refs=refs)])
    ingest_file(con, CRM, inbox, 2026, ORG)
    assert con.execute("SELECT referrals FROM ingest.crm_cases").fetchall() == [
        (["Erhvervshus Midtjylland", "Innovationsfonden", "Privat rådgiver"],)
    ]
    assert con.execute("SELECT count(*) FROM ingest.quarantine").fetchall() == [(0,)]
