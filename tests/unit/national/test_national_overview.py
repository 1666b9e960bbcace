"""The national overview from a folder of received submissions (shared/formats/national.md):
which file counts, refused and missing hubs, pooling across hubs, confidentiality, Mål 2's
collective target, and the CSV in the recipients' dialect. Hand-made files, no PDF (the PDF
is rendered once, in tests/integration/test_national_command.py)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from resultatrapport.national.framework import framework_for, load_frameworks
from resultatrapport.national.output import csv_bytes
from resultatrapport.national.pooling import overview
from resultatrapport.national.received import MISSING, RECEIVED, REFUSED, read_submissions
from resultatrapport.report.submissions import validate_bytes
from tests.unit.national.hubs import HUBS, YEAR, file_name, rows, write_all, write_hub

FRAMEWORK = framework_for(YEAR, load_frameworks())
assert FRAMEWORK is not None
MIDT, FYN, SJ, SYD = (
    "erhvervshus-midtjylland",
    "erhvervshus-fyn",
    "erhvervshus-sjaelland",
    "erhvervshus-sydjylland",
)
ALL = "Alle erhvervshuse"
# copied from shared/formats/national.md, in its order
SPEC_COLUMNS = [
    "År", "Mål-ID", "Målepunkt", "Erhvervshus", "Enhed", "Resultat", "Målværdi", "Operator",
    "Status", "Usikker", "Grundlag", "Opgørelse", "Diskretioneret", "Kilde", "Bemærkning",
]  # fmt: skip


def table(folder: Path, year: int = YEAR) -> list[dict[str, str]]:
    """The overview's CSV as a recipient reads it: every row by its columns."""
    data = csv_bytes(overview(read_submissions(folder, FRAMEWORK, year)))
    assert validate_bytes("maalopfyldelse_national", data) == []
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def row(found: list[dict[str, str]], kpi: str, hub: str) -> dict[str, str]:
    (hit,) = [r for r in found if r["Mål-ID"] == kpi and r["Erhvervshus"] == hub]
    return hit


