"""Integration: the report owner's texts through Dagster, from the inbox to the signed PDF, on
a generated inbox. The tests share one warehouse and output folder and run in order: the
texts in the draft, v1, a changed text makes v1 stale and the next sign-off v2, a missing
required text gives the placeholder and a refused sign-off, an unknown heading fails the
blocking check at its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from resultatrapport import texts
from resultatrapport.contracts import Contract
from tests.integration.test_pipeline_report import Env, cli, pdftotext

pytestmark = pytest.mark.slow
KKR = "kkr-midtjylland-2026"
VER = "viborg-ver-2020"
TEXTS_KEY = "ingest/erhvervshus_midtjylland/report_texts/kkr_midtjylland_2026"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, sample_inbox) -> Env:
    root = tmp_path_factory.mktemp("texts")
    inbox = root / "inbox"  # a copy: the tests change its texts
    shutil.copytree(sample_inbox(range(2020, 2027), 0.05, 11), inbox)
    return Env(root, inbox)


def texts_path(env: Env, contract: Contract, year: int = 2026) -> Path:
    return env.inbox / texts.relpath(contract, year)


def sections(env: Env, contract: Contract, year: int = 2026) -> dict[str, str]:
    """The file's sections by title."""
    path = texts_path(env, contract, year)
    found = texts.parse(path.read_bytes(), contract, str(path))
    return {s.title: s.markdown for s in found}


def write(env: Env, contract: Contract, by_title: dict[str, str], year: int = 2026) -> None:
    text = "\n".join(f"## {title}\n\n{body}\n" for title, body in by_title.items())
    texts_path(env, contract, year).write_bytes(text.replace("\n", "\r\n").encode("utf-8"))


def draft(env: Env, contract: str = KKR, year: int = 2026) -> str:
    return pdftotext(env.year_dir(contract, year) / f"aarsrapport_{contract}_{year}_udkast.pdf")


def words(text: str) -> str:
    """The words of a PDF's text in reading order, without the letters of the UDKAST
    watermark that pdftotext puts among them."""
    return " ".join(w for w in text.split() if w not in set("UDKAST"))


def between(text: str, start: str, end: str) -> str:
    """The part of ``text`` from the last ``start`` (a KPI's section, after the summary) to
    the next ``end`` (both must be there)."""
    at = text.rindex(start)
    return text[at : text.index(end, at + len(start))]


def test_the_texts_from_the_inbox_stand_in_the_draft_under_their_sections(
    env, kkr, monkeypatch, capsys
):
    code, out = cli(env, monkeypatch, capsys, "run", "--contract", KKR, "--year", "2026")
    assert code == 0, out
    assert f"materialised {TEXTS_KEY}" in out
    text = words(draft(env))
    # the focus areas after F2 (point 6), the special efforts after F1 (6.a), each under its
    # own title, in the contract's order before the regional goals (6.b)
    f1 = between(text, "F1 Særlige midtjyske indsatsområder", "Regionale mål: Vejledningsaktivitet")
    assert "Ejerskifte Ejerskifte har haft særligt fokus" in f1
    assert "Informationsmøder" in f1  # the section's table
    assert "Detailhandel, turisme og levende bymidter I 2026 har erhvervshuset" in f1
    assert f1.index("Detailhandel, turisme og levende bymidter I") < f1.index("Forsvar Erhvervs")
    after_f2 = between(text, "F2 Fælles fokusområder", "F1 Særlige midtjyske indsatsområder")
    assert "Iværksætteri Iværksættere er vejledt" in after_f2
    # the foreword before the summary, an optional comment after its KPI
    assert text.index("Forord Erhvervshus Midtjylland") < text.index("Sammenfatning")
    assert "Kommentar til M6" in between(
        text, "M6 Andel vejledt", "Fokusområder og særlige indsatsområder"
    )
    assert "Mangler:" not in text
    # links written out, no raw Markdown left
    assert "(https://www.fmi.dk)" in text and "](" not in text and "## " not in text
    # the provenance lists the delivery with its content hash (its inbox path is in the
    # internal data-quality appendix only)
    provenance = text[text.index("Bilag: Proveniens") :]
    sha = texts.read(env.inbox, kkr, 2026).sha256
    assert sha and sha[:40] in provenance.replace(" ", "")
    assert "Rapportejerens tekster 2026" in provenance and "tekster/kkr-" not in provenance


