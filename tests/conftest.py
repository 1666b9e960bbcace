from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from resultatrapport.settings import PROJECT_ROOT
from resultatrapport.warehouse_schema import ensure_schema

# tests never touch the working directory: every location points into a temp dir
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESULTATRAPPORT_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("RESULTATRAPPORT_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("RESULTATRAPPORT_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", tmp_path / "dagster_home" / "dagster.yaml")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    ensure_schema(connection)
    return connection
