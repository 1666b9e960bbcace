"""The data quality for its two audiences (issue 26, point 6): the report's one paragraph for
the recipients, and the internal appendix with the detail, from one small warehouse of
KKR 2026 (no results needed: the report and the appendix are read as they are drawn)."""

from __future__ import annotations

import re

import duckdb
import pytest

from resultatrapport.contracts import Contract
from resultatrapport.report import content, quality, view
from resultatrapport.report.render import render_html

YEAR = 2026
ORG = "erhvervshus-midtjylland"
CRM_2025 = f"{ORG}/crm/vejledningsforloeb_2025.csv"
CRM_2026 = f"{ORG}/crm/vejledningsforloeb_2026.csv"
CVR = "register/cvr_virksomheder.csv"
POPULATION = "register/folketal.csv"
AWARENESS = "erst/kendskabsmaaling_2026.csv"
STRAYS = ["manifest.json", f"{ORG}/crm/noter.txt"]
SHA = {CRM_2025: "a1" * 32, CRM_2026: "a2" * 32, CVR: "c0" * 32, POPULATION: "f0" * 32}


def deliver(con, source: str, org: str | None, year: int, file: str, rows: int, rejected=0):
    con.execute(
        "INSERT INTO ingest.deliveries (source, org, year, file, sha256, encoding, rows_read, "
        "rows_rejected, read_at) VALUES (?, ?, ?, ?, ?, 'utf-8', ?, ?, now()::TIMESTAMP)",
        [source, org, year, file, SHA.get(file), rows, rejected],
    )


def check(con, source, org, year, name, passed, blocking, file, summary=""):
    con.execute(
        "INSERT INTO ingest.checks (source, org, year, check_name, passed, blocking, summary, "
        "checked_at, sha256) VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?)",
        [source, org, year, name, passed, blocking, summary, SHA.get(file)],
    )


def quarantine(con, source, org, year, file, line, rule, reason):
    con.execute(
        "INSERT INTO ingest.quarantine (source, org, year, file, line, column_name, rule, "
        "reason) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
        [source, org, year, file, line, rule, reason],
    )


