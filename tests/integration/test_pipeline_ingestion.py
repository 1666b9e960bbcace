"""Integration: generated inbox -> the real asset graph through Dagster -> warehouse.

The runs of KKR 2026 and Viborg 2022 are made once for the module (``ran``): the tests that
read their warehouse share it, the tests that go on from the KKR run work on a copy."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from commands.cli import main
from resultatrapport.settings import PROJECT_ROOT
from tests.helpers import copy_state

pytestmark = pytest.mark.slow
KKR = "kkr-midtjylland-2026"
VER = "viborg-ver-2020"


@pytest.fixture(scope="module")
def inbox(sample_inbox) -> Path:
    return sample_inbox(range(2020, 2028), 0.1, 7)


class Ran:
    """The module's runs: ``kkr`` the state after ``run`` KKR 2026 (and what it printed),
    ``both`` after ``run`` Viborg 2022 on top of it."""

    def __init__(self, root: Path) -> None:
        self.kkr, self.both = root / "kkr", root / "both"
        self.printed = ""


@pytest.fixture(scope="module")
def ran(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    made = Ran(tmp_path_factory.mktemp("ran"))
    home = made.both / "dagster_home"
    home.mkdir(parents=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RESULTATRAPPORT_INBOX", str(inbox))
        mp.setenv("RESULTATRAPPORT_WAREHOUSE", str(made.both / "warehouse.duckdb"))
        mp.setenv("RESULTATRAPPORT_OUT", str(made.both / "out"))
        mp.setenv("DAGSTER_HOME", str(home))
        mp.chdir(made.both)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert run(inbox, KKR, 2026) == 0
        made.printed = printed.getvalue()
        made.kkr.mkdir()
        copy_state(made.both, made.kkr)
        assert run(inbox, VER, 2022) == 0
    return made


def manifest(inbox: Path) -> dict:
    return json.loads((inbox / "manifest.json").read_text(encoding="utf-8"))


def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)


def run(inbox: Path, contract: str, year: int) -> int:
    return main(["run", "--contract", contract, "--year", str(year), "--inbox", str(inbox)])


def test_a_year_is_ingested_and_bad_rows_are_quarantined_where_they_were_planted(inbox, ran):
    out = ran.printed
    assert "Run " in out and "(ingest_kkr_midtjylland_2026, 2021-2026):" in out  # one run
    assert "materialised ingest/erhvervshus_midtjylland/crm_cases" in out
    assert "check WARN raw/erhvervshus_midtjylland/crm_cases:rows_valid" in out
    con = warehouse(ran.kkr)
    files = {
        "erhvervshus-midtjylland/crm/vejledningsforloeb_2026.csv",
        "erhvervshus-midtjylland/survey/brugerevaluering_2026.xlsx",
        "register/cvr_virksomheder.csv",
    }
    planted = {(b["file"], b["line"]) for b in manifest(inbox)["bad_rows"] if b["file"] in files}
    found = set(
        con.execute("SELECT file, line FROM ingest.quarantine WHERE year = 2026").fetchall()
    )
    assert found == planted
    # nothing good was lost: every row read is either clean, quarantined or out of scope
    rows = dict(
        con.execute("SELECT source, rows_read FROM ingest.deliveries WHERE year = 2026").fetchall()
    )
    crm_clean = con.execute("SELECT count(*) FROM ingest.crm_cases WHERE year = 2026").fetchone()[0]
    crm_bad = con.execute(
        "SELECT count(DISTINCT line) FROM ingest.quarantine WHERE source = 'crm_cases' AND year = 2026"
    ).fetchone()[0]
    assert (
        crm_clean + crm_bad
        == rows["crm_cases"]
        == manifest(inbox)["files"]["erhvervshus-midtjylland/crm/vejledningsforloeb_2026.csv"][
            "rows"
        ]
    )
    # the awareness survey was not held in 2026: an empty partition, recorded as missing
    assert con.execute(
        "SELECT sha256, rows_read FROM ingest.deliveries WHERE source = 'awareness' AND year = 2026"
    ).fetchone() == (None, 0)


def test_no_personal_data_reaches_the_warehouse(inbox, ran):
    secrets = manifest(inbox)["personal_data"]  # after KKR 2026 and Viborg 2022
    con = warehouse(ran.both)
    text_columns = con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE data_type LIKE 'VARCHAR%'"
    ).fetchall()
    assert text_columns
    dump = []
    for schema, table, column in text_columns:
        dump += [
            str(v[0])
            for v in con.execute(
                f'SELECT DISTINCT "{column}"::VARCHAR FROM {schema}.{table}'
            ).fetchall()
        ]
    everything = "\n".join(dump)
    leaked = [s for s in secrets["cpr"] + secrets["emails"] if s in everything]
    assert leaked == []
    assert "@" not in everything


def test_cp1252_delivery_is_read_with_its_danish_letters(inbox, ran):
    assert (
        manifest(inbox)["files"]["viborgegnens-erhvervsraad/crm/vejledningsforloeb_2022.csv"][
            "encoding"
        ]
        == "cp1252"
    )
    areas = {  # of that file only (the warehouse holds the KKR run's deliveries too)
        r[0]
        for r in warehouse(ran.both)
        .execute(
            "SELECT DISTINCT focus_area FROM ingest.crm_cases "
            "WHERE org = 'viborgegnens-erhvervsraad' AND year = 2022"
        )
        .fetchall()
    }
    assert "Tiltrækning af investeringer" in areas


def test_duplicate_case_ids_block_the_partition_and_keep_the_previous_rows(inbox, ran, tmp_path):
    # the 2020 CRM file of the hub has duplicate case ids (planted): a blocking check fails
    copy_state(ran.kkr, tmp_path)  # after `run` KKR 2026
    from dagster import AssetKey, DagsterInstance

    from pipelines.definitions import build_definitions
    from resources import Inbox

    # the run's inbox is handed to the definitions (the CLI passes --inbox the same way)
    defs = build_definitions(inbox=Inbox(path=str(inbox)))

    with DagsterInstance.get() as instance:
        result = (
            defs.resolve_implicit_global_asset_job_def()
            .get_subset(
                asset_selection={
                    AssetKey(["raw", "erhvervshus_midtjylland", "crm_cases"]),
                    AssetKey(["ingest", "erhvervshus_midtjylland", "crm_cases"]),
                }
            )
            .execute_in_process(instance=instance, partition_key="2020", raise_on_error=False)
        )
    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["file_trustworthy"].passed
    assert "Forløbs-ID forekommer flere gange" in str(
        evaluations["file_trustworthy"].metadata["problems"].value
    )
    con = warehouse(tmp_path)
    assert con.execute("SELECT count(*) FROM ingest.crm_cases WHERE year = 2020").fetchone() == (0,)
    # nothing of an untrusted delivery is taken, raw rows included; its outcome is recorded
    # against the file itself
    assert con.execute("SELECT count(*) FROM raw.crm_cases WHERE year = 2020").fetchone() == (0,)
    assert con.execute(
        "SELECT passed, sha256 IS NOT NULL FROM ingest.checks WHERE year = 2020 "
        "AND source = 'crm_cases' AND check_name = 'file_trustworthy'"
    ).fetchall() == [(False, True)]


def test_a_changed_header_fails_with_its_location_and_keeps_the_good_data(
    inbox, ran, tmp_path, capsys
):
    copy = tmp_path / "inbox-copy"
    shutil.copytree(inbox, copy)
    copy_state(ran.kkr, tmp_path)  # after `run` KKR 2026
    con = warehouse(tmp_path)
    before = con.execute("SELECT count(*) FROM ingest.crm_cases WHERE year = 2026").fetchone()
    con.close()
    crm = copy / "erhvervshus-midtjylland/crm/vejledningsforloeb_2026.csv"
    crm.write_bytes(crm.read_bytes().replace(b"Kommunenr", b"Kommune", 1))
    capsys.readouterr()
    assert run(copy, KKR, 2026) == 1
    out = capsys.readouterr().out
    assert "FAILED step raw__erhvervshus_midtjylland__crm_cases" in out
    assert "vejledningsforloeb_2026.csv, linje 1, kolonne 'Kommune'" in out
    assert (
        warehouse(tmp_path)
        .execute("SELECT count(*) FROM ingest.crm_cases WHERE year = 2026")
        .fetchone()
        == before
    )


def test_year_outside_the_contract_is_refused(inbox, capsys):
    assert run(inbox, "viborg-ver-2020", 2026) == 2
    assert "uden for kontraktperioden" in capsys.readouterr().err
