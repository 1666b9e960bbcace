"""The benchmark runs end to end at a tiny scale, so it cannot rot (no timing assertions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from resultatrapport.bench import bench, table

pytestmark = pytest.mark.slow


def test_the_benchmark_measures_pipeline_floor_limit_and_backfill(tmp_path: Path):
    lines: list[str] = []
    # 0.05: the smallest scale whose small files stay under the 5 % quarantine threshold
    rows = bench([0.05], "kkr-midtjylland-2026", 2026, tmp_path, progress=lines.append)
    [row] = rows
    for key in ("pipeline_s", "floor_s", "limit_s", "backfill_s", "single_years_s"):
        assert row[key] > 0, key
    assert row["pipeline_peak_mib"] > 50
    assert "scale 0.05: floor ..." in lines and lines[-1] == "scale 0.05: done"
    text = table(rows, "kkr-midtjylland-2026", 2026, "viborg-ver-2020 2020-2023")
    assert text.splitlines()[2].startswith("| 0.05 |")
    # every measured run made its draft: the floor made none (bodies do nothing)
    drafts = sorted(p.name for p in tmp_path.rglob("*_udkast.pdf"))
    assert "aarsrapport_kkr-midtjylland-2026_2026_udkast.pdf" in drafts
    assert not list(tmp_path.glob("scale-0.05/floor-*/out"))