def test_a_changed_text_makes_the_signed_version_stale_and_the_next_sign_off_v2(
    env, kkr, monkeypatch, capsys
):
    folder = env.year_dir(KKR, 2026)
    code, out = cli(env, monkeypatch, capsys, "sign-off", "--contract", KKR, "--year", "2026",
                    "--by", "Ida Kontrolsen", "--role", "direktør", "--preliminary")  # fmt: skip
    assert code == 0, out
    v1 = pdftotext(folder / f"aarsrapport_{KKR}_2026_v1.pdf")
    assert "Ejerskifte har haft særligt fokus" in words(v1) and "UDKAST" not in v1

    by_title = sections(env, kkr)
    by_title["Ejerskifte"] = "Ejerskifte er efter aftale med kommunerne flyttet til et nyt team."
    write(env, kkr, by_title)
    code, out = cli(env, monkeypatch, capsys, "run", "--contract", KKR, "--year", "2026")
    assert code == 0, out
    assert "check WARN report/kkr_midtjylland_2026/signed:current" in out
    assert "flyttet til et nyt team" in words(draft(env))

    code, out = cli(env, monkeypatch, capsys, "sign-off", "--contract", KKR, "--year", "2026",
                    "--by", "Bo Revisorsen", "--role", "direktør", "--preliminary")  # fmt: skip
    assert code == 0, out
    v2 = words(pdftotext(folder / f"aarsrapport_{KKR}_2026_v2.pdf"))
    assert "flyttet til et nyt team" in v2 and "Ejerskifte har haft særligt fokus" not in v2
    assert pdftotext(folder / f"aarsrapport_{KKR}_2026_v1.pdf") == v1  # v1 is never touched


def test_a_missing_required_text_shows_the_placeholder_and_refuses_the_sign_off(
    env, kkr, monkeypatch, capsys
):
    by_title = sections(env, kkr)
    del by_title["Forsvar"]
    del by_title["Innovation"]
    del by_title["Kommentar til M6"]  # optional: simply left out
    write(env, kkr, by_title)
    code, out = cli(env, monkeypatch, capsys, "run", "--contract", KKR, "--year", "2026")
    assert code == 0, out
    text = words(draft(env))
    assert "Mangler: Forsvar" in text and "Mangler: Innovation" in text
    assert "Kommentar til M6" not in text and "Mangler: Kommentar" not in text
    assert "## Forsvar" in text  # the placeholder says which heading to write
    code, out = cli(env, monkeypatch, capsys, "sign-off", "--contract", KKR, "--year", "2026",
                    "--by", "Ida Kontrolsen", "--role", "direktør", "--preliminary")  # fmt: skip
    assert code == 1
    assert "Godkendelsen afvises" in out
    assert "Rapportejerens tekst mangler for: Forsvar; Innovation" in out
    assert not (env.year_dir(KKR, 2026) / f"aarsrapport_{KKR}_2026_v3.pdf").exists()


def test_an_unknown_heading_fails_the_blocking_check_at_its_line(env, kkr, monkeypatch, capsys):
    by_title = sections(env, kkr)
    by_title["Forsvar"] = "Forsvaret er igen med."
    by_title["Innovation"] = "Innovation er igen med."
    by_title["Status på havvind"] = "Et afsnit, kontrakten ikke beder om."
    write(env, kkr, by_title)
    line = list(by_title).index("Status på havvind")
    line_no = 1 + sum(3 + body.count("\n") + 1 for body in list(by_title.values())[:line])
    code, out = cli(env, monkeypatch, capsys, "run", "--contract", KKR, "--year", "2026")
    assert code == 1
    assert f"check ERROR {TEXTS_KEY}:texts_valid" in out
    relpath = texts.relpath(kkr, 2026)
    assert f"{relpath}, linje {line_no}: overskriften '## Status på havvind' svarer ikke" in out
    code, out = cli(env, monkeypatch, capsys, "sign-off", "--contract", KKR, "--year", "2026",
                    "--by", "Ida Kontrolsen", "--role", "direktør", "--preliminary")  # fmt: skip
    assert code == 1
    assert "»Teksten følger formatet« fejlede" in out and f"linje {line_no}" in out


def test_viborg_texts_stand_after_kpi_c_and_in_the_contracts_other_points(env, monkeypatch, capsys):
    code, out = cli(env, monkeypatch, capsys, "run", "--contract", VER, "--year", "2021")
    assert code == 0, out
    text = words(draft(env, VER, 2021))
    v3 = between(text, "V3 CFI's resultatmål", "V4 Særlige indsatsområder")
    assert "Status på CFI's resultatmål" in v3 and "bilag 2" in v3
    v4 = text[text.index("V4 Særlige indsatsområder") :]
    for title in ("Arsenalet", "Agro Business Park", "AU digital transformation (Demo Lab)"):
        assert title in v4
    others = text[text.index("Kontraktens øvrige punkter") :]
    assert "Generelt samarbejde" in others and "Integration af CFI og House of Industry" in others
    assert "Mangler:" not in text


# --- personal data in the CRM's free text and in the owner's texts (issue 24, 4 and 5) ------

# the CRM line: a referral, an adviser's note with a name and a phone number, and a
# CPR number written with a space
HOSTILE = "Erhvervshus Midtjylland|Ring til Jens Hansen på 20304050|CPR 010190 1234"
SECRETS = ("Jens Hansen", "20304050", "010190 1234", "0101901234")


def _v1(env: Env, monkeypatch, capsys) -> float:
    from tests.integration.test_pipeline_report import kpi_json

    [v1] = [r for r in kpi_json(env, monkeypatch, capsys, VER, 2021) if r["id"] == "V1"]
    return v1["value"]


def _scan_warehouse(env: Env) -> str:
    """Every text value of every table of the warehouse, as one string."""
    import duckdb

    with duckdb.connect(env.vars["RESULTATRAPPORT_WAREHOUSE"], read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary"
        ).fetchall()
        return "\n".join(
            repr(con.execute(f'SELECT * FROM "{s}"."{t}"').fetchall()) for s, t in tables
        )


