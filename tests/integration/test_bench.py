"""The benchmark runs end to end in its quick form (``bench --quick``: the first run against
its floor and limit at the tiny scale), so it cannot rot (no timing assertions), and prints
the documented tables with every target; its limit reads what the pipeline reads, the floor
and limit of one delivery's path only that path, its targets table judges the ratios it
prints, and its lake catalogs do not outlive it. The whole bench is ``make bench``
(docs/benchmarks.md)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

import resultatrapport.ingest as ingest
import resultatrapport.kpis.compute as compute
from commands.bench import (
    CHANGED,
    TINY,
    Results,
    bench,
    floor_definitions,
    fresh_env,
    lake_catalog,
    limit,
    made_again,
    table,
    target_rows,
)
from resultatrapport.contracts import load_contracts
from resultatrapport.formats import FORMATS
from resultatrapport.ingest import ingest_file
from resultatrapport.kpis.compute import partitions_read
from resultatrapport.sample.generate import generate_inbox
from resultatrapport.settings import PROJECT_ROOT
from resultatrapport.warehouse_schema import ensure_schema
from tests.helpers import libpq_server, postgres_url

CONTRACT = "kkr-midtjylland-2026"
CRM = AssetKey(["raw", "erhvervshus_midtjylland", "crm_cases"])


def _ingested_years(home: Path) -> list[str]:
    """The years whose CRM delivery the instance's runs materialised, once per time."""
    with DagsterInstance.from_config(str(home)) as instance:
        records = instance.fetch_materializations(CRM, limit=100).records
        return sorted(r.partition_key or "" for r in records)


FIRST = "first run, empty warehouse / (first floor + first limit)"
BACKFILL = "four-year backfill / one year"
EVERYTHING = "everything new: pipeline / (floor + limit)"
NOTHING = "nothing new: run / floor"
CHANGED_ONE = "one delivery changed (survey_answers): run / (path floor + path limit)"
# each target of the issues with its limit, at the scales it names (and the first run's at
# the tiny scale, which the quick bench measures), in the order of the targets table
TARGETS = [
    *((EVERYTHING, s, "≤ 2.00") for s in ("1", "10", "100")),
    *((NOTHING, s, "≤ 1.20") for s in ("1", "10", "100")),
    *((CHANGED_ONE, s, "≤ 1.50") for s in ("1", "10", "100")),
    (FIRST, "0.05", "≤ 1.50"),
    *((FIRST, s, "≤ 1.50") for s in ("1", "10", "100")),
    *((BACKFILL, s, "≤ 1.50") for s in ("1", "10", "100")),
    ("tiny inbox: first run / nightly run", "0.05", "≤ 1.50"),
    ("nightly run at scale 100 / at scale 10 (data × 10)", "10 → 100", "≤ 10.00"),
    ("peak RSS of a run (MiB)", "100", "≤ 4096 MiB"),
    ("nightly run on a DuckLake / on the file", "100", "≤ 1.30"),
]


def _cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |"), line
    return line[2:-2].split(" | ")


