"""The one classifier of inbox paths (resultatrapport/inventory.py): a delivery, a stray file
with the delivery it resembles, or a hidden or system file passed over."""

from __future__ import annotations

from pathlib import Path

import pytest

from resultatrapport.formats import FORMATS
from resultatrapport.inventory import (
    Delivery,
    StrayFile,
    classify,
    inbox_files,
    strays_for,
    texts_strays,
    unrecognised_files,
)

EHMJ = "erhvervshus-midtjylland"
CRM = f"{EHMJ}/crm/vejledningsforloeb_2026.csv"
TEXTS = f"{EHMJ}/tekster/kkr-midtjylland-2026_2026.md"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    return tmp_path / "inbox"


DELIVERIES = [
    # (path, source, organisation, year)
    pytest.param(CRM, "crm_cases", EHMJ, 2026, id="exact delivery"),
    pytest.param(
        f"{EHMJ}/survey/brugerevaluering_2025.xlsx", "survey_answers", EHMJ, 2025, id="survey"
    ),
    pytest.param("register/folketal.csv", "population", None, None, id="year-less register"),
    pytest.param("erst/kendskabsmaaling_2024.csv", "awareness", None, 2024, id="register"),
    pytest.param(TEXTS, "report_texts", EHMJ, 2026, id="owner's texts"),
    # a year not open yet is read when it opens (the sample inbox has the next year's files)
    pytest.param(
        f"{EHMJ}/crm/vejledningsforloeb_2031.csv", "crm_cases", EHMJ, 2031, id="future year"
    ),
    # an organisation no contract names is still a delivery; the sensor says no contract reads it
    pytest.param(
        "erhvervshus-fyn/tid/tidsregistrering_2026.csv",
        "time_registration",
        "erhvervshus-fyn",
        2026,
        id="another organisation",
    ),
]


@pytest.mark.parametrize(("relpath", "source", "org", "year"), DELIVERIES)
def test_a_path_of_sources_md_is_a_delivery(
    relpath: str, source: str, org: str | None, year: int | None
) -> None:
    found = classify(relpath)
    assert isinstance(found, Delivery)
    assert (found.source, found.org, found.year) == (source, org, year)


STRAYS = [
    # (path, the delivery it resembles)
    pytest.param("Erhvervshus_Midtjylland/crm/vejledningsforloeb_2026.csv", CRM, id="org case"),
    pytest.param("Erhvervshus-Midtjylland/crm/vejledningsforloeb_2026.csv", CRM, id="org case 2"),
    pytest.param(
        "Viborgegnens Erhvervsråd/tid/tidsregistrering_2024.csv",
        "viborgegnens-erhvervsraad/tid/tidsregistrering_2024.csv",
        id="org as a name",
    ),
    pytest.param(f"{EHMJ}/CRM/vejledningsforloeb_2026.csv", CRM, id="folder case"),
    pytest.param("Register/folketal.csv", "register/folketal.csv", id="register case"),
    pytest.param(f"{EHMJ}/crm/Vejledningsforloeb_2026.csv", CRM, id="name case"),
    pytest.param(f"{EHMJ}/tid/vejledningsforloeb_2026.csv", CRM, id="wrong folder"),
    pytest.param("erst/regnskaber_2022.csv", "register/regnskaber_2022.csv", id="wrong register"),
    pytest.param(f"{EHMJ}/vejledningsforloeb_2026.csv", CRM, id="folder missing"),
    pytest.param(
        "crm/vejledningsforloeb_2026.csv",
        "<organisation>/crm/vejledningsforloeb_2026.csv",
        id="organisation missing",
    ),
    pytest.param(
        "register/crm/vejledningsforloeb_2026.csv",
        "<organisation>/crm/vejledningsforloeb_2026.csv",
        id="register as organisation",
    ),
    pytest.param(f"{EHMJ}/crm/vejledningsforlob_2026.csv", CRM, id="typo"),
    pytest.param("register/regnskab_2022.csv", "register/regnskaber_2022.csv", id="typo 2"),
    pytest.param(f"{EHMJ}/crm/Vejledningsforløb 2026.csv", CRM, id="Danish spelling"),
    pytest.param(f"{EHMJ}/crm/vejledningsforloeb_2026.xlsx", CRM, id="wrong extension"),
    pytest.param(
        f"{EHMJ}/survey/brugerevaluering_2026.csv",
        f"{EHMJ}/survey/brugerevaluering_2026.xlsx",
        id="survey as csv",
    ),
    pytest.param(
        f"{EHMJ}/crm/vejledningsforloeb.csv",
        f"{EHMJ}/crm/vejledningsforloeb_<åååå>.csv",
        id="year missing",
    ),
    pytest.param(
        "register/cvr_virksomheder_2026.csv", "register/cvr_virksomheder.csv", id="year added"
    ),
    pytest.param(f"{EHMJ}/crm/vejledningsforloeb_2026 (kopi).csv", CRM, id="copy"),
    pytest.param(
        "register/regnskaber_2022_rettet.csv", "register/regnskaber_2022.csv", id="corrected"
    ),
    pytest.param(f"{EHMJ}/crm/2026/vejledningsforloeb_2026.csv", CRM, id="nested too deep"),
    pytest.param(f"indbakke/{EHMJ}/crm/vejledningsforloeb_2026.csv", CRM, id="nested under"),
    pytest.param(
        f"{EHMJ}/tid/timer.csv",
        f"{EHMJ}/tid/tidsregistrering_<åååå>.csv",
        id="only format of its folder",
    ),
    pytest.param(f"{EHMJ}/tekster/kkr-midtjylland-2026_2026 (kopi).md", TEXTS, id="texts copy"),
    pytest.param(f"{EHMJ}/tekster/KKR-midtjylland-2026_2026.md", TEXTS, id="texts case"),
    pytest.param(f"{EHMJ}/tekster/kkr-midtjylland-2026_2026.docx", TEXTS, id="texts as Word"),
    pytest.param(f"{EHMJ}/kkr-midtjylland-2026_2026.md", TEXTS, id="texts folder missing"),
    pytest.param(
        f"{EHMJ}/tekster/kkr-midtjylland-2026.md",
        f"{EHMJ}/tekster/kkr-midtjylland-2026_<åååå>.md",
        id="texts year missing",
    ),
    pytest.param(
        f"{EHMJ}/tekster/status.txt",
        f"{EHMJ}/tekster/<kontrakt>_<åååå>.md",
        id="texts unnamed",
    ),
]


