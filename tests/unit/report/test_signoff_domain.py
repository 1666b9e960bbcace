"""The sign-off's rules as domain code, on a small DuckDB warehouse and without Dagster:
the refusals, the version decision, the submissions and their validation, publishing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from resultatrapport.contracts import Contract
from resultatrapport.kpis import budget
from resultatrapport.kpis.compute import evaluate, partitions_read
from resultatrapport.kpis.kinds import Measure
from resultatrapport.kpis.results_table import store
from resultatrapport.report import content, publish, signoff, view
from resultatrapport.report.render import render_html, render_pdf

YEAR = 2021
NOW = dt.datetime(2022, 3, 14, 10, 30)


def fill(con: duckdb.DuckDBPyConnection, contract: Contract, value: float = 50.0) -> None:
    """A result for every KPI, the required texts, a computed budget and a draft of it all."""
    for kpi in contract.kpis:
        result = evaluate(contract, kpi, YEAR, Measure(value, n=500))
        store(con, result, [], None)
    con.executemany(
        "INSERT INTO ingest.report_texts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (contract.id, YEAR, n.id, n.title, i, 1, f"Tekst om {n.title}.", "t.md", "x")
            for i, n in enumerate(contract.narratives)
        ],
    )
    lines = [budget.BudgetLine("total", "Kontraktsum", 2_900_000)]
    budget.store(con, contract.id, YEAR, budget.Distribution(lines, ""))
    draw(con, contract)


def draw(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Record a draft of the current data."""
    data_hash = content.data_hash(content.load(con, contract, YEAR))
    publish.record_draft(con, contract.id, YEAR, data_hash, b"%PDF", 1, Path("d.pdf"), [], None)


def connector(con: duckdb.DuckDBPyConnection) -> signoff.Connect:
    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        yield con

    return connect


TEMPLATES = Path(__file__).parent / "templates"  # a one-page report, rendered as the real one


def render(data: content.ReportData, data_hash: str, **signed: Any) -> tuple[bytes, int]:
    """The signed PDF of a one-page template, rendered (and so tagged and declared) as the
    report is: the sign-off validates it."""
    context = {"title": f"Årsrapport {data.year}: {data.contract.title}", "data_hash": data_hash}
    return render_pdf(
        "signed.html.j2",
        context | {k: signed[k] for k in ("version", "signed_by")},
        attachments=signed["attachments"],
        title=context["title"],
        templates=TEMPLATES,
    )


def request(contract: Contract, directory: Path, by: str = "Ida Kontrolsen") -> signoff.Request:
    return signoff.Request(contract, YEAR, by, "direktør", directory, "run-1", NOW)


def sign(con: duckdb.DuckDBPyConnection, contract: Contract, directory: Path) -> signoff.Signed:
    warnings: list[str] = []
    done = signoff.sign_off(connector(con), request(contract, directory), render, warnings.append)
    assert not warnings
    return done


@pytest.fixture
def ready(con: duckdb.DuckDBPyConnection, ver: Contract) -> duckdb.DuckDBPyConnection:
    fill(con, ver)
    return con


# --- the refusals ------------------------------------------------------------------------------


def test_without_a_draft_the_sign_off_is_refused_and_nothing_is_written(con, ver, tmp_path):
    with pytest.raises(signoff.Refused) as refused:
        sign(con, ver, tmp_path / "out")
    assert refused.value.reasons == [
        f"Der er intet udkast for {ver.id} {YEAR}: kør rapporten først."
    ]
    assert str(refused.value).startswith("Godkendelsen afvises: Der er intet udkast")
    assert not (tmp_path / "out").exists()


def test_a_complete_year_with_a_current_draft_has_no_refusal(ready, ver):
    assert signoff.refusals(ready, ver, YEAR, content.load(ready, ver, YEAR)) == []


def test_a_draft_of_other_data_is_refused(ready, ver):
    ready.execute("UPDATE kpi.results SET value = value + 1 WHERE kpi_id = $k", {"k": "V1"})
    reasons = signoff.refusals(ready, ver, YEAR, content.load(ready, ver, YEAR))
    assert len(reasons) == 1 and "Udkastet viser ikke de nuværende data" in reasons[0]


