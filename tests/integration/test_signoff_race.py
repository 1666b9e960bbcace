"""Two sign-offs of one contract year at once: one of them signs, the other is refused at once
in one Danish sentence, whichever step of publishing the first is at. On the lake (no
warehouse pool between machines: the year's sign-off lock is in PostgreSQL) and on a DuckDB
file (an OS lock beside it, pool or not). Exactly one version is recorded, its files are whole
and as recorded, nothing the first left behind is cleared by anyone else meanwhile, and the
year is signable afterwards.

The first sign-off is the command line in a child process that stops itself (SIGSTOP) right
before a function of the publish module, the second runs while it is stopped."""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from resultatrapport import lake, settings
from resultatrapport.report import publish, signoff
from resultatrapport.warehouse_schema import ensure_schema
from tests.helpers import lake_catalog
from tests.integration.test_operations import cli, environment, finish

TODAY = dt.date(2026, 12, 7)  # the day the check judges on (2021 is over: final)

pytestmark = pytest.mark.slow
VER = "viborg-ver-2020"
FIRST, SECOND = "Ida Kontrolsen", "Bo Revisorsen"
ROLE = "direktør"

# the command line, stopped (SIGSTOP, by itself) right before a function of the publish module
PAUSED_AT = """
import os, signal, sys
from resultatrapport.report import publish

function = getattr(publish, sys.argv[1])

def paused(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGSTOP)
    return function(*args, **kwargs)

setattr(publish, sys.argv[1], paused)
from commands.cli import main
sys.exit(main(sys.argv[2:]))
"""


def busy(year: int) -> str:
    return f"En anden godkendelse af {VER} {year} er i gang; prøv igen, når den er færdig."


def sign_off_paused(env: dict[str, str], point: str, year: int, log: Path) -> subprocess.Popen:
    """The first sign-off, started; it stops itself at ``point`` (:func:`stopped` waits for
    that). Its output goes to ``log``: a stopped process must not fill a pipe."""
    args = ("sign-off", "--contract", VER, "--year", str(year), "--by", FIRST, "--role", ROLE)
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-c", PAUSED_AT, point, *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(env["RESULTATRAPPORT_OUT"]).parent,
        )


def stopped(process: subprocess.Popen, point: str, log: Path) -> None:
    """Wait until ``process`` has stopped itself at ``point``."""
    deadline = time.monotonic() + 300
    while _state(process.pid) != "T":
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"never reached {point}: {log.read_text()}"
        time.sleep(0.1)


