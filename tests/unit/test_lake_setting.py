"""The lake setting, the extensions from their wheels, and what the deploy files say of the
pool. The lake itself, on a real PostgreSQL, is in tests/integration/test_lake.py."""

from __future__ import annotations

import duckdb
import pytest
import yaml

from resultatrapport import lake, settings
from resultatrapport.settings import PROJECT_ROOT


def test_the_setting_is_the_catalog_and_the_data_path():
    value = "ducklake:postgres:dbname=lake host=db port=5432 user=rr|/data/lake"
    assert lake.parse(value) == lake.Lake(
        "postgres:dbname=lake host=db port=5432 user=rr", "/data/lake/"
    )
    assert (
        lake.parse(value).describe()
        == "DuckLake (dbname=lake host=db port=5432; data in /data/lake/)"
    )


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("postgres:dbname=lake host=db", "split by '|'"),
        ("|/data/lake/", "split by '|'"),
        ("postgres:dbname=lake|", "split by '|'"),
        ("sqlite:lake.sqlite|/data/lake/", "must be a PostgreSQL one"),
        ("postgres:dbname=lake password=hemmelig|/data/", "holds a password"),
        ("postgres:dbname=lake host=db|/data/it's/", "single quote"),
        ("postgres:dbname=lake host=db|gs://bucket/lake/", "a folder or an s3:// bucket"),
        ("postgres:postgresql://rr:hemmelig@db/lake|/data/", "key=value"),
        ("postgres:dbname=lake sslpassword=hemmelig|/data/", "holds a password"),
        ("postgres:dbname=lake PASSWORD=hemmelig|/data/", "holds a password"),
        ("postgres:dbname=lake host=db Password = hemmelig|/data/", "holds a password"),
    ],
)
def test_a_setting_that_cannot_be_used_is_refused_without_repeating_it(value, said):
    with pytest.raises(lake.LakeConfigError, match=said) as refused:
        lake.parse(value)
    assert "hemmelig" not in str(refused.value) and value not in str(refused.value)


def test_unset_is_the_file(monkeypatch):
    monkeypatch.delenv(lake.ENV_LAKE, raising=False)
    assert lake.configured() is None
    monkeypatch.setenv(lake.ENV_LAKE, "  ")
    assert lake.configured() is None
    monkeypatch.setenv(lake.ENV_LAKE, "postgres:dbname=x|/d/")
    assert lake.configured() == lake.Lake("postgres:dbname=x", "/d/")
    assert lake.configured("postgres:dbname=y|/e/") == lake.Lake("postgres:dbname=y", "/e/")


def test_the_extensions_load_from_the_installed_wheels_without_a_network():
    ducklake, postgres = lake.extension_files()
    assert ducklake.is_file() and postgres.name == "postgres_scanner.duckdb_extension"
    con = duckdb.connect(config=settings.duckdb_config())
    con.execute(f"LOAD '{ducklake}'")
    con.execute(f"LOAD '{postgres}'")
    loaded = dict(con.execute("SELECT extension_name, loaded FROM duckdb_extensions()").fetchall())
    assert loaded["ducklake"] and loaded["postgres_scanner"]
    # nothing is fetched or loaded by itself: every connection has both switched off
    for setting in ("autoinstall_known_extensions", "autoload_known_extensions"):
        assert con.execute(f"SELECT current_setting('{setting}')").fetchall() == [(False,)]


def test_a_file_connection_is_not_a_lake_whatever_the_file_is_called(tmp_path):
    # DuckDB names a file's database after the file: "lake" for lake.duckdb
    con = lake.connect(tmp_path / "lake.duckdb", settings.duckdb_config(), None)
    assert not lake.is_lake(con) and lake.catalog_of(con) is None
    with lake.write_turn(con):  # no turn to take on a file
        con.execute("CREATE TABLE t (i INTEGER)")