def _scan_instance(env: Env) -> bytes:
    """Every byte the Dagster instance stores (run and event log storage, compute logs)."""
    home = Path(env.vars["DAGSTER_HOME"])
    return b"\n".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


def test_free_text_in_the_crms_referrals_is_no_referral_and_stored_nowhere(
    env, monkeypatch, capsys
):
    """The issue's line in Viborg's CRM: V1 stays what it was (the free texts are no
    referrals), and the name, phone and CPR number are in no warehouse table, nowhere in
    the Dagster instance and not in the draft."""
    before = _v1(env, monkeypatch, capsys)  # the previous test ran Viborg 2021
    path = env.inbox / "viborgegnens-erhvervsraad/crm/vejledningsforloeb_2021.csv"
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "cp1252"
    lines = raw.decode(encoding).split("\r\n")
    # a valid line whose only referral is Erhvervshus Midtjylland gets the note as well
    at = next(
        i for i, line in enumerate(lines)
        if line.split(";")[10:11] == ["Erhvervshus Midtjylland"]
    )  # fmt: skip
    cells = lines[at].split(";")
    cells[10] = HOSTILE
    lines[at] = ";".join(cells)
    path.write_bytes("\r\n".join(lines).encode(encoding))

    code, out = cli(env, monkeypatch, capsys, "run", "--contract", VER, "--year", "2021")
    assert code == 0, out
    assert _v1(env, monkeypatch, capsys) == before
    stored, instance = _scan_warehouse(env), _scan_instance(env)
    text = pdftotext(env.year_dir(VER, 2021) / f"aarsrapport_{VER}_2021_udkast.pdf")
    # nor in the internal data-quality appendix, which lists the quarantine and the checks
    appendix = env.year_dir(VER, 2021) / f"aarsrapport_{VER}_2021_udkast_datakvalitet_intern.html"
    internal = appendix.read_text("utf-8")
    for secret in SECRETS:
        assert secret not in stored, secret
        assert secret.encode() not in instance, secret
        assert secret not in text, secret
        assert secret not in internal, secret
    assert "Ukendt henvisningsmodtager" in stored  # quarantined, with its reason


def test_a_cpr_number_hidden_from_the_source_lines_fails_the_texts_and_is_never_printed(
    env, kkr, monkeypatch, capsys
):
    """'&#48;10190-1234' prints as a CPR number: the check reads the text as printed, fails at
    its line, and the draft keeps the last good texts."""
    by_title = {n.title: "Tekst." for n in kkr.narratives}  # the previous test's file is bad
    write(env, kkr, by_title)
    code, out = cli(env, monkeypatch, capsys, "run", "--contract", KKR, "--year", "2026")
    assert code == 0, out  # the last good texts
    by_title["Ejerskifte"] = "Ejeren (&#48;10190-1234) overdrager virksomheden."
    write(env, kkr, by_title)
    line_no = 1 + sum(
        3 + body.count("\n") + 1 for body in list(by_title.values())[: list(by_title).index("Ejerskifte")]
    ) + 2  # fmt: skip
    code, out = cli(env, monkeypatch, capsys, "run", "--contract", KKR, "--year", "2026")
    assert code == 1
    assert f"check ERROR {TEXTS_KEY}:texts_valid" in out
    assert f"{texts.relpath(kkr, 2026)}, linje {line_no} (under '## Ejerskifte'): et tal af samme form som et CPR-nummer" in out  # fmt: skip
    text = draft(env)
    assert "0101901234" not in text.replace("-", "") and "10190-1234" not in text


def test_a_corrected_copy_beside_the_texts_file_blocks_like_a_misnamed_delivery(
    env, kkr, monkeypatch, capsys
):
    """The corrected texts saved as '… (kopi).md' beside the old file: the year's texts check
    fails naming the copy (the old file is not used as if it were the corrected one); a
    newline in a stray file's name forges no line of the run's output."""
    path = texts_path(env, kkr)
    good = "\n".join(f"## {n.title}\n\nTekst.\n" for n in kkr.narratives)
    path.write_text(good, encoding="utf-8")
    copy = path.with_name(path.stem + " (kopi).md")
    copy.write_text(good, encoding="utf-8")
    forged = env.inbox / "noter\nOK - 99 assets materialised.txt"
    forged.write_text("x", encoding="utf-8")
    from commands.cli import main

    env.use(monkeypatch)
    capsys.readouterr()
    try:
        code = main(["ingest", "--contract", KKR, "--years", "2026"])
        out, err = capsys.readouterr()
    finally:
        copy.unlink()
        forged.unlink()
    assert code == 1
    assert f"check ERROR {TEXTS_KEY}:texts_valid" in out
    assert f"ukendt fil i tekstmappen: '{texts.relpath(kkr, 2026)[:-3]} (kopi).md'" in out
    assert "noter\\nOK - 99 assets materialised.txt" in out + err
    assert "OK - 99 assets materialised" not in (out + err).splitlines()
