"""Small hand-made deliveries for unit tests (the generator makes the big ones), and the state
of a finished run copied for a test that goes on from it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from resultatrapport.formats import FORMATS

if TYPE_CHECKING:
    import duckdb

    from resultatrapport.ingestion import YearIngested

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


def inflated(pdf: bytes) -> bytes:
    """The PDF with every Flate stream inflated after it (a tagged PDF's structure tree sits
    in compressed object streams)."""
    parts = [pdf]
    for data in re.findall(rb"/FlateDecode[^>]*>>\r?\nstream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        parts.append(zlib.decompressobj().decompress(data))
    return b"\n".join(parts)


def figure_alts(pdf: bytes) -> list[str]:
    """The text alternative (/Alt) of every Figure in a tagged PDF, in file order ('' for a
    Figure without one)."""
    alts = []
    for element in re.findall(rb"/S /Figure(.*?)>>\n", inflated(pdf), re.S):
        found = re.search(rb"/Alt (<[0-9a-f]*>|\((?:\\.|[^\\)])*\))", element)
        alts.append(_pdf_string(found.group(1)) if found else "")
    return alts


def _pdf_string(token: bytes) -> str:
    """A PDF string as pydyf writes it: (literal) or <hex UTF-16BE with BOM>."""
    if token.startswith(b"<"):
        return bytes.fromhex(token[1:-1].decode()).decode("utf-16")
    return re.sub(rb"\\(.)", rb"\1", token[1:-1]).decode("latin-1")


def ingested_by_two_at_once(
    connect: Callable[[], duckdb.DuckDBPyConnection], inbox: Path
) -> tuple[YearIngested, YearIngested, bool]:
    """The price index (a register, one file for every year) ingested for 2021 by two
    threads at once, each on its own connection (``connect``) to one warehouse, as two hubs'
    runs starting together do: the second starts once the first is about to read the file,
    and the first lets it overtake (waits up to a second for it to begin reading too). Both
    threads' results (``ingest_delivery``'s, run ids "first" and "second"), and whether the
    second read the file."""
    from resultatrapport.ingestion import ingest_delivery

    index = FORMATS["price_index"]
    path = inbox / index.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("År;Indeks\n2020;100,0\n2021;102,3\n2022;106,1\n", encoding="utf-8")
    first_reads, second_reads = threading.Event(), threading.Event()

    def first_reading() -> None:
        first_reads.set()
        second_reads.wait(1.0)

    results: dict[str, YearIngested] = {}
    failed: list[BaseException] = []

    def ingest(run_id: str, reading: Callable[[], None]) -> None:
        try:
            with connect() as con:
                [results[run_id]] = ingest_delivery(
                    con, index, None, inbox, [2021], run_id=run_id, reading=reading
                )
        except BaseException as error:  # said by the test, not lost in the thread
            first_reads.set()
            failed.append(error)

    first = threading.Thread(target=ingest, args=("first", first_reading))
    first.start()
    assert first_reads.wait(60), "the first ingestion never came to read the file"
    second = threading.Thread(target=ingest, args=("second", second_reads.set))
    second.start()
    first.join(120)
    second.join(120)
    if failed:
        raise failed[0]
    return results["first"], results["second"], second_reads.is_set()
