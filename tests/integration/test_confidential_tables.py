"""Complementary suppression in the report and the submissions: the NPS answer
distributions of M3 (Vækst and Drift together) and of its segments M3-V and M3-D, their
numbers of answers and their values cannot give a withheld figure away.

What a reader has, declared here from the report's side (independently of
resultatrapport.report.confidential): each KPI's table of answers per score (a "–" is
unknown), its number of answers (Grundlag, always printed) and, where its value is printed,
its detractors, passives and promoters, for the value and the 95 % interval give those away
(tested below). The answers add up to the groups and the groups to the number of answers,
and M3's figures are M3-V's plus M3-D's. A withheld figure is recoverable when the rank
test says the published ones determine it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.cli import main
from resultatrapport.kpis.compute import evaluate
from resultatrapport.kpis.kinds import Measure
from resultatrapport.kpis.stats import Z95
from resultatrapport.kpis.stats import nps as nps_estimate
from resultatrapport.report import confidential, content, records, submissions, view
from resultatrapport.settings import PROJECT_ROOT

KKR = "kkr-midtjylland-2026"
FAMILY = ("M3", ("M3-V", "M3-D"))
GROUPS = {"kritikere": range(0, 7), "passive": range(7, 9), "anbefalere": range(9, 11)}


def recoverable(results: list[dict], details: dict[str, list[dict]]) -> list[tuple]:
    """The figures of the M3 family that a reader does not see but can work out."""
    by_id = {r["kpi_id"]: r for r in results}
    total, segments = FAMILY
    if not by_id[total]["n"]:  # no answers at all: nothing published, nothing to protect
        return []
    parts = [p for p in segments if by_id[p]["n"]]  # a segment without answers adds nothing
    unknown: list[tuple] = []
    equations: list[dict[tuple, int]] = []  # coefficients; each equation is "= a constant"

    def cell(kpi: str, key: object, published: bool) -> tuple:
        name = (kpi, key)
        if not published and name not in unknown:
            unknown.append(name)
        return name

    for kpi in (total, *parts):
        r = by_id[kpi]
        table = {int(d["score"]): d["antal"] for d in details.get(kpi, [])}
        scores = [cell(kpi, s, table.get(s) is not None) for s in range(11)]
        groups = [cell(kpi, g, r["value"] is not None) for g in GROUPS]
        for g, members in zip(groups, GROUPS.values(), strict=True):
            equations.append({g: -1, **{scores[s]: 1 for s in members}})
        equations.append({**dict.fromkeys(scores, 1), (kpi, "n"): -1})
    for key in (*range(11), *GROUPS):
        equations.append({(total, key): -1, **{(p, key): 1 for p in parts}})
    if not unknown:
        return []
    a = np.array([[e.get(u, 0) for u in unknown] for e in equations], dtype=float)
    rank = np.linalg.matrix_rank(a)
    found = []
    for j, u in enumerate(unknown):
        unit = np.zeros(len(unknown))
        unit[j] = 1
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            found.append(u)
    return found


def stored(kkr, scores: dict[str, list[int]]) -> tuple[list[dict], dict[str, list[dict]]]:
    """The results and detail rows the KPI asset stores for these answers (a withheld KPI
    stores no detail rows)."""
    answers = {"M3": scores["M3-V"] + scores["M3-D"], **scores}
    results, details = [], {}
    for kpi_id, values in answers.items():
        est = nps_estimate(np.array(values, dtype=float))
        counts = np.bincount(np.array(values, dtype=int), minlength=11)
        detail = [{"score": s, "antal": int(c)} for s, c in enumerate(counts)]
        m = Measure(est.value, n=est.n, low=est.low, high=est.high, detail=detail)
        r = asdict(evaluate(kkr, kkr.kpi(kpi_id), 2026, m))
        results.append(r)
        if not r["suppressed"] and est.n:
            details[kpi_id] = detail
    return results, details


answers = st.lists(
    st.sampled_from([0, 3, 5, 6, 7, 8, 8, 9, 9, 10, 10, 10]), min_size=1, max_size=14
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers | st.just([]), answers | st.just([]))
def test_no_figure_of_the_m3_family_can_be_recovered(kkr, growth, operation):
    results, details = stored(kkr, {"M3-V": growth, "M3-D": operation})
    shown_results, shown, _ = confidential.protect(kkr, results, details)
    assert recoverable(shown_results, shown) == []
    m3 = next(r for r in shown_results if r["kpi_id"] == "M3")
    assert m3["suppressed"] == (0 < len(growth) + len(operation) < 3)  # it carries the target


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0, 3, 5, 6, 7, 8, 8, 9, 9, 10, 10, 10]), min_size=10, max_size=40))
def test_the_value_and_interval_give_away_the_three_groups(scores):
    """Why the groups are figures of their own: NPS·n is promoters minus detractors and the
    interval's width gives promoters plus detractors."""
    est = nps_estimate(np.array(scores, dtype=float))
    assert est.low is not None and est.high is not None  # 10 answers or more
    if est.low <= -100 or est.high >= 100:  # a clipped interval says less
        return
    # adjusted Wald (Rocks 2016): centre (P - D) / (n + 3), se^2 = ((P + D + 1.5) / (n + 3)
    # - centre^2) / (n + 3), with P and D the counts of promoters and detractors
    n, v = est.n, est.value / 100
    centre = (est.high + est.low) / 200
    se = (est.high - est.low) / 200 / Z95
    promoters_minus = round(v * n)
    promoters_plus = round((n + 3) * ((n + 3) * se**2 + centre**2) - 1.5)
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    assert (promoters_minus, promoters_plus) == (promoters - detractors, promoters + detractors)


