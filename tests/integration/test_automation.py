"""Schedules and sensors decide which runs to request, for which files and dates."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest
from dagster import AssetKey, build_schedule_context, build_sensor_context

from pipelines import automation
from pipelines.automation import (
    TZ,
    affected_contract_years,
    inbox_requests,
    scan,
)
from resultatrapport.inventory import unrecognised_files
from tests.unit.test_inventory import DELIVERIES, ELSEWHERE, PASSED_OVER, STRAYS

KKR, VER = "kkr-midtjylland-2026", "viborg-ver-2020"


@pytest.fixture(scope="module")
def defs():
    from pipelines.definitions import build_definitions

    return build_definitions()


def keys(request) -> set[str]:
    return {k.to_user_string() for k in request.asset_selection}


# --- schedules ---------------------------------------------------------------------------


def schedule_request(defs, name: str, when: dt.datetime):
    repo = defs.get_repository_def()
    context = build_schedule_context(scheduled_execution_time=when, repository_def=repo)
    return repo.get_schedule_def(name).evaluate_tick(context)


def test_nightly_refresh_ingests_the_current_year_of_the_active_contracts(defs):
    result = schedule_request(defs, "nightly_refresh", dt.datetime(2026, 3, 5, 2, 0, tzinfo=TZ))
    [request] = result.run_requests
    assert request.partition_key == "2026"
    assert request.tags["contracts"] == KKR
    chosen = keys(request)
    assert "ingest/erhvervshus_midtjylland/crm_cases" in chosen
    assert "ingest/register/financials" in chosen
    assert not any("viborgegnens" in k for k in chosen)  # Viborg's contract ended in 2023
    schedule = defs.get_repository_def().get_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/Copenhagen"


def test_nightly_refresh_in_a_viborg_year_and_in_a_year_without_contracts(defs):
    [request] = schedule_request(
        defs, "nightly_refresh", dt.datetime(2022, 6, 1, 2, 0, tzinfo=TZ)
    ).run_requests
    assert request.tags["contracts"] == VER
    assert "ingest/viborgegnens_erhvervsraad/time_registration" in keys(request)
    skipped = schedule_request(defs, "nightly_refresh", dt.datetime(2025, 6, 1, 2, 0, tzinfo=TZ))
    assert not skipped.run_requests and "No contract is active in 2025" in skipped.skip_message


def test_january_builds_last_year_of_the_contracts_active_then(defs):
    [request] = schedule_request(
        defs, "january_final_drafts", dt.datetime(2027, 1, 2, 3, 0, tzinfo=TZ)
    ).run_requests
    assert (request.partition_key, request.tags["contracts"]) == ("2026", KKR)
    [request] = schedule_request(
        defs, "january_final_drafts", dt.datetime(2024, 1, 2, 3, 0, tzinfo=TZ)
    ).run_requests
    assert (request.partition_key, request.tags["contracts"]) == ("2023", VER)


# --- stopped on a laptop, running in production ------------------------------------------

AUTOMATION = {
    "nightly_refresh",
    "january_final_drafts",
    "inbox_sensor",
    "contracts_after_ingestion",
    "deadline_kkr_midtjylland_2026",
    "deadline_viborg_ver_2020",
}


def default_statuses(defs) -> dict[str, str]:
    repo = defs.get_repository_def()
    schedules = {s.name: s.default_status.value for s in repo.schedule_defs}
    return schedules | {s.name: s.default_status.value for s in repo.sensor_defs}


@pytest.mark.parametrize(("setting", "status"), [(None, "STOPPED"), ("stopped", "STOPPED"),
                                                 ("running", "RUNNING"), (" Running", "RUNNING")])  # fmt: skip
def test_schedules_and_sensors_run_by_themselves_only_where_the_setting_says_so(
    setting, status, monkeypatch
):
    from pipelines.definitions import build_definitions

    if setting is None:
        monkeypatch.delenv("RESULTATRAPPORT_AUTOMATION", raising=False)
    else:
        monkeypatch.setenv("RESULTATRAPPORT_AUTOMATION", setting)
    assert default_statuses(build_definitions()) == dict.fromkeys(AUTOMATION, status)


def test_a_misspelt_automation_setting_stops_the_code_location_with_the_choices(monkeypatch):
    from pipelines.definitions import build_definitions

    monkeypatch.setenv("RESULTATRAPPORT_AUTOMATION", "on")
    with pytest.raises(ValueError, match="running, stopped"):
        build_definitions()


def test_the_production_environment_sets_automation_running():
    from resultatrapport.settings import PROJECT_ROOT

    lines = (PROJECT_ROOT / "deploy/production.env").read_text().splitlines()
    assert "RESULTATRAPPORT_AUTOMATION=running" in lines


# --- the inbox sensor ---------------------------------------------------------------------


def test_a_year_less_register_is_the_current_years_delivery_to_the_sensor(contracts, tmp_path):
    (tmp_path / "inbox" / "register").mkdir(parents=True)
    (tmp_path / "inbox" / "register" / "cvr_virksomheder.csv").write_text("x")
    state, changed = scan(tmp_path / "inbox", {})
    [request], ignored = inbox_requests(contracts.values(), changed, 2026, state)
    assert request.partition_key == "2026" and not ignored


@pytest.fixture
def inbox(sample_inbox) -> Path:
    return sample_inbox(range(2020, 2028), 0.02, 1)  # read only (a test that writes copies it)


def request_years(request) -> list[int]:  # type: ignore[no-untyped-def]
    """The years a run request covers: its partition, or its range (one run)."""
    span = request.partition_key_range
    if span is None:
        return [int(request.partition_key)]
    return list(range(int(span.start), int(span.end) + 1))


def evaluate(defs, inbox: Path, cursor: str | None, monkeypatch):
    monkeypatch.setenv("RESULTATRAPPORT_INBOX", str(inbox))
    monkeypatch.setattr(automation, "this_year", lambda: 2026)
    repo = defs.get_repository_def()
    context = build_sensor_context(cursor=cursor, repository_def=repo)
    return repo.get_sensor_def("inbox_sensor").evaluate_tick(context)


def test_inbox_sensor_by_content_hash_with_a_cursor_that_survives_restarts(
    defs, inbox, monkeypatch, tmp_path
):
    inbox = Path(shutil.copytree(inbox, tmp_path / "inbox"))  # its files are touched below
    first = evaluate(defs, inbox, None, monkeypatch)
    by_year = {str(y): r for r in first.run_requests for y in request_years(r)}
    assert sorted(by_year) == [str(y) for y in range(2020, 2027)]  # 2027 is not a partition yet
    # a whole inbox of years: consecutive years with the same deliveries in one run each
    assert len(first.run_requests) < len(by_year)
    assert sum(len(request_years(r)) for r in first.run_requests) == len(by_year)
    assert "ingest/register/cvr_firms" in keys(by_year["2026"])  # year-less: the current year
    # nothing changed: nothing to do (a new sensor context with the stored cursor, as after a
    # restart of the daemon)
    again = evaluate(defs, inbox, first.cursor, monkeypatch)
    assert not again.run_requests
    # touched but unchanged: nothing to do
    crm = inbox / "viborgegnens-erhvervsraad/crm/vejledningsforloeb_2022.csv"
    os.utime(crm, ns=(crm.stat().st_atime_ns, crm.stat().st_mtime_ns + 10_000_000_000))
    touched = evaluate(defs, inbox, again.cursor, monkeypatch)
    assert not touched.run_requests
    assert (
        json.loads(touched.cursor)[crm.relative_to(inbox).as_posix()][1] == crm.stat().st_mtime_ns
    )
    # replaced by a corrected delivery: exactly that partition's assets, once
    lines = crm.read_bytes().splitlines(keepends=True)
    crm.write_bytes(b"".join(lines[:-3]))
    changed = evaluate(defs, inbox, touched.cursor, monkeypatch)
    [request] = changed.run_requests
    assert request.partition_key == "2022"
    assert keys(request) == {
        "raw/viborgegnens_erhvervsraad/crm_cases",
        "ingest/viborgegnens_erhvervsraad/crm_cases",
    }
    assert not evaluate(defs, inbox, changed.cursor, monkeypatch).run_requests


def test_the_sensor_sees_a_rewrite_of_the_same_size_with_the_old_mtime_restored(tmp_path):
    """Size and mtime alone missed it (the cursor kept the old hash): the file's status-change
    time, which no user can set back, is in what decides whether to hash it again."""
    crm = tmp_path / "inbox" / "viborgegnens-erhvervsraad/crm/vejledningsforloeb_2022.csv"
    crm.parent.mkdir(parents=True)
    crm.write_bytes(b"a;b\n1;2\n")
    state, changed = scan(tmp_path / "inbox", {})
    old = crm.stat()
    crm.write_bytes(b"a;b\n1;3\n")
    os.utime(crm, ns=(old.st_atime_ns, old.st_mtime_ns))
    _, changed = scan(tmp_path / "inbox", state)
    assert changed == ["viborgegnens-erhvervsraad/crm/vejledningsforloeb_2022.csv"]


def test_a_file_the_warehouse_already_holds_is_not_ingested_again(contracts, inbox):
    state, _ = scan(inbox, {})
    crm = "viborgegnens-erhvervsraad/crm/vejledningsforloeb_2022.csv"
    held = {("crm_cases", "viborgegnens-erhvervsraad", 2022): state[crm][2]}
    requests, ignored = inbox_requests(contracts.values(), [crm], 2026, state, held)
    assert not requests and ignored == [f"{crm}: already ingested with this content"]
    requests, _ = inbox_requests(contracts.values(), [crm], 2026, state, {})
    assert [r.partition_key for r in requests] == ["2022"]


def test_files_nobody_reads_or_outside_the_partitions_are_ignored_with_a_reason(
    contracts, tmp_path
):
    inbox = tmp_path / "inbox"
    (inbox / "register").mkdir(parents=True)
    (inbox / "register" / "readme.txt").write_text("x")
    (inbox / "erst").mkdir()
    (inbox / "erst" / "kendskabsmaaling_2019.csv").write_text("x")
    state, changed = scan(inbox, {})
    requests, ignored = inbox_requests(contracts.values(), changed, 2026, state)
    assert not requests
    assert "register/readme.txt: not a delivery of sources.md" in ignored
    assert (  # the year is before the first partition: said as the appendix says it
        "erst/kendskabsmaaling_2019.csv: not a delivery of sources.md (året 2019 ligger før "
        "2020, det første år, der rapporteres)" in ignored
    )


# every path of the classifier's tables (tests/unit/test_inventory.py); the first stray is the
# issue's example the two used to disagree on: the sensor ignored it as no delivery, the
# inventory did not list it (org '[^/]+' there, '[a-z0-9][a-z0-9-]*' here)
PATHS = [*(str(p.values[0]) for p in (*DELIVERIES, *STRAYS, *ELSEWHERE)), *PASSED_OVER]


@pytest.mark.parametrize("relpath", PATHS)
def test_the_sensor_and_the_inventory_classify_a_path_alike(relpath, contracts, tmp_path):
    """What the run summary and the appendix list as no delivery, the sensor ignores as no
    delivery, saying what it resembles; what it takes as a delivery nobody lists; a hidden
    file neither sees."""
    inbox = tmp_path / "inbox"
    (inbox / relpath).parent.mkdir(parents=True)
    (inbox / relpath).write_text("x")
    listed = unrecognised_files(inbox)
    state, changed = scan(inbox, {})
    _, ignored = inbox_requests(contracts.values(), changed, 2026, state)
    not_delivery = [i for i in ignored if i.startswith(f"{relpath}: not a delivery")]
    if relpath in PASSED_OVER:
        assert not listed and not changed
    elif listed:
        [stray] = listed
        assert changed == [relpath]
        assert not_delivery == [
            f"{relpath}: not a delivery of sources.md" + (f" ({stray.why})" if stray.why else "")
        ]
    else:
        assert changed == [relpath] and not not_delivery, ignored


# --- from ingestion to the contract years -------------------------------------------------


def test_an_ingested_year_reaches_exactly_the_contract_years_that_read_it(contracts):
    all_ = contracts.values()
    financials = {("financials", None)}
    # the effect KPIs of 2026 follow firms back to 2021; the 2027 year is not built yet
    assert [(c.id, y) for c, y in affected_contract_years(all_, financials, [2021], 2026)] == [
        (KKR, 2026)
    ]
    assert affected_contract_years(all_, financials, [2020], 2026) == []
    crm_ver = {("crm_cases", "viborgegnens-erhvervsraad")}
    assert [(c.id, y) for c, y in affected_contract_years(all_, crm_ver, [2021, 2022], 2026)] == [
        (VER, 2021),
        (VER, 2022),
    ]
    population = {("population", None)}
    got = [(c.id, y) for c, y in affected_contract_years(all_, population, [2026], 2026)]
    assert got == [(KKR, 2026)]


def test_the_cascade_sensor_requests_the_contract_job_after_a_real_ingestion_run(
    defs, inbox, monkeypatch, tmp_path
):
    from dagster import DagsterInstance, DagsterRunStatus, build_run_status_sensor_context

    monkeypatch.setenv("RESULTATRAPPORT_INBOX", str(inbox))
    monkeypatch.setattr(automation, "this_year", lambda: 2026)
    with DagsterInstance.get() as instance:
        job = defs.resolve_job_def("ingest_all")
        result = job.get_subset(
            asset_selection={
                AssetKey(["raw", "viborgegnens_erhvervsraad", "crm_cases"]),
                AssetKey(["ingest", "viborgegnens_erhvervsraad", "crm_cases"]),
            }
        ).execute_in_process(  # two years in one run
            instance=instance,
            tags={automation.RANGE_START_TAG: "2021", automation.RANGE_END_TAG: "2022"},
        )
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        sensor = defs.get_repository_def().get_sensor_def("contracts_after_ingestion")
        context = build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=result.get_run_success_event(),
        )
        requests = list(sensor(context))
    # the contract's two years in one run of its job, as the backfill builds them
    assert [(r.job_name, request_years(r)) for r in requests] == [
        ("contract_viborg_ver_2020", [2021, 2022])
    ]
    assert run.status == DagsterRunStatus.SUCCESS
