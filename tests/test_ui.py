"""The UI an analyst sees: the webserver serves the code location, and a real headless
browser shows the asset groups and a KPI asset. A screenshot is kept as a test artifact
(in $RESULTATRAPPORT_TEST_ARTIFACTS, else pytest's temporary folder)."""

from __future__ import annotations

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


@pytest.fixture
def webserver(tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
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
            "resultatrapport.pipelines.definitions",
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


def test_the_asset_graph_shows_the_groups_and_a_kpi_in_a_real_browser(webserver, tmp_path):
    browser = chromium()
    page = f"{webserver}/asset-groups"
    dom = browse(browser, page, tmp_path / "profile", "--dump-dom")
    for group in ("raw", "ingest", "kpi_kkr_midtjylland_2026", "report_kkr_midtjylland_2026"):
        assert group in dom, f"group {group} is not shown"
    kpi = f"{webserver}/assets/kpi/kkr_midtjylland_2026/m3"
    dom = browse(browser, kpi, tmp_path / "profile", "--dump-dom")
    assert "Net Promoter Score" in dom  # the KPI's description from the contract file
    artifacts = Path(os.environ.get("RESULTATRAPPORT_TEST_ARTIFACTS") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "asset-graph.png"
    browse(browser, page, tmp_path / "profile", f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 10_000