def number(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_all(tmp_path / "indberetninger")


# --- the CSV --------------------------------------------------------------------------------


def test_the_csv_has_national_md_columns_one_row_per_measure_and_hub_and_a_pooled_row(folder):
    data = csv_bytes(overview(read_submissions(folder, FRAMEWORK, YEAR)))
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n")
    assert data.count(b"\n") == data.count(b"\r\n")
    header = data[3:].split(b"\r\n", 1)[0].decode()
    assert header == ";".join(SPEC_COLUMNS)
    found = table(folder)
    assert len(found) == 9 * 7
    for measure in FRAMEWORK.measures:
        hubs = [r["Erhvervshus"] for r in found if r["Mål-ID"] == measure.id]
        assert hubs == [*(o for _, o in HUBS.values()), ALL]
    # as submitted, decimal comma, no thousands separator
    assert row(found, "M1", "Erhvervshus Hovedstaden")["Resultat"] == "52,3"
    assert row(found, "M2", ALL)["Resultat"] == "1945"


# --- which file counts ----------------------------------------------------------------------


def test_the_highest_version_counts_and_is_named_as_the_source(folder):
    write_hub(folder, MIDT, 2, M3={"Resultat": Decimal("80.0"), "Grundlag": 300})
    received = read_submissions(folder, FRAMEWORK, YEAR)
    (midt,) = [h for h in received.hubs if h.hub.slug == MIDT]
    assert midt.state == RECEIVED
    assert midt.file_name == file_name(MIDT, 2)
    assert midt.superseded == (f"{MIDT}/{file_name(MIDT, 1)}",)
    found = table(folder)
    m3 = row(found, "M3", "Erhvervshus Midtjylland")
    assert (m3["Resultat"], m3["Grundlag"], m3["Kilde"]) == ("80,0", "300", file_name(MIDT, 2))
    # v10 is higher than v9 (numbers, not text)
    write_hub(folder, MIDT, 9, M3={"Resultat": Decimal("9.0")})
    write_hub(folder, MIDT, 10, M3={"Resultat": Decimal("10.0")})
    assert row(table(folder), "M3", "Erhvervshus Midtjylland")["Resultat"] == "10,0"


def test_a_preliminary_file_is_carried_and_makes_the_pooled_rows_preliminary(folder):
    assert {r["Opgørelse"] for r in table(folder)} == {"Endelig"}
    write_hub(folder, SYD, 1, reckoning="Foreløbig")
    found = table(folder)
    assert row(found, "M3", "Erhvervshus Sydjylland")["Opgørelse"] == "Foreløbig"
    assert row(found, "M3", "Erhvervshus Midtjylland")["Opgørelse"] == "Endelig"
    assert {r["Opgørelse"] for r in found if r["Erhvervshus"] == ALL} == {"Foreløbig"}


def test_a_malformed_file_is_refused_with_file_line_and_column_and_the_others_stand(folder):
    data = write_hub(folder, SJ, 1).read_bytes()
    bad = data.replace(b";45,1;", b";45.1;", 1)  # M1's Resultat, on line 2
    lines = bad.split(b"\r\n")
    lines[4] = lines[4].replace(b";Endelig;", b";Endeligt;", 1)  # M3's Opgørelse, line 5
    write_hub(folder, SJ, 1, data=b"\r\n".join(lines))
    received = read_submissions(folder, FRAMEWORK, YEAR)
    (sj,) = [h for h in received.hubs if h.hub.slug == SJ]
    assert sj.state == REFUSED
    where = f"{SJ}/{file_name(SJ)}"
    assert sj.problems == (  # in the file's order
        f"{where}, linje 2, kolonne 'Resultat': '45.1' er ikke et tal skrevet med cifre og "
        "decimalkomma (uden tusindtalsseparator)",
        f"{where}, linje 5, kolonne 'Opgørelse': 'Endeligt' er ikke en af 'Endelig', 'Foreløbig'",
    )
    found = table(folder)
    for measure in FRAMEWORK.measures:
        hub = row(found, measure.id, "Erhvervshus Sjælland")
        assert hub["Resultat"] == "" and hub["Status"] == "Ikke målbar"
        assert hub["Bemærkning"].startswith(f"Ikke modtaget i gyldig form: {where}, linje 2")
    # the other hubs stand, and the pooled share names the hub left out
    assert row(found, "M1", "Erhvervshus Fyn")["Resultat"] == "49,0"
    assert (
        "Erhvervshus Sjælland (ikke modtaget i gyldig form) indgår ikke"
        in (row(found, "M1", ALL)["Bemærkning"])
    )
    assert row(found, "M1", ALL)["Kilde"] == "5 af 6 erhvervshuse"


def test_a_refused_highest_version_is_not_replaced_by_the_one_before(folder):
    write_hub(folder, SJ, 2, data=b"\xef\xbb\xbfKontrakt;Organisation\r\nx;y\r\n")
    found = table(folder)
    assert row(found, "M1", "Erhvervshus Sjælland")["Resultat"] == ""
    assert "linje 1: overskriftslinjen" in row(found, "M1", "Erhvervshus Sjælland")["Bemærkning"]


def test_a_line_is_the_physical_line_after_a_quoted_line_break(folder):
    data = write_hub(folder, SJ, 1).read_bytes().decode("utf-8-sig")
    lines = data.split("\r\n")
    lines[1] = lines[1].replace("Virksomhedernes kendskab til huset", '"to\r\nlinjer"')
    lines[3] = lines[3].replace(";290;", ";mange;", 1)  # M2's Resultat, record 4, line 5
    write_hub(folder, SJ, 1, data=("\r\n".join(lines)).encode("utf-8-sig"))
    (sj,) = [h for h in read_submissions(folder, FRAMEWORK, YEAR).hubs if h.hub.slug == SJ]
    assert any("linje 5, kolonne 'Resultat': 'mange'" in p for p in sj.problems), sj.problems


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"year": 2025}, "linje 2, kolonne 'År': '2025' er ikke filnavnets år 2026"),
        ({"M4": {"Organisation": "Erhvervshus Sjaelland"}}, "linje 6, kolonne 'Organisation'"),
        (
            {"M3": {"Diskretioneret": True, "Resultat": Decimal("60.0")}},
            "linje 5, kolonne 'Resultat': et diskretioneret tal skal være tomt",
        ),
    ],
)
def test_what_the_schema_cannot_say_is_refused_too(folder, changes, said):
    year_file = file_name(SJ)
    path = folder / SJ / year_file
    from resultatrapport.report.submissions import render_csv

    path.write_bytes(render_csv("resultatopfyldelse", rows(SJ, **changes)))
    (sj,) = [h for h in read_submissions(folder, FRAMEWORK, YEAR).hubs if h.hub.slug == SJ]
    assert sj.state == REFUSED
    assert any(said in p for p in sj.problems), sj.problems


