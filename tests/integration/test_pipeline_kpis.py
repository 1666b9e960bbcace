"""Integration: every KPI of both contracts and the budget, from a generated inbox."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import duckdb
import pytest

from commands.cli import main
from resultatrapport.formats import FORMATS
from resultatrapport.ingest import ingest_file
from resultatrapport.kpis.effect import matched_effect
from resultatrapport.kpis.results_table import KpiResult
from resultatrapport.sample.generate import TAU_TURNOVER, generate_inbox
from resultatrapport.warehouse_schema import ensure_schema

pytestmark = pytest.mark.slow
ORG = "erhvervshus-midtjylland"


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inbox")
    generate_inbox(root, range(2020, 2028), scale=0.1, seed=11)
    return root


def kpis(capsys, contract: str, year: int) -> dict[str, dict]:
    capsys.readouterr()
    assert main(["kpis", "--contract", contract, "--year", str(year), "--json"]) == 0
    return {r["id"]: r for r in json.loads(capsys.readouterr().out)}


def test_matching_recovers_the_planted_effect_where_the_naive_comparison_does_not(tmp_path):
    root = tmp_path / "inbox"
    manifest = generate_inbox(root, range(2020, 2028), scale=0.6)
    con = duckdb.connect()
    ensure_schema(con)
    for year in range(2021, 2027):
        for name, org in (("crm_cases", ORG), ("financials", None), ("cvr_firms", None)):
            ingest_file(con, FORMATS[name], root, year, org)
    res = matched_effect(con, ORG, 2026, "Vækst", "turnover")
    assert res.effect.low <= TAU_TURNOVER <= res.effect.high
    assert res.naive is not None and res.naive > res.effect.high  # a plain comparison is biased
    assert manifest["effects"]["cohorts"]["2026"]["naive_turnover_difference_pp"] > TAU_TURNOVER + 3


def test_viborg_2021_every_kpi_and_the_indexed_budget(inbox, tmp_path, capsys):
    assert (
        main(["run", "--contract", "viborg-ver-2020", "--year", "2021", "--inbox", str(inbox)]) == 0
    )
    said = capsys.readouterr()
    # the first run of 2021 on an empty warehouse: 2020 (shown in the report) and 2021 are
    # ingested in one ingestion run, then one run computes both years' KPIs and drafts
    runs = [line for line in said.out.splitlines() if line.startswith("Run ")]
    assert [r.split("(")[1] for r in runs] == [
        "ingest_viborg_ver_2020, 2020-2021):",
        "contract_viborg_ver_2020, 2020-2021):",
    ], said.out
    results = kpis(capsys, "viborg-ver-2020", 2021)
    assert list(results) == ["V1", "V2", "V3", "V4"]
    assert set(results["V1"]) == {"id", "name", "unit", "value", "target", "operator", "status",
                                  "uncertain", "n", "low", "high", "suppressed",
                                  "remark"}  # fmt: skip
    assert results["V1"]["status"] == "Intet mål i år" and results["V1"]["value"] > 0
    assert results["V2"]["unit"] == "årsværk" and results["V2"]["value"] == pytest.approx(
        1.0, abs=0.1
    )
    assert results["V2"]["status"] in {"Opfyldt", "Ikke opfyldt"}
    assert results["V3"]["status"] == "Ikke målbar" and "bilag 2" in results["V3"]["remark"]
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    # V1 counts referrals (each target once per case), not cases, and leaves private advisers
    # out: counted here from the delivered file itself, with Python's csv module, not with
    # the pipeline's SQL; the rows the pipeline quarantined (by physical line) are left out
    path = inbox / "viborgegnens-erhvervsraad" / "crm" / "vejledningsforloeb_2021.csv"
    quarantined = {
        line
        for (line,) in con.execute(
            "SELECT line FROM ingest.quarantine WHERE source = 'crm_cases' AND year = 2021"
            " AND org = 'viborgegnens-erhvervsraad'"
        ).fetchall()
    }
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=";")
        cases = [row for row in reader if reader.line_num not in quarantined]
    assert quarantined and len(cases) == 29  # the sample's invalid CVR number, line 15
    referrals = sum(
        len({t for t in row["Henvisninger"].split("|") if t} - {"Privat rådgiver"}) for row in cases
    )
    assert results["V1"]["value"] == referrals == 25 and len(cases) != referrals
    budget = dict(con.execute("SELECT key, amount FROM kpi.budget WHERE year = 2021").fetchall())
    assert budget["total"] == 2_811_716  # 2,762,000 regulated by the (illustrative) index 101.8
    assert budget["Start Up Viborg"] == 375_000
    assert budget["rest"] == 2_811_716 - 375_000


def test_kkr_2026_every_kpi_with_status_path_and_budget(inbox, tmp_path, capsys):
    assert (
        main(["run", "--contract", "kkr-midtjylland-2026", "--year", "2026", "--inbox", str(inbox)])
        == 0
    )
    out = capsys.readouterr().out
    # the earlier years the effect KPIs read are ingested with the year, in one run
    assert "Ingesting 2021-2026 in one run; the KPIs of 2026 read 2021-2025" in out
    results = kpis(capsys, "kkr-midtjylland-2026", 2026)
    assert len(results) == 16
    # no awareness survey in 2026: not measurable, with the reason, not a crash
    assert results["M1"]["status"] == "Ikke målbar"
    assert results["M1"]["remark"] == "Ingen kendskabsmåling i 2026"
    # Mål 2 has no 2026 target: the path from the 2024 baseline is shown, labelled as a path
    assert results["M2"]["status"] == "Intet mål i år" and results["M2"]["target"] is None
    assert "sti mod målet for 2027: 458 (en sti, ikke et mål)" in results["M2"]["remark"]
    for kpi_id in ("M3", "M3-V", "M3-D", "M4", "M6", "M5-O", "M5-B", "M5-P"):
        r = results[kpi_id]
        if kpi_id in ("M3-V", "M3-D") and r["suppressed"]:
            # a segment's NPS may be withheld to protect withheld answers (the sample's
            # M3-D has 2 detractors, answers 3 and 4: with its value they lie in [0, 2])
            assert r["value"] is None and r["status"] == "Ikke målbar", kpi_id
            assert r["remark"].startswith("Tallet er diskretioneret, fordi"), kpi_id
            continue
        assert r["low"] <= r["value"] <= r["high"], kpi_id
        # the segment NPS are shown for information: the target of 70 is carried by M3
        expected = {"Intet mål i år"} if kpi_id in ("M3-V", "M3-D") else {
            "Opfyldt", "Ikke opfyldt"}  # fmt: skip
        assert r["status"] in expected, kpi_id
    assert results["R3"]["operator"] == "<=" and results["R3"]["unit"] == "antal"
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    total, count, quarter = con.execute(
        "SELECT sum(amount), count(*), min(quarter) FROM kpi.budget WHERE contract = 'kkr-midtjylland-2026'"
    ).fetchone()
    assert (total, count, quarter) == (44_815_000, 19, "2025K1")
    # a run of the unchanged inbox gives the same results, digit for digit, and the same
    # data hash (a re-run must not make a signed version stale)
    before, drafted = stored(con), con.execute("SELECT data_hash FROM report.drafts").fetchall()
    con.close()
    argv = ["run", "--contract", "kkr-midtjylland-2026", "--year", "2026", "--inbox", str(inbox)]
    assert main(argv) == 0
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert stored(con) == before
    assert con.execute("SELECT data_hash FROM report.drafts").fetchall() == drafted


def stored(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The KPI results and detail rows as stored, without the run that wrote them."""
    columns = [f.name for f in dataclasses.fields(KpiResult)]
    results = con.execute(
        f"SELECT {', '.join(columns)} FROM kpi.results ORDER BY contract, year, kpi_id"
    ).fetchall()
    details = con.execute("SELECT * FROM kpi.details ORDER BY ALL").fetchall()
    return [repr(r) for r in results] + [repr(d) for d in details]


def test_kpis_without_a_run_says_so(capsys):
    assert main(["kpis", "--contract", "viborg-ver-2020", "--year", "2020"]) == 2
    assert "kør først `resultatrapport run`" in capsys.readouterr().err
