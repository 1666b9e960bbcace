"""The framework agreement as data (contracts/national/rammeaftale-2024-2027.yaml): what it
holds, that it agrees with the one real hub contract, and located errors for a broken file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from resultatrapport.contracts import load_contract
from resultatrapport.national.framework import (
    FrameworkError,
    frameworks_dir,
    load_framework,
    load_frameworks,
)
from resultatrapport.settings import PROJECT_ROOT

FILE = PROJECT_ROOT / "contracts" / "national" / "rammeaftale-2024-2027.yaml"
# shared/formats/national.md: the hub folders, and the national measures
SLUGS = [
    "erhvervshus-hovedstaden",
    "erhvervshus-midtjylland",
    "erhvervshus-sjaelland",
    "erhvervshus-sydjylland",
    "erhvervshus-nordjylland",
    "erhvervshus-fyn",
]
MEASURES = ["M1", "M1b", "M2", "M3", "M4", "M5-O", "M5-B", "M5-P", "M6"]


def test_the_framework_names_national_md_s_hubs_and_measures():
    (framework,) = load_frameworks()
    assert frameworks_dir() == FILE.parent
    assert framework.years == [2024, 2025, 2026, 2027]
    assert [h.slug for h in framework.hubs] == SLUGS
    assert [m.id for m in framework.measures] == MEASURES
    assert {m.id: m.pooling for m in framework.measures} == {
        "M1": "weighted", "M1b": "weighted", "M2": "sum", "M3": "weighted",
        "M4": "weighted", "M5-O": "none", "M5-B": "none", "M5-P": "none", "M6": "weighted",
    }  # fmt: skip
    m2 = framework.measure("M2")
    assert m2.collective is not None
    assert [m2.collective.baseline[s] for s in SLUGS] == [385, 275, 171, 156, 119, 94]
    assert m2.collective.total == 1200
    assert [m2.path(y) for y in framework.years] == [1200, 1600, 2000, 2400]
    assert [(t.operator, t.value) if t else None for t in m2.targets.values()] == [
        None, None, None, (">=", 2400),
    ]  # fmt: skip


# each hub's contract: KKR Midtjylland's real one and the five generated examples
# (contracts/examples/), by hub folder
HUB_CONTRACTS = {
    "erhvervshus-hovedstaden": "examples/eksempel-hovedstaden-2026.yaml",
    "erhvervshus-midtjylland": "kkr-midtjylland-2026.yaml",
    "erhvervshus-sjaelland": "examples/eksempel-sjaelland-2026.yaml",
    "erhvervshus-sydjylland": "examples/eksempel-sydjylland-2026.yaml",
    "erhvervshus-nordjylland": "examples/eksempel-nordjylland-2026.yaml",
    "erhvervshus-fyn": "examples/eksempel-fyn-2026.yaml",
}


@pytest.mark.parametrize("slug", SLUGS)
def test_each_hub_s_contract_uses_the_framework_s_ids_units_and_targets(slug):
    """Every national measure is a KPI of the hub's contract under the id the framework maps
    it to, of the same unit, and its targets are the framework's for the contract's years
    (Mål 2 aside, whose target is the hub's share of the collective one: 2 × its 2024 figure,
    from a linear path). KKR Midtjylland's contract is the real one; the others are the
    generated examples, each marked as one."""
    (framework,) = load_frameworks()
    contract = load_contract(PROJECT_ROOT / "contracts" / HUB_CONTRACTS[slug])
    assert (contract.example is None) == (slug == "erhvervshus-midtjylland")
    hub = framework.hub(contract.organisation.slug)
    assert hub.slug == slug and hub.name == contract.organisation.name
    for measure in framework.measures:
        kpi = contract.kpi(hub.id_of(measure.id))
        assert kpi.unit == measure.unit, measure.id
        if measure.collective is None:
            assert kpi.targets == {y: measure.target(y) for y in contract.years}, measure.id
    m2 = framework.measure("M2")
    assert m2.collective is not None
    share = m2.collective.baseline[hub.slug]
    kpi = contract.kpi(hub.id_of("M2"))
    assert kpi.targets[2027].value == m2.collective.multiplier * share  # type: ignore[union-attr]
    assert kpi.baseline is not None and kpi.baseline.value == share


def test_the_six_hubs_contracts_cover_every_municipality_once_in_their_regions():
    """The hubs' budgets split over their own municipalities: together the 98, each once;
    Sydjylland and Fyn share Region Syddanmark, every other hub has its region whole."""
    from resultatrapport.municipalities import municipalities

    region = {m.code: m.region for m in municipalities()}
    seen: list[int] = []
    for slug, file in HUB_CONTRACTS.items():
        budget = load_contract(PROJECT_ROOT / "contracts" / file).budget
        codes = budget.municipalities  # type: ignore[union-attr]
        seen += codes
        regions = {region[c] for c in codes}
        expected = {
            "erhvervshus-sydjylland": "Region Syddanmark",
            "erhvervshus-fyn": "Region Syddanmark",
        }.get(slug, "Region " + slug.removeprefix("erhvervshus-").capitalize())
        assert regions == {expected.replace("Sjaelland", "Sjælland")}, slug
    assert sorted(seen) == sorted(region)


def broken(tmp_path: Path, change) -> str:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "national" / "rammeaftale-2024-2027.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FrameworkError) as refused:
        load_framework(path)
    return str(refused.value)


def _measure(data, measure_id):  # type: ignore[no-untyped-def]
    return next(m for m in data["measures"] if m["id"] == measure_id)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda d: _measure(d, "M3").update(pooling="sum"),
            "measures[3].pooling: a measure in NPS is pooled by 'weighted'",
        ),
        (
            lambda d: _measure(d, "M2")["targets"].update(
                {2027: {"operator": ">=", "value": 2500}}
            ),
            "measures[2].targets.2027: 2500 is not 2 × 1200",
        ),
        (
            lambda d: _measure(d, "M2")["collective"]["baseline"].pop("erhvervshus-fyn"),
            "measures[2].collective.baseline: must give a figure for every hub",
        ),
        (
            lambda d: _measure(d, "M4")["targets"].pop(2025),
            "measures[4].targets: must name every framework year (2024-2027)",
        ),
        (
            lambda d: d["hubs"][0].update(ids={"M9": "X9"}),
            "hubs[0].ids.M9: is no national measure",
        ),
        (lambda d: _measure(d, "M1").update(unit="procent"), "measures[0].unit: Input should be"),
    ],
)
def test_a_broken_framework_file_is_refused_naming_file_and_field(tmp_path, change, said):
    message = broken(tmp_path, change)
    assert "rammeaftale-2024-2027.yaml: " in message and said in message, message