def test_a_missing_hub_is_not_received_and_a_sum_cannot_be_formed_without_it(folder):
    (folder / FYN / file_name(FYN)).unlink()
    received = read_submissions(folder, FRAMEWORK, YEAR)
    assert [h.state for h in received.hubs if h.hub.slug == FYN] == [MISSING]
    found = table(folder)
    fyn = row(found, "M3", "Erhvervshus Fyn")
    assert (fyn["Resultat"], fyn["Opgørelse"], fyn["Kilde"]) == ("", "", "")
    assert fyn["Bemærkning"] == f"Ikke modtaget: ingen resultatopfyldelse for 2026 i {FYN}/"
    m2 = row(found, "M2", ALL)
    assert m2["Resultat"] == "" and m2["Diskretioneret"] == "Nej"
    assert "Erhvervshus Fyn (ikke modtaget) mangler" in m2["Bemærkning"]
    assert row(found, "M3", ALL)["Kilde"] == "5 af 6 erhvervshuse"
    assert row(found, "M3", ALL)["Opgørelse"] == "Foreløbig"  # a part is not in yet


# --- pooling ------------------------------------------------------------------------------


def _from_files(folder: Path, kpi: str) -> tuple[Fraction, int]:
    """Σ n·v / Σ n over the hubs' files as they lie in the folder, read here with csv."""
    total, n = Fraction(0), 0
    for slug in HUBS:
        text = (folder / slug / file_name(slug)).read_text("utf-8-sig")
        for r in csv.DictReader(io.StringIO(text, newline=""), delimiter=";"):
            if r["Mål-ID"] == kpi and r["Resultat"] and r["Diskretioneret"] == "Nej":
                total += int(r["Grundlag"]) * Fraction(r["Resultat"].replace(",", "."))
                n += int(r["Grundlag"])
    return total / n, n


@pytest.mark.parametrize("kpi", ["M1", "M1b", "M3", "M4", "M6"])
def test_shares_and_nps_are_weighted_by_their_basis(folder, kpi):
    expected, n = _from_files(folder, kpi)
    pooled = row(table(folder), kpi, ALL)
    assert abs(number(pooled["Resultat"]) - Decimal(float(expected))) <= Decimal("0.05")
    assert pooled["Grundlag"] == str(n)
    target = FRAMEWORK.measure(kpi).target(YEAR)
    assert target is not None and pooled["Målværdi"] == f"{target.value:g}"
    met = expected >= Fraction(target.value)
    assert pooled["Status"] == ("Opfyldt" if met else "Ikke opfyldt")


def test_nps_pooled_by_basis_is_the_nps_of_all_answers():
    """Two hubs' NPS weighted by their answers equals the NPS of their answers together."""
    # hub a: 100 answers, 80 promoters, 5 detractors; hub b: 40 answers, 20 and 10
    a, b = Fraction(80 - 5, 100) * 100, Fraction(20 - 10, 40) * 100
    assert (100 * a + 40 * b) / 140 == Fraction(100 * (100 - 15), 140)


def test_effects_are_not_pooled(folder):
    found = table(folder)
    for kpi in ("M5-O", "M5-B", "M5-P"):
        pooled = row(found, kpi, ALL)
        assert (pooled["Resultat"], pooled["Grundlag"], pooled["Status"]) == ("", "", "Ikke målbar")
        assert pooled["Bemærkning"].startswith("Lægges ikke sammen")
        assert row(found, kpi, "Erhvervshus Fyn")["Resultat"] != ""


def test_a_pooled_interval_and_whether_it_holds_the_target(folder):
    ov = overview(read_submissions(folder, FRAMEWORK, YEAR))
    pooled = ov.lines["M3"][-1]
    hubs = ov.lines["M3"][:-1]
    n = sum(h.n or 0 for h in hubs)
    half = sum((h.n / n) ** 2 * float(h.high - h.low) ** 2 / 4 for h in hubs) ** 0.5  # type: ignore[operator]
    assert pooled.low is not None and pooled.high is not None and pooled.exact is not None
    assert abs(float(pooled.low) - (pooled.exact - half)) <= 0.05
    assert abs(float(pooled.high) - (pooled.exact + half)) <= 0.05
    assert pooled.uncertain is (float(pooled.low) <= 70 <= float(pooled.high))


