"""Six hubs, end to end, on the shared warehouse: the six erhvervshuse's pipelines run at once
(six `resultatrapport run` processes, each its own Dagster instance, as six machines would)
on one DuckLake (its catalog in the tests' PostgreSQL), each year is signed, the signed
submissions are sent to the recipients' folder (`resultatrapport submit`), and the national
overview is built from them (`resultatrapport national`). The pooled figures are then
recomputed here from the hubs' CSV files alone, by national.md's rules, with plain csv and
Decimal arithmetic (not the pipeline's pooling), and compared with the overview's CSV.

KKR Midtjylland's contract is the real one; the other five are the generated examples
(contracts/examples/, RESULTATRAPPORT_EXAMPLE_CONTRACTS=1), the inbox `sample-data --hubs`.

The registers (the CVR extract, the accounts, the population, the awareness survey) are the
same files for every hub: each is read, validated and written by one of the six runs, the
others wait for its delivery lock and find it unchanged (resultatrapport/ingestion.py).

On the way it holds what test_lake.py held with runs of its own (merged here: each costs a
pipeline run or two, and CI's time is short): writers in separate processes, each its own
Dagster instance, never double a partition, nothing goes to a DuckDB file, every sign-off
records its lake snapshot, and a signed version's figures are read back from that snapshot
after the data changed (`show-signed`; a version never signed is refused)."""

from __future__ import annotations

import csv
import io
import time
from decimal import Decimal
from pathlib import Path

import pytest

from commands.write_waits import parse_turns
from resultatrapport import lake, settings
from resultatrapport.report.submissions import validate_csv
from resultatrapport.sample.generate import generate_inbox
from tests.helpers import lake_catalog
from tests.integration.test_lake import deliveries_recorded_twice, kpis_json, lake_env, query
from tests.integration.test_operations import cli, finish

pytestmark = pytest.mark.slow
YEAR = 2026
CONTRACTS = {  # hub folder: contract, in the framework's order
    "erhvervshus-hovedstaden": "eksempel-hovedstaden-2026",
    "erhvervshus-midtjylland": "kkr-midtjylland-2026",
    "erhvervshus-sjaelland": "eksempel-sjaelland-2026",
    "erhvervshus-sydjylland": "eksempel-sydjylland-2026",
    "erhvervshus-nordjylland": "eksempel-nordjylland-2026",
    "erhvervshus-fyn": "eksempel-fyn-2026",
}
# the framework's national measures (contracts/national/rammeaftale-2024-2027.yaml), written
# out here: unit, how national.md pools them, and the target of 2026 (operator, value)
MEASURES = {
    "M1": ("pct.", "weighted", (">=", 50)),
    "M1b": ("pct.", "weighted", (">=", 55)),
    "M2": ("antal", "sum", None),  # the collective 2.400 is 2027's; 2026 is on the path
    "M3": ("NPS", "weighted", (">=", 70)),
    "M4": ("pct.", "weighted", (">=", 50)),
    "M5-O": ("procentpoint", "none", (">=", 10)),
    "M5-B": ("procentpoint", "none", (">=", 5)),
    "M5-P": ("procentpoint", "none", (">", 0)),
    "M6": ("pct.", "weighted", (">=", 70)),
}
SIGNERS = {  # a director per hub (the contracts make the director answer for the report)
    "erhvervshus-hovedstaden": "Ida Hansen",
    "erhvervshus-midtjylland": "Mette Jensen",
    "erhvervshus-sjaelland": "Søren Nielsen",
    "erhvervshus-sydjylland": "Anne Pedersen",
    "erhvervshus-nordjylland": "Jens Larsen",
    "erhvervshus-fyn": "Hanne Møller",
}


def read(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))


def number(cell: str) -> Decimal | None:
    return Decimal(cell.replace(",", ".")) if cell else None


