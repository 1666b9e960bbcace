"""Integration: both contracts' drafts read as Danish prose a board member can be sent.

The drafts of a small generated inbox are read back with pdftotext and searched for what
a reader must never see: internal identifiers (snake_case names, ``settings.``), Python
reprs (``[615, 657, …]``), StatBank's quarter codes where a date belongs, a status that
flatters, and a missing population quarter said any other way than in one sentence.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from resultatrapport.report.publish import draft_name, year_dir
from tests.integration.test_pipeline_report import Env, cli, pdftotext

pytestmark = pytest.mark.slow
KKR = "kkr-midtjylland-2026"
VER = "viborg-ver-2020"
# what a reader must never see in a report
IDENTIFIER = re.compile(
    r"\b[a-z]+(?:_[a-z0-9]+)+\b"  # snake_case
    r"|\bsettings\.|\[\d+(?:, \d+)+"  # a setting's name, a Python list
    r"|\b(?:19|20)\d\dK[1-4]\b"  # a StatBank quarter where a date belongs
)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, sample_inbox) -> Env:
    root = tmp_path_factory.mktemp("prose")
    inbox = root / "inbox"  # a copy: a test takes a quarter out of the population file
    shutil.copytree(sample_inbox(range(2020, 2028), 0.05, 1), inbox)
    return Env(root, inbox)


def draft_text(env: Env, contract: str, year: int) -> str:
    return pdftotext(year_dir(env.out, contract, year) / draft_name(contract, year))


@pytest.mark.parametrize(("contract", "year"), [(KKR, 2026), (VER, 2021)])
def test_no_identifier_shaped_text_in_either_draft(env, monkeypatch, capsys, contract, year):
    code, out = cli(env, monkeypatch, capsys, "run", "--contract", contract, "--year", str(year))
    assert code == 0, out
    text = draft_text(env, contract, year)
    # no file name of the inbox either (vejledningsforloeb_2021.csv): the deliveries are named
    # by their sources, their files are in the internal data-quality appendix (issue 26.6)
    leaks = sorted({m.group() for m in IDENTIFIER.finditer(text)})
    assert not leaks, leaks
    assert "Usikker " not in text  # a status that reads neutral where a target is missed
    assert not re.search(r"\d antal\b", text)  # counts carry no unit word ("468 antal")


def test_the_budget_says_what_it_is(env, monkeypatch, capsys):
    text = draft_text(env, KKR, 2026)  # drawn by the test above
    flat = " ".join(text.split())
    # the file carries no KL key: the table is computed, not KL's appendix (the contract's
    # point 'Bilag a' is still named in the table of its points)
    assert "Bilag a: Basisbevillingens" not in flat
    assert "kommuner, beregnet efter folketallet 1. januar 2025" in flat
    assert "Den er ikke KL's bilag a" in flat


def test_a_missing_population_quarter_is_one_sentence_at_the_check_the_draft_and_the_sign_off(
    env, monkeypatch, capsys
):
    population = Path(env.inbox) / "register" / "folketal.csv"
    kept = [line for line in population.read_bytes().splitlines(keepends=True)
            if b"2025K1" not in line]  # fmt: skip
    population.write_bytes(b"".join(kept))
    sentence = "folketal.csv mangler 2025K1 for 19 kommuner; fordelingen for 2026 bruger 2025K1"
    code, out = cli(env, monkeypatch, capsys, "run", "--contract", KKR, "--year", "2026")
    assert code == 1  # the budget's ERROR check fails; the draft is still drawn
    assert "check ERROR budget/kkr_midtjylland_2026/distribution:inputs_complete" in out
    assert sentence in out
    text = " ".join(draft_text(env, KKR, 2026).split())
    assert f"Budgettet er endnu ikke beregnet: {sentence}" in text
    code, out = cli(env, monkeypatch, capsys, "sign-off", "--contract", KKR, "--year", "2026",
                    "--by", "Bo Revisorsen", "--role", "direktør", "--preliminary")  # fmt: skip
    assert code == 1
    assert f"Budgettet er ikke beregnet: {sentence}." in out


# the running header, the footer and the letters of the rotated UDKAST watermark
FURNITURE = re.compile(r"^(?:[UDKAST\s]+|.*Årsrapport \d{4}|UDKAST – ikke godkendt.*)$")


def pages(env: Env, contract: str, year: int) -> list[list[str]]:
    """Each page's lines of content (pdftotext per page, page furniture left out)."""
    text = draft_text(env, contract, year)
    shown = [[ln.strip() for ln in page.splitlines() if ln.strip()] for page in text.split("\f")]
    return [[ln for ln in lines if not FURNITURE.match(ln)] for lines in shown if lines]


@pytest.mark.parametrize(("contract", "year"), [(KKR, 2026), (VER, 2021)])
def test_layout_no_heading_alone_and_prose_numbers_in_danish(env, contract, year):
    """Issue 26 points 3 and 5, over both contracts' drafts (drawn by the first test)."""
    from resultatrapport.contracts import load_contracts

    c = load_contracts()[contract]
    headings = {c.title, *c.report_sections, *(k.goal for k in c.kpis),
                *(f"{k.id} {k.name}" for k in c.kpis), *(n.title for n in c.narratives)}  # fmt: skip
    for number, lines in enumerate(pages(env, contract, year), 1):
        body = [ln for ln in lines if " ".join(ln.split()) not in headings]
        assert len(body) >= 3, f"side {number} rummer kun {lines}"
    text = draft_text(env, contract, year)
    assert not re.search(r"(?<![\w-])-\d", text)  # a minus is U+2212, never a hyphen
    assert not re.search(r"(?<![\d,.])\d{4,}\b", re.sub(r"\b(?:19|20)\d\d\b", "", text)
                         .split("Bilag: Proveniens")[0]), (
        "a number of four digits or more without thousands separator")  # fmt: skip
    assert "CRM- udtrækket" not in text and " pp" not in text
    flat = " ".join(text.split())
    # a footnote only where its mark is: the summary's ¹ follows a withheld value
    assert re.search(r"–\s?1\b", flat) or "1 – betyder" not in flat


@pytest.mark.parametrize(("contract", "year"), [(KKR, 2026), (VER, 2021)])
def test_every_method_sentence_is_the_kinds_and_only_used_methods_are_explained(
    env, contract, year
):
    """Issue 26 point 4: the method notes say nothing the code does not compute, and the
    chapter explains only the kinds the contract uses (each KPI's sentence is its kind's:
    tests/unit/kpis/test_method_sentences.py)."""
    from resultatrapport.contracts import load_contracts

    c = load_contracts()[contract]
    text = draft_text(env, contract, year)

    for stale in ("normaltilnærmelse", "linearisering", "designbaseret"):
        assert stale not in text
    kinds = {k.kind for k in c.kpis}
    for kind, heading in (("nps", "Net Promoter Score\n"), ("effect", "Kontrolgruppe")):
        assert (heading in text) == (kind in kinds), heading
