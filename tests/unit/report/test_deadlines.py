"""Deadlines as data: each contract's reporting deadline is a rule giving a date per report
year, the cover prints it in Danish, and a year's deadline is judged on a given day (far,
near: a warning, overdue: an error, signed: done). No clock is read: every day is given."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb
import pytest

from resultatrapport.contracts import Contract, DueDate
from resultatrapport.report import deadlines
from resultatrapport.warehouse_schema import ensure_schema
from tests.unit.test_contracts import KKR, VER, _broken, _error

D = dt.date


# --- the rule: a date per contract and year ------------------------------------------------


@pytest.mark.parametrize(
    ("contract_id", "year", "due"),
    [
        (VER, 2020, D(2021, 1, 31)),
        (VER, 2021, D(2022, 1, 31)),  # "inden udgangen af januar" the year after
        (VER, 2023, D(2024, 1, 31)),
        (KKR, 2026, D(2027, 6, 30)),  # declared: the contract gives no date
        (KKR, 2027, D(2028, 6, 30)),
    ],
)
def test_each_contract_year_has_its_deadline_as_a_date(
    contracts: dict[str, Contract], contract_id: str, year: int, due: dt.date
) -> None:
    assert contracts[contract_id].deadline(year) == due


def test_kkr_declares_both_deadlines_and_marks_their_date_as_an_interpretation(
    kkr: Contract, ver: Contract
) -> None:
    found = {(d.title, tuple(d.to), on) for d, on in kkr.deadlines(2026)}
    assert found == {
        ("Endelig resultatopfyldelse", ("KKR Midtjylland",), D(2027, 6, 30)),
        ("Årlig afrapportering af resultatopfyldelse", ("KL", "Erhvervsstyrelsen"), D(2027, 6, 30)),
    }
    assert all(not d.date_in_contract and d.interpretation for d in kkr.reporting.deadlines)
    assert "opgøres efter årets afslutning" in kkr.reporting.deadlines[0].contract_text
    [viborg] = ver.reporting.deadlines
    assert viborg.date_in_contract and "inden udgangen af januar" in viborg.contract_text


def test_the_last_day_of_a_month_follows_the_calendar() -> None:
    february = DueDate(years_after=1, month=2)
    assert february.on(2023) == D(2024, 2, 29)  # leap year
    assert february.on(2024) == D(2025, 2, 28)
    assert DueDate(years_after=2, month=3, day=15).on(2026) == D(2028, 3, 15)


def _deadline(d: dict[str, Any], **change: Any) -> None:
    d["reporting"]["deadlines"][0].update(change)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"due": {"years_after": 1, "month": 2, "day": 29}}, "month 2 has no day 29 every year"),
        ({"due": {"years_after": 1, "month": 4, "day": 31}}, "month 4 has no day 31"),
        ({"due": {"years_after": 0, "month": 12}}, "years_after: Input should be greater than"),
        ({"to": ["Viborg Kommune", "KL"]}, "reporting.deadlines[0].to: 'KL' is not in"),
        ({"date_in_contract": False}, "a date the contract does not give needs an interpretation"),
    ],
)
def test_a_deadline_that_gives_no_sound_date_is_refused_naming_the_field(
    tmp_path, change: dict[str, Any], expected: str
) -> None:
    def mutate(d: dict[str, Any]) -> None:
        if change.get("date_in_contract") is False:
            d["reporting"]["deadlines"][0].pop("interpretation")
        _deadline(d, **change)

    assert expected in _error(_broken(tmp_path, mutate, VER))


def test_a_contract_without_a_deadline_is_refused(tmp_path) -> None:
    path = _broken(tmp_path, lambda d: d["reporting"].pop("deadlines"), VER)
    assert "reporting.deadlines: Field required" in _error(path)


# --- the cover ------------------------------------------------------------------------------


def test_the_cover_prints_each_deadline_as_a_danish_date(kkr: Contract, ver: Contract) -> None:
    [viborg] = deadlines.cover(ver, 2021)
    assert viborg["date"] == "31. januar 2022"
    assert viborg["what"] == "Årlig skriftlig afrapportering til Viborg Kommune"
    assert viborg["date_in_contract"] is True
    final, yearly = deadlines.cover(kkr, 2026)
    assert final["date"] == yearly["date"] == "30. juni 2027"
    assert yearly["what"].endswith("til KL og Erhvervsstyrelsen")
    assert final["date_in_contract"] is False and "kan opgøres" in str(final["contract_text"])


# --- judging a year on a given day ---------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "level", "said"),
    [
        (D(2021, 12, 31), "far", "der advares fra 17. januar 2022"),
        (D(2022, 1, 16), "far", "Fristen for årsrapporten for 2021 er 31. januar 2022"),
        (D(2022, 1, 17), "near", "fristen er 31. januar 2022, om 14 dage"),  # 14 days before
        (D(2022, 1, 30), "near", "om 1 dag"),
        (D(2022, 1, 31), "near", "31. januar 2022, i dag"),
        (D(2022, 2, 1), "overdue", "fristen er overskredet med 1 dag"),
        (D(2022, 2, 3), "overdue", "var 31. januar 2022"),
    ],
)
def test_an_unsigned_year_is_far_then_near_then_overdue(
    ver: Contract, today: dt.date, level: str, said: str
) -> None:
    judged = deadlines.judge(ver, 2021, signed=False, today=today)
    assert (judged.level, judged.deadline, judged.warn_from) == (
        level,
        D(2022, 1, 31),
        D(2022, 1, 17),
    )
    assert said in judged.message
    assert judged.passed == (level == "far")
    assert "Årlig skriftlig afrapportering til Viborg Kommune" in judged.message


def test_a_signed_year_passes_whenever_it_is_judged(ver: Contract) -> None:
    for today in (D(2021, 6, 1), D(2022, 1, 20), D(2030, 1, 1)):
        judged = deadlines.judge(ver, 2021, signed=True, today=today)
        assert judged.level == "signed" and judged.passed
        assert "er godkendt" in judged.message


def test_the_warning_window_is_the_contracts_setting(kkr: Contract) -> None:
    assert kkr.settings.deadline_warning_days == 14
    wider = kkr.model_copy(
        update={"settings": kkr.settings.model_copy(update={"deadline_warning_days": 30})}
    )
    assert deadlines.judge(kkr, 2026, False, D(2027, 6, 1)).level == "far"
    assert deadlines.judge(wider, 2026, False, D(2027, 6, 1)).level == "near"


def test_kkrs_two_deadlines_on_one_day_are_named_together(kkr: Contract) -> None:
    message = deadlines.judge(kkr, 2026, signed=False, today=D(2027, 7, 2)).message
    assert "Endelig resultatopfyldelse til KKR Midtjylland og Årlig afrapportering" in message
    assert "overskredet med 2 dage" in message


# --- whether a year is signed ----------------------------------------------------------------


def test_a_year_counts_as_signed_once_a_final_version_of_it_is_recorded(ver: Contract) -> None:
    con = duckdb.connect()
    ensure_schema(con)
    assert not deadlines.final_signed(con, ver, 2021)

    def signed(version: int, at: str) -> None:
        con.execute(
            "INSERT INTO report.signoffs (contract, year, version, signed_by, signed_at, "
            "data_hash, draft_sha256, files) VALUES ($c, 2021, $v, 'Ida Kontrolsen', "
            "CAST($at AS TIMESTAMP), 'd', 'p', $f)",
            {"c": ver.id, "v": version, "at": at, "f": json.dumps({})},
        )

    signed(1, "2021-12-20 10:00")  # during the year: preliminary figures
    assert not deadlines.final_signed(con, ver, 2021)
    signed(2, "2022-01-20 10:00")  # after the year's end, every delivery in
    assert deadlines.final_signed(con, ver, 2021)
    assert not deadlines.final_signed(con, ver, 2022)  # another year
    # a delivery of the year recorded as missing keeps a version signed after the year
    # preliminary
    con.execute(
        "INSERT INTO ingest.deliveries (source, org, year, file, sha256, rows_read, "
        "rows_rejected, read_at) VALUES ('crm_cases', 'viborgegnens-erhvervsraad', 2021, "
        "'vejledningsforloeb_2021.csv', NULL, 0, 0, now()::TIMESTAMP)"
    )
    assert not deadlines.final_signed(con, ver, 2021)
