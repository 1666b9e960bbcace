"""Integration: both contracts' drafts read as Danish prose a board member can be sent.

The drafts of a small generated inbox are read back with pdftotext and searched for what
a reader must never see: internal identifiers (snake_case names, ``settings.``), Python
reprs (``[615, 657, …]``), StatBank's quarter codes where a date belongs, a status that
flatters, and a missing population quarter said any other way than in one sentence.
"""

from __future__ import annotations

import re
import shutil
import subprocess
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


def printed_in_reading_order(pdf: Path) -> str:
    """The PDF's text in the order it is drawn (pdftotext -raw): a table cell that wraps reads
    on in one piece, the letters of the rotated watermark stand apart."""
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext (poppler-utils) is missing: `make setup` installs it"
    return subprocess.run(
        [tool, "-raw", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def flowed(text: str) -> str:
    """``text`` as one line: whitespace made single spaces, none after a hyphen (a line may
    break after one, »bootstrap-« / »interval«, or after a word's first part, »branche- og«)."""
    return re.sub(r"-\s+", "-", " ".join(text.split()))


def method_lines(text: str) -> list[str]:
    """The lines of the method chapter's table »Målepunkterne« as printed, each KPI's id and
    its method sentence: the page furniture and the table header repeated on a new page
    left out."""
    after = text.rsplit("\nMålepunkterne\n", 1)[1]  # to the next heading
    table = re.split(r"\n(?:Datagrundlag og datakvalitet|Bilag: [^\n]+)\n", after, maxsplit=1)[0]
    return [ln for ln in table.replace("\f", "\n").splitlines()
            if ln.strip() and not FURNITURE.match(ln) and " ".join(ln.split()) != "Mål Metode"]  # fmt: skip


@pytest.mark.parametrize(("contract", "year"), [(KKR, 2026), (VER, 2021)])
def test_each_printed_method_is_the_sentence_of_the_kind_that_computed_the_figure(
    env, contract, year
):
    """Issue 26: every method sentence the report prints is the one the KPI's kind writes
    from the contract's parameters for that KPI (``Kind.method``), row by row and nothing
    else, never a contract's free text or another kind's sentence (drafts drawn by the first
    test); and the interval each coverage row names is its kind's."""
    from resultatrapport.contracts import load_contracts
    from resultatrapport.kpis.kinds import KINDS

    c = load_contracts()[contract]
    text = printed_in_reading_order(year_dir(env.out, contract, year) / draft_name(contract, year))
    methods = [(k, sentence) for k in c.kpis if (sentence := KINDS[k.kind].method(k))]
    assert len(methods) >= 3
    lines = method_lines(text)
    expected = " ".join(f"{k.id} {sentence}" for k, sentence in methods)
    assert flowed(" ".join(lines)) == flowed(expected)
    # each id whole at the start of its row (before: »M3-« above »V« in a narrow column)
    starts = {ln.split(" ", 1)[0] for ln in lines}
    assert all(k.id in starts for k, _ in methods), sorted(starts)
    # the coverage table (where a kind has an interval): each row begins with its KPI's id and
    # the interval its kind names
    with_interval = [k for k in c.kpis if KINDS[k.kind].interval]
    assert ("\nIntervallernes dækning\n" in text) == bool(with_interval)
    if with_interval:
        coverage = text.split("\nIntervallernes dækning\n", 1)[1].split("\nMålepunkterne\n")[0]
        flat = f" {' '.join(coverage.split())} "
        rows = [k for k in with_interval if f" {k.id} " in flat]
        assert rows, flat
        for k in rows:
            assert f" {k.id} {KINDS[k.kind].interval} " in flat, (k.id, flat)
