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


def test_kkr_midtjylland_s_contract_uses_the_framework_s_ids_units_and_targets():
    """The one real hub contract: every national measure is a KPI of the same id and unit,
    and its targets are the framework's for the contract's years (Mål 2 aside, whose target
    is the hub's share of the collective one: 2 × 275)."""
    (framework,) = load_frameworks()
    contract = load_contract(PROJECT_ROOT / "contracts" / "kkr-midtjylland-2026.yaml")
    midt = framework.hub(contract.organisation.slug)
    assert midt.name == contract.organisation.name
    for measure in framework.measures:
        kpi = contract.kpi(midt.id_of(measure.id))
        assert kpi.unit == measure.unit, measure.id
        if measure.collective is None:
            assert kpi.targets == {y: measure.target(y) for y in contract.years}, measure.id
    m2 = framework.measure("M2")
    assert m2.collective is not None
    share = m2.collective.baseline[midt.slug]
    assert contract.kpi("M2").targets[2027].value == m2.collective.multiplier * share  # type: ignore[union-attr]


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
