"""The benchmark runs end to end at a tiny scale, so it cannot rot (no timing assertions)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInstance

from commands.bench import bench, table

pytestmark = pytest.mark.slow


def test_the_benchmark_measures_pipeline_floor_limit_and_backfill(tmp_path: Path):
    lines: list[str] = []
    # 0.05: the smallest scale whose small files stay under the 5 % quarantine threshold
    rows = bench(
        [0.05], "kkr-midtjylland-2026", 2026, tmp_path, progress=lines.append, keep_runs=True
    )
    [row] = rows
    for key in (
        "generate_s", "earlier_years_s", "pipeline_s", "floor_s", "limit_s", "first_run_s",
        "first_floor_s", "first_limit_s", "backfill_s", "single_years_s",
    ):  # fmt: skip
        assert row[key] > 0, key
    assert row["pipeline_peak_mib"] > 50 and row["inbox_mib"] > 0
    assert lines[:3] == [
        "scale 0.05: generate",
        "scale 0.05: earlier years",
        "scale 0.05: pipeline",
    ]
    assert lines[-1] == "scale 0.05: single 2023"
    text = table(rows, "kkr-midtjylland-2026", 2026).splitlines()
    assert text[2].startswith("| 0.05 |") and text[6].startswith("| 0.05 |")
    assert "backfill viborg-ver-2020 2020-2023 (s) | 4 single years (s)" in text[4]
    # the pipeline met a warehouse holding the earlier years: it ingested 2026 only
    [pipeline_home] = tmp_path.glob("scale-0.05/pipeline-*/dagster_home")

    with DagsterInstance.from_config(str(pipeline_home)) as instance:
        ingested = sorted(
            r.tags["dagster/partition"]
            for r in instance.get_runs()
            if r.job_name.startswith("ingest_")
        )
    # five earlier years by the preparation, 2026 by the pipeline: no year twice
    assert ingested == [str(y) for y in range(2021, 2027)]
    # every measured run made its draft: the floor made none (bodies do nothing)
    drafts = sorted(p.name for p in tmp_path.rglob("*_udkast.pdf"))
    assert "aarsrapport_kkr-midtjylland-2026_2026_udkast.pdf" in drafts
    assert not list(tmp_path.glob("scale-0.05/floor-*/out"))
    # the backfill drafted every year of its range, and each single-year run its own year
    for root in ("backfill-*", *(f"single-{y}-*" for y in range(2020, 2024))):
        made = {p.name for p in tmp_path.glob(f"scale-0.05/{root}/out/**/*_udkast.pdf")}
        years = range(2020, 2024) if root == "backfill-*" else [int(root.split("-")[1])]
        assert made == {f"aarsrapport_viborg-ver-2020_{y}_udkast.pdf" for y in years}, root