@pytest.mark.parametrize(("relpath", "resembles"), STRAYS)
def test_a_near_miss_is_a_stray_with_the_delivery_it_resembles(
    relpath: str, resembles: str
) -> None:
    found = classify(relpath)
    assert isinstance(found, StrayFile)
    assert found.resembles == resembles
    assert found.shown == f"{relpath} (ligner {resembles})"  # as the summary and appendix say


ELSEWHERE = [
    # the partitions start in 2020: no report reads an earlier year
    pytest.param(
        f"{EHMJ}/crm/vejledningsforloeb_2019.csv",
        "året 2019 ligger før 2020, det første år, der rapporteres",
        id="year before the first",
    ),
    pytest.param(
        f"{EHMJ}/tekster/kkr-midtjylland-2026_2015.md",
        "året 2015 ligger før 2020, det første år, der rapporteres",
        id="texts year before the first",
    ),
    # the sample generator's record of what it planted: in the inbox, read by nothing
    pytest.param("manifest.json", None, id="sample manifest"),
    pytest.param("register/notes.txt", None, id="notes"),
    pytest.param("erhvervshus-midtjylland/rapport.pdf", None, id="unlike anything"),
]


@pytest.mark.parametrize(("relpath", "why"), ELSEWHERE)
def test_a_path_like_no_delivery_is_a_stray_all_the_same(relpath: str, why: str | None) -> None:
    found = classify(relpath)
    assert isinstance(found, StrayFile) and found.resembles is None
    assert found.why == why


# hidden and system files: not listed (a Mac's, Windows' and Office's own files would bury
# the strays that matter) and not read; a file an upload tool is still writing is hidden too,
# so it blocks nothing while it is copied in
PASSED_OVER = [
    ".DS_Store",
    f"{EHMJ}/crm/.DS_Store",
    f"{EHMJ}/crm/._vejledningsforloeb_2026.csv",
    f"{EHMJ}/crm/.vejledningsforloeb_2026.csv.Xa3b9",
    f"{EHMJ}/survey/~$brugerevaluering_2026.xlsx",
    f"{EHMJ}/tekster/.~lock.kkr-midtjylland-2026_2026.md#",
    f"{EHMJ}/survey/Thumbs.db",
    "desktop.ini",
    ".git/config",
    f".Trashes/{CRM}",
]


@pytest.mark.parametrize("relpath", PASSED_OVER)
def test_hidden_and_system_files_are_passed_over(relpath: str, inbox: Path) -> None:
    assert classify(relpath) is None
    (inbox / relpath).parent.mkdir(parents=True, exist_ok=True)
    (inbox / relpath).write_text("x")
    assert inbox_files(inbox) == [] and unrecognised_files(inbox) == []


