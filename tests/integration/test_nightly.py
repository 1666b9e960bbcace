"""A nightly run does only what changed (issue 28): `resultatrapport run` again on the same
inbox reads no delivery, validates nothing, computes no KPI or budget and draws no draft, and
says so; after one delivery changed (an answer of the survey) only that delivery is read and
validated, only the KPIs reading it are computed, and the draft is drawn again. The
schedules and sensors ask for as little: nothing when nothing is new, that delivery's path
when it changed."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import openpyxl
import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    RunsFilter,
    build_run_status_sensor_context,
    build_schedule_context,
)

from assets.common import UNCHANGED
from commands.cli import main
from pipelines import automation
from pipelines.definitions import build_definitions
from resultatrapport import file_hashes
from resultatrapport.contracts import Contract
from resultatrapport.vocabulary import TZ
from tests.integration.test_pipeline_report import Env

pytestmark = pytest.mark.slow
KKR = "kkr-midtjylland-2026"
SURVEY = "erhvervshus-midtjylland/survey/brugerevaluering_2026.xlsx"


def run(env: Env, monkeypatch, capsys) -> str:
    env.use(monkeypatch)
    capsys.readouterr()
    code = main(["run", "--contract", KKR, "--year", "2026"])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def state(env: Env) -> dict[str, dict[tuple, object]]:
    """When each delivery was read, each check decided, each KPI computed and the draft
    drawn, by partition."""
    with duckdb.connect(str(env.root / "warehouse.duckdb"), read_only=True) as con:
        tables = {
            "read": "SELECT source, org, year, read_at FROM ingest.deliveries",
            "checked": "SELECT source, org, year, check_name, checked_at FROM ingest.checks",
            "computed": "SELECT kpi_id, year, computed_at FROM kpi.results",
            "budgeted": "SELECT year, max(computed_at) FROM kpi.budget GROUP BY year",
            "drawn": "SELECT year, [rendered_at::VARCHAR, pdf_sha256] FROM report.drafts",
        }
        return {
            name: {row[:-1]: row[-1] for row in con.execute(sql).fetchall()}
            for name, sql in tables.items()
        }


def changed(before: dict, after: dict) -> dict[str, set[tuple]]:
    return {name: {k for k in after[name] if before[name].get(k) != after[name][k]}
            for name in after}  # fmt: skip


def ingestion_materialisations(env: Env) -> dict[str, dict]:
    """The raw assets' materialisations of the latest ingestion run: key -> metadata."""
    with DagsterInstance.from_config(str(env.root / "dagster_home")) as instance:
        [latest] = instance.get_runs(RunsFilter(job_name="ingest_kkr_midtjylland_2026"), limit=1)
        records = instance.all_logs(latest.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    found = {}
    for record in records:
        mat = record.get_dagster_event().step_materialization_data.materialization
        if mat.asset_key.path[0] == "raw":
            found[mat.asset_key.to_user_string()] = dict(mat.metadata)
            # a run of one year: the file's SHA-256 is the partition's data version
            assert mat.tags["dagster/data_version"] == (mat.metadata["sha256"].value or "ingen fil")
    return found


@contextmanager
def files_opened(monkeypatch, inbox: Path) -> Iterator[list[str]]:
    """The inbox files Python opens meanwhile (``io.open``, which ``Path.open`` and
    ``Path.read_bytes`` call), as paths in the inbox."""
    opened: list[str] = []
    real, root = io.open, inbox.resolve()

    def watching(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(file, (str, os.PathLike)) and Path(file).resolve().is_relative_to(root):
            opened.append(Path(file).resolve().relative_to(root).as_posix())
        return real(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", watching)
    try:
        yield opened
    finally:
        monkeypatch.setattr(io, "open", real)


def nightly_tick(defs) -> tuple[set[str] | None, str]:
    """What the nightly schedule asks for at 02:00 in 2026: the assets of its run (None: no
    run), and why not."""
    repo = defs.get_repository_def()
    when = dt.datetime(2026, 12, 8, 2, 0, tzinfo=TZ)
    context = build_schedule_context(scheduled_execution_time=when, repository_def=repo)
    result = repo.get_schedule_def("nightly_refresh").evaluate_tick(context)
    if not result.run_requests:
        return None, result.skip_message or ""
    [request] = result.run_requests
    assert request.partition_key == "2026"
    return {k.to_user_string() for k in request.asset_selection}, ""


def after_ingestion(defs, env: Env) -> list[tuple[str, str | None]]:
    """The contract runs the cascade sensor asks for after the latest ingestion run: (job,
    partition)."""
    sensor = defs.get_repository_def().get_sensor_def("contracts_after_ingestion")
    with DagsterInstance.from_config(str(env.root / "dagster_home")) as instance:
        [latest] = instance.get_runs(RunsFilter(job_name="ingest_kkr_midtjylland_2026"), limit=1)
        [success] = instance.all_logs(latest.run_id, of_type=DagsterEventType.RUN_SUCCESS)
        context = build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_instance=instance,
            dagster_run=latest,
            dagster_event=success.get_dagster_event(),
        )
        asked = sensor(context)
    return [(r.job_name, r.partition_key) for r in asked] if isinstance(asked, list) else []


def test_a_second_run_does_nothing_again_and_a_changed_delivery_only_what_reads_it(
    tmp_path_factory, sample_inbox, monkeypatch, capsys, kkr: Contract
):
    root = tmp_path_factory.mktemp("nightly")
    shutil.copytree(sample_inbox(range(2020, 2028), 0.05, 9), root / "inbox")  # changed below
    env = Env(root, root / "inbox")
    run(env, monkeypatch, capsys)
    draft = env.year_dir(KKR, 2026) / f"aarsrapport_{KKR}_2026_udkast.pdf"
    first, pdf, mtime = state(env), draft.read_bytes(), draft.stat().st_mtime_ns

    # nothing new in the inbox: nothing read, validated, computed or drawn; not even read to
    # hash it (the hash cache, resultatrapport/file_hashes.py): the owner's texts file alone
    # is opened, to be parsed
    hashed = file_hashes.HASHED.files
    with files_opened(monkeypatch, env.inbox) as opened:
        out = run(env, monkeypatch, capsys)
    assert file_hashes.HASHED.files == hashed
    assert opened and all(f.endswith(".md") for f in opened), opened
    assert changed(first, state(env)) == {"read": set(), "checked": set(), "computed": set(),
                                          "budgeted": set(), "drawn": set()}  # fmt: skip
    assert draft.read_bytes() == pdf and draft.stat().st_mtime_ns == mtime
    raw = ingestion_materialisations(env)
    assert len(raw) >= 6 and all(UNCHANGED in m for m in raw.values()), raw
    assert "Uændret siden" in out and "6 leverancer" in out
    assert "16 KPI'er, budgettet, udkastet" in out
    # and the automation asks for no run: the nightly schedule finds nothing new, the cascade
    # after an ingestion run that read nothing anew finds every report standing
    monkeypatch.setattr(automation, "this_year", lambda: 2026)
    defs = build_definitions()
    with files_opened(monkeypatch, env.inbox) as opened:
        selected, why = nightly_tick(defs)
    assert selected is None and why.startswith("Nothing new for 2026"), why
    assert file_hashes.HASHED.files == hashed and all(f.endswith(".md") for f in opened)
    assert after_ingestion(defs, env) == []

    # one answer of the 2026 survey changed
    path = env.inbox / SURVEY
    book = openpyxl.load_workbook(path)
    sheet = book["Besvarelser"]
    column = [c.value for c in sheet[1]].index("Anbefaling (0-10)") + 1
    cell = next(
        sheet.cell(r, column) for r in range(2, sheet.max_row + 1)
        if isinstance(sheet.cell(r, column).value, int)
    )  # fmt: skip
    cell.value = 10 if cell.value != 10 else 9
    book.save(path)
    # the nightly schedule ingests that delivery alone
    selected, _ = nightly_tick(defs)
    survey = f"{kkr.organisation.slug.replace('-', '_')}/survey_answers"
    assert selected == {f"raw/{survey}", f"ingest/{survey}"}
    second = state(env)
    run(env, monkeypatch, capsys)
    # and the cascade then builds the report of 2026 (the only contract year reading it)
    assert after_ingestion(defs, env) == [("contract_kkr_midtjylland_2026", "2026")]
    now = changed(second, state(env))
    org = kkr.organisation.slug
    assert now["read"] == {("survey_answers", org, 2026)}
    assert {k[:3] for k in now["checked"]} == {("survey_answers", org, 2026)}
    reading = {k.id for k in kkr.kpis if "survey_answers" in k.sources}
    assert now["computed"] == {(kpi_id, 2026) for kpi_id in reading}
    assert now["budgeted"] == set()  # the budget reads the population, not the survey
    assert now["drawn"] == {(2026,)} and draft.read_bytes() != pdf
    raw = ingestion_materialisations(env)
    assert [k for k, m in raw.items() if UNCHANGED not in m] == [
        "raw/erhvervshus_midtjylland/survey_answers"
    ]