def test_a_segment_withheld_for_too_few_answers_takes_the_other_segments_value_with_it(kkr):
    """M3-V on 2 answers is withheld; M3 and M3-D would give it away (M3's figures minus
    M3-D's), so M3-D's value goes too (M3 carries the target and stays)."""
    results, details = stored(kkr, {"M3-V": [10, 4], "M3-D": [10, 9, 9, 8, 7, 6, 10, 10, 3]})
    assert recoverable(results, {k: d for k, d in details.items()}) != []
    shown_results, shown, withheld = confidential.protect(kkr, results, details)
    by_id = {r["kpi_id"]: r for r in shown_results}
    assert by_id["M3"]["value"] is not None
    d = by_id["M3-D"]
    assert (d["value"], d["low"], d["high"], d["suppressed"]) == (None, None, None, True)
    assert d["status"] == "Ikke målbar" and d["remark"].startswith(confidential.REMARK)
    assert d["n"] == 9  # the number of answers stays
    assert recoverable(shown_results, shown) == []
    assert withheld["M3-D"] > 0


def test_primary_suppression_alone_leaves_figures_recoverable(kkr):
    """The defect: withholding the small cells only (the code before complementary
    suppression) lets a reader subtract them back."""
    results, details = stored(kkr, {"M3-V": [4, 7, 7, 7, 8, 9, 10], "M3-D": [8, 8, 9, 10, 10]})
    threshold = kkr.settings.suppression_threshold
    primary_only = {
        k: confidential.withhold_small_cells(rows, threshold)[0] for k, rows in details.items()
    }
    assert recoverable(results, primary_only) != []
    shown_results, shown, _ = confidential.protect(kkr, results, details)
    assert recoverable(shown_results, shown) == []