def test_the_inventory_lists_every_stray_of_an_inbox_with_what_it_resembles(
    inbox: Path,
) -> None:
    files = [CRM, "Erhvervshus_Midtjylland/crm/vejledningsforloeb_2026.csv", "manifest.json"]
    for relpath in [*files, f"{EHMJ}/crm/.DS_Store"]:
        (inbox / relpath).parent.mkdir(parents=True, exist_ok=True)
        (inbox / relpath).write_text("x")
    assert [s.shown for s in unrecognised_files(inbox)] == [
        "manifest.json",
        f"Erhvervshus_Midtjylland/crm/vejledningsforloeb_2026.csv (ligner {CRM})",
    ]


def test_a_near_miss_in_its_delivery_folder_blocks_its_partition_and_elsewhere_nothing(
    inbox: Path,
) -> None:
    """A misnamed file in the delivery folder is most likely the delivery under the wrong
    name: it blocks the partition of its year; one in another folder is listed only."""
    for relpath in (
        f"{EHMJ}/crm/Vejledningsforloeb_2026.csv",
        "register/regnskab_2022.csv",  # a typo of regnskaber_2022.csv
        "Erhvervshus_Midtjylland/crm/vejledningsforloeb_2025.csv",
    ):
        (inbox / relpath).parent.mkdir(parents=True, exist_ok=True)
        (inbox / relpath).write_text("x")
    crm = FORMATS["crm_cases"]
    assert strays_for(inbox, crm, 2026, EHMJ) == [f"{EHMJ}/crm/Vejledningsforloeb_2026.csv"]
    assert strays_for(inbox, crm, 2025, EHMJ) == []
    assert strays_for(inbox, FORMATS["financials"], 2022, None) == ["register/regnskab_2022.csv"]
    assert strays_for(inbox, FORMATS["financials"], 2023, None) == []


def test_a_copy_of_the_texts_file_blocks_the_texts_of_its_year(inbox: Path) -> None:
    folder = inbox / EHMJ / "tekster"
    folder.mkdir(parents=True)
    for name in ("kkr-midtjylland-2026_2026.md", "KKR-midtjylland-2026_2026.md", ".~lock.x#"):
        (folder / name).write_text("x")
    assert texts_strays(inbox, EHMJ, "kkr-midtjylland-2026", 2026) == [
        f"{EHMJ}/tekster/KKR-midtjylland-2026_2026.md"
    ]
    assert texts_strays(inbox, EHMJ, "kkr-midtjylland-2026", 2027) == []


def test_the_appendix_lists_a_stray_resembling_the_contracts_delivery_with_what_it_resembles(
    con, kkr, inbox: Path
) -> None:
    """The internal data-quality appendix lists the strays of the contract's folders and of those
    resembling its deliveries (a wrong-case organisation folder), not another's."""
    from resultatrapport.ingest import record_inbox
    from resultatrapport.report import content, quality

    for relpath in (
        "Erhvervshus_Midtjylland/crm/vejledningsforloeb_2026.csv",
        "viborgegnens-erhvervsraad/tid/timer.csv",  # another organisation's
        "manifest.json",
    ):
        (inbox / relpath).parent.mkdir(parents=True, exist_ok=True)
        (inbox / relpath).write_text("x")
    record_inbox(con, inbox)
    data = content.load(con, kkr, 2026)
    assert quality.appendix(data, report_name="x.pdf", data_hash="0")["strays"] == [
        f"Erhvervshus_Midtjylland/crm/vejledningsforloeb_2026.csv (ligner {CRM})",
        "manifest.json",
    ]


def test_the_reader_takes_a_delivery_only_under_its_exact_name(inbox: Path) -> None:
    """What the reader opens is what the classifier calls the delivery: on a file system that
    ignores case, ``root / relpath`` would open ``Erhvervshus-Midtjylland/crm/…`` as well,
    a stray the inventory lists (this machine's file system tells the names apart anyway)."""
    from resultatrapport.inventory import listed

    wrong = inbox / "Erhvervshus-Midtjylland" / "crm" / "vejledningsforloeb_2026.csv"
    wrong.parent.mkdir(parents=True)
    wrong.write_text("x")
    assert not listed(inbox, CRM) and not listed(inbox / "nowhere", CRM)
    (inbox / CRM).parent.mkdir(parents=True)
    (inbox / CRM).write_text("x")
    assert listed(inbox, CRM)
    assert [s.relpath for s in unrecognised_files(inbox)] == [wrong.relative_to(inbox).as_posix()]
