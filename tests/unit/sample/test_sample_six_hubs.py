"""`sample-data --hubs`: the inbox of all six erhvervshuse, one organisation folder per hub
(KKR Midtjylland's contract and the five generated examples), each hub's cases in its own
municipalities and as many as its share of the framework's distribution, one register for the
whole country, and the same bytes for the same seed."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest

from commands.cli import main
from resultatrapport.contracts import load_contract_folder
from resultatrapport.formats import FORMATS
from resultatrapport.municipalities import municipalities
from resultatrapport.sample.generate import generate_inbox

YEARS = [2025, 2026]
HUBS = {
    "erhvervshus-hovedstaden": ("eksempel-hovedstaden-2026", "EHH", 385),
    "erhvervshus-midtjylland": ("kkr-midtjylland-2026", "EHMJ", 275),
    "erhvervshus-sjaelland": ("eksempel-sjaelland-2026", "EHSJ", 171),
    "erhvervshus-sydjylland": ("eksempel-sydjylland-2026", "EHSY", 156),
    "erhvervshus-nordjylland": ("eksempel-nordjylland-2026", "EHNJ", 119),
    "erhvervshus-fyn": ("eksempel-fyn-2026", "EHF", 94),
}


@pytest.fixture(scope="module")
def hubs_inbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("hubs")
    return root, generate_inbox(root, YEARS, scale=0.1, seed=5, hubs=True)


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))


def test_a_folder_per_hub_with_its_deliveries_and_its_contract_s_texts(hubs_inbox):
    root, manifest = hubs_inbox
    assert {p.name for p in root.iterdir() if p.is_dir()} == {
        *HUBS, "register", "erst", "viborgegnens-erhvervsraad",
    }  # fmt: skip
    assert {s: h["contract"] for s, h in manifest["hubs"].items()} == {
        s: c for s, (c, _, _) in HUBS.items()
    }
    for slug, (contract, _, _) in HUBS.items():
        for year in YEARS:
            assert FORMATS["crm_cases"].relpath(year, slug) in manifest["files"]
            assert FORMATS["survey_answers"].relpath(year, slug) in manifest["files"]
        assert f"{slug}/tekster/{contract}_2026.md" in manifest["texts"]
    foreword = (root / "erhvervshus-fyn" / "tekster" / "eksempel-fyn-2026_2026.md").read_text(
        "utf-8-sig"
    )
    assert "Kontrakten er et genereret eksempel" in foreword
    assert "synthetic_population" in manifest["synthetic"]


def test_each_hub_s_cases_lie_in_its_municipalities_in_proportion_to_its_share(hubs_inbox):
    root, manifest = hubs_inbox
    contracts = load_contract_folder(examples=True).contracts
    counts = {}
    for slug, (contract, prefix, _) in HUBS.items():
        own = {str(c) for c in contracts[contract].budget.municipalities}  # type: ignore[union-attr]
        cases = rows(root / FORMATS["crm_cases"].relpath(2026, slug))
        places = Counter(r["Kommunenr"] for r in cases)
        assert set(places) - own <= {"999"}, slug  # the planted unknown municipality only
        assert places["999"] <= len(cases) * 0.01 + 1
        assert all(r["Forløbs-ID"].startswith(f"{prefix}-2026-") for r in cases)
        referred = {t for r in cases for t in r["Henvisninger"].split("|") if t}
        hubs_named = {t for t in referred if t.startswith("Erhvervshus ")}
        assert hubs_named == {contracts[contract].organisation.name}, slug  # its own name
        counts[slug] = len(cases)
        assert manifest["hubs"][slug]["cases"]["2026"] == len(cases)
    # the cases follow the framework's 2024 distribution (Midtjylland as without --hubs)
    for slug, (_, _, share) in HUBS.items():
        expected = counts["erhvervshus-midtjylland"] * share / 275
        assert abs(counts[slug] - expected) < 0.1 * expected + 5, (slug, counts)


def test_no_hub_s_delivery_has_more_bad_rows_than_a_delivery_may_lose(hubs_inbox):
    """The planted bad rows stay under ValidationSettings' 5 % in every hub's files, also
    the smallest hub's evaluation at a tiny scale (else the pipeline refuses it whole)."""
    _, manifest = hubs_inbox
    bad = Counter(b["file"] for b in manifest["bad_rows"])
    for slug in HUBS:
        for source in ("crm_cases", "survey_answers"):
            for year in YEARS:
                relpath = FORMATS[source].relpath(year, slug)
                assert bad[relpath] <= 0.05 * manifest["files"][relpath]["rows"], relpath


def test_one_register_for_the_country_and_the_population_of_every_municipality(hubs_inbox):
    root, _ = hubs_inbox
    codes = {str(m.code) for m in municipalities()}
    firms = rows(root / "register" / "cvr_virksomheder.csv")
    places = Counter(r["Kommunenr"] for r in firms)
    assert set(places) - codes <= {"999"}
    assert len(set(places) & codes) > 90  # firms all over the country
    population = rows(root / "register" / "folketal.csv")
    assert {r["OMRÅDE"] for r in population} == {m.name for m in municipalities()}
    k1 = {r["OMRÅDE"]: int(r["INDHOLD"]) for r in population if r["TID"] == "2023K1"}
    assert k1["Aarhus"] == 361544  # Midtjylland's real figures stand (shared/reference)
    assert k1["København"] > k1["Aalborg"] > k1["Ærø"]


def test_the_same_seed_gives_the_same_bytes_and_the_command_writes_it(hubs_inbox, tmp_path, capsys):
    _, first = hubs_inbox
    assert main(["sample-data", "--hubs", "--out", str(tmp_path), "--years", "2025-2026",
                 "--scale", "0.1", "--seed", "5", "--quiet"]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert "erhvervshus-fyn/: Erhvervshus Fyn, kontrakt eksempel-fyn-2026" in said
    again = {p: f["sha256"] for p, f in first["files"].items()}
    import json

    manifest = json.loads((tmp_path / "manifest.json").read_text("utf-8"))
    assert {p: f["sha256"] for p, f in manifest["files"].items()} == again
