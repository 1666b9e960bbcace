"""No hidden process state: importing the code location reads nothing, --inbox reaches the
runs as a resource and not through os.environ, the CLI's Dagster instance is opened from its
folder, and a GX validation leaves GX's module constants as it found them."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from great_expectations.execution_engine import pandas_execution_engine

from commands import cli
from commands.instance import ensure_dagster_home, open_instance
from resultatrapport.formats import FORMATS
from resultatrapport.gx import validate
from resultatrapport.ingest import stage, staged_frame
from tests.helpers import crm_row, write_crm

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_code_location_reads_no_contract_and_no_setting():
    env = {
        **os.environ,
        "RESULTATRAPPORT_CONTRACTS": "/nonexistent",
        "RESULTATRAPPORT_AUTOMATION": "neither",
    }
    code = "import pipelines.definitions as d; print(type(d.defs).__name__)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "LazyDefinitions"


def test_the_inbox_of_the_command_line_is_the_runs_resource_not_the_environment(tmp_path):
    before = dict(os.environ)
    args = argparse.Namespace(inbox=str(tmp_path / "elsewhere"))
    defs = cli._definitions(args)
    assert dict(os.environ) == before
    inbox = defs.resources["inbox"]
    assert inbox.root == (tmp_path / "elsewhere").resolve()


def test_the_cli_opens_its_instance_from_its_folder_without_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("DAGSTER_HOME")
    monkeypatch.setenv("RESULTATRAPPORT_HOME", str(tmp_path))
    home = ensure_dagster_home()
    assert "DAGSTER_HOME" not in os.environ
    assert (home / "dagster.yaml").is_file()
    with open_instance() as instance:
        assert Path(instance.root_directory) == home


def test_a_validation_leaves_gx_as_it_found_it(con, tmp_path):
    threshold = pandas_execution_engine.HASH_THRESHOLD
    fmt = FORMATS["crm_cases"]
    write_crm(tmp_path / "inbox", [crm_row(1)])
    stage(con, fmt, tmp_path / "inbox", 2026, "erhvervshus-midtjylland")
    outcomes = validate(fmt, staged_frame(con, fmt, 2026), 2026)
    assert outcomes and all(o.success for o in outcomes)
    assert threshold == pandas_execution_engine.HASH_THRESHOLD