def test_missing_results_texts_and_budget_are_each_a_reason(ready, ver):
    ready.execute("DELETE FROM kpi.results WHERE kpi_id = 'V2'")
    ready.execute("DELETE FROM ingest.report_texts")
    budget.store(ready, ver.id, YEAR, budget.Distribution([], "prisindeks mangler", True))
    draw(ready, ver)
    reasons = signoff.refusals(ready, ver, YEAR, content.load(ready, ver, YEAR))
    assert reasons[0] == "Resultater mangler for V2."
    assert reasons[1].startswith("Rapportejerens tekst mangler for: ")
    assert reasons[2] == "Budgettet er ikke beregnet: prisindeks mangler."
    assert len(reasons) == 3


def test_the_record_holds_the_signers_role_and_the_csv_the_name_alone(ready, ver, out):
    done = sign(ready, ver, out)
    [record] = publish.signoffs(ready, ver.id, YEAR).values()
    assert (record.signed_by, record.signed_role) == ("Ida Kontrolsen", "direktør")
    assert done.message == "v1 er godkendt af Ida Kontrolsen, direktør, den 14. marts 2022"
    text = (out / done.names["resultatopfyldelse"]).read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert rows and {r["Godkendt af"] for r in rows} == {"Ida Kontrolsen"}
    assert "direktør" not in text


# report.signoffs as it was before the signer's role was recorded
OLD_SIGNOFFS = """
CREATE TABLE report.signoffs (
    contract VARCHAR NOT NULL, year INTEGER NOT NULL, version INTEGER NOT NULL,
    signed_by VARCHAR NOT NULL, signed_at TIMESTAMP NOT NULL, data_hash VARCHAR NOT NULL,
    draft_sha256 VARCHAR NOT NULL, files JSON NOT NULL, run_id VARCHAR, snapshot BIGINT
)"""


def test_a_record_made_before_the_role_was_asked_for_still_reads(ver):
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA report")
        con.execute(OLD_SIGNOFFS)
        con.execute(
            "INSERT INTO report.signoffs VALUES ($c, $y, 1, 'Ida Kontrolsen', $at, 'h', 'd', "
            "'{}', 'run-1', NULL)",
            {"c": ver.id, "y": YEAR, "at": NOW},
        )
        publish.ensure_report_schema(con)  # as every connection to the warehouse does
        [old] = publish.signoffs(con, ver.id, YEAR).values()
        assert old.signed_role is None
        assert publish.signed_notice(old) == "v1 er godkendt af Ida Kontrolsen den 14. marts 2022"
        new = publish.SignOff(2, "Bo Revisorsen", NOW, "h2", "d", {}, signed_role="formand")
        publish.record_signoff(con, ver.id, YEAR, new, "run-2")
        assert publish.signoffs(con, ver.id, YEAR)[2].signed_role == "formand"


# --- the version -------------------------------------------------------------------------------


def _record(version: int, data_hash: str) -> publish.SignOff:
    return publish.SignOff(version, "Ida Kontrolsen", NOW, data_hash, "d", {})


def test_the_version_is_the_next_one_unless_the_latest_shows_the_data_already():
    assert signoff.decide({}, "h1") == 1
    signed = {1: _record(1, "h1"), 2: _record(2, "h2")}
    assert signoff.decide(signed, "h3") == 3
    assert signoff.decide(signed, "h2") == signed[2]
    assert signoff.decide(signed, "h1") == 3  # an older version's data: signed again, anew


# --- the submissions ---------------------------------------------------------------------------


def test_the_submissions_are_the_contracts_kinds_and_valid(ready, ver, kkr):
    assert signoff.submission_kinds(ver) == ["resultatopfyldelse"]
    assert signoff.submission_kinds(kkr) == ["resultatopfyldelse", "kommunefordeling"]
    csvs = signoff.submission_csvs(ver, content.load(ready, ver, YEAR), "Ida", NOW.date())
    assert list(csvs) == ["resultatopfyldelse"]
    assert signoff.schema_problems(csvs) == {"resultatopfyldelse": []}
    assert b"Ida" in csvs["resultatopfyldelse"]


