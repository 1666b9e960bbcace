"""The warehouse resource makes sure of the schema once per file and process, and after
that only probes it: a file deleted or replaced meanwhile gets the schema again, and a
changed path (another test's warehouse, a changed environment variable) is a file of its
own."""

from __future__ import annotations

from unittest import mock

import resources.warehouse as warehouse_module
from resources import Warehouse


def _tables(con) -> set[str]:
    rows = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
    return {name for (name,) in rows}


def test_the_schema_is_made_once_per_file(tmp_path):
    db = tmp_path / "w.duckdb"
    with mock.patch.object(
        warehouse_module, "ensure_schema", wraps=warehouse_module.ensure_schema
    ) as ensure:
        for _ in range(3):  # three steps of two runs: two resources, one file
            with Warehouse(database=str(db)).connect() as con:
                assert "ingest.deliveries" in _tables(con)
            with Warehouse(database=str(db)).connect() as con:
                pass
        assert ensure.call_count == 1


def test_a_replaced_file_gets_the_schema_again(tmp_path):
    db = tmp_path / "w.duckdb"
    with Warehouse(database=str(db)).connect():
        pass
    db.unlink()
    with Warehouse(database=str(db)).connect() as con:
        assert {"ingest.deliveries", "ref.municipalities"} <= _tables(con)
        assert con.execute("SELECT count(*) FROM ref.municipalities").fetchall()[0][0] == 98


def test_a_changed_environment_is_another_file(tmp_path, monkeypatch):
    for name in ("a", "b"):
        monkeypatch.setenv("RESULTATRAPPORT_WAREHOUSE", str(tmp_path / f"{name}.duckdb"))
        with Warehouse().connect() as con:
            assert "ingest.checks" in _tables(con)
    assert (tmp_path / "a.duckdb").exists() and (tmp_path / "b.duckdb").exists()
