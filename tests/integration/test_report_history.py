"""A report shows every contract year up to its own, from current data, and what is signed
is exactly what the signer reviewed: a change to an earlier year it shows refuses the sign-off
(naming what changed and the command to run), and after a new run makes v2, v1 untouched."""

from __future__ import annotations

import re
import shutil

import duckdb
import pytest

from commands.cli import main
from tests.integration.test_pipeline_report import Env, pdftotext

pytestmark = pytest.mark.slow
VER = "viborg-ver-2020"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, sample_inbox) -> Env:
    root = tmp_path_factory.mktemp("history")
    shutil.copytree(sample_inbox(range(2020, 2022), 0.05, 9), root / "inbox")  # changed below
    return Env(root, root / "inbox")


def cli(env: Env, monkeypatch, capsys, *args: str) -> tuple[int, str]:
    env.use(monkeypatch)
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def results_by_year(env: Env) -> dict[int, int]:
    with duckdb.connect(str(env.root / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT year, count(*) FROM kpi.results WHERE contract = $c GROUP BY year",
            {"c": VER},
        ).fetchall()
    return dict(rows)


def test_a_run_of_a_year_computes_the_earlier_years_its_report_shows(env, monkeypatch, capsys):
    # before: only 2021 was computed, and the report showed 2020 as "ikke målt"
    code, out = cli(env, monkeypatch, capsys, "run", "--contract", VER, "--year", "2021")
    assert code == 0, out
    assert results_by_year(env) == {2020: 4, 2021: 4}
    assert "V1 er ikke beregnet for 2020" in out
    # each KPI shows its years' figures as numbers beside its chart
    text = pdftotext(env.year_dir(VER, 2021) / f"aarsrapport_{VER}_2021_udkast.pdf")
    assert "V2 pr. år i kontraktperioden" in text
    table = text[text.index("V2 pr. år i kontraktperioden") :]
    assert re.search(r"2020\s+\d+,\d\d\s+≥\s*1", table), table[:400]
    assert "ikke målt" not in text


def test_a_change_to_an_earlier_year_refuses_the_sign_off_until_a_new_run(env, monkeypatch, capsys):
    sign = ("sign-off", "--contract", VER, "--year", "2021", "--by", "Anne Jensen",
            "--role", "direktør")  # fmt: skip
    code, out = cli(env, monkeypatch, capsys, *sign)
    assert code == 0, out
    folder = env.year_dir(VER, 2021)
    v1 = {p.name: p.read_bytes() for p in folder.glob("*_v1.*")}
    assert len(v1) == 2

    # 2020's CRM delivery is corrected (a case taken out) and ingested, as the sensor would
    crm = env.inbox / "viborgegnens-erhvervsraad" / "crm" / "vejledningsforloeb_2020.csv"
    lines = crm.read_bytes().splitlines(keepends=True)
    crm.write_bytes(b"".join([lines[0], *lines[2:]]))
    code, out = cli(env, monkeypatch, capsys, "ingest", "--contract", VER, "--years", "2020")
    assert code == 0, out

    # before: "Intet nyt at godkende", v1 kept hiding the changed year
    code, out = cli(env, monkeypatch, capsys, *sign)
    assert code == 1, out
    assert "Siden udkastet blev dannet, er leverancerne for 2020 ændret" in out
    assert f"resultatrapport run --contract {VER} --year 2021" in out
    assert not list(folder.glob("*_v2.*"))

    # the run of 2021 computes 2020 again (its results follow from a changed delivery)
    code, out = cli(env, monkeypatch, capsys, "run", "--contract", VER, "--year", "2021")
    assert code == 0, out
    assert "for 2020 bygger på ændrede leverancer" in out
    code, out = cli(env, monkeypatch, capsys, *sign)
    assert code == 0, out
    assert len(list(folder.glob("*_v2.*"))) == 2
    assert {p.name: p.read_bytes() for p in folder.glob("*_v1.*")} == v1


def test_the_sign_off_names_each_part_of_the_report_that_changed():
    from resultatrapport.report.content import changed_parts

    recorded = {"resultaterne for 2020": "a", "resultaterne for 2021": "b", "budgettet": "c"}
    now = {"resultaterne for 2020": "x", "resultaterne for 2021": "b", "budgettet": "c",
           "leverancerne for 2020": "d"}  # fmt: skip
    assert changed_parts(recorded, now) == ["resultaterne for 2020", "leverancerne for 2020"]
    assert changed_parts(now, now) == []
