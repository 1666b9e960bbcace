"""Small hand-made deliveries for unit tests (the generator makes the big ones), and the state
of a finished run copied for a test that goes on from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from resultatrapport.formats import FORMATS

CRM_ROW = (
    "{case_id};{cvr};Søren Bæk ApS;{kommune};{start};;Individuel;{segment};Vækstforløb;Innovation;"
    "{refs};12,5;Åse Ærø;aase@example.dk;Jens Øst;{note}"
)


def crm_row(i: int, **kw: object) -> str:
    values: dict[str, object] = {
        "case_id": f"EHMJ-2026-{i:05d}",
        "cvr": 30000000 + i,
        "kommune": 751,
        "start": "03-02-2026",
        "note": "opfølgning",
        "segment": "Vækst",
        "refs": "Erhvervshus Midtjylland|Innovationsfonden",
    }
    values.update(kw)
    return CRM_ROW.format(**values)


def write_crm(
    inbox: Path,
    rows: list[str],
    *,
    year: int = 2026,
    org: str = "erhvervshus-midtjylland",
    encoding: str = "utf-8-sig",
    newline: str = "\r\n",
    header: str | None = None,
    trailing: int = 0,
) -> Path:
    path = inbox / FORMATS["crm_cases"].relpath(year, org)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = header if header is not None else ";".join(FORMATS["crm_cases"].headers)
    text = newline.join([head, *rows]) + newline + newline * trailing
    path.write_bytes(text.encode(encoding))
    return path


def copy_state(source: Path, target: Path) -> None:
    """The warehouse and the Dagster instance of a finished run in ``source`` (as laid out by
    ``_isolated``: warehouse.duckdb, dagster_home/) copied to ``target``, for a test that goes
    on from a run a module made once instead of making it again."""
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        if (source / name).exists():
            shutil.copyfile(source / name, target / name)
    shutil.copytree(source / "dagster_home", target / "dagster_home", dirs_exist_ok=True)


def postgres_url(required: bool = True) -> str:
    """The PostgreSQL server of the tests (SQLAlchemy URL; .ci/run starts one): a failure in
    CI without one; on a laptop the test is skipped, or "" if it is not ``required``."""
    import os

    import pytest

    url = os.environ.get("RESULTATRAPPORT_TEST_POSTGRES_URL")
    if not url and not required and not os.environ.get("CI"):
        return ""
    if not url:
        if os.environ.get("CI"):
            pytest.fail(
                "CI must provide RESULTATRAPPORT_TEST_POSTGRES_URL (.ci/run starts PostgreSQL)"
            )
        pytest.skip("no PostgreSQL server (set RESULTATRAPPORT_TEST_POSTGRES_URL; .ci/run does)")
    return url


def libpq_server(url: str) -> str:
    """The server of a SQLAlchemy URL as a libpq connection string without a database."""
    import sqlalchemy

    server = sqlalchemy.engine.make_url(url)
    parts = {"host": server.host, "port": server.port, "user": server.username}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


@contextmanager
def small_filesystem(path: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    """A real file system of ``size`` (tmpfs) mounted on ``path``, read-only if asked: a
    full disk or a read-only folder as users meet them, which permissions cannot show to
    root (as CI runs). Mounting needs root: in CI a failure, on a laptop the test is
    skipped."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to mount a tmpfs: {mounted.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextmanager
def lake_catalog(data: Path) -> Iterator[str]:
    """``$RESULTATRAPPORT_LAKE`` for a new, empty catalog database on the tests' PostgreSQL
    server (dropped afterwards) and the data folder ``data``."""
    import sqlalchemy

    url = postgres_url()
    name = f"lake_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgres:{libpq_server(url)} dbname={name}|{data}/"
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
