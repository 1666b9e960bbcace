"""The smoke test of the fast subset (README: Tests): the real ``resultatrapport run`` as a
user types it, on a tiny generated inbox in a temp dir, ends with the draft PDF and every
KPI of the contract in the warehouse's KPI table. Not marked slow on purpose: it is the one
end-to-end run of ``make test-fast``; the slow tests show the rest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from resultatrapport.contracts import Contract
from resultatrapport.report.publish import draft_name, year_dir
from resultatrapport.sample.generate import generate_inbox

VER = "viborg-ver-2020"


def test_run_on_a_tiny_inbox_draws_the_draft_with_every_kpi_of_the_contract(
    tmp_path: Path, ver: Contract
):
    generate_inbox(tmp_path / "inbox", range(2020, 2022), scale=0.05, seed=3)
    command = shutil.which("resultatrapport", path=str(Path(sys.executable).parent))
    assert command, "the console script `resultatrapport` is not installed (uv sync)"
    done = subprocess.run(
        [command, "run", "--contract", VER, "--year", "2021", "--inbox", str(tmp_path / "inbox")],
        env=dict(os.environ),  # the temp dirs of tests/conftest.py
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    draft = year_dir(tmp_path / "out", VER, 2021) / draft_name(VER, 2021)
    assert draft.stat().st_size > 10_000 and draft.read_bytes().startswith(b"%PDF-")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT kpi_id FROM kpi.results WHERE contract = $c AND year = 2021", {"c": VER}
        ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(k.id for k in ver.kpis)
