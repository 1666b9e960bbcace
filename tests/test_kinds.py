"""Each KPI kind on a small fixture whose answer is computed by hand."""

from __future__ import annotations

import pytest

from resultatrapport.kpis import kinds

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
    m = kinds.count_cases(con, ORG, 2026)
    assert m.value is None and "mangler" in m.remark


def test_firms_counted_per_form_may_count_twice(con):
    delivered(con, "crm_cases")
    case(con, "A", "11111111", form="Individuel")
    case(con, "B", "11111111", form="Kollektiv")  # same firm, collective too: counts twice
    case(con, "C", "11111111", form="Individuel")  # same firm again individually: once
    case(con, "D", None, form="Individuel")  # a would-be founder without CVR counts by case
    case(con, "E", "22222222", form="Kollektiv", case_type="Vækstforløb")
    m = kinds.count_cases(con, ORG, 2026, per="form")
    assert m.value == 4  # Individuel: 1111, D; Kollektiv: 1111, 2222
    assert kinds.count_cases(con, ORG, 2026, distinct="case").value == 5
    assert (
        kinds.count_cases(con, ORG, 2026, {"case_type": ["Vækstforløb"]}, distinct="case").value
        == 1
    )


def test_referrals_to_given_targets(con):
    delivered(con, "crm_cases")
    case(con, "A", "11111111", referrals=["Erhvervshus Midtjylland", "Innovationsfonden"])
    case(con, "B", "22222222", referrals=["Erhvervshus Midtjylland", "Erhvervshus Midtjylland"])
    case(con, "C", "33333333", referrals=["Privat rådgiver"])
    m = kinds.count_referrals(
        con, ORG, 2026, targets=["Erhvervshus Midtjylland", "Innovationsfonden"]
    )
    assert m.value == 3 and m.n == 2  # the duplicate listing on B counts once
    assert kinds.count_referrals(con, ORG, 2026).value == 4
    assert kinds.count_referrals(con, ORG, 2026, exclude=["Privat rådgiver"]).value == 3


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
    m = kinds.young_firms(con, ORG, 2026)
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
    m4 = kinds.survey_share(con, ORG, 2026, {"referred": [True]}, {"used_referral": ["Ja"]})
    assert (m4.value, m4.n) == (50.0, 4)
    assert m4.low is None and m4.high is None  # 4 answers: too few for an interval
    m6 = kinds.survey_share(
        con, ORG, 2026, {"sustainability_guided": [True]}, {"sustainability_better": ["I høj grad"]}
    )
    assert m6.value == pytest.approx(200 / 3) and m6.n == 3
    nps = kinds.net_promoter_score(con, ORG, 2026)
    assert (nps.value, nps.n) == (25.0, 4)  # 2 promoters, 1 detractor of 4
    assert kinds.net_promoter_score(con, ORG, 2026, {"segment": ["Vækst"]}).value == 100.0
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
    m1 = kinds.awareness_share(con, 2026, "Midtjylland", {"knows_hub": [True]})
    assert (m1.value, m1.n) == (50.0, 3)  # (1 + 2) / 6
    m1b = kinds.awareness_share(
        con, 2026, "Midtjylland", {"knows_offers": [True]}, {"knows_hub": [True]}
    )
    assert m1b.value == pytest.approx(100 / 3)  # 1 / (1 + 2)
    assert kinds.awareness_share(con, 2025, "Midtjylland", {"knows_hub": [True]}).remark == (
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
    m = kinds.full_time_equivalents(con, ORG, 2026, "Karriereby Viborg", 1624.0)
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
    m = kinds.spread(con, ORG, 2026, [751, 791], "2026K1", 10.0, {"form": ["Individuel"]})
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
    assert kinds.spread(con, ORG, 2026, [751, 791], "2025K1", 10.0).value is None


def test_activity_per_focus_area(con):
    delivered(con, "crm_cases")
    case(con, "A", "11111111", focus="Ejerskifte", hours=2.0)
    case(con, "B", "11111111", focus="Ejerskifte", hours=3.0)
    case(con, "C", "22222222", focus="Forsvar")
    m = kinds.activity(
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