# --- confidentiality --------------------------------------------------------------------------

WITHHELD = {
    "Resultat": None, "Diskretioneret": True, "Status": "Ikke målbar", "Usikker": None,
    "Nedre 95 %": None, "Øvre 95 %": None, "Bemærkning": "For få besvarelser (n=2)",
}  # fmt: skip


def test_a_withheld_hub_figure_cannot_be_recovered_from_the_pooled_figures(folder):
    write_hub(folder, FYN, 1, M3={**WITHHELD, "Grundlag": 2}, M2={**WITHHELD, "Grundlag": 2})
    found = table(folder)
    fyn = row(found, "M3", "Erhvervshus Fyn")
    assert (fyn["Resultat"], fyn["Diskretioneret"], fyn["Grundlag"]) == ("", "Ja", "2")
    # the sum would give Fyn's count back as the sum minus the other hubs': withheld with it
    m2 = row(found, "M2", ALL)
    assert (m2["Resultat"], m2["Diskretioneret"], m2["Status"]) == ("", "Ja", "Ikke målbar")
    assert "Erhvervshus Fyn er diskretioneret" in m2["Bemærkning"]
    # the NPS is pooled over the published hubs only: value and basis are theirs alone, so
    # pooled value × basis minus the others' shares leaves nothing of Fyn's
    m3 = row(found, "M3", ALL)
    others = [row(found, "M3", o) for s, (_, o) in HUBS.items() if s != FYN]
    n = sum(int(o["Grundlag"]) for o in others)
    assert m3["Grundlag"] == str(n) and m3["Diskretioneret"] == "Nej"
    weighted = sum(int(o["Grundlag"]) * number(o["Resultat"]) for o in others) / n
    assert abs(number(m3["Resultat"]) - weighted) <= Decimal("0.05")
    assert "Erhvervshus Fyn (diskretioneret) indgår ikke" in m3["Bemærkning"]
    # and the published overview is the same whatever Fyn's withheld figure was: its file
    # holds no figure, and nothing else of the file enters the pools
    before = table(folder)
    write_hub(folder, FYN, 1, M3={**WITHHELD, "Grundlag": 1}, M2={**WITHHELD, "Grundlag": 1})
    after = table(folder)
    pooled = [(r["Mål-ID"], r["Resultat"]) for r in before if r["Erhvervshus"] == ALL]
    assert pooled == [(r["Mål-ID"], r["Resultat"]) for r in after if r["Erhvervshus"] == ALL]


# --- Mål 2: the collective target ---------------------------------------------------------------


def test_mal_2_s_sum_is_held_to_the_collective_target_in_2027(tmp_path):
    m2 = FRAMEWORK.measure("M2")
    assert [m2.path(y) for y in FRAMEWORK.years] == [1200, 1600, 2000, 2400]
    folder = tmp_path / "s"
    counts = dict(zip(HUBS, [770, 550, 342, 312, 238, 188], strict=True))  # 2 x 2024: 2.400
    for slug, count in counts.items():
        write_hub(folder, slug, 1, year=2027, M2={"Resultat": count, "Grundlag": count})
    pooled = row(table(folder, 2027), "M2", ALL)
    assert (pooled["Resultat"], pooled["Målværdi"], pooled["Operator"]) == ("2400", "2400", ">=")
    assert pooled["Status"] == "Opfyldt" and pooled["Kilde"] == "6 af 6 erhvervshuse"
    assert "Fælles mål: 2.400 (2 × 1.200 i 2024)" in pooled["Bemærkning"]
    write_hub(folder, FYN, 1, year=2027, M2={"Resultat": 187, "Grundlag": 187})
    assert row(table(folder, 2027), "M2", ALL)["Status"] == "Ikke opfyldt"  # 2.399


