"""Every method sentence the report prints comes from the kind that computes the figure,
built from the KPI's own parameters: the contract file carries no method text that could
drift from the code (issue 26, point 4)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from resultatrapport.contracts import ContractError, contracts_dir, load_contract, load_contracts
from resultatrapport.kpis.kinds import KINDS

CONTRACTS = load_contracts()
KPIS = [(c.id, k) for c in CONTRACTS.values() for k in c.kpis]
# what the stale free text said about intervals no kind computes
NOT_COMPUTED = ("normaltilnærm", "linearisering", "designbaseret")


@pytest.mark.parametrize(("contract", "kpi"), KPIS, ids=[f"{c}-{k.id}" for c, k in KPIS])
def test_each_kpi_method_names_its_kinds_interval_and_no_other(contract, kpi):
    kind = KINDS[kpi.kind]
    sentence = kind.method(kpi)
    if kpi.kind == "external":  # never computed: no method to state
        assert sentence == ""
        return
    assert sentence.endswith(".") and sentence[0].isupper(), sentence
    others = {k.interval for k in KINDS.values() if k.interval and k.interval != kind.interval}
    if kind.interval:
        assert f"95 %-interval: {kind.interval}." in sentence
    assert not any(f"95 %-interval: {o}." in sentence for o in others), sentence
    assert not any(word in sentence.lower() for word in NOT_COMPUTED), sentence
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", sentence), sentence  # no internal name


def test_method_sentences_follow_the_parameters():
    kkr = CONTRACTS["kkr-midtjylland-2026"]
    by_id = {k.id: k for k in kkr.kpis}
    m3v = KINDS["nps"].method(by_id["M3-V"])
    assert "»Segment« er Vækst" in m3v and "Drift" not in m3v
    assert "»Segment« er Vækst eller Drift" in KINDS["nps"].method(by_id["M3"])
    m4 = KINDS["share"].method(by_id["M4"])
    assert "»Anvendt henvisning« er Ja" in m4 and "»Henvist« er ja" in m4
    m5 = KINDS["effect"].method(by_id["M5-B"])
    assert "beskæftigelse" in m5 and "vækstsegmentets" in m5
    assert "højst 10 procentpoint" in m5


def test_a_contract_file_cannot_carry_its_own_method_text(tmp_path: Path):
    source = contracts_dir() / "viborg-ver-2020.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["kpis"][0]["method"] = "95 %-interval ved normaltilnærmelse."
    changed = tmp_path / source.name
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContractError, match="method"):
        load_contract(changed)


def test_the_effect_remark_says_what_was_matched_in_danish_numbers():
    from resultatrapport.kpis.kinds.effect import remark

    said = remark(853, 1561, 9.94)
    assert said.startswith("853 af 1.561 vejledte virksomheder")
    assert "(55 %)" in said  # the share of the guided firms the figure rests on
    assert "9,9 procentpoint" in said and " pp" not in said and "1561" not in said
    assert remark(0, 0, None).startswith("0 af 0")
    assert "−" in remark(10, 20, -6.4) and "-6" not in remark(10, 20, -6.4)
