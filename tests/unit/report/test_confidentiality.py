"""Confidentiality (diskretionering): figures on too few units, or dominated by two firms,
are withheld in the results table, and small cells in detail tables are withheld."""

from __future__ import annotations

from resultatrapport.kpis.compute import evaluate
from resultatrapport.kpis.kinds import Measure
from resultatrapport.report.confidential import withhold_small_cells


def test_a_survey_share_on_two_answers_is_withheld(kkr):
    m4 = kkr.kpi("M4")
    r = evaluate(kkr, m4, 2026, Measure(100.0, n=2, low=34.2, high=100.0))
    assert (r.value, r.low, r.high, r.suppressed) == (None, None, None, True)
    assert r.status == "Ikke målbar"
    assert r.remark == "For få besvarelser (n=2); tallet er diskretioneret"


def test_three_answers_are_enough(kkr):
    r = evaluate(kkr, kkr.kpi("M4"), 2026, Measure(66.7, n=3, low=20.8, high=93.9))
    assert not r.suppressed and r.value == 66.7 and r.status == "Opfyldt" and r.uncertain


def test_case_counts_are_never_withheld(kkr):
    r = evaluate(kkr, kkr.kpi("R2"), 2026, Measure(2.0, n=2))
    assert not r.suppressed and r.value == 2.0


def test_an_effect_dominated_by_two_firms_is_withheld(kkr):
    m5 = kkr.kpi("M5-O")
    dominated = Measure(12.0, n=40, low=5.0, high=19.0, extra={"to_stoerste_andel_pct": 91.0})
    r = evaluate(kkr, m5, 2026, dominated)
    assert r.suppressed and r.value is None
    assert "De to største virksomheder udgør 91 %" in r.remark
    spread = Measure(12.0, n=40, low=5.0, high=19.0, extra={"to_stoerste_andel_pct": 20.0})
    assert not evaluate(kkr, m5, 2026, spread).suppressed


def test_small_cells_in_a_detail_table_are_withheld():
    rows = [{"score": s, "antal": n} for s, n in enumerate([0, 1, 2, 3, 40])]
    shown, withheld = withhold_small_cells(rows, threshold=3)
    assert [r["antal"] for r in shown] == [0, None, None, 3, 40]
    assert withheld == 2