@pytest.fixture
def warehouse(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Two CRM years, the CVR extract read for two years (one file), the population, the
    awareness survey missing; rows quarantined, an entry left out, two stray files."""
    deliver(con, "crm_cases", ORG, 2025, CRM_2025, 200)
    deliver(con, "crm_cases", ORG, 2026, CRM_2026, 250, rejected=1)
    for year in (2025, 2026):
        deliver(con, "cvr_firms", None, year, CVR, 3000)
    deliver(con, "population", None, 2026, POPULATION, 152)
    deliver(con, "awareness", None, 2026, AWARENESS, 0)
    for source, org, year, file in [
        ("crm_cases", ORG, 2025, CRM_2025), ("crm_cases", ORG, 2026, CRM_2026),
        ("cvr_firms", None, 2025, CVR), ("cvr_firms", None, 2026, CVR),
        ("population", None, 2026, POPULATION),
    ]:  # fmt: skip
        check(con, source, org, year, "file_trustworthy", True, True, file)
        check(con, source, org, year, "rows_valid", True, False, file)
    con.execute(
        "UPDATE ingest.checks SET passed = false, summary = 'Ukendt kommunenummer (2)' "
        "WHERE source = 'cvr_firms' AND check_name = 'rows_valid'"
    )
    # one row breaking two rules, an unreadable line, an unknown referral target (row kept)
    quarantine(con, "crm_cases", ORG, 2026, CRM_2026, 7, "cvr.regex.0", "Ugyldigt CVR-nummer")
    quarantine(con, "crm_cases", ORG, 2026, CRM_2026, 7, "kommune.in_set.0", "Ukendt kommunenummer")  # fmt: skip
    quarantine(con, "crm_cases", ORG, 2026, CRM_2026, 12, "parsed_line", "Ulæselig linje")
    quarantine(con, "crm_cases", ORG, 2026, CRM_2026, 20, "henvisninger.known_entries.0",
               "Ukendt henvisningsmål (nr. 2)")  # fmt: skip
    # the same two bad rows of the one CVR file, in each year's partition
    for year in (2025, 2026):
        for line in (3, 4):
            quarantine(con, "cvr_firms", None, year, CVR, line, "kommune.in_set.0",
                       "Ukendt kommunenummer")  # fmt: skip
    con.executemany(
        "INSERT INTO ingest.inbox_files VALUES (?, NULL, NULL, NULL, NULL)", [[s] for s in STRAYS]
    )
    return con


SUMMARY = (
    "Tallene bygger på disse leverancer: CRM-udtræk (vejledningsforløb) for 2025–2026, CVR-udtræk og "
    "Folketal (Danmarks Statistik). Kendskabsmåling (Erhvervsstyrelsen) for 2026 foreligger "
    "ikke; et målepunkt, der bygger på den, står som Ikke målbar med årsagen. Hver leverance "
    "er kontrolleret efter sin formatbeskrivelse, før den er brugt: 4 af 3.602 rækker (0,1 %) "
    "overholdt ikke reglerne og er udeladt af alle tal. Desuden er 1 værdi i lister (fx en "
    "henvisning til en modtager, der ikke står på listen) ikke talt med; resten af rækken er "
    "brugt. Ingen leverance er afvist, og ud over de udeladte rækker påvirker kontrollen ikke "
    "tallene."
)


def test_the_paragraph_names_the_deliveries_the_rows_left_out_once_and_what_touches_the_figures(
    warehouse, kkr: Contract
):
    # 4 rows: the CRM row breaking two rules once, the unreadable line, and the CVR file's two
    # bad rows once though two years read them; of 200 + 250 + 3.000 (once) + 152 rows
    assert quality.summary(content.load(warehouse, kkr, YEAR)) == SUMMARY


def test_a_refused_delivery_is_said_in_the_paragraph(warehouse, kkr):
    warehouse.execute(
        "UPDATE ingest.checks SET passed = false, summary = '3 dublerede id''er' "
        "WHERE source = 'crm_cases' AND year = 2026 AND check_name = 'file_trustworthy'"
    )
    said = quality.summary(content.load(warehouse, kkr, YEAR))
    assert said.endswith(
        "Kontrollen har afvist leverancen CRM-udtræk (vejledningsforløb) for 2026; indtil det er rettet, "
        "bygger tallene på den senest godkendte udgave, hvor der er en, og rapporten kan ikke "
        "godkendes."
    )


def test_a_clean_year_says_nothing_was_left_out(con, kkr):
    deliver(con, "crm_cases", ORG, 2026, CRM_2026, 250)
    check(con, "crm_cases", ORG, 2026, "file_trustworthy", True, True, CRM_2026)
    assert quality.summary(content.load(con, kkr, YEAR)).endswith(
        "før den er brugt, og ingen rækker er udeladt. Ingen leverance er afvist, og kontrollen "
        "påvirker ikke tallene."
    )


@pytest.mark.parametrize(
    ("years", "said"),
    [([2026], "2026"), ([2021, 2022, 2023], "2021–2023"), ([2020, 2022, 2023, 2024, 2026],
     "2020, 2022–2024 og 2026")],
)  # fmt: skip
def test_years_are_said_as_runs(years, said):
    assert quality.years_text(years) == said


def report_html(con: duckdb.DuckDBPyConnection, contract: Contract) -> str:
    data = content.load(con, contract, YEAR)
    provenance = {"code_version": "0.1.0", "run_id": "run", "data_hash": "hash"}
    return render_html("report.html.j2", view.build(data, draft=True, provenance=provenance))


def test_the_report_shows_no_inbox_path_stray_file_quarantine_or_check_count(warehouse, kkr):
    html = report_html(warehouse, kkr)
    for path in [CRM_2025, CRM_2026, CVR, POPULATION, AWARENESS, *STRAYS]:
        assert path not in html and path.rsplit("/", 1)[-1] not in html, path
    assert "karantæne" not in html and "Ukendt kommunenummer" not in html
    assert not re.search(r"\bkontroller\b", html, re.I) and "Filen er troværdig" not in html
    assert "<h3>Datagrundlag og datakvalitet</h3>" in html
    assert SUMMARY in html
    # the provenance names each delivery by source and years, with its content hash, once
    assert html.count(SHA[CVR]) == 1 and "2025–2026" in html


def test_the_internal_appendix_has_the_detail(warehouse, kkr):
    data = content.load(warehouse, kkr, YEAR)
    name = "aarsrapport_kkr-midtjylland-2026_2026_udkast.pdf"
    page = quality.appendix_html(data, report_name=name, data_hash="hash").decode()
    assert "Internt bilag – sendes ikke til modtagerne" in page and f"Hører til {name}" in page
    assert SUMMARY in page
    for path in [CRM_2025, CRM_2026, CVR, POPULATION, AWARENESS, *STRAYS]:
        assert path in page, path
    # the quarantine by delivery and reason; the CVR file's rows once, with both years
    rows = re.findall(r"<tr><td>([^<]*)</td><td class=\"years\">([^<]*)</td><td class=\"mono\">"
                      r"([^<]*)</td><td>([^<]*)</td><td class=\"num\">(\d+)</td></tr>", page)  # fmt: skip
    assert sorted(rows) == sorted([
        ("CRM-udtræk (vejledningsforløb)", "2026", CRM_2026, "Ugyldigt CVR-nummer", "1"),
        ("CRM-udtræk (vejledningsforløb)", "2026", CRM_2026, "Ukendt kommunenummer", "1"),
        ("CRM-udtræk (vejledningsforløb)", "2026", CRM_2026, "Ulæselig linje", "1"),
        ("CRM-udtræk (vejledningsforløb)", "2026", CRM_2026, "Ukendt henvisningsmål (nr. 2) (rækken er brugt)", "1"),
        ("CVR-udtræk", "2025–2026", CVR, "Ukendt kommunenummer", "2"),
    ])  # fmt: skip
    # every check with its outcome, the CVR file's once
    assert page.count("Filen er troværdig (blokerende)") == 4
    assert page.count(">Advarsel<") == 1 and "Ukendt kommunenummer (2)" in page
    assert "7 af 8 kontroller nedenfor er bestået" in page  # 10 outcomes, the CVR file's once
