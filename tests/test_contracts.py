from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from resultatrapport.contracts import ContractError, contracts_dir, load_contract, load_contracts


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


def test_both_contracts_load(contracts):
    assert set(contracts) == {"kkr-midtjylland-2026", "viborg-ver-2020"}


def test_budgets_as_the_contracts_state_them(contracts):
    kkr, ver = contracts["kkr-midtjylland-2026"].budget, contracts["viborg-ver-2020"].budget
    assert kkr.totals == {2026: 44_815_000, 2027: None}
    assert len(kkr.municipalities) == 19
    assert ver.base_amount == 2_762_000 and ver.base_year == 2020
    assert {y: [(e.name, e.amount) for e in es] for y, es in ver.earmarks.items()} == {
        2020: [("Start Up Viborg", 375_000)],
        2021: [("Start Up Viborg", 375_000)],
    }


def test_mal2_baseline_path_and_target(contracts):
    m2 = contracts["kkr-midtjylland-2026"].kpi("M2")
    assert (m2.baseline.year, m2.baseline.value) == (2024, 275)
    assert m2.targets[2027].value == 550 and m2.targets[2027].operator == ">="
    assert m2.targets[2026] is None and m2.path == "linear"


def test_every_kpi_has_targets_for_every_year_and_unique_ids(contracts):
    for contract in contracts.values():
        ids = [k.id for k in contract.kpis]
        assert len(ids) == len(set(ids))
        for kpi in contract.kpis:
            assert set(kpi.targets) == set(contract.period.years)


def _broken(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(
        (contracts_dir() / "kkr-midtjylland-2026.yaml").read_text(encoding="utf-8")
    )
    mutate(data)
    path = tmp_path / "kkr-midtjylland-2026.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_bad_operator_names_file_and_field(tmp_path):
    path = _broken(tmp_path, lambda d: d["kpis"][3]["targets"][2026].update(operator="=>"))
    with pytest.raises(ContractError) as err:
        load_contract(path)
    assert "kkr-midtjylland-2026.yaml: kpis[3].targets[2026].operator" in str(err.value)


def test_unknown_param_is_an_error(tmp_path):
    path = _broken(tmp_path, lambda d: d["kpis"][0]["params"].update(postive={"x": [1]}))
    with pytest.raises(ContractError, match=r"kpis\[0\]\.params\.postive: Extra inputs"):
        load_contract(path)


def test_missing_year_is_an_error(tmp_path):
    path = _broken(tmp_path, lambda d: d["kpis"][11]["targets"].pop(2027))
    with pytest.raises(
        ContractError, match=r"kpis\[11\] \(R1\)\.targets: must name every contract year"
    ):
        load_contract(path)


def test_duplicate_id_is_an_error(tmp_path):
    path = _broken(tmp_path, lambda d: d["kpis"][1].update(id="M1"))
    with pytest.raises(ContractError, match="'M1' is used twice"):
        load_contract(path)


def test_unknown_kind_is_an_error(tmp_path):
    path = _broken(tmp_path, lambda d: d["kpis"][2].update(kind="magic"))
    with pytest.raises(ContractError, match=r"kpis\[2\]"):
        load_contract(path)


def test_file_name_must_match_id(tmp_path):
    path = _broken(tmp_path, lambda d: None)
    path = path.rename(tmp_path / "other.yaml")
    with pytest.raises(ContractError, match="must equal the file name 'other'"):
        load_contract(path)