def _state(pid: int) -> str:
    """A process's state letter (``T``: stopped), from /proc."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]


def resume(process: subprocess.Popen, log: Path) -> tuple[int, str]:
    process.send_signal(signal.SIGCONT)
    return process.wait(timeout=600), log.read_text()


def sign_in_process(connect: signoff.Connect, ver, year: int, out: Path) -> signoff.Signed:  # type: ignore[no-untyped-def]
    """The second sign-off, through the library in this process (what the asset calls)."""

    def render(*args: object, **kwargs: object) -> tuple[bytes, int]:
        pytest.fail("the second sign-off rendered a version")

    request = signoff.Request(
        contract=ver,
        year=year,
        signer=SECOND,
        role=ROLE,
        directory=publish.year_dir(out, VER, year),
        run_id=None,
        now=dt.datetime.now(ZoneInfo("Europe/Copenhagen")),
    )
    return signoff.sign_off(connect, request, render, lambda note: None)


def assert_one_whole_version(
    con: duckdb.DuckDBPyConnection, folder: Path, year: int
) -> dict[str, str]:
    """Exactly one version of the year is recorded, by the first signer; its files are in the
    year folder as recorded, and nothing else named like a signed file nor a temporary folder
    is there. Returns the recorded files (name -> SHA-256)."""
    rows = con.execute(
        "SELECT version, signed_by, files FROM report.signoffs WHERE contract = $c AND year = $y",
        {"c": VER, "y": year},
    ).fetchall()
    assert [(v, by) for v, by, _ in rows] == [(1, FIRST)], rows
    files: dict[str, str] = json.loads(rows[0][2])
    on_disk = {
        p.name
        for p in folder.iterdir()
        # the report, the submissions and the internal data-quality appendix of a version
        if re.search(r"_v\d+(\.(pdf|csv)|_datakvalitet_intern\.html)$", p.name)
        or p.name.startswith(".")
    }
    assert on_disk == set(files)
    assert {name: publish.sha256((folder / name).read_bytes()) for name in files} == files
    return files


# --- the lock and the record, directly --------------------------------------------------------


def test_the_sign_off_lock_of_a_file_warehouse_is_held_once_and_let_go(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with closing(duckdb.connect(str(path))) as a, closing(duckdb.connect(":memory:")) as mem:
        with publish.signoff_lock(a, VER, 2021) as first:
            assert first
            # another connection (a process) to the same file, named by another path
            with (
                closing(duckdb.connect(str(tmp_path / "." / "warehouse.duckdb"))) as b,
                publish.signoff_lock(b, VER, 2021) as second,
            ):
                assert not second
            with publish.signoff_lock(a, VER, 2022) as other_year:
                assert other_year
        with publish.signoff_lock(a, VER, 2021) as again:
            assert again
        with publish.signoff_lock(mem, VER, 2021) as alone:
            assert alone  # an in-memory warehouse is this process's alone


def test_a_second_record_of_a_version_is_refused_and_its_files_taken_back(tmp_path):
    with closing(duckdb.connect()) as con:
        ensure_schema(con)
        files = {"aarsrapport_x_2026_v1.pdf": b"%PDF first"}
        record = publish.SignOff(
            1, FIRST, dt.datetime(2026, 3, 2), "d", "s", {n: publish.sha256(b) for n, b in files.items()}
        )  # fmt: skip
        publish.record_signoff(con, "x", 2026, record, None)
        folder = tmp_path / "2026"
        with pytest.raises(publish.VersionTaken):
            publish.publish_version(
                folder,
                1,
                {"resultatopfyldelse_x_2026_v1.csv": b"second"},
                record=lambda: publish.record_signoff(con, "x", 2026, record, None),
            )
        assert list(folder.iterdir()) == []  # the refused version's files are gone
        assert set(publish.signoffs(con, "x", 2026)) == {1}
        [(n,)] = con.execute("SELECT count(*) FROM report.signoffs").fetchall()
        assert n == 1


def test_the_current_check_clears_nothing_of_a_sign_off_under_way(tmp_path, ver):
    path = tmp_path / "warehouse.duckdb"
    with closing(duckdb.connect(str(path))) as con:
        ensure_schema(con)
    folder = publish.year_dir(tmp_path / "out", VER, 2021)
    name = f"aarsrapport_{VER}_2021_v1.pdf"
    warnings: list[str] = []
    with closing(duckdb.connect(str(path))) as signing, publish.signoff_lock(signing, VER, 2021):
        staging = publish.stage_version(folder, 1, {name: b"%PDF"})
        publish.link_staged(folder, staging)  # linked, not yet recorded
        with closing(duckdb.connect(str(path))) as checking:
            judged = signoff.current(checking, ver, 2021, folder, warnings.append, on=TODAY)
        assert staging.is_dir() and (folder / name).is_file()
        assert judged.errors == []  # its linked file is no "file without a record" yet
    # once the sign-off is gone (killed), the next judgment clears what it left
    with closing(duckdb.connect(str(path))) as checking:
        judged = signoff.current(checking, ver, 2021, folder, warnings.append, on=TODAY)
    assert not staging.exists() and not (folder / name).exists()
    assert judged.errors == []


# --- on the lake -------------------------------------------------------------------------------

# the first sign-off of each year stops right before one step of publishing
YEARS = {
    "stage_version": 2021,  # the version decided, nothing written
    "link_staged": 2022,  # its files written in the temporary folder
    "record_signoff": 2023,  # its files linked into place, not yet recorded
}


@pytest.fixture(scope="module")
def lake_run(tmp_path_factory, sample_inbox) -> Iterator[tuple[dict[str, str], str]]:
    """The environment of a lake on which the drafts of 2021-2023 are made (one run), and its
    ``$RESULTATRAPPORT_LAKE``; each test signs its own year."""
    root = tmp_path_factory.mktemp("race-lake")
    with lake_catalog(root / "lake") as value:
        env = environment(root, sample_inbox(range(2020, 2028), 0.05, 9))
        env["RESULTATRAPPORT_LAKE"] = value
        years = f"{min(YEARS.values())}-{max(YEARS.values())}"
        code, out = finish(cli(env, "backfill", "--contract", VER, "--years", years))
        assert code == 0, out
        yield env, value


def test_two_sign_offs_of_one_year_on_a_lake_make_one_whole_version_at_every_step(
    lake_run, ver, tmp_path
):
    env, value = lake_run
    out, where = Path(env["RESULTATRAPPORT_OUT"]), lake.parse(value)

    def connect() -> duckdb.DuckDBPyConnection:
        return lake.connect(Path("unused"), settings.duckdb_config(), where)

    # the first sign-off of each year stopped at its step (the three at once: they are
    # independent, each year has its own lock), the second tried while it is stopped
    # each from a Dagster instance of its own, as on machines of their own: the warehouse
    # pool of one instance would have each wait for the step of the one stopped before it
    logs = {point: tmp_path / f"{point}.log" for point in YEARS}
    first = {}
    try:
        for point, year in YEARS.items():
            home = environment(tmp_path / point, Path(env["RESULTATRAPPORT_INBOX"]))
            instance = env | {"DAGSTER_HOME": home["DAGSTER_HOME"]}
            first[point] = sign_off_paused(instance, point, year, logs[point])
        for point, process in first.items():
            stopped(process, point, logs[point])
        for point, year in YEARS.items():
            with pytest.raises(publish.SignOffBusy) as refused:
                sign_in_process(connect, ver, year, out)
            assert str(refused.value) == busy(year), point
    finally:
        ended = {point: resume(process, logs[point]) for point, process in first.items()}
    for point, year in YEARS.items():
        code, said = ended[point]
        assert code == 0, f"{point}: {said}"
        with closing(connect()) as con:
            files = assert_one_whole_version(con, publish.year_dir(out, VER, year), year)
        # the year is signable afterwards: verified whole, nothing new to sign
        again = sign_in_process(connect, ver, year, out)
        assert not again.new and again.record.version == 1 and again.record.files == files
        assert again.message.startswith(f"Intet nyt at godkende: v1 er godkendt af {FIRST}")


# --- on a DuckDB file, through the command line ------------------------------------------------


def test_two_sign_offs_of_one_year_on_a_file_make_one_version_and_the_loser_is_told(
    tmp_path, sample_inbox, ver
):
    inbox = sample_inbox(range(2020, 2028), 0.05, 9)
    env = environment(tmp_path, inbox)
    code, out = finish(cli(env, "run", "--contract", VER, "--year", "2021"))
    assert code == 0, out
    # the second from another Dagster instance: no warehouse pool between the two (within one
    # instance the pool has the second's step wait for the first's)
    other = environment(tmp_path / "other", inbox)["DAGSTER_HOME"]
    first = sign_off_paused(env, "link_staged", 2021, tmp_path / "first.log")
    stopped(first, "link_staged", tmp_path / "first.log")
    try:
        code, said = finish(
            cli(
                env | {"DAGSTER_HOME": other},
                *("sign-off", "--contract", VER, "--year", "2021", "--by", SECOND, "--role", ROLE),
            )
        )
    finally:
        first_code, first_said = resume(first, tmp_path / "first.log")
    assert code == 2, said
    assert said.strip().splitlines()[-1] == busy(2021), said
    assert "Error" not in said and "Traceback" not in said
    assert first_code == 0, first_said
    db, folder = tmp_path / "warehouse.duckdb", tmp_path / "out" / VER / "2021"
    with closing(duckdb.connect(str(db), read_only=True)) as con:
        files = assert_one_whole_version(con, folder, 2021)

    def connect() -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(db))

    again = sign_in_process(connect, ver, 2021, tmp_path / "out")
    assert not again.new and again.record.files == files
