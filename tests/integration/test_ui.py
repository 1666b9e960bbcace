"""The UI an analyst sees: the webserver serves the code location, and a real headless
browser shows the asset groups, a KPI asset and its checks, and the sign-off launchpad, with
only the signer to fill in. The screenshots are kept as test artifacts (in
$RESULTATRAPPORT_TEST_ARTIFACTS, else pytest's temporary folder)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from resultatrapport.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def chromium() -> str:
    path = os.environ.get("RESULTATRAPPORT_TEST_CHROMIUM") or shutil.which("chromium")
    if not path:
        if os.environ.get("CI"):
            pytest.fail("CI must provide Chromium (.ci/run installs Debian's chromium)")
        pytest.skip("no Chromium (apt-get install chromium; .ci/run does)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory):
    """One webserver for the module's pages (it takes about a minute to load the location)."""
    tmp_path = tmp_path_factory.mktemp("webserver")
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    # module-scoped: set up before the per-test isolation, so it points into its own folder
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "RESULTATRAPPORT_INBOX": str(tmp_path / "inbox"),
        "RESULTATRAPPORT_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "RESULTATRAPPORT_OUT": str(tmp_path / "out"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "pipelines.definitions",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, "the webserver exited"
            assert time.monotonic() < deadline, "the webserver did not answer in 120 s"
            time.sleep(1)
        # what a user who has pressed "Skip" once sees: no community sign-up over the page
        dismiss = urllib.request.Request(
            f"{url}/graphql",
            data=json.dumps({"query": "mutation { setNuxSeen }"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(dismiss, timeout=30).close()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def browse(browser: str, url: str, profile: Path, *extra: str) -> str:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=1600,1000",
            "--virtual-time-budget=30000",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    ).stdout


def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RESULTATRAPPORT_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def look(browser: str, url: str, tmp_path: Path, name: str) -> str:
    """The page's DOM once its scripts have run, and its screenshot kept as ``name``.png."""
    dom = browse(browser, url, tmp_path / "profile", "--dump-dom")
    shot = artifacts(tmp_path) / f"{name}.png"
    browse(browser, url, tmp_path / "profile", f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 10_000, f"no screenshot of {url}"
    return dom


def graphql(url: str, query: str, variables: dict) -> dict:
    """Ask the webserver what its UI asks it (the launchpad's queries)."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        f"{url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    assert "errors" not in answer, answer
    return answer["data"]


LAUNCHPAD = """
query Launchpad($selector: PipelineSelector!, $config: RunConfigData!) {
  runConfigSchemaOrError(selector: $selector) {
    __typename
    ... on RunConfigSchema {
      rootDefaultYaml
      isRunConfigValid(runConfigData: $config) {
        __typename
        ... on RunConfigValidationInvalid { errors { message } }
      }
    }
  }
}
"""

SIGNOFF_JOB = "signoff_kkr_midtjylland_2026"


def test_the_asset_graph_shows_the_groups_and_a_kpi_in_a_real_browser(webserver, tmp_path):
    browser = chromium()
    dom = look(browser, f"{webserver}/asset-groups", tmp_path, "asset-graph")
    for group in ("raw", "ingest", "kpi_kkr_midtjylland_2026", "report_kkr_midtjylland_2026"):
        assert group in dom, f"group {group} is not shown"
    kpi = f"{webserver}/assets/kpi/kkr_midtjylland_2026/m3"
    dom = look(browser, kpi, tmp_path, "kpi-m3")
    assert "Net Promoter Score" in dom  # the KPI's description from the contract file


def test_a_kpis_checks_tab_names_its_checks(webserver, tmp_path):
    browser = chromium()
    dom = look(
        browser,
        f"{webserver}/assets/kpi/kkr_midtjylland_2026/m3?view=checks",
        tmp_path,
        "kpi-m3-checks",
    )
    assert "Checks (" in dom and "target_met" in dom  # the KPI's check, on its checks tab


def test_the_sign_off_launchpad_asks_for_the_signer_and_role_and_nothing_else(webserver, tmp_path):
    browser = chromium()
    selector = {
        "repositoryLocationName": "pipelines.definitions",
        "repositoryName": "__repository__",
        "pipelineName": SIGNOFF_JOB,
    }
    # what the launchpad opens with, and that the signer and role are all a run needs
    who = {"by": "Ida Kontrolsen", "role": "direktør"}
    signer = {"ops": {"sign_off_kkr_midtjylland_2026": {"config": who}}}
    schema = graphql(webserver, LAUNCHPAD, {"selector": selector, "config": signer})
    schema = schema["runConfigSchemaOrError"]
    assert schema["__typename"] == "RunConfigSchema", schema
    assert schema["rootDefaultYaml"].strip() in ("", "{}")  # no out: '' or database: ''
    assert schema["isRunConfigValid"]["__typename"] == "PipelineConfigValidationValid", schema
    nothing = graphql(webserver, LAUNCHPAD, {"selector": selector, "config": {}})
    [missing] = nothing["runConfigSchemaOrError"]["isRunConfigValid"]["errors"]
    assert "ops" in missing["message"]  # without the signer the run is refused

    page = (
        f"{webserver}/locations/{selector['repositoryLocationName']}/jobs/{SIGNOFF_JOB}/playground"
    )
    dom = look(browser, page, tmp_path, "sign-off-launchpad")
    assert "Scaffold missing config" in dom, "the launchpad is not shown"
    # what it says is missing, and what "Scaffold missing config" fills in: the signer and
    # the signer's role alone
    example = "{'ops': {'sign_off_kkr_midtjylland_2026': {'config': {'by': '...', 'role': '...'}}}}"
    assert f"Example config for the missing entry: {example}" in dom
    for noise in ("database:", "memory_limit:", "out: ''"):
        assert noise not in dom, f"the launchpad pre-fills {noise}"