def met(value: Decimal, target: tuple[str, int] | None) -> str:
    if target is None:
        return "Intet mål i år"
    operator, goal = target
    ok = value >= goal if operator == ">=" else value > goal if operator == ">" else value <= goal
    return "Opfyldt" if ok else "Ikke opfyldt"


def pooled_by_hand(hubs: dict[str, list[dict[str, str]]]) -> dict[str, dict[str, object]]:
    """The pooled row of each measure from the hubs' files, by national.md: counts summed
    (none without every hub's figure; withheld when a hub's is), shares and NPS weighted by
    Grundlag over the hubs with a published figure and its basis (with the root of the sum of
    the squared weighted half-widths as its interval where every hub gave one), effects not
    pooled."""
    expected: dict[str, dict[str, object]] = {}
    for measure, (_, pooling, target) in MEASURES.items():
        rows = [next(r for r in hub if r["Mål-ID"] == measure) for hub in hubs.values()]
        published = [r for r in rows if r["Diskretioneret"] == "Nej" and r["Resultat"]]
        if pooling == "none":
            expected[measure] = {"value": None}
        elif pooling == "sum":
            if len(published) < len(rows):
                withheld = any(r["Diskretioneret"] == "Ja" for r in rows)
                expected[measure] = {"value": None, "withheld": withheld}
                continue
            total = sum((number(r["Resultat"]) or Decimal(0) for r in rows), Decimal(0))
            n = sum(int(r["Grundlag"]) for r in rows)
            expected[measure] = {"value": total, "n": n, "status": met(total, target), "hubs": 6}
        else:
            used = [r for r in published if r["Grundlag"] and int(r["Grundlag"]) > 0]
            if not used:
                expected[measure] = {"value": None, "hubs": 0}
                continue
            n = sum(int(r["Grundlag"]) for r in used)
            value = sum(
                (int(r["Grundlag"]) * (number(r["Resultat"]) or Decimal(0)) for r in used),
                Decimal(0),
            ) / Decimal(n)
            entry: dict[str, object] = {
                "value": value, "n": n, "status": met(value, target), "hubs": len(used),
            }  # fmt: skip
            if all(r["Nedre 95 %"] and r["Øvre 95 %"] for r in used) and target is not None:
                squares = sum(
                    (
                        (Decimal(int(r["Grundlag"])) / n) ** 2
                        * (
                            (number(r["Øvre 95 %"]) or Decimal(0))
                            - (number(r["Nedre 95 %"]) or Decimal(0))
                        )
                        ** 2
                        / 4
                        for r in used
                    ),
                    Decimal(0),
                )
                half = squares.sqrt()
                low, high = value - half, value + half
                if min(abs(low - target[1]), abs(high - target[1])) > Decimal("0.05"):
                    entry["uncertain"] = "Ja" if low <= target[1] <= high else "Nej"
            expected[measure] = entry
    return expected


def run_at_once(envs: dict[str, dict[str, str]], catalog: str, root: Path) -> None:
    """The six hubs' `run` of the year, started together; each succeeds and writes only the
    lake, no partition is written twice, and each register (the same files for every hub)
    is read, validated and written by one run only: the others wait for it and find it
    unchanged."""
    runs = {
        slug: cli(envs[slug], "run", "--contract", contract, "--year", str(YEAR))
        for slug, contract in CONTRACTS.items()
    }
    said = {}
    for slug, process in runs.items():
        code, said[slug] = finish(process)
        assert code == 0, f"{slug}:\n{said[slug]}"
        turns = parse_turns(said[slug])  # what the write-wait measurement reads (benchmarks.md)
        assert turns is not None and turns.turns > 0 and turns.held > 0, said[slug]
    # "materialised raw/register/cvr_firms 13,091 rows (uændret)": by the run's summary
    lines = [line.split() for out in said.values() for line in out.splitlines()]
    registers = {line[1] for line in lines if line[:1] == ["materialised"]
                 and line[1].startswith(("raw/register/", "raw/erst/"))}  # fmt: skip
    assert {"raw/register/cvr_firms", "raw/register/financials"} <= registers, said
    for register in registers:
        mine = [line for line in lines if line[:2] == ["materialised", register]]
        assert len(mine) == 6, (register, said)
        assert sum(line[-1] != "(uændret)" for line in mine) == 1, (register, said)
    assert not any(root.rglob("warehouse.duckdb*")), "a run wrote a DuckDB file"
    assert list((root / "lake").rglob("*.parquet")), "the lake holds no data files"
    # every partition written once: no run's delete-then-insert lost to another's
    assert deliveries_recorded_twice(catalog) == []
    twice = "SELECT contract, year, kpi_id FROM kpi.results GROUP BY ALL HAVING count(*) > 1"
    assert query(catalog, twice) == []
    [(contracts,)] = query(
        catalog, f"SELECT count(DISTINCT contract) FROM kpi.results WHERE year = {YEAR}"
    )
    assert contracts == 6


