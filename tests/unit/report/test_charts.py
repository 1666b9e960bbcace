import os
import re
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path
from xml.etree import ElementTree

import pytest

from resultatrapport.report import charts

MUNICIPALITIES = [
    "Horsens",
    "Herning",
    "Holstebro",
    "Lemvig",
    "Struer",
    "Syddjurs",
    "Norddjurs",
    "Favrskov",
    "Odder",
    "Randers",
    "Silkeborg",
    "Samsø",
    "Skanderborg",
    "Aarhus",
    "Ikast-Brande",
    "Ringkøbing-Skjern",
    "Hedensted",
    "Skive",
    "Viborg",
]
DEVIATIONS = [
    -25.0,
    12.4,
    3.1,
    30.0,
    -8.7,
    9.9,
    -12.2,
    0.4,
    -3.3,
    18.5,
    -0.6,
    27.1,
    5.5,
    -10.4,
    2.2,
    -17.9,
    7.0,
    -4.1,
    10.2,
]
NPS_COUNTS = {0: 2, 1: 1, 3: 4, 5: 9, 6: 14, 7: 31, 8: 58, 9: 72, 10: 61}


def kpi_chart() -> str:
    return charts.kpi_over_years(
        years=[2026, 2027],
        values=[512, None],
        targets=[None, 550],
        operator_by_year=[None, ">="],
        path=[458, None],
        unit="antal",
        title="K1: resultat og mål i kontraktperioden",
    )


def kpi_chart_with_interval() -> str:
    return charts.kpi_over_years(
        years=[2024, 2025, 2026, 2027],
        values=[41.5, 44.25, None, 47.0],
        targets=[40, 45, 48, 50],
        operator_by_year=[">=", ">=", ">=", ">="],
        path=[None, None, 46.5, None],
        unit="pct.",
        title="K4: andel tilfredse",
        low=[38.0, 40.1, None, 43.0],
        high=[45.0, 48.3, None, 51.0],
    )


def nps_chart() -> str:
    return charts.nps_distribution(NPS_COUNTS, "K7: fordeling af svar")


def municipal_chart() -> str:
    return charts.municipal_deviation(MUNICIPALITIES, DEVIATIONS, 10, "K9: afvigelse pr. kommune")


def side_chart() -> str:
    return charts.side_by_side(
        [
            charts.Bar("Erhvervshus Fyn", 49.0, "49,0", 43.4, 54.6, "43,4 til 54,6", 50, "Mål ≥ 50"),
            charts.Bar("Erhvervshus Sjælland", None, "– diskretioneret", target=50,
                       target_text="Mål ≥ 50"),
            charts.Bar("Erhvervshus Nordjylland", None, "ikke modtaget"),
            charts.Bar("Alle erhvervshuse", 50.2, "50,2", 48.4, 51.9, "48,4 til 51,9", 50,
                       "Mål ≥ 50", emphasis=True),
        ],
        "pct.",
        "K1 pr. erhvervshus",
    )  # fmt: skip


CHARTS = [kpi_chart, kpi_chart_with_interval, nps_chart, municipal_chart, side_chart]
EMPTY = [
    lambda: charts.kpi_over_years([], [], [], [], [], "antal", "K1"),
    lambda: charts.nps_distribution({}, "K7"),
    lambda: charts.nps_distribution({9: 0, 10: 0}, "K7"),
    lambda: charts.municipal_deviation([], [], 10, "K9"),
    lambda: charts.municipal_deviation([], [], 10, ""),
    lambda: charts.side_by_side([], "pct.", "K1"),
]


def texts(svg: str) -> list[str]:
    """The strings drawn: the content of every SVG text element."""
    root = ElementTree.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def height_pt(svg: str) -> float:
    match = re.match(r'<svg [^>]*height="([\d.]+)pt"', svg)
    assert match
    return float(match.group(1))


@pytest.mark.parametrize("chart", CHARTS + EMPTY)
def test_inline_svg_without_prolog(chart):
    svg = chart()
    assert svg.startswith("<svg")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert svg.rstrip().endswith("</svg>")
    xml.dom.minidom.parseString(svg)  # well-formed on its own
    # text stays text (drawing every glyph as a path doubled the report's render time), in
    # the report's own font: DejaVu Sans, which `make setup` installs for the body text
    fonts = set(re.findall(r"font-family: ([^;\"]+)", svg))
    assert fonts <= {"'DejaVu Sans'"}


@pytest.mark.parametrize("chart", CHARTS + EMPTY)
def test_deterministic(chart):
    assert chart() == chart()