@pytest.mark.slow
def test_the_quick_benchmark_prints_the_documented_tables_and_every_target(tmp_path: Path):
    """`bench --quick` at the tiny scale, end to end (four real processes: the inbox, the
    first run, its floor and its limit): the tables it prints are those of
    docs/benchmarks.md, a line per scale, every target in the last one; what it measured is
    a number, the ratio judged against its limit, and what it did not says so. No timing is
    asserted beyond being a finite positive number, so the test cannot rot."""
    lines: list[str] = []
    results = bench(
        [TINY], CONTRACT, 2026, tmp_path, progress=lines.append, keep_runs=True, quick=True
    )
    assert lines == [f"scale 0.05: {m}" for m in ("generate", "first run", "first floor",
                                                  "first limit")]  # fmt: skip
    tables = [t.splitlines() for t in table(results).split("\n\n")]
    docs = (PROJECT_ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8").splitlines()
    undocumented = [t[0] for t in tables if t[0] not in docs or t[1] not in docs]
    assert not undocumented, "a table docs/benchmarks.md does not show"
    nightly, nights, first, tiny, targets = tables
    assert _cells(nights[0])[1:] == [
        f"nothing new {CONTRACT} 2026 (s)", "peak RSS (MiB)", "floor (s)", "nothing new / floor",
        "one delivery changed: survey_answers 2026 (s)", "peak RSS (MiB)", "path floor (s)",
        "path limit (s)", "changed / (path floor + path limit)",
    ]  # fmt: skip
    # one line per scale (the tiny inbox's too): the scale, then a finite number for each
    # measurement this run made (the inbox; the first run, its floor and limit, and their
    # ratio) and "not measured" for the others (the nights too: --quick leaves them out)
    for rows, made in ((nightly, 3), (nights, 0), (first, 5), (tiny, 0)):
        [line] = rows[2:]
        cells = _cells(line)
        assert cells[0] == "0.05" and len(cells) == len(_cells(rows[0])), line
        numbers = [float(c) for c in cells[1 : 1 + made]]
        assert all(math.isfinite(n) and n > 0 for n in numbers), line
        assert cells[1 + made :] == ["not measured"] * (len(cells) - 1 - made), line
    # every target, each at its scales with its limit; the one measured is judged by it
    judged = [_cells(line) for line in targets[2:]]
    assert [(t, s, limit) for t, s, _, limit, _ in judged] == TARGETS
    ratio = results.rows[0]["first_ratio"]
    assert math.isfinite(ratio) and ratio > 0
    for t, s, measured, _, status in judged:
        if (t, s) == (FIRST, "0.05"):
            assert measured == f"{ratio:.2f}"
            assert status == ("met" if round(ratio, 2) <= 1.5 else "**not met**")
        else:
            assert measured == status == "not measured", (t, s)
    # the first run did the whole work on an empty warehouse: the years the KPIs read
    # ingested once each, the draft rendered; its floor (bodies that do nothing) drew none
    [home] = tmp_path.glob("scale-0.05/first-run-*/dagster_home")
    assert _ingested_years(home) == [str(y) for y in range(2021, 2027)]
    assert list(tmp_path.glob("scale-0.05/first-run-*/out/**/*_2026_udkast.pdf"))
    assert list(tmp_path.glob("scale-0.05/first-floor-*/dagster_home"))
    assert not list(tmp_path.glob("scale-0.05/first-floor-*/out"))


def _databases(server: str) -> set[str]:
    import psycopg2

    con = psycopg2.connect(f"{server} dbname=postgres")
    try:
        with con.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database")
            return {name for (name,) in cursor.fetchall()}
    finally:
        con.close()


def test_the_lake_catalog_is_dropped_after_its_measurement_even_a_failed_one(tmp_path: Path):
    """The nightly run on a DuckLake (``--lake-server``, which the quick bench leaves out)
    gets a new catalog database on the server, and the server keeps none of them."""
    server = libpq_server(postgres_url())
    failed = pytest.raises(RuntimeError, match="measured run failed")
    with failed, lake_catalog(server, tmp_path / "lake") as env:
        [name] = re.findall(r" dbname=(bench_lake_\w+)\|", env["RESULTATRAPPORT_LAKE"])
        assert name in _databases(server)
        raise RuntimeError("a measured run failed")
    assert name not in _databases(server)


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


def test_the_floor_and_limit_of_one_delivery_do_only_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_inbox: Any
):
    """``--source``: the floor's jobs select the delivery's raw and ingest assets and what
    follows from them (the KPIs that read it, the results, the draft), nothing else; the
    limit reads that one delivery and computes those KPIs, nothing else."""
    contract = load_contracts()[CONTRACT]
    reading = {k.asset_name for k in contract.kpis if CHANGED in k.sources}
    assert reading and len(reading) < len(contract.kpis)
    defs = floor_definitions(CONTRACT, CHANGED)
    ingestion = defs.resolve_job_def("ingest_kkr_midtjylland_2026")
    report = defs.resolve_job_def("contract_kkr_midtjylland_2026")

    def selected(job: Any) -> set[str]:
        return {k.to_user_string() for k in job.asset_layer.executable_asset_keys}

    assert selected(ingestion) == {
        f"{stage}/erhvervshus_midtjylland/survey_answers" for stage in ("raw", "ingest")
    }
    assert selected(report) == {f"kpi/kkr_midtjylland_2026/{k}" for k in reading} | {
        "report/kkr_midtjylland_2026/kpi_results",
        "report/kkr_midtjylland_2026/draft",
    }
    # the limit of the path, on an empty warehouse: the year's survey, its KPIs
    monkeypatch.setenv("RESULTATRAPPORT_INBOX", str(sample_inbox(range(2020, 2027), 0.05, 1)))
    monkeypatch.setenv("RESULTATRAPPORT_WAREHOUSE", str(tmp_path / "limit.duckdb"))
    read: list[str] = []
    measured: list[str] = []
    stage_file, measure = ingest.stage_file, compute.measure

    def counted(con: Any, fmt: Any, root: Path, relpath: str, *args: Any) -> Any:
        read.append(relpath)
        return stage_file(con, fmt, root, relpath, *args)

    def measured_kpi(con: Any, contract: Any, kpi: Any, year: int) -> Any:
        measured.append(kpi.asset_name)
        return measure(con, contract, kpi, year)

    monkeypatch.setattr(ingest, "stage_file", counted)
    monkeypatch.setattr(compute, "measure", measured_kpi)
    assert limit(CONTRACT, 2026, earlier_loaded=True, source=CHANGED) == 0
    assert read == [FORMATS[CHANGED].relpath(2026, contract.organisation.slug)]
    assert sorted(measured) == sorted(reading)