def sign_each(envs: dict[str, dict[str, str]], catalog: str) -> None:
    """Each hub's director signs, all at once (2026 is not over: preliminary figures, said
    so); each sign-off records the lake snapshot it read."""
    signing = {
        slug: cli(
            envs[slug], "sign-off", "--contract", contract, "--year", str(YEAR),
            "--by", SIGNERS[slug], "--role", "direktør", "--preliminary",
        )
        for slug, contract in CONTRACTS.items()
    }  # fmt: skip
    for slug, process in signing.items():
        code, out = finish(process)
        assert code == 0, f"{slug}:\n{out}"
    snapshots = query(catalog, "SELECT contract, snapshot FROM report.signoffs")
    assert sorted(c for c, _ in snapshots) == sorted(CONTRACTS.values())
    assert all(s is not None for _, s in snapshots)


def read_back_after_change(env: dict[str, str], catalog: str) -> None:
    """KKR's signed figures, read back from the snapshot they were signed on after the
    data changed (a figure written straight into the lake)."""
    asked = ("--contract", CONTRACTS["erhvervshus-midtjylland"], "--year", str(YEAR))
    at_signing = kpis_json(env, "kpis", *asked)
    with lake.connect(Path("unused"), settings.duckdb_config(), lake.parse(catalog)) as con:
        con.execute(
            "UPDATE kpi.results SET value = coalesce(value, 0) + 1000 "
            f"WHERE contract = '{asked[1]}' AND year = {YEAR}"
        )
    assert kpis_json(env, "kpis", *asked) != at_signing
    assert kpis_json(env, "show-signed", *asked, "--version", "1") == at_signing
    code, out = finish(cli(env, "show-signed", *asked, "--version", "2"))
    assert code == 2 and "har ingen godkendt version 2 (godkendt: v1)" in out


def send(env: dict[str, str], out: Path, received: Path) -> dict[str, Path]:
    """`submit`: each hub's signed file in its folder of the recipients' folder, as signed."""
    code, said = finish(cli(env, "submit", "--year", str(YEAR), "--to", str(received)))
    assert code == 0, said
    files = {
        slug: received / slug / f"resultatopfyldelse_{contract}_{YEAR}_v1.csv"
        for slug, contract in CONTRACTS.items()
    }
    assert sorted(received.rglob("*.csv")) == sorted(files.values())
    for slug, contract in CONTRACTS.items():
        signed = out / contract / str(YEAR) / files[slug].name
        assert files[slug].read_bytes() == signed.read_bytes()
    return files


