"""The two contract files load, state what the contracts state, and broken files fail with
an error that names the file and the field."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from resultatrapport.contracts import (
    KPI_MODELS,
    Contract,
    ContractError,
    IndexedSumBudget,
    PopulationKeyBudget,
    contract_path,
    contracts_dir,
    load_contract,
    load_contract_folder,
    load_contracts,
)
from resultatrapport.contracts import _shown as _repo_shown
from resultatrapport.kpis.kinds import KINDS

KKR = "kkr-midtjylland-2026"
VER = "viborg-ver-2020"


# --- the two contracts ------------------------------------------------------------------


def test_both_contracts_load(contracts: dict[str, Contract]) -> None:
    assert set(contracts) == {KKR, VER}
    assert contracts[KKR].period.years == [2026, 2027]
    assert contracts[VER].period.years == [2020, 2021, 2022, 2023]


def test_organisations_and_deliveries(kkr: Contract, ver: Contract) -> None:
    assert (kkr.organisation.slug, kkr.organisation.hub) == (
        "erhvervshus-midtjylland",
        "Midtjylland",
    )
    assert kkr.deliveries == ["crm", "survey"]
    assert (ver.organisation.slug, ver.organisation.hub) == ("viborgegnens-erhvervsraad", None)
    assert ver.deliveries == ["crm", "time"]


def test_kpi_ids_unique_safe_and_every_year_present(contracts: dict[str, Contract]) -> None:
    for contract in contracts.values():
        ids = [k.id for k in contract.kpis]
        assert len(ids) == len(set(ids)), contract.id
        assert len({k.asset_name for k in contract.kpis}) == len(ids), contract.id
        for kpi in contract.kpis:
            assert re.fullmatch(r"[a-z0-9_]+", kpi.asset_name), kpi.id
            assert set(kpi.targets) == set(contract.period.years), kpi.id


def test_kpi_ids_per_contract(kkr: Contract, ver: Contract) -> None:
    assert [k.id for k in kkr.kpis] == [
        "M1", "M1b", "M2", "M3", "M3-V", "M3-D", "M4", "M5-O", "M5-B", "M5-P", "M6",
        "R1", "R2", "R3", "F2", "F1",
    ]  # fmt: skip
    assert [k.id for k in ver.kpis] == ["V1", "V2", "V3", "V4"]


def test_budgets_exactly_as_the_contracts_state_them(kkr: Contract, ver: Contract) -> None:
    assert isinstance(kkr.budget, PopulationKeyBudget)
    assert kkr.budget.totals == {2026: 44_815_000, 2027: None}  # no 2027 amount is invented
    assert kkr.budget.population_quarter[2026] == "2025K1"
    assert kkr.budget.band_pct == 10
    assert sorted(kkr.budget.municipalities) == [
        615, 657, 661, 665, 671, 706, 707, 710, 727, 730, 740, 741, 746, 751, 756, 760, 766, 779, 791,
    ]  # fmt: skip
    assert isinstance(ver.budget, IndexedSumBudget)
    assert (ver.budget.base_amount, ver.budget.base_year) == (2_762_000, 2020)
    earmarks = {y: [(e.name, e.amount) for e in es] for y, es in ver.budget.earmarks.items()}
    assert earmarks == {2020: [("Start Up Viborg", 375_000)], 2021: [("Start Up Viborg", 375_000)]}


def test_municipalities_are_region_midtjylland(kkr: Contract) -> None:
    reference = Path(__file__).resolve().parents[2] / "resultatrapport/reference/kommuner.csv"
    rows = [line.split(";") for line in reference.read_text(encoding="utf-8-sig").splitlines()[1:]]
    midt = {int(r[0]) for r in rows if r[3].strip() == "Region Midtjylland"}
    assert isinstance(kkr.budget, PopulationKeyBudget)
    assert set(kkr.budget.municipalities) == midt


def test_mal2_baseline_target_and_path(kkr: Contract) -> None:
    m2 = kkr.kpi("M2")
    assert m2.kind == "young_firms"
    assert m2.baseline is not None and (m2.baseline.year, m2.baseline.value) == (2024, 275)
    target = m2.targets[2027]
    assert target is not None and (target.operator, target.value) == (">=", 550)
    assert m2.targets[2026] is None  # no target in 2026: a path, labelled as such
    assert m2.path == "linear"


def test_the_decided_readings(kkr: Contract, ver: Contract) -> None:
    def target(contract: Contract, kpi_id: str, year: int) -> tuple[str, float] | None:
        t = contract.kpi(kpi_id).targets[year]
        return None if t is None else (t.operator, t.value)

    # Mål 1: 55 % holds as a floor in 2026, 65 % in 2027
    assert target(kkr, "M1b", 2026) == (">=", 55) and target(kkr, "M1b", 2027) == (">=", 65)
    # Mål 3: the NPS over both segments carries the target; per segment for information
    assert target(kkr, "M3", 2026) == (">=", 70)
    assert target(kkr, "M3-V", 2026) is None and target(kkr, "M3-D", 2027) is None
    # Mål 5: turnover +10 pp, employment +5 pp, productivity above the controls
    assert [target(kkr, k, 2026) for k in ("M5-O", "M5-B", "M5-P")] == [
        (">=", 10),
        (">=", 5),
        (">", 0),
    ]
    # regional goals: 5,000 firms and 600 vækstforløb in 2026 only; every municipality within
    # ±10 % of its måltal every year: no municipality outside the band
    assert target(kkr, "R1", 2026) == (">=", 5000) and target(kkr, "R1", 2027) is None
    assert target(kkr, "R2", 2026) == (">=", 600) and target(kkr, "R2", 2027) is None
    assert target(kkr, "R3", 2027) == ("<=", 0)
    # Viborg: a is a count without target, b one årsværk a year, c not measurable
    assert ver.kpi("V1").kind == "count" and all(t is None for t in ver.kpi("V1").targets.values())
    assert all(
        t is not None and (t.operator, t.value) == (">=", 1) for t in ver.kpi("V2").targets.values()
    )
    v3 = ver.kpi("V3")
    assert v3.kind == "external" and "bilag 2" in v3.params.reason  # type: ignore[union-attr]


def test_settings_are_inherited_by_the_kinds_that_use_them(kkr: Contract, ver: Contract) -> None:
    v2 = ver.kpi("V2")
    assert ver.settings.hours_per_fte == 1628
    assert v2.params.hours_per_fte == 1628  # type: ignore[union-attr]
    assert kkr.kpi("R3").params.band_pct == 10  # type: ignore[union-attr]
    assert kkr.settings.suppression_threshold == 3 and ver.settings.suppression_threshold == 3


def test_every_decision_is_written_down(contracts: dict[str, Contract]) -> None:
    for contract in contracts.values():
        assert contract.budget.interpretation
        for kpi in contract.kpis:
            assert kpi.interpretation, f"{contract.id} {kpi.id}"
            assert kpi.contract_text and kpi.name and kpi.goal, f"{contract.id} {kpi.id}"


def test_no_ocr_garble_in_danish_text(contracts: dict[str, Contract]) -> None:
    garbled = re.compile(r"\b(mal|malepunkt\w*|pa|ar|gge|fglg\w*|szer\w*|vaekst\w*|Ivaerk\w*)\b")
    for contract in contracts.values():
        for kpi in contract.kpis:
            for text in (kpi.name, kpi.goal, kpi.contract_text, kpi.interpretation):
                assert not garbled.search(text), f"{kpi.id}: {garbled.search(text)}"


def test_every_kind_has_its_kpi_model() -> None:
    # (the category lists against the formats: tests/unit/test_vocabulary.py; here they
    # were the same tuple on both sides, so the comparison could not fail)
    tags = {get_args(m.model_fields["kind"].annotation)[0] for m in KPI_MODELS.values()}
    assert tags == set(KINDS)
    assert {name for name, kind in KINDS.items() if kind.unit} == tags - {"external"}


# --- loading ----------------------------------------------------------------------------


def test_contracts_dir_default_and_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RESULTATRAPPORT_CONTRACTS", raising=False)
    assert contracts_dir() == Path(__file__).resolve().parents[2] / "contracts"
    (tmp_path / f"{VER}.yaml").write_text(
        (contracts_dir() / f"{VER}.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    monkeypatch.setenv("RESULTATRAPPORT_CONTRACTS", str(tmp_path))
    assert contracts_dir() == tmp_path.resolve()
    assert list(load_contracts()) == [VER]


def test_a_file_of_the_repository_is_named_contracts_slash_file() -> None:
    assert _repo_shown(contracts_dir() / f"{KKR}.yaml") == f"contracts/{KKR}.yaml"


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="no contract files"):
        load_contracts(tmp_path)


EXAMPLES = [
    "eksempel-fyn-2026",
    "eksempel-hovedstaden-2026",
    "eksempel-nordjylland-2026",
    "eksempel-sjaelland-2026",
    "eksempel-sydjylland-2026",
]


def test_the_generated_examples_load_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """contracts/examples/ (the five hubs beside KKR Midtjylland) is read only with
    RESULTATRAPPORT_EXAMPLE_CONTRACTS=1 (or examples=True): never in production by default."""
    monkeypatch.delenv("RESULTATRAPPORT_EXAMPLE_CONTRACTS", raising=False)
    assert sorted(load_contracts()) == [KKR, VER]
    monkeypatch.setenv("RESULTATRAPPORT_EXAMPLE_CONTRACTS", "1")
    loaded = load_contracts()
    assert sorted(loaded) == sorted([*EXAMPLES, KKR, VER])
    assert sorted(load_contracts(examples=False)) == [KKR, VER]
    for name in EXAMPLES:
        assert loaded[name].example is not None
        assert loaded[name].example.startswith("Genereret eksempel – ikke en rigtig kontrakt")
        assert contract_path(loaded[name]) == contracts_dir() / "examples" / f"{name}.yaml"
    assert loaded[KKR].example is None and loaded[VER].example is None
    monkeypatch.setenv("RESULTATRAPPORT_EXAMPLE_CONTRACTS", "ja")
    with pytest.raises(ValueError, match="must be 1 or 0"):
        load_contracts()


def _example(tmp_path: Path, mutate: Callable[[dict[str, Any]], Any], name: str) -> Path:
    """A copy of the contracts folder's KKR file and a generated example, changed."""
    (tmp_path / "examples").mkdir(exist_ok=True)
    (tmp_path / f"{KKR}.yaml").write_bytes((contracts_dir() / f"{KKR}.yaml").read_bytes())
    source = contracts_dir() / "examples" / "eksempel-fyn-2026.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "examples" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "name", "said"),
    [
        (lambda d: d.pop("example"), "eksempel-fyn-2026",
         "example: a contract whose id begins with 'eksempel-' is an example: say so"),
        (lambda d: d.update(id="fyn-2026"), "fyn-2026",
         "id: an example contract's id begins with 'eksempel-'"),
        (lambda d: d.update(example="Et eksempel, ikke en kontrakt"), "eksempel-fyn-2026",
         "example: String should match pattern"),
        (lambda d: (d.pop("example"), d.update(id="fyn-2026")), "fyn-2026",
         "a contract in examples/ must say it is a generated example"),
        (lambda d: None, "eksempel-fyn-2026",
         "id: 'eksempel-fyn-2026' is the id of another contract file"),
    ],
)  # fmt: skip
def test_an_example_says_it_is_one_in_its_file_and_id(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], Any], name: str, said: str
) -> None:
    _example(tmp_path, mutate, name)
    if said.endswith("another contract file"):  # the same example in the folder itself too
        (tmp_path / f"{name}.yaml").write_bytes(
            (tmp_path / "examples" / f"{name}.yaml").read_bytes()
        )
    folder = load_contract_folder(tmp_path, examples=True)
    assert said in str(folder.errors[name]), folder.errors[name]
    assert str(folder.errors[name]).startswith(f"examples/{name}.yaml: ")  # from tmp_path
    assert KKR in load_contract_folder(tmp_path, examples=False).contracts