def test_the_nights_are_told_by_what_the_run_says_it_made_again():
    """The bench refuses a night that did other work than its name (made_again reads the
    run's summary): the assets that can stand unchanged and do not say so."""
    summary = """Run 1 (ingest_kkr_midtjylland_2026, 2026):
  materialised raw/erhvervshus_midtjylland/crm_cases 275 rows (uændret)
  materialised raw/erhvervshus_midtjylland/survey_answers 75 rows
  materialised ingest/erhvervshus_midtjylland/survey_answers 72 rows, 3 quarantined
  materialised budget/kkr_midtjylland_2026/distribution
  materialised kpi/kkr_midtjylland_2026/m1 (uændret)
  materialised kpi/kkr_midtjylland_2026/m3
  materialised report/kkr_midtjylland_2026/kpi_results 16 rows
  materialised report/kkr_midtjylland_2026/draft -> /x/udkast.pdf (25 pages)
  Uændret siden 07-12-2026 21:10: 1 leverance, 1 KPI
"""
    assert made_again(summary) == {
        "raw/erhvervshus_midtjylland/survey_answers",
        "kpi/kkr_midtjylland_2026/m3",
        "report/kkr_midtjylland_2026/draft",
    }
    assert made_again(summary.replace("pages)", "pages) (uændret)").replace(" 75 rows",
                      " 75 rows (uændret)").replace("m3\n", "m3 (uændret)\n")) == set()  # fmt: skip


def test_each_measurement_keeps_its_cache_with_its_state(tmp_path: Path, monkeypatch):
    """The charts and file hashes one measurement kept are not another's to reuse: a first
    run on an empty warehouse that found them would be measured doing less than it does."""
    monkeypatch.setenv("RESULTATRAPPORT_CACHE", str(tmp_path / "shared"))
    env = fresh_env(tmp_path / "run", tmp_path / "inbox")
    assert env["RESULTATRAPPORT_CACHE"] == str(tmp_path / "run" / "cache")