@pytest.mark.parametrize("chart", EMPTY)
def test_empty_input_says_no_data(chart):
    assert "Ingen data" in texts(chart())


def test_kpi_chart_in_danish():
    drawn = texts(kpi_chart())
    for text in ["512", "ikke målbar", "Mål ≥ 550", "Intet mål", "Sti 458", "Antal"]:
        assert text in drawn
    assert {"Resultat", "Mål", "Sti (ikke et mål)"} <= set(drawn)
    assert "Usikkerhedsinterval" not in drawn  # the legend holds only what is drawn

    drawn = texts(kpi_chart_with_interval())
    assert {"41,5", "47,0", "Mål ≥ 48,0", "Sti 46,5", "Usikkerhedsinterval"} <= set(drawn)


def test_kpi_chart_without_path_or_target_has_no_legend_entry_for_them():
    drawn = texts(charts.kpi_over_years([2026], [12.5], [None], [None], [None], "NPS", "K7"))
    assert "Resultat" in drawn
    assert "Mål" not in drawn and "Sti (ikke et mål)" not in drawn


def test_kpi_chart_in_millions():
    svg = charts.kpi_over_years(
        years=[2026, 2027],
        values=[44_815_000, None],
        targets=[45_000_000, 46_000_000],
        operator_by_year=[">=", ">="],
        path=[None, None],
        unit="kr.",
        title="K8",
    )
    assert {"Mio. kr.", "44,8", "Mål ≥ 45,0"} <= set(texts(svg))


def test_kpi_chart_rejects_lists_of_another_length():
    with pytest.raises(ValueError, match="targets"):
        charts.kpi_over_years([2026, 2027], [1, 2], [3], [None, None], [None, None], "antal", "")


def test_nps_chart_groups():
    drawn = texts(nps_chart())
    assert {"Kritikere (0-6)", "Passive (7-8)", "Anbefalere (9-10)"} <= set(drawn)
    assert "Svar på 'Anbefaling (0-10)'" in drawn
    assert "Antal besvarelser" in drawn
    with pytest.raises(ValueError, match="11"):
        charts.nps_distribution({11: 3}, "K7")


def test_nps_chart_draws_a_withheld_answer_as_withheld_never_as_zero():
    everything = texts(nps_chart())
    drawn = texts(charts.nps_distribution({**NPS_COUNTS, 1: None, 4: None}, "K7"))
    assert drawn.count("–") == 2 and "Diskretioneret (–)" in drawn
    # the bar labels of answer 1 (count 1) and answer 4 (none) are gone, not drawn as 0
    assert drawn.count("1") == everything.count("1") - 1
    assert drawn.count("0") == everything.count("0") - 1
    assert texts(charts.nps_distribution({9: None}, "K7")).count("–") == 1  # not "Ingen data"


def test_kpi_chart_says_a_withheld_year_is_withheld_not_unmeasured():
    args = {"years": [2026, 2027], "targets": [70, 70], "operator_by_year": [">=", ">="]}
    drawn = texts(
        charts.kpi_over_years(
            values=[72.0, None],
            path=[None, None],
            unit="NPS",
            title="K7",
            withheld=[False, True],
            **args,
        )
    )
    assert "– diskretioneret" in drawn and "ikke målbar" not in drawn


def test_municipal_chart():
    svg = municipal_chart()
    drawn = texts(svg)
    assert set(MUNICIPALITIES) <= set(drawn)
    assert {
        "Spænd ±10 %",
        "+30,0 %",
        "\u221225,0 %",
        "Uden for spændet",
        "Inden for spændet",
    } <= set(drawn)
    assert "Afvigelse fra måltal (%)" in drawn
    assert drawn.index("Horsens") < drawn.index("Viborg")
    assert "Spænd ±7,5 %" in texts(charts.municipal_deviation(["Aarhus"], [1.0], 7.5, ""))
    # about 0.45 cm per municipality: 19 make a taller figure than 8
    eight = charts.municipal_deviation(MUNICIPALITIES[:8], DEVIATIONS[:8], 10, "")
    assert height_pt(svg) - height_pt(eight) == pytest.approx(11 * 0.45 / 2.54 * 72, rel=0.01)


def test_charts_write_nothing_to_the_working_directory():
    before = sorted(os.listdir("."))
    for chart in CHARTS + EMPTY:
        chart()
    assert sorted(os.listdir(".")) == before


