"""An installed wheel works without the checkout: the contracts, the report templates and
dagster.yaml come with it as package data, the code location imports, the command line
runs, and the code version names the revision the wheel was built from (no ``.git``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import os
import pipelines.definitions
from resultatrapport import settings, version
from resultatrapport.contracts import load_contracts

assert "site-packages" in str(settings.contracts_dir()), settings.contracts_dir()
print(sorted(load_contracts()))
assert (settings.templates_dir() / "report.html.j2").is_file()
from resultatrapport.national.framework import load_frameworks
from resultatrapport.report.submissions import schema_descriptor
assert [f.id for f in load_frameworks()] == ["rammeaftale-2024-2027"]  # contracts/national/
assert (settings.templates_dir() / "national.html.j2").is_file()
assert schema_descriptor("maalopfyldelse_national")["primaryKey"] == ["Mål-ID", "Erhvervshus"]
assert settings.dagster_yaml().is_file()
for default in (settings.inbox_dir(), settings.out_dir(), settings.dagster_home(),
                settings.submissions_dir()):
    assert str(default).startswith(os.getcwd() + "/var/"), default  # never in site-packages
print(version.code_version())
print(len(pipelines.definitions.build_definitions(automation_running=False).jobs))
"""


@pytest.mark.slow
def test_an_installed_wheel_carries_its_files_and_names_its_revision(tmp_path):
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on the PATH")
    run = {"check": True, "capture_output": True, "text": True, "timeout": 600}
    subprocess.run([uv, "build", "--wheel", "-o", str(tmp_path / "dist")], cwd=ROOT, **run)
    wheel = next((tmp_path / "dist").glob("*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "-p", "3.11", str(venv)], **run)
    python = venv / "bin" / "python"
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), str(wheel)], **run)
    outside = tmp_path / "elsewhere"  # no checkout, no .git
    outside.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    checked = subprocess.run([str(python), "-c", CHECK], cwd=outside, env=env, **run)
    contracts, code_version, jobs = checked.stdout.strip().splitlines()[-3:]
    assert contracts == "['kkr-midtjylland-2026', 'viborg-ver-2020']"
    revision = subprocess.run(
        ["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=ROOT, **run
    ).stdout.strip()
    assert code_version == f"0.1.0 ({revision})"
    assert int(jobs) > 0
    helped = subprocess.run(
        [str(venv / "bin" / "resultatrapport"), "--help"], cwd=outside, env=env, **run
    )
    assert "resultatrapport" in helped.stdout
