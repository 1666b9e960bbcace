"""Each KPI kind on a small fixture whose answer is computed by hand; the registry of kinds."""

from __future__ import annotations

import importlib
import pkgutil
from typing import get_args

import pytest

import resultatrapport.kpis.kinds as kinds_package
from resultatrapport.contract_base import Strict
from resultatrapport.contracts import KPI_MODELS, Source
from resultatrapport.kpis.kinds import KINDS
from resultatrapport.kpis.kinds import effect as effect_kind
from resultatrapport.kpis.kinds.activity import activity
from resultatrapport.kpis.kinds.count import count_cases, count_referrals
from resultatrapport.kpis.kinds.fte import full_time_equivalents
from resultatrapport.kpis.kinds.nps import net_promoter_score
from resultatrapport.kpis.kinds.share import survey_share
from resultatrapport.kpis.kinds.spread import spread
from resultatrapport.kpis.kinds.weighted_share import awareness_share
from resultatrapport.kpis.kinds.young_firms import young_firms
from resultatrapport.report.view import CHARTS
from resultatrapport.vocabulary import Unit

ORG = "erhvervshus-midtjylland"


def delivered(con, source, year=2026, org=ORG):
    con.execute(
        "INSERT INTO ingest.deliveries (source, org, year, file, sha256, encoding, rows_read, "
        "rows_rejected, read_at) VALUES ($s, $o, $y, 'f', 'abc', 'utf-8', 1, 0, now()::TIMESTAMP)",
        {"s": source, "o": org, "y": year},
    )


def case(
    con,
    case_id,
    cvr,
    form="Individuel",
    segment="Vækst",
    case_type="Afklaring",
    mun=751,
    start="2026-03-01",
    focus="Innovation",
    referrals=(),
    hours=1.0,
):
    con.execute(
        "INSERT INTO ingest.crm_cases (org, year, line, case_id, cvr, municipality_code, start_date, "
        "form, segment, case_type, focus_area, referrals, hours) "
        "VALUES ($org, 2026, 2, $id, $cvr, $mun, $start::DATE, $form, $seg, $type, $focus, $ref, $h)",
        {
            "org": ORG,
            "id": case_id,
            "cvr": cvr,
            "mun": mun,
            "start": start,
            "form": form,
            "seg": segment,
            "type": case_type,
            "focus": focus,
            "ref": list(referrals),
            "h": hours,
        },
    )


def test_missing_delivery_is_not_measurable(con):
    m = count_cases(con, ORG, 2026)
    assert m.value is None and "mangler" in m.remark


def test_firms_counted_per_form_may_count_twice(con):
    delivered(con, "crm_cases")
    case(con, "A", "11111111", form="Individuel")
    case(con, "B", "11111111", form="Kollektiv")  # same firm, collective too: counts twice
    case(con, "C", "11111111", form="Individuel")  # same firm again individually: once
    case(con, "D", None, form="Individuel")  # a would-be founder without CVR counts by case
    case(con, "E", "22222222", form="Kollektiv", case_type="Vækstforløb")
    m = count_cases(con, ORG, 2026, per="form")
    assert m.value == 4  # Individuel: 1111, D; Kollektiv: 1111, 2222
    assert count_cases(con, ORG, 2026, distinct="case").value == 5
    assert count_cases(con, ORG, 2026, {"case_type": ["Vækstforløb"]}, distinct="case").value == 1


def test_referrals_to_given_targets(con):
    delivered(con, "crm_cases")
    case(con, "A", "11111111", referrals=["Erhvervshus Midtjylland", "Innovationsfonden"])
    case(con, "B", "22222222", referrals=["Erhvervshus Midtjylland", "Erhvervshus Midtjylland"])
    case(con, "C", "33333333", referrals=["Privat rådgiver"])
    m = count_referrals(con, ORG, 2026, targets=["Erhvervshus Midtjylland", "Innovationsfonden"])
    assert m.value == 3 and m.n == 2  # the duplicate listing on B counts once
    assert count_referrals(con, ORG, 2026).value == 4
    assert count_referrals(con, ORG, 2026, exclude=["Privat rådgiver"]).value == 3


