"""The benchmark runs end to end at a tiny scale, so it cannot rot (no timing assertions);
its limit reads what the pipeline reads, and its targets table judges the ratios it prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

import resultatrapport.ingest as ingest
from commands.bench import Results, bench, limit, table, target_rows
from resultatrapport.contracts import load_contracts
from resultatrapport.formats import FORMATS
from resultatrapport.ingest import ingest_file
from resultatrapport.kpis.compute import partitions_read
from resultatrapport.sample.generate import generate_inbox
from resultatrapport.warehouse_schema import ensure_schema
from tests.helpers import libpq_server, postgres_url

CONTRACT = "kkr-midtjylland-2026"
CRM = AssetKey(["raw", "erhvervshus_midtjylland", "crm_cases"])


def _ingested_years(home: Path) -> list[str]:
    """The years whose CRM delivery the instance's runs materialised, once per time."""
    with DagsterInstance.from_config(str(home)) as instance:
        records = instance.fetch_materializations(CRM, limit=100).records
        return sorted(r.partition_key or "" for r in records)


@pytest.mark.slow
def test_the_benchmark_measures_pipeline_floor_limit_backfill_and_tiny_inbox(tmp_path: Path):
    lines: list[str] = []
    # 0.05: the smallest scale whose small files stay under the 5 % quarantine threshold
    # a two-year backfill (the bench's is four): the same code, two single-year runs fewer
    # and the nightly run on a DuckLake too, its catalog on CI's PostgreSQL (on a laptop
    # without one, the file alone)
    url = postgres_url(required=False)
    server = libpq_server(url) if url else None
    results = bench(
        [0.05], CONTRACT, 2026, tmp_path, backfill_years=(2020, 2021), progress=lines.append,
        keep_runs=True, lake_server=server,
    )  # fmt: skip
    [row] = results.rows
    for key in (
        "generate_s", "earlier_years_s", "pipeline_s", "floor_s", "limit_s", "first_run_s",
        "first_floor_s", "first_limit_s", "backfill_s", "single_years_s",
        *(("lake_earlier_years_s", "lake_pipeline_s") if server else ()),
    ):  # fmt: skip
        assert row[key] > 0, key
    assert row["pipeline_peak_mib"] > 50 and row["inbox_mib"] > 0
    tiny = results.tiny
    assert tiny["scale"] == 0.05 and tiny["nightly_s"] > 0 and tiny["first_run_s"] > 0
    assert tiny["first_ratio"] == tiny["first_run_s"] / tiny["nightly_s"]
    assert lines[:5] == [
        "tiny inbox (scale 0.05): generate",
        "tiny inbox (scale 0.05): earlier years",
        "tiny inbox (scale 0.05): nightly run",
        "tiny inbox (scale 0.05): first run",
        "scale 0.05: generate",
    ]
    assert lines[-1] == "scale 0.05: single 2021"
    tables = table(results).split("\n\n")
    if server:
        assert row["lake_ratio"] == row["lake_pipeline_s"] / row["pipeline_s"]
        assert "scale 0.05: lake: earlier years" in lines and "scale 0.05: lake: pipeline" in lines
        lake = tables.pop(3)
        assert lake.splitlines()[2] == (
            f"| 0.05 | {row['pipeline_s']:.1f} | {row['pipeline_peak_mib']:.0f} "
            f"| {row['lake_earlier_years_s']:.1f} | {row['lake_pipeline_s']:.1f} "
            f"| {row['lake_pipeline_peak_mib']:.0f} | {row['lake_ratio']:.2f} |"
        )
    nightly, first, tiny_table, targets = tables
    assert "| nightly run on a DuckLake / on the file | 100 | not measured |" in targets
    assert nightly.splitlines()[2].startswith("| 0.05 |")
    assert first.splitlines()[2].startswith("| 0.05 |")
    assert "backfill viborg-ver-2020 2020-2021 (s) | 2 single years (s)" in first
    assert "| two-year backfill / one year | 0.05 |" in targets
    assert tiny_table.splitlines()[2] == (
        f"| 0.05 | {tiny['inbox_mib']:.1f} | {tiny['earlier_years_s']:.1f} "
        f"| {tiny['nightly_s']:.1f} | {tiny['first_run_s']:.1f} | {tiny['first_ratio']:.2f} |"
    )
    status = "met" if round(tiny["first_ratio"], 2) <= 1.5 else "**not met**"
    assert (
        f"| tiny inbox: first run / nightly run | 0.05 | {tiny['first_ratio']:.2f} | ≤ 1.50 "
        f"| {status} |"
    ) in targets.splitlines()
    assert "| nightly run / (floor + limit) | 1 | not measured | ≤ 2.00 | not measured |" in (
        targets.splitlines()
    )
    # the nightly runs met a warehouse holding the earlier years: they ingested 2026 only
    # (five earlier years by the preparation, 2026 by the run: no year twice)
    for home in (
        *tmp_path.glob("scale-0.05/pipeline-*/dagster_home"),
        *tmp_path.glob("tiny/nightly-*/dagster_home"),
    ):
        assert _ingested_years(home) == [str(y) for y in range(2021, 2027)], home
    # every measured run made its draft: the floor made none (bodies do nothing)
    drafts = sorted(p.name for p in tmp_path.rglob("*_udkast.pdf"))
    assert "aarsrapport_kkr-midtjylland-2026_2026_udkast.pdf" in drafts
    for run in ("nightly-*", "first-run-*"):
        assert list(tmp_path.glob(f"tiny/{run}/out/**/*_2026_udkast.pdf")), run
    assert not list(tmp_path.glob("scale-0.05/floor-*/out"))
    # the backfill of the contract's first two years drafted both (no earlier year to show);
    # each single-year run drafted its own year (2021's report computes 2020 with it)
    for root in ("backfill-*", *(f"single-{y}-*" for y in range(2020, 2022))):
        made = {p.name for p in tmp_path.glob(f"scale-0.05/{root}/out/**/*_udkast.pdf")}
        years = range(2020, 2022) if root == "backfill-*" else [int(root.split("-")[1])]
        assert {f"aarsrapport_viborg-ver-2020_{y}_udkast.pdf" for y in years} <= made, root