def test_production_refuses_to_run_without_its_lake(monkeypatch):
    monkeypatch.delenv(lake.ENV_LAKE, raising=False)
    monkeypatch.setenv(lake.ENV_REQUIRE_LAKE, "1")
    with pytest.raises(lake.LakeConfigError, match="would be a file inside this container"):
        lake.configured()
    monkeypatch.setenv(lake.ENV_LAKE, "postgres:dbname=x|/d/")
    assert lake.configured() == lake.Lake("postgres:dbname=x", "/d/")


def test_the_bench_measures_the_file_whatever_lake_its_caller_has(monkeypatch, tmp_path):
    from commands.bench import fresh_env

    for name in (lake.ENV_LAKE, lake.ENV_S3_ENDPOINT, lake.ENV_REQUIRE_LAKE):
        monkeypatch.setenv(name, "x")
    env = fresh_env(tmp_path, tmp_path / "inbox")
    assert not {lake.ENV_LAKE, lake.ENV_S3_ENDPOINT, lake.ENV_REQUIRE_LAKE} & set(env)


def pools(name: str) -> dict:
    return yaml.safe_load((PROJECT_ROOT / name).read_text()).get("concurrency", {})


def test_the_file_keeps_its_pool_and_the_lake_in_production_has_none():
    assert pools("dagster.yaml")["pools"]["default_limit"] == 1
    assert pools("deploy/dagster.postgres.yaml")["pools"]["default_limit"] == 1
    production = (PROJECT_ROOT / "deploy/dagster.production.yaml").read_text()
    run_pods = yaml.safe_load(production)["run_launcher"]["config"]["env_vars"]
    assert "RESULTATRAPPORT_REQUIRE_LAKE=1" in run_pods
    pods = (PROJECT_ROOT / "deploy/production.env").read_text().splitlines()
    assert "RESULTATRAPPORT_REQUIRE_LAKE=1" in pods
    assert "pools" not in pools("deploy/dagster.production.yaml")
    assert "RESULTATRAPPORT_LAKE" in production
    assert "RESULTATRAPPORT_WAREHOUSE=" not in production.split("run_launcher:")[1]


@pytest.mark.parametrize(
    ("message", "conflict"),
    [
        (
            "TransactionContext Error: Failed to commit: Transaction conflict - attempting "
            "to delete a row that was deleted by another transaction",
            True,
        ),
        ("Catalog Error: Table with name t does not exist!", False),
    ],
)
def test_a_conflict_is_told_from_other_errors(message, conflict):
    assert lake.is_conflict(duckdb.TransactionException(message)) is conflict
    assert not lake.is_conflict(ValueError(message))


def test_an_s3_data_path_gets_the_credential_chain_and_an_endpoint_if_named(monkeypatch):
    assert lake.parse("postgres:dbname=x|s3://bucket/lake").on_s3
    assert lake.parse("postgres:dbname=x|s3://bucket/lake").data_path == "s3://bucket/lake/"
    monkeypatch.delenv(lake.ENV_S3_ENDPOINT, raising=False)
    assert lake.s3_secret() == (
        "CREATE OR REPLACE SECRET resultatrapport_lake_s3 (TYPE s3, PROVIDER credential_chain)"
    )
    assert lake.s3_secret("https://minio.internal:9000").endswith(
        "ENDPOINT 'minio.internal:9000', URL_STYLE 'path', USE_SSL True)"
    )
    with pytest.raises(lake.LakeConfigError, match="http"):
        lake.s3_secret("minio.internal:9000")


def test_the_object_store_extensions_load_from_their_wheels(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "resultatrapport")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-only")
    con = duckdb.connect(config=settings.duckdb_config())
    for extension in lake.object_store_extensions():
        con.execute(f"LOAD '{extension}'")
    con.execute(lake.s3_secret("http://127.0.0.1:9"))
    loaded = dict(con.execute("SELECT extension_name, loaded FROM duckdb_extensions()").fetchall())
    assert loaded["httpfs"] and loaded["aws"]
    # without credentials anywhere in the chain the secret is refused at once, not at the
    # first write
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    with pytest.raises(duckdb.Error, match="Secret Validation Failure"):
        con.execute(lake.s3_secret("http://127.0.0.1:9"))
