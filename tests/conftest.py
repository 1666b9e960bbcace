from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import pytest

from resultatrapport.contracts import Contract, load_contracts
from resultatrapport.sample.generate import generate_inbox
from resultatrapport.settings import PROJECT_ROOT
from resultatrapport.warehouse_schema import ensure_schema

# tests never touch the working directory: every location points into a temp dir
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESULTATRAPPORT_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("RESULTATRAPPORT_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("RESULTATRAPPORT_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("RESULTATRAPPORT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    # the file, unless a test says otherwise
    # (and the real contracts only, unless a test asks for the generated examples)
    for name in ("RESULTATRAPPORT_LAKE", "RESULTATRAPPORT_LAKE_S3_ENDPOINT",
                 "RESULTATRAPPORT_REQUIRE_LAKE", "RESULTATRAPPORT_EXAMPLE_CONTRACTS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "dagster_home").mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", tmp_path / "dagster_home" / "dagster.yaml")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    ensure_schema(connection)
    return connection


# the two contract files of the repository, loaded once per module that asks for them
@pytest.fixture(scope="module")
def contracts() -> dict[str, Contract]:
    return load_contracts()


@pytest.fixture(scope="module")
def kkr(contracts: dict[str, Contract]) -> Contract:
    return contracts["kkr-midtjylland-2026"]


@pytest.fixture(scope="module")
def ver(contracts: dict[str, Contract]) -> Contract:
    return contracts["viborg-ver-2020"]


# a generated inbox, made once per test process (each pytest-xdist worker) for every test that
# asks for the same years, scale and seed, and shared: a test that writes into it (a changed
# delivery) works on a copy, `shutil.copytree(sample_inbox(...), tmp_path / "inbox")`
SampleInbox = Callable[[Sequence[int], float, int], Path]


@pytest.fixture(scope="session")
def sample_inbox(tmp_path_factory: pytest.TempPathFactory) -> SampleInbox:
    made: dict[tuple[tuple[int, ...], float, int], Path] = {}

    def get(years: Sequence[int], scale: float, seed: int) -> Path:
        key = (tuple(years), scale, seed)
        if key not in made:
            root = tmp_path_factory.mktemp(f"inbox-{min(years)}-{max(years)}-{scale}-{seed}")
            generate_inbox(root, years, scale=scale, seed=seed)
            made[key] = root
        return made[key]

    return get