def test_young_firms_by_cvr_start_date(con):
    delivered(con, "crm_cases")
    delivered(con, "cvr_firms", org=None)
    for cvr, started in [
        ("11111111", "2023-03-02"),
        ("22222222", "2023-02-28"),
        ("33333333", "2010-01-01"),
    ]:
        con.execute(
            "INSERT INTO ingest.cvr_firms (org, year, cvr, start_date) VALUES (NULL, 2026, $c, $d::DATE)",
            {"c": cvr, "d": started},
        )
    case(con, "A", "11111111", start="2026-03-01")  # 2 years 364 days old: young
    case(con, "B", "22222222", start="2026-03-01")  # just over 3 years: not young
    case(con, "C", "33333333")
    case(con, "D", "44444444")  # not in the CVR extract
    m = young_firms(con, ORG, 2026)
    assert (m.value, m.n) == (1, 4)
    assert "1 vejledte CVR-numre" in m.remark


def answers(con, rows):
    delivered(con, "survey_answers")
    for i, (rec, referred, used, guided, better, seg) in enumerate(rows):
        con.execute(
            "INSERT INTO ingest.survey_answers (org, year, respondent_id, segment, recommend, referred, "
            "used_referral, sustainability_guided, sustainability_better) VALUES "
            "($org, 2026, $id, $seg, $rec, $ref, $used, $g, $b)",
            {
                "org": ORG,
                "id": f"R{i}",
                "seg": seg,
                "rec": rec,
                "ref": referred,
                "used": used,
                "g": guided,
                "b": better,
            },
        )


def test_survey_share_and_nps(con):
    answers(
        con,
        [
            (10, True, "Ja", True, "I høj grad", "Vækst"),
            (9, True, "Nej", True, "I nogen grad", "Vækst"),
            (8, True, "Ja", False, None, "Drift"),
            (3, False, None, True, "I høj grad", "Drift"),
            (None, True, "Ved ikke", False, None, "Drift"),
        ],
    )
    m4 = survey_share(con, ORG, 2026, {"referred": [True]}, {"used_referral": ["Ja"]})
    assert (m4.value, m4.n) == (50.0, 4)
    assert m4.low is None and m4.high is None  # 4 answers: too few for an interval
    m6 = survey_share(
        con, ORG, 2026, {"sustainability_guided": [True]}, {"sustainability_better": ["I høj grad"]}
    )
    assert m6.value == pytest.approx(200 / 3) and m6.n == 3
    nps = net_promoter_score(con, ORG, 2026)
    assert (nps.value, nps.n) == (25.0, 4)  # 2 promoters, 1 detractor of 4
    assert net_promoter_score(con, ORG, 2026, {"segment": ["Vækst"]}).value == 100.0
    assert nps.detail[10] == {"score": 10, "antal": 1}


def test_weighted_awareness(con):
    delivered(con, "awareness", org=None)
    for i, (hub, w, knows, offers) in enumerate(
        [
            ("Midtjylland", 1.0, True, True),
            ("Midtjylland", 3.0, False, None),
            ("Midtjylland", 2.0, True, False),
            ("Fyn", 5.0, True, True),
        ]
    ):
        con.execute(
            "INSERT INTO ingest.awareness (org, year, respondent_id, hub, weight, knows_hub, knows_offers) "
            "VALUES (NULL, 2026, $i, $h, $w, $k, $o)",
            {"i": str(i), "h": hub, "w": w, "k": knows, "o": offers},
        )
    m1 = awareness_share(con, 2026, "Midtjylland", {"knows_hub": [True]})
    assert (m1.value, m1.n) == (50.0, 3)  # (1 + 2) / 6
    m1b = awareness_share(con, 2026, "Midtjylland", {"knows_offers": [True]}, {"knows_hub": [True]})
    assert m1b.value == pytest.approx(100 / 3)  # 1 / (1 + 2)
    assert awareness_share(con, 2025, "Midtjylland", {"knows_hub": [True]}).remark == (
        "Ingen kendskabsmåling i 2025"
    )


def test_fte_from_hours(con):
    delivered(con, "time_registration")
    for staff, project, hours in [
        ("M1", "Karriereby Viborg", 800.0),
        ("M2", "Karriereby Viborg", 824.0),
        ("M1", "Start Up Viborg", 100.0),
    ]:
        con.execute(
            "INSERT INTO ingest.time_registration (org, year, staff_id, project, hours) "
            "VALUES ($o, 2026, $s, $p, $h)",
            {"o": ORG, "s": staff, "p": project, "h": hours},
        )
    m = full_time_equivalents(con, ORG, 2026, "Karriereby Viborg", 1624.0)
    assert m.value == pytest.approx(1.0) and m.n == 2


