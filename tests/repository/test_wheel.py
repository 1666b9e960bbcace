"""An installed wheel works without the checkout: the contracts, the report templates and
dagster.yaml come with it as package data (the instance of that dagster.yaml opens, its
instance class under the wheel's package), the code location imports, the command line
runs, and the code version names the revision the wheel was built from (no ``.git``).

And it claims no generic top-level name in site-packages (issue 27): the Dagster layer, the
checkout's top-level ``pipelines/ assets/ resources/ commands/``, is installed under
``resultatrapport_dagster`` (hatch_build.py), the console script and the layer's own module
names with it, so ``import assets`` finds nothing of ours."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import importlib.util
import os
import sys
from resultatrapport_dagster.commands import bench
from resultatrapport_dagster.pipelines import definitions
from resultatrapport import settings, version
from resultatrapport.contracts import load_contracts
from resultatrapport.naming import job_name

for generic in ("assets", "commands", "pipelines", "resources"):  # the checkout's folders
    assert importlib.util.find_spec(generic) is None, (generic, sys.path)
assert bench.CLI == "resultatrapport_dagster.commands.cli", bench.CLI  # its `python -m`
assert importlib.util.find_spec(bench.CLI) is not None
assert "site-packages" in str(settings.contracts_dir()), settings.contracts_dir()
print(sorted(load_contracts()))
assert (settings.templates_dir() / "report.html.j2").is_file()
from resultatrapport.national.framework import load_frameworks
from resultatrapport.report.submissions import schema_descriptor
assert [f.id for f in load_frameworks()] == ["rammeaftale-2024-2027"]  # contracts/national/
assert (settings.templates_dir() / "national.html.j2").is_file()
assert schema_descriptor("maalopfyldelse_national")["primaryKey"] == ["Mål-ID", "Erhvervshus"]
assert settings.dagster_yaml().is_file()
import shutil  # the instance of the packaged dagster.yaml opens: its instance_class is ours
os.makedirs("dagster_home")
shutil.copyfile(settings.dagster_yaml(), "dagster_home/dagster.yaml")
from dagster import DagsterInstance
with DagsterInstance.from_config(os.path.abspath("dagster_home")) as instance:
    storage = type(instance.event_log_storage)
assert storage.__module__ == "resultatrapport_dagster.pipelines.instance_storage", storage
for default in (settings.inbox_dir(), settings.out_dir(), settings.dagster_home(),
                settings.submissions_dir()):
    assert str(default).startswith(os.getcwd() + "/var/"), default  # never in site-packages
print(version.code_version())
jobs = {job.name for job in definitions.build_definitions(automation_running=False).jobs}
assert {job_name(c) for c in load_contracts()} <= jobs, sorted(jobs)
print(len(jobs))
import pkgutil, importlib, resultatrapport_dagster  # every module of the layer imports
for found in pkgutil.walk_packages(resultatrapport_dagster.__path__, "resultatrapport_dagster."):
    importlib.import_module(found.name)
stray = sorted(m for m in sys.modules if m.split(".")[0] in ("assets", "commands", "pipelines", "resources"))
assert not stray, stray
"""


@pytest.mark.slow
def test_an_installed_wheel_works_alone_and_claims_no_generic_top_level_name(tmp_path):
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on the PATH")
    run = {"check": True, "capture_output": True, "text": True, "timeout": 600}
    subprocess.run([uv, "build", "--wheel", "-o", str(tmp_path / "dist")], cwd=ROOT, **run)
    wheel = next((tmp_path / "dist").glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:  # what site-packages receives, as the wheel has it
        tops = {name.split("/")[0] for name in archive.namelist()}
        entry_points = archive.read("resultatrapport-0.1.0.dist-info/entry_points.txt")
    assert tops == {"resultatrapport", "resultatrapport_dagster", "resultatrapport-0.1.0.dist-info"}
    assert "resultatrapport = resultatrapport_dagster.commands.cli:main" in entry_points.decode()
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "-p", "3.11", str(venv)], **run)
    python = venv / "bin" / "python"
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), str(wheel)], **run)
    outside = tmp_path / "elsewhere"  # no checkout, no .git
    outside.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    checked = subprocess.run(
        [str(python), "-c", CHECK], cwd=outside, env=env, **(run | {"check": False})
    )
    assert checked.returncode == 0, checked.stderr[-3000:]
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
    assert helped.stdout.startswith("usage: resultatrapport"), helped.stdout