# --- broken files -------------------------------------------------------------------------


def _broken(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], Any], contract: str = KKR, name: str = ""
) -> Path:
    data = yaml.safe_load((contracts_dir() / f"{contract}.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    mutate(data)
    path = tmp_path / f"{name or contract}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _shown(path: Path) -> str:
    """How an error names a file outside the repository: relative to the working directory."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


def _error(path: Path) -> str:
    with pytest.raises(ContractError) as err:
        load_contract(path)
    message = str(err.value)
    assert all(line.startswith(f"{_shown(path)}: ") for line in message.splitlines())
    return message


def _kpi(data: dict[str, Any], kpi_id: str) -> dict[str, Any]:
    return next(k for k in data["kpis"] if k["id"] == kpi_id)


def test_bad_operator_names_file_and_field(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d["kpis"][3]["targets"][2026].update(operator="=>"))
    message = _error(path)
    assert (
        f"{_shown(path)}: kpis[3].targets.2026.operator: Input should be '>=', '>', '<=' or '±'"
        in message
    )
    assert "(KPI M3)" in message


def test_unknown_param_names_file_and_field(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d["kpis"][0]["params"].update(postive={"knows_hub": [True]}))
    assert f"{_shown(path)}: kpis[0].params.postive: Extra inputs are not permitted" in _error(path)


def test_unknown_filter_column_and_value(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: _kpi(d, "M3")["params"]["filters"].update(segmnet=["Vækst"]))
    assert "kpis[3].params.filters.segmnet: Extra inputs are not permitted" in _error(path)
    path = _broken(
        tmp_path, lambda d: _kpi(d, "R2")["params"]["filters"].update(case_type=["Vækstforlob"])
    )
    assert "kpis[12].params.filters.case_type[0]: Input should be 'Afklaring'" in _error(path)


def test_missing_year_names_file_and_field(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: _kpi(d, "R1")["targets"].pop(2027))
    message = _error(path)
    assert f"{_shown(path)}: kpis[11].targets: must name every contract year (2026-2027)" in message
    assert "(KPI R1)" in message


def test_extra_year_is_an_error(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: _kpi(d, "V2")["targets"].update({2024: None}), contract=VER)
    assert "kpis[1].targets: must name every contract year (2020-2023)" in _error(path)


def test_duplicate_id_names_file_and_field(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d["kpis"][1].update(id="M1"))
    assert f"{_shown(path)}: kpis[1].id: KPI id 'M1' is used twice (kpis[0])" in _error(path)


def test_ids_that_collide_in_an_asset_key(tmp_path: Path) -> None:
    path = _broken(
        tmp_path, lambda d: (d["kpis"][0].update(id="M1b"), d["kpis"][1].update(id="M1B"))
    )
    assert "kpis[1].id: KPI id 'M1B' gives the same asset key as 'M1b' (kpis[0])" in _error(path)


def test_unknown_kind(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d["kpis"][2].update(kind="magic"))
    assert f"{_shown(path)}: kpis[2].kind: Input tag 'magic'" in _error(path)


def test_missing_field(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d["kpis"][2].pop("contract_text"))
    assert f"{_shown(path)}: kpis[2].contract_text: Field required" in _error(path)


def test_kind_needs_its_sources_and_unit(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: _kpi(d, "M2").update(sources=["crm_cases"], unit="pct."))
    message = _error(path)
    assert "kpis[2].sources: kind young_firms reads cvr_firms too (KPI M2)" in message
    assert "kpis[2].unit: kind young_firms is measured in 'antal', not 'pct.'" in message


def test_a_source_the_organisation_does_not_deliver(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d.update(deliveries=["crm"]))
    assert "kpis[3].sources: survey_answers is not delivered by Erhvervshus Midtjylland" in _error(
        path
    )


def test_share_target_out_of_range_and_band_outside_spread(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        _kpi(d, "M4")["targets"][2026]["value"] = 150
        _kpi(d, "R1")["targets"][2026]["operator"] = "±"

    message = _error(_broken(tmp_path, mutate))
    assert "kpis[6].targets.2026.value: 150 is outside 0 to 100" in message
    assert "kpis[11].targets.2026.operator: ± is no target" in message


def test_spread_counts_the_municipalities_outside_its_band(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: _kpi(d, "R3")["targets"][2026].update(operator=">="))
    assert "kpis[13].targets.2026.operator: kind spread counts the municipalities" in _error(path)


def test_path_needs_a_baseline(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: _kpi(d, "M2").pop("baseline"))
    assert "kpis[2].path: a path starts from a baseline" in _error(path)


def test_budget_years_and_quarter(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["budget"]["totals"].pop(2027)
        d["budget"]["population_quarter"][2026] = "2026K1"

    message = _error(_broken(tmp_path, mutate))
    assert "budget.totals: must name every contract year (2026-2027)" in message
    assert "budget.population_quarter.2026: 2026K1 is not known before the budget year" in message
    path = _broken(tmp_path, lambda d: d["budget"]["population_quarter"].update({2026: "2025Q1"}))
    assert "budget.population_quarter.2026: String should match pattern" in _error(path)


def test_earmark_outside_the_period(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        lambda d: d["budget"]["earmarks"].update({2024: [{"name": "x", "amount": 1}]}),
        contract=VER,
    )
    assert "budget.earmarks.2024: 2024 is not a contract year" in _error(path)


def test_weighted_share_needs_the_hub(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d["organisation"].pop("hub"))
    assert "organisation.hub: kpis[0] reads the awareness survey: name the hub (KPI M1)" in _error(
        path
    )


def test_file_name_must_be_the_id(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: None, name="other")
    assert "other.yaml: id: 'kkr-midtjylland-2026' must equal the file name 'other'" in _error(path)


def test_a_key_given_twice_is_an_error(tmp_path: Path) -> None:
    text = (contracts_dir() / f"{VER}.yaml").read_text(encoding="utf-8")
    path = tmp_path / f"{VER}.yaml"
    path.write_text(
        text.replace("  dominance_pct: 85\n", "  dominance_pct: 85\n  dominance_pct: 90\n")
    )
    assert re.search(
        r"not valid YAML: line \d+, column \d+: .*'dominance_pct' is given twice", _error(path)
    )


def test_all_errors_at_once(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["kpis"][0]["targets"][2026]["operator"] = "=="
        d["kpis"][5]["unit"] = "procent"

    lines = _error(_broken(tmp_path, mutate)).splitlines()
    assert len(lines) == 2  # every problem at once, each line naming the file


def test_every_kpi_and_written_status_answers_a_numbered_point_of_its_contract() -> None:
    """Each contract's points cover all its KPIs and narratives, so a reader of the report's
    point table sees every point answered or the reason it is not."""
    for contract in load_contracts().values():
        named_kpis = {k for p in contract.contract_points for k in p.kpis}
        named_texts = {n for p in contract.contract_points for n in p.narratives}
        assert contract.contract_points, contract.id
        assert named_kpis == {k.id for k in contract.kpis}, contract.id
        # the statuses the contract asks for are each answer to a point (the foreword and
        # the optional comment per KPI answer none of their own)
        assert {n.id for n in contract.narratives if n.required} <= named_texts, contract.id
        assert named_texts <= {n.id for n in contract.narratives}, contract.id


def test_a_contract_point_is_answered_or_says_why_not(tmp_path: Path) -> None:
    def unanswered(d: dict[str, Any]) -> None:
        d["contract_points"][0] = {"point": "1", "title": "Indledning"}

    message = _error(_broken(tmp_path, unanswered))
    assert "contract_points[0]: a point is answered" in message and "not_reported" in message
    message = _error(_broken(tmp_path, lambda d: d["contract_points"][4]["kpis"].append("Z9")))
    assert "'Z9' is not a KPI of the contract" in message


def test_sources_and_their_names_are_the_formats_own():
    """A source is declared once, by its format: the contract schema allows exactly the
    formats' sources and deliveries, and the report, the UI and the KPI remarks name a
    source by its format's title (the report once said "CRM: vejledningsforløb" and
    "Prisindeks (KL)" where the catalog said "Vejledningsforløb (CRM)" and "Pris- og
    lønindeks for serviceudgifter")."""
    from typing import get_args

    from resultatrapport import contracts
    from resultatrapport.formats import FORMATS
    from resultatrapport.report import names
    from resultatrapport.report.names import source_title

    schema = contracts.Contract.model_json_schema()
    text = json.dumps(schema)
    for name, fmt in FORMATS.items():
        assert f'"{name}"' in text, name
        assert source_title(name) == fmt.title
    assert frozenset(FORMATS) == contracts.ALL_SOURCES
    per_org = {f.delivery: n for n, f in FORMATS.items() if f.per_organisation}
    assert per_org == contracts.DELIVERY_SOURCES and set(per_org) == {"crm", "survey", "time"}
    assert not hasattr(names, "SOURCE_NAMES")
    assert get_args(contracts.Delivery) == tuple(per_org)