def test_a_submission_that_breaks_its_schema_publishes_nothing(ready, ver, tmp_path, monkeypatch):
    broken = {"resultatopfyldelse": b"Kontrakt;Noget\r\nx;y\r\n"}
    monkeypatch.setattr(signoff, "submission_csvs", lambda *args: broken)
    with pytest.raises(signoff.SubmissionsInvalid) as invalid:
        sign(ready, ver, tmp_path / "out")
    assert invalid.value.problems["resultatopfyldelse"]
    assert publish.signoffs(ready, ver.id, YEAR) == {}
    assert not (tmp_path / "out").exists()


def untagged(data: content.ReportData, data_hash: str, **signed: Any) -> tuple[bytes, int]:
    """The same PDF as ``render`` writes, but as render.py did before: untagged PDF/A-3b."""
    import weasyprint

    context = {"title": "Årsrapport", "data_hash": data_hash, **signed}
    html = render_html("signed.html.j2", context, TEMPLATES)
    pdf = weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
    assert pdf is not None
    return pdf, 1


def test_a_pdf_that_fails_pdfa_or_pdfua_is_refused_and_nothing_is_published(ready, ver, tmp_path):
    directory = tmp_path / "out"
    with pytest.raises(signoff.PdfInvalid) as invalid:
        signoff.sign_off(connector(ready), request(ver, directory), untagged, print)
    reason = str(invalid.value)
    assert reason.startswith("Godkendelsen afvises: Rapportens PDF består ikke kontrollen af")
    assert "\n" not in reason and reason.endswith("intet er offentliggjort.")
    assert any(
        f.startswith("PDF/UA-1 PDFUA1-TAGGED-DOCUMENT-001: ") for f in invalid.value.findings
    )
    assert any(f.startswith("PDF/A-3a ") for f in invalid.value.findings)
    assert publish.signoffs(ready, ver.id, YEAR) == {}
    assert not directory.exists()


# --- publishing --------------------------------------------------------------------------------


def test_a_sign_off_publishes_version_1_read_only_with_its_record(ready, ver, tmp_path):
    directory = tmp_path / "out"
    done = sign(ready, ver, directory)
    assert done.new and done.record.version == 1 and done.pages == 1
    assert done.message == "v1 er godkendt af Ida Kontrolsen, direktør, den 14. marts 2022"
    names = publish.version_names(ver.id, YEAR, 1)
    published = sorted(p.name for p in directory.iterdir())
    # the report, the submission and the version's internal data-quality appendix beside them
    appendix = f"aarsrapport_{ver.id}_{YEAR}_v1_datakvalitet_intern.html"
    assert names["appendix"] == appendix
    assert published == sorted([names["report"], names["resultatopfyldelse"], appendix])
    for name in published:
        assert not (directory / name).stat().st_mode & stat.S_IWUSR
    assert publish.signoffs(ready, ver.id, YEAR) == {1: done.record}
    assert done.record.files == {n: publish.sha256((directory / n).read_bytes()) for n in published}
    page = (directory / appendix).read_text("utf-8")
    assert "Internt bilag – sendes ikke til modtagerne" in page
    assert f"Hører til {names['report']} (godkendt version 1)" in page
    assert signoff.published_problems(directory, names, ["resultatopfyldelse"]) == {
        "resultatopfyldelse": []
    }


def test_signing_the_same_data_again_publishes_nothing_new(ready, ver, tmp_path):
    first = sign(ready, ver, tmp_path)
    again = sign(ready, ver, tmp_path)
    assert not again.new and again.record == first.record
    assert again.message == f"Intet nyt at godkende: {first.message}"
    assert set(publish.signoffs(ready, ver.id, YEAR)) == {1}