def test_import_does_not_load_pyplot(tmp_path: Path):
    code = (
        "import sys\n"
        "import resultatrapport.report.charts as charts\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'imported pyplot'\n"
        "charts.nps_distribution({9: 1}, 'K7')\n"
        "charts.kpi_over_years([2026], [1.0], [2.0], ['>='], [None], 'antal', 'K1')\n"
        "charts.municipal_deviation(['Aarhus'], [1.0], 10, 'K9')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'rendering imported pyplot'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_a_year_after_the_report_year_is_not_yet_reckoned_not_unmeasured():
    """A later contract year has no result because it has not come, not because nothing
    was measured: the chart says 'endnu ikke opgjort' there, 'ikke målbar' before."""
    drawn = texts(
        charts.kpi_over_years(
            years=[2025, 2026, 2027],
            values=[None, 512, None],
            targets=[None, None, 550],
            operator_by_year=[None, None, ">="],
            path=[None, None, None],
            unit="antal",
            title="K1: resultat og mål i kontraktperioden",
            report_year=2026,
        )
    )
    assert "endnu ikke opgjort" in drawn and "ikke målbar" in drawn
    assert drawn.count("ikke målbar") == 1


# --- the text alternative (a tagged PDF's /Alt of the chart's Figure) ---------------------------


def alt(svg: str) -> str:
    """The chart's text alternative: the <title> child of its <svg>, which WeasyPrint writes
    as the Figure's /Alt."""
    title = ElementTree.fromstring(svg).find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text
    return title.text


@pytest.mark.parametrize("chart", CHARTS + EMPTY)
def test_every_chart_has_a_text_alternative_beginning_with_its_title(chart):
    svg = chart()
    first = ElementTree.fromstring(svg)[0]  # WeasyPrint looks for the <svg>'s own <title>
    assert first.tag == "{http://www.w3.org/2000/svg}title"
    title = next((t for t in texts(svg) if t.startswith("K")), "")
    assert alt(svg).startswith(title) and alt(svg).endswith(".")


def test_the_kpi_charts_alternative_states_each_years_figure_and_the_target_in_danish():
    svg = charts.kpi_over_years(
        years=[2020, 2021, 2022],
        values=[1.03, 1.02, None],
        targets=[1.0, 1.0, 1.0],
        operator_by_year=[">=", ">=", ">="],
        path=[None, None, None],
        unit="årsværk",
        title="V2: resultat og mål i kontraktperioden",
        report_year=2021,
    )
    assert alt(svg) == (
        "V2: resultat og mål i kontraktperioden. Resultat pr. år (årsværk): 2020: 1,03; "
        "2021: 1,02; 2022: endnu ikke opgjort; mål ≥ 1,00 i alle år."
    )


def test_the_alternative_gives_each_years_own_target_interval_and_path_as_the_chart_draws():
    text = alt(kpi_chart_with_interval())
    assert "2024: 41,5 (usikkerhedsinterval 38,0 til 45,0, mål ≥ 40,0)" in text
    assert "2026: ikke målbar (mål ≥ 48,0, sti 46,5)" in text
    assert alt(kpi_chart()).endswith(
        "2026: 512 (intet mål, sti 458); 2027: ikke målbar (mål ≥ 550)."
    )


def test_the_alternative_says_withheld_never_a_count_or_zero():
    withheld = alt(charts.nps_distribution({0: 3, 5: None, 9: 12, 10: 4}, "K7: fordeling"))
    assert "5: – (diskretioneret)" in withheld and "9: 12; 10: 4." in withheld
    year = charts.kpi_over_years(
        [2024, 2025], [None, 3.0], [None, None], [None, None], [None, None], "antal", "K2",
        withheld=[True, False],
    )  # fmt: skip
    assert alt(year) == "K2. Resultat pr. år (antal): 2024: – diskretioneret; 2025: 3."


def test_figures_side_by_side_state_each_figure_its_interval_and_target_never_a_zero():
    svg = side_chart()
    assert alt(svg) == (
        "K1 pr. erhvervshus. Resultat pr. erhvervshus (pct.): Erhvervshus Fyn: 49,0 "
        "(usikkerhedsinterval 43,4 til 54,6; mål ≥ 50); Erhvervshus Sjælland: – diskretioneret "
        "(mål ≥ 50); Erhvervshus Nordjylland: ikke modtaget; Alle erhvervshuse: 50,2 "
        "(usikkerhedsinterval 48,4 til 51,9; mål ≥ 50)."
    )
    drawn = texts(svg)
    assert {"49,0", "– diskretioneret", "ikke modtaget", "50,2", "Mål ≥ 50"} <= set(drawn)
    assert "0,0" not in drawn and "Alle erhvervshuse" in drawn


def test_the_municipal_charts_alternative_lists_each_deviation_and_the_band():
    text = alt(charts.municipal_deviation(["Aarhus", "Skive"], [3.2, -12.0], 10, "K9: afvigelse"))
    assert text == (
        "K9: afvigelse. Afvigelse fra måltal pr. kommune: Aarhus: +3,2 %; Skive: \u221212,0 %. "
        "Spænd ±10 %; uden for spændet: 1 af 2."
    )


@pytest.mark.parametrize(
    ("shown", "targets"),
    [([50.0], [50.0]), ([], [50.0]), ([44.0, 50.0], [50.0]), ([12.0, 0.0], [0.0]),
     ([-3.0, 5.0], [0.0]), ([3.0, 0.0], [0.0])],
)  # fmt: skip
def test_the_value_axis_shows_every_target_line(shown, targets):
    """M1: the axis's last labelled value was 45 under a target line at 50; M5-P: a target
    of 0 lay on the axis line, hidden."""
    from resultatrapport.report.charts import value_limits, value_ticks

    bottom, top = value_limits(shown, targets)
    labelled = [t for t in value_ticks().tick_values(bottom, top) if bottom <= t <= top]
    for target in targets:
        assert bottom < target < top
        assert max(labelled) >= target  # a labelled value at or above the line
        assert target - bottom >= 0.04 * (top - bottom)  # clear of the axis line


def test_a_bar_label_never_reads_as_the_other_status_against_its_target():
    """As the tables print it (report/rounding.py): 0,997 årsværk against ≥ 1 is labelled
    0,997, not 1,00; in millions as well (issue 25, case 3)."""
    svg = charts.kpi_over_years([2021, 2022], [0.997, 0.977], [1, 1], [">=", ">="], [None, None], "årsværk", "V2")  # fmt: skip
    assert {"0,997", "0,98", "Mål ≥ 1,00"} <= set(texts(svg))
    svg = charts.kpi_over_years([2026], [44_960_000], [45_000_000], [">="], [None], "kr.", "K8")
    assert {"44,96", "Mål ≥ 45,0"} <= set(texts(svg))
    assert alt(svg) == "K8. Resultat pr. år (Mio. kr.): 2026: 44,96; mål ≥ 45,0."


# --- drawn once per change of what a chart shows --------------------------------------------


@pytest.mark.parametrize("chart", CHARTS)
def test_a_chart_asked_for_again_with_equal_inputs_is_read_not_drawn(chart, tmp_path):
    with charts.cached_in(tmp_path / "charts") as cache:
        first = chart()
        [kept] = (tmp_path / "charts").iterdir()
        assert (cache.drawn, cache.reused) == (1, 0)
        # what the file holds is what comes back: read, not drawn again
        kept.write_text(first.replace("</svg>", "<!-- kept --></svg>"), "utf-8")
        assert chart().rstrip().endswith("<!-- kept --></svg>")
        assert (cache.drawn, cache.reused) == (1, 1)
    assert chart() == first  # outside the cache: drawn


def test_changed_inputs_or_a_broken_file_are_drawn_again_and_old_charts_pruned(tmp_path):
    folder = tmp_path / "charts"
    with charts.cached_in(folder) as cache:
        nps_chart()
        changed = charts.nps_distribution({**NPS_COUNTS, 10: 60}, "K7: fordeling af svar")
        assert (cache.drawn, cache.reused) == (2, 0) and changed != nps_chart()
        assert cache.reused == 1
        [short] = [p for p in folder.iterdir() if p.read_text("utf-8") != changed]
        short.write_text(changed[:100], "utf-8")  # a file cut short is no chart
        nps_chart()
        assert (cache.drawn, cache.reused) == (3, 1)
    with charts.cached_in(folder) as cache:  # the next render shows the changed one only
        charts.nps_distribution({**NPS_COUNTS, 10: 60}, "K7: fordeling af svar")
        cache.prune()
    assert [p.name for p in folder.iterdir()] == [next(iter(cache.used))]
    assert (cache.drawn, cache.reused) == (0, 1)


def test_the_chart_code_is_part_of_the_key(monkeypatch):
    args = ([2026], [1.0], [None], [None], [None], "antal", "K1")
    key = charts.chart_key("kpi_over_years", args, {})
    assert key == charts.chart_key("kpi_over_years", args, {})
    assert key != charts.chart_key("kpi_over_years", args, {"report_year": 2026})
    monkeypatch.setattr(charts, "chart_code", lambda: "another drawing")
    assert key != charts.chart_key("kpi_over_years", args, {})