def assert_hub_rows(rows: list[dict[str, str]], files: dict[str, Path]) -> None:
    """Each hub's row of each measure stands as the hub submitted it."""
    for slug, path in files.items():
        hub = read(path)
        assert all(r["Opgørelse"] == "Foreløbig" for r in hub)
        for measure in MEASURES:
            mine = next(r for r in hub if r["Mål-ID"] == measure)
            theirs = next(
                r
                for r in rows
                if r["Mål-ID"] == measure and r["Erhvervshus"] == mine["Organisation"]
            )
            for column in ("Resultat", "Målværdi", "Status", "Grundlag", "Diskretioneret"):
                assert theirs[column] == mine[column], (slug, measure, column)
            assert theirs["Kilde"] == path.name


def assert_pooled(rows: list[dict[str, str]], files: dict[str, Path]) -> None:
    """The pooled rows are the ones recomputed from the hubs' files (pooled_by_hand)."""
    expected = pooled_by_hand({slug: read(path) for slug, path in files.items()})
    for measure, want in expected.items():
        got = next(
            r for r in rows if r["Mål-ID"] == measure and r["Erhvervshus"] == "Alle erhvervshuse"
        )
        value = number(got["Resultat"])
        assert got["Opgørelse"] == "Foreløbig"
        if want["value"] is None:
            assert value is None, (measure, got)
            if want.get("withheld"):
                assert got["Diskretioneret"] == "Ja", (measure, got)
            continue
        assert value is not None, (measure, got)
        # printed as the reports print it: a tenth for shares and NPS, whole counts
        assert abs(value - want["value"]) <= Decimal("0.05"), (measure, value, want)  # type: ignore[operator]
        assert int(got["Grundlag"]) == want["n"], (measure, got)
        assert got["Status"] == want["status"], (measure, got, want)
        assert got["Kilde"] == f"{want['hubs']} af 6 erhvervshuse", (measure, got)
        if "uncertain" in want:
            assert got["Usikker"] == want["uncertain"], (measure, got, want)
    # the figures the pooling rests on are there: Mål 2's sum and the survey measures
    assert {m for m, w in expected.items() if w["value"] is not None} >= {"M2", "M3", "M4", "M6"}


def test_six_hubs_run_at_once_on_one_lake_are_signed_sent_and_pooled(tmp_path):
    started = time.perf_counter()
    inbox = tmp_path / "inbox"
    generate_inbox(inbox, [YEAR], scale=0.05, seed=26, hubs=True)
    received = tmp_path / "indberetninger"
    with lake_catalog(tmp_path / "lake") as catalog:
        # six machines: each its own Dagster instance (no pool between them), one lake, and
        # the output folder they publish to
        envs = {}
        for slug in CONTRACTS:
            env = lake_env(tmp_path / slug, inbox, catalog)
            env["RESULTATRAPPORT_OUT"] = str(tmp_path / "out")
            env["RESULTATRAPPORT_EXAMPLE_CONTRACTS"] = "1"
            envs[slug] = env
        run_at_once(envs, catalog, tmp_path)
        ran = time.perf_counter() - started
        sign_each(envs, catalog)
        signed = time.perf_counter() - started
        read_back_after_change(envs["erhvervshus-midtjylland"], catalog)
        files = send(envs["erhvervshus-midtjylland"], tmp_path / "out", received)

    env = envs["erhvervshus-midtjylland"]
    code, out = finish(cli(env, "national", "--year", str(YEAR), "--submissions", str(received),
                           "--out", str(tmp_path / "landsoverblik")))  # fmt: skip
    assert code == 0, out
    assert "check WARN" not in out, out  # every hub received in valid form, nothing stray
    overview = tmp_path / "landsoverblik" / "national" / str(YEAR)
    table = overview / f"maalopfyldelse_national_{YEAR}.csv"
    assert validate_csv("maalopfyldelse_national", table) == []
    assert (overview / f"maalopfyldelse_national_{YEAR}.pdf").is_file()
    rows = read(table)
    assert_hub_rows(rows, files)
    assert_pooled(rows, files)
    print(
        f"six hubs: runs {ran:.0f} s, signed at {signed:.0f} s, "
        f"overview at {time.perf_counter() - started:.0f} s"
    )