def test_changed_data_with_a_new_draft_make_version_2(ready, ver, tmp_path):
    sign(ready, ver, tmp_path)
    ready.execute("UPDATE kpi.results SET value = value + 1 WHERE kpi_id = 'V1'")
    draw(ready, ver)
    done = sign(ready, ver, tmp_path)
    assert done.new and done.record.version == 2
    assert set(publish.signoffs(ready, ver.id, YEAR)) == {1, 2}


def test_a_signed_file_changed_by_hand_refuses_the_next_sign_off(ready, ver, tmp_path):
    done = sign(ready, ver, tmp_path)
    pdf = tmp_path / done.names["report"]
    pdf.chmod(0o644)
    pdf.write_bytes(b"changed")
    ready.execute("UPDATE kpi.results SET value = value + 1 WHERE kpi_id = 'V1'")
    draw(ready, ver)
    with pytest.raises(signoff.Refused) as refused:
        sign(ready, ver, tmp_path)
    assert refused.value.reasons == [
        f"Den godkendte fil {pdf.name} (v1) er ændret efter godkendelsen: "
        "indholdet svarer ikke til det registrerede SHA-256."
    ]


def test_what_a_cut_off_sign_off_left_is_cleared_and_said(ready, ver, tmp_path):
    staged = publish.stage_version(tmp_path, 1, {"aarsrapport_x_2021_v1.pdf": b"%PDF"})
    warnings: list[str] = []
    assert signoff.verified(tmp_path, ver, YEAR, {}, warnings.append) == []
    assert not staged.exists()
    assert warnings == [f"{ver.id} {YEAR}: v1: removed the files of a sign-off cut off before "
                        "its record"]  # fmt: skip


def test_the_current_judgment_follows_the_signed_version_and_the_data(ready, ver, tmp_path):
    def judge() -> signoff.Current:
        return signoff.current(ready, ver, YEAR, tmp_path, lambda note: None, on=NOW.date())

    nothing = judge()
    assert not nothing.signed and not nothing.up_to_date and not nothing.errors
    assert nothing.state == f"Ingen godkendt version af {YEAR} endnu"
    sign(ready, ver, tmp_path)
    current = "v1 er godkendt af Ida Kontrolsen, direktør, den 14. marts 2022 og er aktuel"
    assert judge() == signoff.Current(current, True, True, [])
    ready.execute("UPDATE kpi.results SET value = value + 1 WHERE kpi_id = 'V1'")
    stale = judge()
    assert stale.signed and not stale.up_to_date and "ikke længere aktuel" in stale.state


# --- preliminary or final (issue 25, case 4) ---------------------------------------------------

IN_THE_YEAR = dt.datetime(YEAR, 12, 7, 10, 0)  # three weeks before the year ends


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def at(
    contract: Contract, directory: Path, now: dt.datetime, preliminary: bool = False
) -> signoff.Request:
    return signoff.Request(
        contract, YEAR, "Ida Kontrolsen", "direktør", directory, "run-1", now,
        preliminary=preliminary,
    )  # fmt: skip


def sign_at(con: duckdb.DuckDBPyConnection, req: signoff.Request) -> signoff.Signed:
    return signoff.sign_off(connector(con), req, render, lambda note: None)


def reckoning(directory: Path, done: signoff.Signed) -> set[str]:
    """The column Opgørelse of the signed version's resultatopfyldelse."""
    text = (directory / done.names["resultatopfyldelse"]).read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    return {r["Opgørelse"] for r in rows}