def test_spread_against_population_share(con):
    delivered(con, "crm_cases")
    for code, quarter, n in [(751, "2026K1", 300), (791, "2026K1", 100)]:
        con.execute(
            "INSERT INTO ingest.population (org, year, municipality, quarter, inhabitants, municipality_code) "
            "VALUES (NULL, 2026, 'x', $q, $n, $c)",
            {"q": quarter, "n": n, "c": code},
        )
    for i in range(33):
        case(con, f"A{i}", None, mun=751)
    for i in range(7):
        case(con, f"V{i}", None, mun=791)
    case(con, "K", None, mun=791, form="Kollektiv")
    m = spread(con, ORG, 2026, [751, 791], "2026K1", 10.0, {"form": ["Individuel"]})
    # 40 cases: måltal 30 and 10; Aarhus +10.0 % (inside), Viborg -30 % (outside): one
    # municipality outside the band (the result), the largest deviation only beside it
    assert m.value == 1
    assert m.extra["under_spaendet"] == ["Viborg"] and m.extra["over_spaendet"] == []
    assert m.extra["stoerste_afvigelse_pct"] == pytest.approx(-30.0)
    assert [d["kommune"] for d in m.detail] == sorted(d["kommune"] for d in m.detail)
    assert m.remark == "Under spændet (inviteres til dialog): Viborg"
    by_code = {d["kommunenr"]: d for d in m.detail}
    assert by_code[751]["afvigelse_pct"] == pytest.approx(10.0)
    assert by_code[751]["inden_for_spaend"] is True
    assert by_code[791]["afvigelse_pct"] == pytest.approx(-30.0)
    assert spread(con, ORG, 2026, [751, 791], "2025K1", 10.0).value is None


def test_activity_per_focus_area(con):
    delivered(con, "crm_cases")
    case(con, "A", "11111111", focus="Ejerskifte", hours=2.0)
    case(con, "B", "11111111", focus="Ejerskifte", hours=3.0)
    case(con, "C", "22222222", focus="Forsvar")
    m = activity(
        con, ORG, 2026, ["Ejerskifte", "Forsvar", "Detailhandel, turisme og levende bymidter"]
    )
    rows = {d["område"]: d for d in m.detail}
    assert rows["Ejerskifte"] == {
        "område": "Ejerskifte",
        "forløb": 2,
        "virksomheder": 1,
        "timer": 5.0,
    }
    assert rows["Detailhandel, turisme og levende bymidter"]["forløb"] == 0


# --- the registry: one module per kind, one list of them --------------------------------


def test_the_registry_is_the_contract_schema():
    """Every kind the contract files may name is in the registry, typed by its params."""
    assert set(KPI_MODELS) == set(KINDS)
    for name, model in KPI_MODELS.items():
        assert get_args(model.model_fields["kind"].annotation) == (name,)
        assert model.model_fields["params"].annotation is KINDS[name].params


def test_every_kind_module_declares_every_part_and_is_listed():
    modules = [m.name for m in pkgutil.iter_modules(kinds_package.__path__) if m.name != "base"]
    assert sorted(modules) == sorted(KINDS), "one module per kind, each listed in KINDS"
    sources, units = set(get_args(Source)), set(get_args(Unit))
    for name in modules:
        kind = importlib.import_module(f"{kinds_package.__name__}.{name}").KIND
        assert KINDS[name] is kind and kind.name == name
        assert issubclass(kind.params, Strict) and kind.description, name
        assert callable(kind.measure) and callable(kind.problems) and callable(kind.needs)
        assert kind.sources | kind.optional_sources <= sources, name
        assert set(kind.reads_back) <= kind.sources, f"{name} reads back a source it does not read"
        assert kind.unit is None or kind.unit in units, name
        assert kind.value_range[0] <= kind.value_range[1], name
        assert kind.detail_table is None or callable(kind.detail_table), name
        assert set(kind.charts.values()) <= set(CHARTS), name
        assert kind.inherits is None or kind.inherits[1] in kind.params.model_fields, name


def test_the_effect_kind_reads_back_what_it_declares(con):
    """The missing-data remark and the partitions read both follow ``reads_back``."""
    assert effect_kind.missing(con, ORG, 2026) == [
        "regnskaber 2021",
        "regnskaber 2023",
        "regnskaber 2026",
        "CVR-udtræk 2023",
        *(f"CRM {y}" for y in range(2021, 2027)),
    ]
    assert KINDS["effect"].reads_back == {"financials": 5, "cvr_firms": 3, "crm_cases": 5}