@pytest.mark.slow
def test_the_limit_reads_a_yearless_register_once_and_fills_every_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The limit is the data's own cost: a register delivered as one file for every year is
    read once, as the pipeline reads it, and its partitions are those a read per year makes."""
    inbox = tmp_path / "inbox"
    generate_inbox(inbox, range(2020, 2027), scale=0.05, seed=1)
    monkeypatch.setenv("RESULTATRAPPORT_INBOX", str(inbox))
    monkeypatch.setenv("RESULTATRAPPORT_WAREHOUSE", str(tmp_path / "limit.duckdb"))
    read: list[str] = []
    stage_file = ingest.stage_file

    def counted(con: Any, fmt: Any, root: Path, relpath: str, *args: Any) -> Any:
        read.append(relpath)
        return stage_file(con, fmt, root, relpath, *args)

    monkeypatch.setattr(ingest, "stage_file", counted)
    assert limit(CONTRACT, 2026) == 0
    yearless = {
        source: years
        for (source, _), years in partitions_read(load_contracts()[CONTRACT], 2026).items()
        if "{year}" not in FORMATS[source].path
    }
    assert len(yearless["cvr_firms"]) == 4  # the effect KPIs follow firms over four years
    assert {s: read.count(FORMATS[s].path) for s in yearless} == dict.fromkeys(yearless, 1)
    # the partitions are those of a read per year
    monkeypatch.setattr(ingest, "stage_file", stage_file)
    con = duckdb.connect(str(tmp_path / "per_year.duckdb"))
    ensure_schema(con)
    for source, years in yearless.items():
        for y in years:
            ingest_file(con, FORMATS[source], inbox, y, None)
    con.execute(f"ATTACH '{tmp_path / 'limit.duckdb'}' AS lim (READ_ONLY)")
    for source in yearless:
        for table_ in (f"raw.{source}", f"ingest.{source}"):
            [(rows, by_year)] = con.execute(
                f"SELECT count(*), count(DISTINCT year) FROM {table_}"
            ).fetchall()
            assert rows > 0 and by_year == len(yearless[source]), table_
            differ = con.execute(
                f"SELECT count(*) FROM ((SELECT * FROM {table_} EXCEPT ALL "
                f"SELECT * FROM lim.{table_}) UNION ALL (SELECT * FROM lim.{table_} "
                f"EXCEPT ALL SELECT * FROM {table_}))"
            ).fetchall()
            assert differ == [(0,)], table_
        quarantined = (
            "SELECT org, year, file, line, column_name, rule, reason, value FROM {}"
            f"ingest.quarantine WHERE source = '{source}'"
        )
        assert sorted(con.execute(quarantined.format("")).fetchall()) == sorted(
            con.execute(quarantined.format("lim.")).fetchall()
        ), source
    con.close()


def _row(scale: float, **measured: float) -> dict[str, Any]:
    return {
        "scale": scale, "ratio": 1.0, "first_ratio": 1.0, "backfill_ratio": 1.0, "single_years": 4,
        "pipeline_s": 10.0, "pipeline_peak_mib": 500.0, "first_run_peak_mib": 600.0,
        **measured,
    }  # fmt: skip


def _tiny(first_ratio: float) -> dict[str, Any]:
    return {"scale": 0.05, "inbox_mib": 1.5, "earlier_years_s": 9.0, "nightly_s": 10.0,
            "first_run_s": 10.0 * first_ratio, "first_ratio": first_ratio}  # fmt: skip


def test_the_targets_table_judges_each_ratio_as_measured():
    results = Results(
        CONTRACT,
        2026,
        [
            _row(1, ratio=2.004, first_ratio=1.51, backfill_ratio=1.2),
            _row(10, pipeline_s=20.0, first_ratio=1.5),
            _row(
                100,
                pipeline_s=201.0,
                pipeline_peak_mib=4000.0,
                first_run_peak_mib=4100.0,
                lake_ratio=1.31,
            ),
        ],
        _tiny(1.4),
    )
    judged = [(t["target"], t["scale"], t["measured"], t["met"]) for t in target_rows(results)]
    first = "first run, empty warehouse / (first floor + first limit)"
    assert judged == [
        ("nightly run / (floor + limit)", "1", 2.004, True),  # 2.00 as printed
        (first, "1", 1.51, False),
        (first, "10", 1.5, True),
        (first, "100", 1.0, True),
        ("four-year backfill / one year", "1", 1.2, True),
        ("four-year backfill / one year", "10", 1.0, True),
        ("four-year backfill / one year", "100", 1.0, True),
        ("tiny inbox: first run / nightly run", "0.05", 1.4, True),
        ("nightly run at scale 100 / at scale 10 (data × 10)", "10 → 100", 10.05, False),
        ("peak RSS of a run (MiB)", "100", 4100.0, False),
        ("nightly run on a DuckLake / on the file", "100", 1.31, False),
    ]
    text = table(Results(CONTRACT, 2026, [], _tiny(1.6)))
    targets = text.split("\n\n")[-1].splitlines()
    assert targets[:2] == [
        "| target | scale | measured | limit | status |",
        "|---|---:|---:|---:|---|",
    ]
    assert targets[5] == (
        "| first run, empty warehouse / (first floor + first limit) | 100 | not measured "
        "| ≤ 1.50 | not measured |"
    )
    assert "| tiny inbox: first run / nightly run | 0.05 | 1.60 | ≤ 1.50 | **not met** |" in (
        targets
    )
    assert "| peak RSS of a run (MiB) | 100 | not measured | ≤ 4096 MiB | not measured |" in (
        targets
    )
