"""A broken contract file stops only what is about its own contract: loading collects one
located Danish line per broken file and keeps the valid contracts, commands about another
contract warn and go on, a command about the broken one exits 2 with that line (no
traceback), and the Dagster definitions are built from the valid contracts."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from resultatrapport.contracts import (
    ContractError,
    ContractWarning,
    contracts_dir,
    load_contract_folder,
    load_contracts,
)
from resultatrapport.settings import PROJECT_ROOT

KKR = "kkr-midtjylland-2026"
VER = "viborg-ver-2020"
LONG = "x" * 500  # a long value in a broken file, never echoed whole
OPERATOR_LINE = (
    f"kontrakter/{KKR}.yaml: kpis[3].targets.2026.operator: "
    "skal være en af '>=', '>', '<=' eller '±' (KPI M3)"
)


def _write(folder: Path, contract: str, mutate: Callable[[dict[str, Any]], Any]) -> Path:
    data = copy.deepcopy(
        yaml.safe_load((contracts_dir() / f"{contract}.yaml").read_text(encoding="utf-8"))
    )
    mutate(data)
    path = folder / f"{contract}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """kontrakter/ in the working directory: VER valid, KKR with a bad operator (a long
    value), and a file that is no YAML; the contract folder of every command."""
    folder = tmp_path / "kontrakter"
    folder.mkdir()
    _write(folder, VER, lambda d: None)
    _write(folder, KKR, lambda d: d["kpis"][3]["targets"][2026].update(operator=LONG))
    (folder / "udkast.yaml").write_text("id: udkast\ntitle: [Udkast\nperiod: 2026\n", "utf-8")
    monkeypatch.setenv("RESULTATRAPPORT_CONTRACTS", str(folder))
    return folder


def test_loading_keeps_the_valid_contracts_and_one_danish_line_per_broken_file(folder):
    loaded = load_contract_folder()
    assert list(loaded.contracts) == [VER]
    assert loaded.broken == {
        KKR: OPERATOR_LINE,
        "udkast": "kontrakter/udkast.yaml, linje 3, kolonne 7: ugyldig YAML "
        "(expected ',' or ']', but got ':')",
    }
    # the full error (every field, as before) stays on the exception
    assert "Input should be '>=', '>', '<=' or '±'" in str(loaded.errors[KKR])


def test_load_contracts_still_refuses_a_folder_with_a_broken_file(folder):
    with pytest.raises(ContractError, match=r"kpis\[3\]\.targets\.2026\.operator: Input should"):
        load_contracts()


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["kpis"][2].update(report_section=LONG),
            "kpis[2].report_section: strider mod kontraktens regler "
            "('xxxxxxxxxxxxxxxxxxx…' is not in report_sections (KPI M2))",
        ),
        (lambda d: d.update(id=LONG), "id: " + "x" * 39 + "… skal være filnavnet " + KKR),
        (
            lambda d: (d.pop("title"), d["settings"].update(suppression_threshold=0)),
            "title: mangler (og 1 fejl mere)",
        ),
        (
            lambda d: d["kpis"][0]["params"].update(postive={"knows_hub": [True]}),
            "kpis[0].params.postive: er ikke et kendt felt (KPI M1)",
        ),
    ],
)
def test_the_line_names_the_field_and_never_a_long_value(tmp_path, mutate, expected):
    _write(tmp_path, KKR, mutate)
    line = load_contract_folder(tmp_path).broken[KKR]
    assert line == f"{KKR}.yaml: {expected}"  # the file, relative to the working directory
    assert "\n" not in line and "x" * 41 not in line


def test_a_key_given_twice_names_its_line(tmp_path):
    (tmp_path / "dobbelt.yaml").write_text("id: dobbelt\ntitle: a\ntitle: b\n", "utf-8")
    assert load_contract_folder(tmp_path).broken == {
        "dobbelt": "dobbelt.yaml, linje 3, kolonne 1: nøglen title står to gange"
    }


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["ingest", "--contract", KKR, "--years", "2026"],
        ["run", "--contract", KKR, "--year", "2026"],
        ["backfill", "--contract", KKR, "--years", "2026-2027"],
    ],
)
def test_a_command_about_the_broken_contract_exits_2_with_its_line(folder, capsys, command):
    from commands.cli import main

    assert main(command) == 2
    assert capsys.readouterr().err == f"Kontrakten {KKR} kan ikke bruges: {OPERATOR_LINE}\n"


def test_a_command_about_another_contract_warns_of_the_broken_files(folder, capsys):
    from commands.cli import _contract

    contract = _contract(VER, [2020])
    assert contract is not None and contract.id == VER
    assert capsys.readouterr().err.splitlines() == [
        f"Advarsel: {OPERATOR_LINE} – kontrakten springes over",
        "Advarsel: kontrakter/udkast.yaml, linje 3, kolonne 7: ugyldig YAML "
        "(expected ',' or ']', but got ':') – kontrakten springes over",
    ]


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, as a person runs it (the definitions are built
    from the folder of the environment when the process imports them)."""
    return subprocess.run(
        [sys.executable, "-m", "commands.cli", *args],
        env={**os.environ},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_no_traceback_from_the_command_line(folder, tmp_path):
    done = _cli(tmp_path, "ingest", "--contract", KKR, "--years", "2026")
    assert done.returncode == 2
    assert done.stderr == f"Kontrakten {KKR} kan ikke bruges: {OPERATOR_LINE}\n"


@pytest.mark.slow
def test_ingesting_another_contract_runs_with_one_warning_per_broken_file(folder, tmp_path):
    from resultatrapport.sample.generate import generate_inbox

    generate_inbox(Path(os.environ["RESULTATRAPPORT_INBOX"]), [2020], scale=0.01, seed=2)
    done = _cli(tmp_path, "ingest", "--contract", VER, "--years", "2020")
    assert done.returncode == 0, done.stdout + done.stderr
    warned = [line for line in done.stderr.splitlines() if "kontrakter/" in line]
    assert warned == [
        f"Advarsel: {OPERATOR_LINE} – kontrakten springes over",
        "Advarsel: kontrakter/udkast.yaml, linje 3, kolonne 7: ugyldig YAML "
        "(expected ',' or ']', but got ':') – kontrakten springes over",
    ]
    assert "Traceback" not in done.stderr and "materialised" in done.stdout


# --- the Dagster definitions -----------------------------------------------------------------


def test_the_definitions_hold_the_valid_contracts_and_report_the_broken(folder):
    from pipelines.definitions import build_definitions

    with pytest.warns(ContractWarning) as warned:
        defs = build_definitions(folder)
    assert sorted(str(w.message) for w in warned if w.category is ContractWarning) == [
        f"{OPERATOR_LINE} – kontrakten er udeladt af Dagster-definitionerne",
        "kontrakter/udkast.yaml, linje 3, kolonne 7: ugyldig YAML "
        "(expected ',' or ']', but got ':') – kontrakten er udeladt af Dagster-definitionerne",
    ]
    jobs = {job.name for job in defs.jobs or []}  # type: ignore[union-attr]
    assert "contract_viborg_ver_2020" in jobs
    assert not any("kkr" in name for name in jobs)
    assert set(defs.metadata["broken_contracts"].value) == {KKR, "udkast"}  # type: ignore[union-attr]


def test_without_a_valid_contract_the_definitions_fail_with_every_file(folder):
    from pipelines.definitions import build_definitions

    (folder / f"{VER}.yaml").unlink()
    with pytest.warns(ContractWarning), pytest.raises(ContractError) as err:
        build_definitions(folder)
    assert err.value.summary.startswith("ingen gyldig kontraktfil: ")
    assert KKR in err.value.summary and "udkast.yaml" in err.value.summary


def test_the_project_contracts_are_valid():
    loaded = load_contract_folder(PROJECT_ROOT / "contracts")
    assert loaded.broken == {} and set(loaded.contracts) == {KKR, VER}