# --- through the pipeline ---------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, sample_inbox) -> Path:
    """The KKR 2026 draft on the generated inbox of the issue (scale 0.05, seed 1)."""
    root = tmp_path_factory.mktemp("confidential")
    inbox = sample_inbox(range(2020, 2028), 0.05, 1)  # only read
    (root / "dagster_home").mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", root / "dagster_home" / "dagster.yaml")
    env = {
        "RESULTATRAPPORT_INBOX": str(inbox),
        "RESULTATRAPPORT_WAREHOUSE": str(root / "warehouse.duckdb"),
        "RESULTATRAPPORT_OUT": str(root / "out"),
        "DAGSTER_HOME": str(root / "dagster_home"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        assert main(["run", "--contract", KKR, "--year", "2026"]) == 0
    return root / "warehouse.duckdb"


def load(path: Path, kkr) -> content.ReportData:
    with duckdb.connect(str(path), read_only=True) as con:
        return content.load(con, kkr, 2026)


def texts(svg: str) -> list[str]:
    root = ElementTree.fromstring(svg)
    return ["".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")]


@pytest.mark.slow
def test_the_m3_answers_cannot_be_recovered_from_their_totals_or_segments(warehouse, kkr):
    data = load(warehouse, kkr)
    m3 = [d["antal"] for d in data.details["M3"]]
    assert None in m3  # the sample has small cells: the test means something
    assert recoverable(data.results, data.details) == []


@pytest.mark.slow
def test_the_answer_chart_draws_a_withheld_cell_as_withheld_not_as_zero(warehouse, kkr):
    data = load(warehouse, kkr)
    page = view.build(data, draft=True, provenance={})
    item = next(
        i
        for s in page["sections"]
        for items in s["goals"].values()
        for i in items
        if i["id"] == "M3"
    )
    cells = item["detail"]["rows"][0][1:]
    withheld = [s for s, c in enumerate(cells) if c == "–"]
    assert withheld
    drawn = texts(item["chart2"])
    assert drawn.count("–") == len(withheld)  # a "–" over each withheld answer
    assert "Diskretioneret (–)" in drawn  # the legend says what it is
    # a bar label for each published answer, none (and no 0) for a withheld one
    labels = drawn[drawn.index("Antal besvarelser") + 1 :]
    assert sorted(labels[: 11 - len(withheld)]) == sorted(c for c in cells if c != "–")


@pytest.mark.slow
def test_a_withheld_segment_empties_the_other_segment_in_the_report_and_the_csv(
    warehouse, kkr, tmp_path, monkeypatch, capsys
):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:  # as if only 2 growth firms had answered
        con.execute(
            "UPDATE kpi.results SET value = NULL, low = NULL, high = NULL, n = 2, "
            "suppressed = true, status = 'Ikke målbar' WHERE kpi_id = 'M3-V' AND year = 2026"
        )
        con.execute("DELETE FROM kpi.details WHERE kpi_id = 'M3-V' AND year = 2026")
        # and M3 (both segments) is M3-D's answers and those two (a 10 and a 4)
        drift = con.execute(
            "SELECT row_no, row FROM kpi.details WHERE kpi_id = 'M3-D' AND year = 2026"
        ).fetchall()
        for row_no, row in drift:
            cell = json.loads(row)
            cell["antal"] += int(cell["score"] in (4, 10))
            con.execute(
                "UPDATE kpi.details SET row = $r WHERE kpi_id = 'M3' AND year = 2026 "
                "AND row_no = $n",
                {"r": json.dumps(cell), "n": row_no},
            )
        con.execute(
            "UPDATE kpi.results SET n = (SELECT n + 2 FROM kpi.results WHERE kpi_id = 'M3-D' "
            "AND year = 2026) WHERE kpi_id = 'M3' AND year = 2026"
        )
    data = load(copy, kkr)
    assert recoverable(data.results, data.details) == []
    rows = records.result_rows(data, "Ida Kontrolsen", dt.date(2027, 2, 1))
    table = list(
        csv.DictReader(
            io.StringIO(submissions.render_csv("resultatopfyldelse", rows).decode("utf-8-sig")),
            delimiter=";",
        )
    )
    by_id = {r["Mål-ID"]: r for r in table}
    assert (by_id["M3-D"]["Resultat"], by_id["M3-D"]["Diskretioneret"]) == ("", "Ja")
    n_d = next(r["n"] for r in data.results if r["kpi_id"] == "M3-D")
    assert by_id["M3-D"]["Grundlag"] == str(n_d)  # the number of answers stays
    assert by_id["M3"]["Resultat"] != "" and by_id["M3"]["Diskretioneret"] == "Nej"
    page = view.build(data, draft=True, provenance={})
    summary = {s["id"]: s for s in page["summary"]}
    assert summary["M3-D"]["value"] == "–" and summary["M3-D"]["suppressed"]
    # and `kpis --json` says what the report says
    monkeypatch.setenv("RESULTATRAPPORT_WAREHOUSE", str(copy))
    capsys.readouterr()
    assert main(["kpis", "--contract", KKR, "--year", "2026", "--json"]) == 0
    listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert (listed["M3-D"]["value"], listed["M3-D"]["suppressed"]) == (None, True)
    assert listed["M3"]["value"] is not None


# --- bounds: what a reader can narrow a withheld figure down to (issue 24) ---------------

# KKR 2026 on the generated inbox (scale 0.05, seed 1): the answers per score
SAMPLE = {
    "M3-V": [1, 0, 0, 0, 1, 0, 1, 3, 2, 8, 7],
    "M3-D": [0, 0, 0, 1, 1, 0, 0, 5, 2, 22, 16],
}


def reader_intervals(
    results: list[dict], details: dict[str, list[dict]], truth: dict[str, list[int]]
) -> dict[tuple, tuple[float, float]]:
    """τ-ARGUS's audit (pytauargus) of what the report, the CSV and `kpis --json` publish
    of the M3 family: each withheld figure's feasible interval, the withheld counts being
    whole and at least 0 (a "–" may be a complement, and a complement may be 0)."""
    from pytauargus._tauargus import audit_jj

    by_id = {r["kpi_id"]: r for r in results}
    total, segments = FAMILY
    names: list[tuple] = []
    value: dict[tuple, int] = {}
    status: dict[tuple, str] = {}
    equations: list[dict[tuple, int]] = []
    for kpi in (total, *segments):
        counts = truth[kpi]
        table = {int(d["score"]): d["antal"] for d in details.get(kpi, [])}
        for s in range(11):
            names.append((kpi, s))
            value[(kpi, s)] = counts[s]
            status[(kpi, s)] = "s" if table.get(s) is not None else "u"
        for g, members in GROUPS.items():
            names.append((kpi, g))
            value[(kpi, g)] = sum(counts[s] for s in members)
            status[(kpi, g)] = "s" if by_id[kpi]["value"] is not None else "m"
            equations.append({(kpi, g): -1, **{(kpi, s): 1 for s in members}})
        names.append((kpi, "n"))
        value[(kpi, "n")], status[(kpi, "n")] = sum(counts), "s"
        equations.append({**{(kpi, g): 1 for g in GROUPS}, (kpi, "n"): -1})
    for key in (*range(11), *GROUPS, "n"):
        equations.append({(total, key): -1, **{(p, key): 1 for p in segments}})
    index = {name: i for i, name in enumerate(names)}
    lines = ["0", str(len(names))]
    lines += [f"{index[c]} {value[c]} 1 {status[c]} 0 1000000 0 0 0" for c in names]
    lines.append(str(len(equations)))
    lines += [
        f"0 {len(e)} : " + " ".join(f"{index[c]} ({k})" for c, k in e.items()) for e in equations
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m3.jj"
        path.write_text("\n".join(lines) + "\n")
        rows = audit_jj(str(path))
    return {names[r["cell"]]: (float(r["min"]), float(r["max"])) for r in rows}


def test_no_withheld_answer_of_the_sample_is_narrowed_below_the_protection_level(kkr):
    """Issue 24, case 2: on KKR 2026's sample the suppression protected exact recovery
    only; M3-D's answers 3 and 4 (1 each) were withheld together and add up to M3-D's 2
    detractors, which its value and interval give away: each was 0, 1 or 2, and to a reader
    who takes a "–" to be non-zero, 1. Now every withheld answer can lie in an interval at
    least the protection level (3) wide, or as wide as its KPI's answers allow."""
    answers = {
        k: [s for s, c in enumerate(counts) for _ in range(c)] for k, counts in SAMPLE.items()
    }
    results, details = stored(kkr, answers)
    truth = {"M3": [v + d for v, d in zip(*SAMPLE.values(), strict=True)], **SAMPLE}
    shown_results, shown, _ = confidential.protect(kkr, results, details)
    found = reader_intervals(shown_results, shown, truth)
    level = kkr.settings.protection_level
    small = [
        (k, s)
        for k, counts in truth.items()
        for s, c in enumerate(counts)
        if 0 < c < kkr.settings.suppression_threshold
    ]
    assert small and all(c in found for c in small)  # every small answer is withheld
    narrow = {
        c: found[c] for c in small if found[c][1] - found[c][0] < min(level, sum(truth[c[0]]))
    }
    assert narrow == {}
    assert recoverable(shown_results, shown) == []


@pytest.mark.slow
def test_the_dagster_ui_shows_no_count_or_value_before_suppression(warehouse, kkr):
    """Issue 24, case 3: the NPS KPIs' `detail` metadata held the answers per score before
    suppression, and `kpi_results` the values before complementary suppression."""
    from dagster import AssetKey, DagsterInstance

    data = load(warehouse, kkr)
    published = {r["kpi_id"]: r for r in data.results}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(warehouse.parent / "dagster_home"))
        with DagsterInstance.get() as instance:
            mats = {
                name: instance.get_latest_materialization_event(
                    AssetKey(["kpi", "kkr_midtjylland_2026", name])
                )
                for name in ("m3", "m3_v", "m3_d", "m4", "m6")
            }
            results = instance.get_latest_materialization_event(
                AssetKey(["report", "kkr_midtjylland_2026", "kpi_results"])
            )
    for name, event in mats.items():
        assert event is not None and event.asset_materialization is not None
        md = event.asset_materialization.metadata
        assert "detail" not in md, name  # counts before suppression
        kpi_id = name.upper().replace("_", "-")
        if published[kpi_id]["value"] is None:  # withheld in the report: not here either
            assert md["value"].value is None and md["low"].value is None, name
    assert results is not None and results.asset_materialization is not None
    table = results.asset_materialization.metadata["kpis"].value
    for kpi_id in ("M3-V", "M3-D"):
        row = next(r.data for r in table.records if r.data["kpi"] == kpi_id)
        shown = published[kpi_id]["value"]
        assert (row["vaerdi"] == "–") == (shown is None), row