def test_mal_2_before_2027_has_no_target_but_its_path_is_said(folder):
    pooled = row(table(folder), "M2", ALL)
    assert (pooled["Resultat"], pooled["Målværdi"], pooled["Status"]) == (
        "1945", "", "Intet mål i år",
    )  # fmt: skip
    assert (
        "Fælles sti fra 1.200 (2024) til 2.400 (2027): 2.000 i 2026; ikke et mål"
        in (pooled["Bemærkning"])
    )
    # each hub's own target as submitted
    write_hub(folder, MIDT, 2, M2={"Målværdi": 458, "Operator": ">=", "Status": "Ikke opfyldt"})
    midt = row(table(folder), "M2", "Erhvervshus Midtjylland")
    assert (midt["Målværdi"], midt["Status"]) == ("458", "Ikke opfyldt")


# --- what is not read --------------------------------------------------------------------------


def test_stray_and_misnamed_entries_are_listed_with_why(folder):
    (folder / "noter.txt").write_text("x")
    (folder / "Erhvervshus-Fyn").mkdir()
    (folder / MIDT / "gammelt").mkdir()
    copy = folder / MIDT / "resultatopfyldelse_kkr-midtjylland-2026_2026_v2 (kopi).csv"
    copy.write_bytes((folder / MIDT / file_name(MIDT)).read_bytes())
    (folder / MIDT / "resultatopfyldelse_kkr-midtjylland-2026_2026_v0.csv").write_text("x")
    # passed over without a word: another year's file and the municipal key (to KL)
    write_hub(folder, MIDT, 1, year=2025)
    (folder / MIDT / "kommunefordeling_kkr-midtjylland-2026_2026_v1.csv").write_text("x")
    strays = {s.path: s.reason for s in read_submissions(folder, FRAMEWORK, YEAR).strays}
    assert set(strays) == {
        "noter.txt",
        "Erhvervshus-Fyn/",
        f"{MIDT}/gammelt/",
        f"{MIDT}/{copy.name}",
        f"{MIDT}/resultatopfyldelse_kkr-midtjylland-2026_2026_v0.csv",
    }
    assert strays["Erhvervshus-Fyn/"].startswith("ukendt mappe; husenes mapper er")
    assert (
        "følger ikke mønstret resultatopfyldelse_<kontrakt>_<år>_v<N>.csv"
        in (strays[f"{MIDT}/{copy.name}"])
    )


def test_any_hub_s_conforming_file_is_read_not_only_this_pipeline_s(folder):
    """A file written by another program: every text quoted, a ';' and a quote inside a
    remark, targets with decimals, no Usikker, and the Mål-IDs of the hub's own contract."""
    header = (
        "Kontrakt;Organisation;År;Opgørelse;Mål-ID;Målepunkt;Enhed;Resultat;Målværdi;Operator;"
        "Status;Usikker;Grundlag;Nedre 95 %;Øvre 95 %;Diskretioneret;Bemærkning;Godkendt af;"
        "Godkendt dato"
    )
    lines = [
        header,
        '"kkr-fyn-2026";"Erhvervshus Fyn";2026;"Endelig";"N3";"NPS ""samlet""";"NPS";'
        '71,25;70,5;">=";"Opfyldt";;130;;;"Nej";"Målt; vægtet";"Bo Ek";2027-02-01',
        '"kkr-fyn-2026";"Erhvervshus Fyn";2026;"Endelig";"M1";"Kendskab";"pct.";49;50;">=";'
        '"Ikke opfyldt";;300;;;"Nej";;"Bo Ek";2027-02-01',
    ]
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")
    write_hub(folder, FYN, 1, data=data)
    hub = FRAMEWORK.hub(FYN)
    framework = FRAMEWORK.model_copy(
        update={
            "hubs": [
                h if h.slug != FYN else hub.model_copy(update={"ids": {"M3": "N3"}})
                for h in FRAMEWORK.hubs
            ]
        }
    )
    found = csv_bytes(overview(read_submissions(folder, framework, YEAR))).decode("utf-8-sig")
    by = {
        (r["Mål-ID"], r["Erhvervshus"]): r
        for r in csv.DictReader(io.StringIO(found, newline=""), delimiter=";")
    }
    m3 = by[("M3", "Erhvervshus Fyn")]
    assert (m3["Resultat"], m3["Målværdi"], m3["Usikker"]) == ("71,25", "70,5", "")
    assert m3["Bemærkning"] == "Mål-ID i husets kontrakt: N3; Målt; vægtet"
    assert by[("M1", "Erhvervshus Fyn")]["Resultat"] == "49"
    assert by[("M4", "Erhvervshus Fyn")]["Bemærkning"] == "Mål-ID M4 findes ikke i indberetningen"