def _row(scale: float, **measured: float) -> dict[str, Any]:
    """A scale's line of a whole bench run (every measurement of measure_scale)."""
    return {
        "scale": scale, "generate_s": 1.0, "generate_peak_mib": 200.0, "inbox_mib": 29.0,
        "earlier_years_s": 15.0, "pipeline_s": 10.0, "pipeline_peak_mib": 500.0,
        "floor_s": 3.0, "limit_s": 2.0, "ratio": 1.0,
        "first_run_s": 20.0, "first_run_peak_mib": 600.0, "first_floor_s": 12.0,
        "first_limit_s": 8.0, "first_ratio": 1.0,
        "backfill_s": 14.0, "single_years_s": 40.0, "one_year_s": 14.0, "backfill_ratio": 1.0,
        "nothing_new_s": 6.0, "nothing_new_peak_mib": 300.0, "nothing_new_floor_s": 5.0,
        "nothing_new_ratio": 1.2, "changed_s": 9.0, "changed_peak_mib": 450.0,
        "path_floor_s": 4.0, "path_limit_s": 2.0, "changed_ratio": 1.5,
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
            _row(1, ratio=2.004, first_ratio=1.51, backfill_ratio=1.2, nothing_new_ratio=1.205),
            _row(10, pipeline_s=20.0, ratio=2.01, first_ratio=1.5, changed_ratio=1.51),
            _row(
                100,
                pipeline_s=201.0,
                pipeline_peak_mib=4000.0,
                first_run_peak_mib=4050.0,
                changed_peak_mib=4100.0,
                lake_earlier_years_s=220.0,
                lake_pipeline_s=263.31,
                lake_pipeline_peak_mib=4000.0,
                lake_ratio=1.31,
            ),
        ],
        _tiny(1.4),
    )
    judged = [(t["target"], t["scale"], t["measured"], t["met"]) for t in target_rows(results)]
    first = "first run, empty warehouse / (first floor + first limit)"
    assert judged == [
        (EVERYTHING, "1", 2.004, True),  # 2.00 as printed
        (EVERYTHING, "10", 2.01, False),
        (EVERYTHING, "100", 1.0, True),
        (NOTHING, "1", 1.205, False),  # 1.21 as printed
        (NOTHING, "10", 1.2, True),
        (NOTHING, "100", 1.2, True),
        (CHANGED_ONE, "1", 1.5, True),
        (CHANGED_ONE, "10", 1.51, False),
        (CHANGED_ONE, "100", 1.5, True),
        (first, "1", 1.51, False),
        (first, "10", 1.5, True),
        (first, "100", 1.0, True),
        ("four-year backfill / one year", "1", 1.2, True),
        ("four-year backfill / one year", "10", 1.0, True),
        ("four-year backfill / one year", "100", 1.0, True),
        ("tiny inbox: first run / nightly run", "0.05", 1.4, True),
        ("nightly run at scale 100 / at scale 10 (data × 10)", "10 → 100", 10.05, False),
        ("peak RSS of a run (MiB)", "100", 4100.0, False),  # the changed delivery's run
        ("nightly run on a DuckLake / on the file", "100", 1.31, False),
    ]
    # a whole run prints every measurement, the lake's table for the scale it was measured at
    tables = [t.splitlines() for t in table(results).split("\n\n")]
    _, nights, first, _, lake, targets = tables
    assert [len(t) for t in tables] == [5, 5, 5, 3, 3, 21]
    assert not [line for t in tables[:-1] for line in t if "not measured" in line]
    assert nights[3] == "| 10 | 6.0 | 300 | 5.0 | 1.20 | 9.0 | 450 | 4.0 | 2.0 | 1.51 |"
    assert lake[2].startswith("| 100 | 201.0 | 4000 |")
    text = table(Results(CONTRACT, 2026, [], _tiny(1.6)))
    targets = text.split("\n\n")[-1].splitlines()
    assert targets[:2] == [
        "| target | scale | measured | limit | status |",
        "|---|---:|---:|---:|---|",
    ]
    assert targets[13] == (
        "| first run, empty warehouse / (first floor + first limit) | 100 | not measured "
        "| ≤ 1.50 | not measured |"
    )
    assert "| tiny inbox: first run / nightly run | 0.05 | 1.60 | ≤ 1.50 | **not met** |" in (
        targets
    )
    assert "| peak RSS of a run (MiB) | 100 | not measured | ≤ 4096 MiB | not measured |" in (
        targets
    )