def missing_delivery(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Record one of the year's deliveries the contract reads as never delivered."""
    source, org = next(
        (s, o) for (s, o), years in partitions_read(contract, YEAR).items()
        if YEAR in years and s != "awareness"
    )  # fmt: skip
    con.execute(
        "INSERT INTO ingest.deliveries (source, org, year, file, sha256, rows_read, "
        "rows_rejected, read_at) VALUES ($s, $o, $y, 'x.csv', NULL, 0, 0, now()::TIMESTAMP)",
        {"s": source, "o": org, "y": YEAR},
    )
    draw(con, contract)


def test_a_year_not_over_is_signed_only_when_the_signer_says_the_figures_are_preliminary(
    ready, ver, out
):
    with pytest.raises(signoff.Refused) as refused:
        sign_at(ready, at(ver, out, IN_THE_YEAR))
    [reason] = refused.value.reasons
    assert reason.startswith(f"Tallene for {YEAR} er foreløbige ({YEAR} er ikke slut)")
    assert "--preliminary" in reason and not out.exists()

    done = sign_at(ready, at(ver, out, IN_THE_YEAR, preliminary=True))
    assert done.new and done.record.version == 1
    assert reckoning(out, done) == {"Foreløbig"}
    # the cover says the same as the CSV, as of the day it was signed
    data = content.load(ready, ver, YEAR)
    cover = view.build(
        data, draft=False, provenance={}, signed_by="Ida Kontrolsen",
        signed_on=IN_THE_YEAR.date(), version=1,
    )["state"]  # fmt: skip
    assert cover == f"Foreløbige tal: {YEAR} er ikke slut."


def test_the_later_final_sign_off_of_the_same_data_is_the_next_version(ready, ver, out):
    first = sign_at(ready, at(ver, out, IN_THE_YEAR, preliminary=True))
    final = sign_at(ready, at(ver, out, NOW))  # March: the year is over, all delivered
    assert final.new and final.record.version == 2
    assert reckoning(out, first) == {"Foreløbig"}
    assert reckoning(out, final) == {"Endelig"}
    # and a final version signed again is nothing new
    again = sign_at(ready, at(ver, out, NOW + dt.timedelta(days=1)))
    assert not again.new and again.record.version == 2


def test_a_missing_delivery_keeps_a_past_year_preliminary(ready, ver, out):
    missing_delivery(ready, ver)
    with pytest.raises(signoff.Refused) as refused:
        sign_at(ready, at(ver, out, NOW))
    assert "der mangler leverancer: " in refused.value.reasons[0]
    done = sign_at(ready, at(ver, out, NOW, preliminary=True))
    assert reckoning(out, done) == {"Foreløbig"}
    state = view.report_state(content.load(ready, ver, YEAR), NOW.date())
    assert state.startswith("Foreløbige tal: der mangler leverancer: ")


def test_the_signers_word_signs_final_figures_as_final(ready, ver, out):
    done = sign_at(ready, at(ver, out, NOW, preliminary=True))
    assert reckoning(out, done) == {"Endelig"}
    state = view.report_state(content.load(ready, ver, YEAR), NOW.date())
    assert state == f"Endelige tal for {YEAR}: året er slut, og alle leverancer foreligger."


def test_a_preliminary_version_is_no_longer_current_once_the_figures_are_final(ready, ver, out):
    sign_at(ready, at(ver, out, IN_THE_YEAR, preliminary=True))

    def judge(on: dt.date) -> signoff.Current:
        return signoff.current(ready, ver, YEAR, out, lambda note: None, on=on)

    assert judge(IN_THE_YEAR.date()).up_to_date
    final = judge(NOW.date())
    assert final.signed and not final.up_to_date and not final.errors
    assert final.state == (
        f"v1 er godkendt som foreløbig, og tallene for {YEAR} er nu endelige: en endelig "
        "godkendelse giver v2"
    )


def test_a_full_output_disk_is_said_in_one_sentence_and_records_no_version(ready, ver, tmp_path):
    # before: a bare OSError that the asset's retries turned into "Exceeded max_retries of 2"
    from resultatrapport.report.files import OutputNotWritable
    from tests.helpers import small_filesystem

    with small_filesystem(tmp_path / "full", "16k") as directory:
        with pytest.raises(OutputNotWritable) as raised:
            signoff.sign_off(connector(ready), request(ver, directory), render, print)
        assert not [p for p in directory.rglob("*") if p.is_file()]
    assert str(raised.value) == (
        f"Rapporten kan ikke skrives i {directory}: der er ikke mere plads på disken."
    )
    assert raised.value.transient
    assert publish.signoffs(ready, ver.id, YEAR) == {}
