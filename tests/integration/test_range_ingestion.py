"""Ingestion of a range of years: one Dagster run, each year still its own partition, and
each year-less register delivery read once for the whole range."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance

from commands.cli import main
from resultatrapport import ingest, ingestion, reader
from resultatrapport.formats import FORMATS
from resultatrapport.warehouse_schema import ensure_schema

pytestmark = pytest.mark.slow
KKR = "kkr-midtjylland-2026"
YEARS = range(2021, 2027)


@pytest.fixture(scope="module")
def inbox(sample_inbox) -> Path:
    return sample_inbox(range(2020, 2027), 0.05, 11)  # read only (a test that writes copies it)


def ingest_range(inbox: Path, first: int, last: int) -> int:
    years = f"{first}-{last}"
    return main(["ingest", "--contract", KKR, "--years", years, "--inbox", str(inbox)])


def columns(con: duckdb.DuckDBPyConnection, table: str) -> str:
    names = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name || '.' || table_name = ? "
        "AND column_name NOT IN ('read_at', 'run_id')",
        [table],
    ).fetchall()
    return ", ".join(f'"{n}"' for (n,) in names)


def rows(con: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> list[tuple]:
    return con.execute(
        f"SELECT {columns(con, table)} FROM {table} WHERE {where} ORDER BY ALL"
    ).fetchall()


def test_a_range_of_years_is_one_run_reading_each_register_once(inbox, tmp_path, monkeypatch):
    read: Counter[str] = Counter()
    stage_file = reader.stage_file

    def counting(con, fmt, root, relpath, year, target):  # type: ignore[no-untyped-def]
        read[relpath] += 1
        return stage_file(con, fmt, root, relpath, year, target)

    monkeypatch.setattr(ingest, "stage_file", counting)
    validations: Counter[str] = Counter()

    def counted(validate):  # type: ignore[no-untyped-def]
        def validating(fmt, *args):  # type: ignore[no-untyped-def]
            validations[fmt.name] += 1
            return validate(fmt, *args)

        return validating

    for name in ("validate", "validate_years"):
        monkeypatch.setattr(ingestion, name, counted(getattr(ingestion, name)))
    assert ingest_range(inbox, YEARS[0], YEARS[-1]) == 0

    with DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 1  # not one run per year
        for name in ("cvr_firms", "financials", "population"):
            key = AssetKey(["ingest", "register", name])
            assert instance.get_materialized_partitions(key) == {str(y) for y in YEARS}
        # each year's materialisation carries its own figures, each year its own checks
        financials = AssetKey(["ingest", "register", "financials"])
        counted = {
            y: instance.fetch_materializations(
                AssetRecordsFilter(asset_key=financials, asset_partitions=[str(y)]), limit=1
            )
            .records[0]
            .asset_materialization.metadata["dagster/row_count"]
            .value
            for y in YEARS
        }
        checks = Counter(
            (e.asset_check_evaluation_data.check_name, e.asset_check_evaluation_data.partition)
            for e in (
                r.dagster_event
                for r in instance.all_logs(
                    runs[0].run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
                )
            )
            if e.asset_check_evaluation_data.asset_key == AssetKey(["raw", "register", "cvr_firms"])
        )
        assert checks == {(c, str(y)): 1 for c in ("rows_valid", "file_trustworthy") for y in YEARS}

    # the year-less registers once for the six years; a file per year once per year
    assert read["register/cvr_virksomheder.csv"] == 1
    assert read["register/folketal.csv"] == 1
    assert all(read[f"register/regnskaber_{y}.csv"] == 1 for y in YEARS)
    # and each format validated once for all its years (one GX validation, not six)
    assert validations["financials"] == 1 and validations["cvr_firms"] == 1
    assert validations["crm_cases"] == 1  # KKR reads one organisation's CRM

    # the partitions hold exactly what reading the file for each year gives
    expected = duckdb.connect()
    ensure_schema(expected)
    for name in ("cvr_firms", "population"):  # the year-less registers KKR reads
        for year in YEARS:
            ingest.ingest_file(expected, FORMATS[name], inbox, year, None)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert counted == dict(
        con.execute(
            "SELECT year, count(*) FROM ingest.financials GROUP BY year ORDER BY year"
        ).fetchall()
    )
    for name in ("cvr_firms", "population"):
        for table in (f"raw.{name}", f"ingest.{name}"):
            assert rows(con, table) == rows(expected, table), table
        where = f"source = '{name}'"
        assert rows(con, "ingest.quarantine", where) == rows(expected, "ingest.quarantine", where)
        kept = "source, org, year, file, sha256, rows_read, rows_rejected, out_of_partition"
        assert (
            con.execute(
                f"SELECT {kept} FROM ingest.deliveries WHERE {where} ORDER BY ALL"
            ).fetchall()
            == expected.execute(
                f"SELECT {kept} FROM ingest.deliveries WHERE {where} ORDER BY ALL"
            ).fetchall()
        )


def test_a_year_not_taken_fails_the_run_by_name_and_the_others_are_ingested(
    inbox, tmp_path, capsys, monkeypatch
):
    # each year validated on its own, as the years of the largest deliveries are
    monkeypatch.setattr(ingestion, "BATCH_ROWS", 1)
    own = tmp_path / "inbox"
    shutil.copytree(inbox, own)
    for year in (2023, 2024):  # header-only files: refused, the years keep what they had
        financials = own / f"register/regnskaber_{year}.csv"
        financials.write_bytes(financials.read_bytes().splitlines(keepends=True)[0])
    assert ingest_range(own, YEARS[0], YEARS[-1]) == 1
    captured = capsys.readouterr()
    assert "Indlæsningen fejlede for 2023, 2024" in captured.err
    for year in (2023, 2024):  # each year's check says its own file
        assert (
            f"check ERROR raw/register/financials:file_trustworthy ({year}): filen "
            f"'register/regnskaber_{year}.csv' har kun overskriftsrækken" in captured.out
        )
    key = AssetKey(["raw", "register", "financials"])
    with DagsterInstance.get() as instance:
        assert len(instance.get_runs()) == 1
        assert instance.get_materialized_partitions(key) == {"2021", "2022", "2025", "2026"}
        # the registers of every year were taken, in the same run
        cvr = AssetKey(["raw", "register", "cvr_firms"])
        assert instance.get_materialized_partitions(cvr) == {str(y) for y in YEARS}
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    stored = con.execute(
        "SELECT year FROM ingest.deliveries WHERE source = 'financials' ORDER BY year"
    ).fetchall()
    assert stored == [(2021,), (2022,), (2025,), (2026,)]
