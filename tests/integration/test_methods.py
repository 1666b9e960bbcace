"""`resultatrapport validate-methods` at a small replication count, so it cannot rot (CI runs
it here); its figures are noisy at this count, so only wide bounds are asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.cli import main
from resultatrapport.kpis import coverage
from resultatrapport.kpis.coverage import Coverage
from resultatrapport.methods import interval_table


def test_validate_methods_runs_and_writes_the_table(tmp_path: Path, capsys):
    table = tmp_path / "coverage.csv"
    code = main(
        ["validate-methods", "--replications", "300", "--effect-replications", "8",
         "--table", str(table)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code in (0, 1)  # 1: a noisy figure outside its bound at this count
    assert "| n | `share` mean" in out and "| planted effect |" in out
    rows = coverage.read_table(table)
    kinds = {r.kind for r in rows}
    assert kinds == {"share", "nps", "weighted_share", "effect"}
    for r in rows:
        assert 0.8 <= r.mean <= 1.0, r  # wide: 300 samples per true value, 8 effect data sets
    exact = [r for r in rows if r.kind in ("share", "nps") and r.n >= 10]
    assert all(0.93 <= r.mean <= 0.97 for r in exact)  # computed exactly: no noise


def test_validate_methods_refuses_nonsense_in_one_line(capsys):
    assert main(["validate-methods", "--replications", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "skal være mindst 1" in err[0]


def test_the_table_marks_what_is_outside_the_band():
    rows = [
        Coverage("nps", 5, 0.90, 0.85, 0.95, 8, 0),  # below 10: no interval, no mark
        Coverage("nps", 10, 0.91, 0.88, 0.93, 8, 0),
        Coverage("nps", 20, 0.95, 0.94, 0.96, 8, 0),
    ]
    lines = interval_table(rows)
    assert lines[2] == "| 5 (no interval given) | 90.0 (85.0-95.0) |"
    assert lines[3].endswith("91.0 (88.0-93.0) ✗ |")
    assert "✗" not in lines[4]


@pytest.mark.parametrize("row", coverage.read_table())
def test_packaged_rows_are_sane(row: Coverage):
    assert 0 <= row.lowest <= row.mean <= row.highest <= 1
