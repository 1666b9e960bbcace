"""The reporting deadline as an alert, through Dagster: the job ``deadline_<contract>`` runs the
check ``report/<contract>/signed:deadline`` alone, judging every contract year on the day of
the ``clock`` resource (frozen here through the run config). Far from the deadline the year
has no result (skipped), within the warning window it warns, after the deadline it fails
(ERROR) and so does the run, which is what alerting sees; a signed year passes (with a real
sign-off: ``tests/integration/test_signoff_integrity.py``). The daily schedule launches it
once a year's warning window has opened."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest
from dagster import AssetCheckSeverity, DagsterInstance, RunRequest, SkipReason

from pipelines import automation
from resultatrapport.contracts import Contract
from resultatrapport.vocabulary import TZ

VER = "viborg-ver-2020"
JOB = "deadline_viborg_ver_2020"


def run_check(today: str) -> Any:
    """The deadline job run as of ``today`` on the instance and warehouse of the environment."""
    from pipelines.definitions import build_definitions

    job = build_definitions().resolve_job_def(JOB)
    config = {"resources": {"clock": {"config": {"today": today}}}}
    with DagsterInstance.get() as instance:
        return job.execute_in_process(instance=instance, run_config=config, raise_on_error=False)


def judged(result: Any) -> dict[str, tuple[bool, AssetCheckSeverity, str]]:
    """Each evaluated year: (passed, severity, description)."""
    return {
        e.partition: (e.passed, e.severity, e.description)
        for e in result.get_asset_check_evaluations()
        if e.check_name == "deadline"
    }


def test_far_from_the_first_deadline_no_year_is_judged_and_the_run_succeeds():
    result = run_check("2020-12-01")
    assert result.success
    assert judged(result) == {}  # skipped: neither passed nor failed


def test_inside_the_warning_window_the_year_warns_and_the_run_succeeds():
    result = run_check("2021-01-20")
    assert result.success  # a warning is no failure
    assert judged(result) == {
        "2020": (
            False,
            AssetCheckSeverity.WARN,
            "Årsrapporten for 2020 har ingen godkendt endelig version, og fristen er "
            "31. januar 2021, om 11 dage (Årlig skriftlig afrapportering til Viborg Kommune).",
        )
    }


def test_after_the_deadline_the_year_fails_and_so_does_the_run():
    result = run_check("2022-01-20")
    assert not result.success  # the run failure is what an instance's alerting sees
    found = judged(result)
    assert set(found) == {"2020", "2021"}  # 2022's window has not opened
    passed, severity, message = found["2020"]
    assert (passed, severity) == (False, AssetCheckSeverity.ERROR)
    assert "var 31. januar 2021" in message and "overskredet med 354 dage" in message
    assert found["2021"][:2] == (False, AssetCheckSeverity.WARN)
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "blocking asset check" in failure.step_failure_data.error.message


def test_a_signed_year_passes_while_an_unsigned_one_stays_overdue(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    run_check("2020-12-01")  # the warehouse is made with its tables
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "INSERT INTO report.signoffs (contract, year, version, signed_by, signed_at, "
            "data_hash, draft_sha256, files) VALUES ($c, 2021, 1, 'Ida Kontrolsen', "
            "TIMESTAMP '2022-01-25 10:00', 'd', 'p', '{}')",
            {"c": VER},
        )
    found = judged(run_check("2022-02-03"))
    assert found["2021"][:2] == (True, AssetCheckSeverity.WARN)
    assert "Årsrapporten for 2021 er godkendt" in found["2021"][2]
    assert found["2020"][:2] == (False, AssetCheckSeverity.ERROR)


def test_without_a_frozen_date_the_check_judges_today_in_copenhagen():
    from resources import Clock

    today = dt.datetime.now(TZ).date()
    assert Clock().date() == today
    assert Clock(today="2022-01-20").date() == dt.date(2022, 1, 20)


# --- the daily schedule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "years"),
    [
        ("2021-01-16", []),
        ("2021-01-17", [2020]),  # 14 days before 31 January 2021
        ("2022-01-17", [2020, 2021]),
        ("2030-01-01", [2020, 2021, 2022, 2023]),
    ],
)
def test_the_schedule_runs_the_check_once_a_warning_window_has_opened(
    ver: Contract, today: str, years: list[int]
):
    day = dt.date.fromisoformat(today)
    assert automation.deadline_years(ver, day) == years
    request = automation.deadline_request(ver, day)
    if years:
        assert isinstance(request, RunRequest) and request.run_key == today
        assert request.partition_key is None  # one run judges every year
    else:
        assert isinstance(request, SkipReason)


def test_the_schedule_ticks_daily_in_copenhagen_and_requests_the_deadline_job():
    from dagster import build_schedule_context

    from pipelines.definitions import build_definitions

    defs = build_definitions()
    schedule = defs.resolve_schedule_def(JOB)
    assert (schedule.cron_schedule, schedule.execution_timezone) == (
        "0 7 * * *",
        "Europe/Copenhagen",
    )
    assert schedule.job_name == JOB
    when = dt.datetime(2022, 1, 20, 7, 0, tzinfo=TZ)
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(instance=instance, scheduled_execution_time=when)
        [request] = schedule.evaluate_tick(context).run_requests or []
    assert request.run_key == "2022-01-20"
