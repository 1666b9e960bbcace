"""The sign-off as one verified act: a version is published whole or not at all (even when the
process is killed), signed files are read-only and checked against their recorded hashes,
signing unchanged data again says who signed it, an unsigned year does not pass silently (nor
as passed: its check is skipped), the sign-off run is tagged with the signer, the signed
report names the signer's role beside the name (the CSVs the name alone), and what a signer
types cannot smuggle formulas or identifiers into the outputs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import signal
import stat
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from commands.cli import main
from resultatrapport.kpis.status import meets
from resultatrapport.report import publish, submissions
from resultatrapport.report.danish import long_date
from resultatrapport.report.render import validation_failures
from tests.helpers import figure_alts
from tests.integration.test_deadline_check import judged, run_check
from tests.integration.test_operations import cli as spawn_cli
from tests.integration.test_operations import environment, finish, python
from tests.integration.test_pipeline_report import Env as ReportEnv
from tests.integration.test_pipeline_report import pdftotext
from tests.unit.report.test_submissions import municipality_row, result_row

VER = "viborg-ver-2020"
SCOPE = "viborg_ver_2020"
INJECTION = '=HYPERLINK("http://evil.example/?q=1") Jens Hansen 010190-1234'


# --- the signer's name ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Ida Kontrolsen", "Ida Kontrolsen"),
        ("  Søren   Ærø-Østergaard ", "Søren Ærø-Østergaard"),
        ("Anne-Marie O'Brien", "Anne-Marie O'Brien"),
        ("Lucia D’Angelo", "Lucia D’Angelo"),
        ("Zoë\tŁukasz", "Zoë Łukasz"),
        ("Jose\u0301 Nuñez", "José Nuñez"),  # decomposed accent: kept as one letter
        ("Jo", "Jo"),
    ],
)
def test_a_persons_name_is_accepted_trimmed_and_collapsed(given, kept):
    assert publish.signer_name(given) == kept


@pytest.mark.parametrize(
    "given",
    ["", "   ", "J", "A" * 81, "Jens 2", "Jens\x00Hansen", "-Jens Hansen", "Jens <b>", INJECTION],
)
def test_anything_but_a_persons_name_is_refused(given):
    with pytest.raises(publish.SignOffRefused) as refused:
        publish.signer_name(given)
    reason = str(refused.value)
    assert reason and "\n" not in reason and len(reason) < 200
    assert "Navn" in reason or "navn" in reason


def test_the_refusal_shows_at_most_a_short_excerpt_with_the_digits_masked():
    with pytest.raises(publish.SignOffRefused) as refused:
        publish.signer_name(INJECTION)
    reason = str(refused.value)
    assert "evil.example" not in reason and 'HYPERLINK("http' not in reason
    assert not any(digit in reason for digit in "0123456789")
    with pytest.raises(publish.SignOffRefused) as refused:
        publish.signer_name("Jens Hansen 010190-1234")
    assert "010190" not in str(refused.value) and "####" in str(refused.value)


# --- the signer's role ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("direktør", "direktør"),
        ("  Adm.   direktør ", "Adm. direktør"),
        ("formand, bestyrelsen", "formand, bestyrelsen"),
        ("økonomi- og HR-chef", "økonomi- og HR-chef"),
    ],
)
def test_a_role_is_accepted_trimmed_and_collapsed(given, kept):
    assert publish.signer_role(given) == kept


@pytest.mark.parametrize("given", ["", "   ", "\t\n"])
def test_an_empty_role_is_refused_in_one_danish_line(given):
    with pytest.raises(publish.SignOffRefused) as refused:
        publish.signer_role(given)
    assert str(refused.value) == "Godkendelse kræver den godkendendes rolle (role), fx direktør."


@pytest.mark.parametrize("given", ["d", "x" * 101, "direktør 2", "=1+2", ".direktør", INJECTION])
def test_a_role_that_is_no_role_is_refused_with_the_digits_masked(given):
    with pytest.raises(publish.SignOffRefused) as refused:
        publish.signer_role(given)
    reason = str(refused.value)
    assert reason.startswith("Den godkendendes rolle ") and "\n" not in reason
    assert "010190" not in reason and "evil.example" not in reason


# --- the CSV writer: no formulas --------------------------------------------------------------


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_neutralised():
    row = result_row(
        **{
            "Bemærkning": '=HYPERLINK("http://x")',
            "Målepunkt": "+Vækst",
            "Organisation": "@Erhverv",
            "Godkendt af": "-Ida",
            "Resultat": Decimal("-3.5"),
        }
    )
    row2 = result_row(**{"Mål-ID": "M4", "Bemærkning": "\tindrykket"})
    data = submissions.render_csv("resultatopfyldelse", [row, row2])
    header, first, second = _cells(data)
    cell = dict(zip(header, first, strict=True))
    assert cell["Bemærkning"] == '\'=HYPERLINK("http://x")'
    assert cell["Målepunkt"] == "'+Vækst"
    assert cell["Organisation"] == "'@Erhverv"
    assert cell["Godkendt af"] == "'-Ida"
    assert cell["Resultat"] == "-3,5"  # a number stays a number
    assert dict(zip(header, second, strict=True))["Bemærkning"] == "'\tindrykket"
    assert submissions.validate_bytes("resultatopfyldelse", data) == []


def test_a_negative_deviation_stays_a_number_in_kommunefordeling():
    data = submissions.render_csv("kommunefordeling", [municipality_row(Afvigelse=-3.54)])
    header, row = _cells(data)
    assert dict(zip(header, row, strict=True))["Afvigelse"] == "-3,5"
    assert submissions.validate_bytes("kommunefordeling", data) == []


def test_validation_refuses_a_text_cell_that_starts_like_a_formula():
    good = submissions.render_csv("resultatopfyldelse", [result_row()])
    bad = good.replace(b"Anne Jensen", b"=1+2")
    problems = submissions.validate_bytes("resultatopfyldelse", bad)
    assert any("Godkendt af" in p and "=1+2" in p for p in problems), problems


# --- publishing a version: whole or not at all ------------------------------------------------

FILES = {
    "aarsrapport_x_2026_v1.pdf": b"%PDF-1.7 signed\n%%EOF\n",
    "resultatopfyldelse_x_2026_v1.csv": b"\xef\xbb\xbfKontrakt;Resultat\r\nx;-3,5\r\n",
}


def _record(version: int = 1, files: dict[str, bytes] = FILES) -> publish.SignOff:
    return publish.SignOff(
        version=version,
        signed_by="Ida Kontrolsen",
        signed_at=dt.datetime(2026, 3, 2, 10, 0),
        data_hash="data",
        draft_sha256="draft",
        files={name: publish.sha256(data) for name, data in files.items()},
    )


def _visible(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def test_a_published_version_is_whole_read_only_and_leaves_no_temporary_folder(tmp_path):
    folder = tmp_path / "out" / "x" / "2026"
    recorded = []
    publish.publish_version(folder, 1, FILES, record=lambda: recorded.append(1))
    assert recorded == [1]
    assert _visible(folder) == FILES  # no temporary folder either
    for name in FILES:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o444


def test_a_publish_cut_off_before_its_record_leaves_no_trace_and_v1_is_written_again(tmp_path):
    folder = tmp_path / "2026"

    def fail() -> None:
        raise RuntimeError("warehouse gone")

    with pytest.raises(RuntimeError):
        publish.publish_version(folder, 1, FILES, record=fail)
    assert set(FILES) <= {p.name for p in folder.iterdir()}  # linked, not recorded
    removed = publish.recover(folder, {})
    assert removed and list(folder.iterdir()) == []
    publish.publish_version(folder, 1, FILES, record=lambda: None)
    assert _visible(folder) == FILES


def test_a_publish_cut_off_after_its_record_is_finished_by_the_next_start(tmp_path, monkeypatch):
    folder = tmp_path / "2026"

    def killed(staging: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(publish, "discard_staging", killed)
    with pytest.raises(KeyboardInterrupt):
        publish.publish_version(folder, 1, FILES, record=lambda: None)
    monkeypatch.undo()
    (folder / "aarsrapport_x_2026_v1.pdf").unlink()  # as if cut off while linking
    assert publish.recover(folder, {1: _record()})
    assert _visible(folder) == FILES
    assert publish.integrity_problems(folder, "x", 2026, [_record()]) == []


def test_recovery_takes_back_only_the_files_its_own_publish_linked(tmp_path, monkeypatch):
    folder = tmp_path / "2026"
    folder.mkdir()
    stranger = folder / "aarsrapport_x_2026_v1.pdf"
    stranger.write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        publish.publish_version(folder, 1, FILES, record=lambda: None)
    publish.recover(folder, {})
    assert _visible(folder) == {stranger.name: b"someone else's"}


def test_verification_names_a_changed_and_a_missing_signed_file(tmp_path):
    folder = tmp_path / "2026"
    publish.publish_version(folder, 1, FILES, record=lambda: None)
    assert publish.integrity_problems(folder, "x", 2026, [_record()]) == []
    csv_path = folder / "resultatopfyldelse_x_2026_v1.csv"
    csv_path.chmod(0o644)
    csv_path.write_bytes(csv_path.read_bytes().replace(b"-3,5", b"-2,5"))
    (folder / "aarsrapport_x_2026_v1.pdf").unlink()
    problems = publish.integrity_problems(folder, "x", 2026, [_record()])
    assert any("resultatopfyldelse_x_2026_v1.csv" in p and "ændret" in p for p in problems)
    assert any("aarsrapport_x_2026_v1.pdf" in p and "mangler" in p for p in problems)


def test_a_file_named_as_a_signed_version_without_a_record_is_reported(tmp_path):
    folder = tmp_path / "2026"
    folder.mkdir()
    (folder / "aarsrapport_x_2026_v1.pdf").write_bytes(b"orphan")
    (folder / "aarsrapport_x_2026_udkast.pdf").write_bytes(b"draft")
    problems = publish.integrity_problems(folder, "x", 2026, [])
    assert len(problems) == 1 and "aarsrapport_x_2026_v1.pdf" in problems[0]


# --- the launchpad ---------------------------------------------------------------------------


def required_fields(snapshot, type_snap, path=()) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    """The paths of the config fields that have to be filled in (required, no default)."""
    found = []
    for field in type_snap.fields or []:
        if not field.is_required:
            continue
        inner = snapshot.get_config_snap(field.type_key)
        if inner.fields:
            found += required_fields(snapshot, inner, (*path, field.name))
        else:
            found.append((*path, field.name))
    return found


@pytest.mark.parametrize("scope", [SCOPE, "kkr_midtjylland_2026"])
def test_the_sign_off_launchpad_asks_for_the_signer_and_prefills_nothing(scope):
    from dagster._core.snap.snap_to_yaml import default_values_yaml_from_type_snap

    from pipelines.definitions import build_definitions

    defs = build_definitions()

    job = defs.resolve_job_def(f"signoff_{scope}").get_job_snapshot()
    schema = job.config_schema_snapshot
    root = schema.get_config_snap(job.mode_def_snaps[0].root_config_key)
    # what the launchpad opens with: no folder or memory limit as an empty string to delete
    assert default_values_yaml_from_type_snap(schema, root).strip() == "{}"
    # what "Scaffold missing config" adds: the signer and the signer's role, nothing else
    assert required_fields(schema, root) == [
        ("ops", f"sign_off_{scope}", "config", "by"),
        ("ops", f"sign_off_{scope}", "config", "role"),
    ]


# --- through Dagster and the command line ----------------------------------------------------


class Env(ReportEnv):
    """One warehouse, output folder and Dagster instance shared by the tests below."""

    @property
    def folder(self) -> Path:
        return self.year_dir(VER, 2021)

    def copy(self, target: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        """Its warehouse in ``target`` with an empty output folder, so a test that would sign
        by mistake cannot change the shared state."""
        self.use(monkeypatch)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.root / "warehouse.duckdb", target / "warehouse.duckdb")
        monkeypatch.setenv("RESULTATRAPPORT_WAREHOUSE", str(target / "warehouse.duckdb"))
        monkeypatch.setenv("RESULTATRAPPORT_OUT", str(target / "out"))
        return target / "out"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, sample_inbox) -> Env:
    root = tmp_path_factory.mktemp("signoff")
    return Env(root, sample_inbox(range(2020, 2028), 0.05, 9))  # the inbox is only read


def cli(env: Env, monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    env.use(monkeypatch)
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sign(env: Env, monkeypatch, capsys, by: str, role: str = "direktør") -> tuple[int, str, str]:
    return cli(env, monkeypatch, capsys, "sign-off", "--contract", VER, "--year", "2021",
               "--by", by, "--role", role)  # fmt: skip


def versions_recorded(db: Path) -> dict[int, dict]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT version, signed_by, signed_role, files FROM report.signoffs "
            "WHERE contract = $c",
            {"c": VER},
        ).fetchall()
    return {v: {"by": by, "role": role, "files": json.loads(files)} for v, by, role, files in rows}


def latest_check_status(check: str) -> str:
    """How the UI shows the latest execution of ``check`` (``asset:name``) in the instance."""
    import asyncio

    from dagster import AssetCheckKey, AssetKey, DagsterInstance
    from dagster._core.loader import LoadingContextForTest

    asset, name = check.split(":")
    key = AssetCheckKey(AssetKey(asset.split("/")), name)
    with DagsterInstance.get() as instance:
        [record] = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
        return asyncio.run(record.resolve_status(LoadingContextForTest(instance))).value


@pytest.mark.slow
def test_the_current_check_is_skipped_while_nothing_is_signed(env, monkeypatch, capsys):
    code, out, _ = cli(env, monkeypatch, capsys, "run", "--contract", VER, "--year", "2021")
    assert code == 0, out
    assert "signed:current" not in out  # neither a warning nor an error: nothing to judge
    # not a green "passed" either: the UI shows the check as skipped
    env.use(monkeypatch)
    assert latest_check_status(f"report/{SCOPE}/signed:current") == "SKIPPED"


@pytest.mark.slow
def test_the_drafts_cover_prints_the_reporting_deadline_as_a_date(env):
    cover = pdftotext(env.folder / f"aarsrapport_{VER}_2021_udkast.pdf").split("\f")[0]
    assert (
        "Frist for årsrapporten for 2021: 31. januar 2022 (Årlig skriftlig afrapportering til "
        "Viborg Kommune)." in " ".join(cover.split())
    )


@pytest.mark.slow
def test_the_command_line_refuses_a_name_that_is_no_name_before_anything_runs(
    env, monkeypatch, capsys, tmp_path
):
    out_dir = env.copy(tmp_path / "copy", monkeypatch)
    capsys.readouterr()
    code = main(["sign-off", "--contract", VER, "--year", "2021", "--by", INJECTION,
                 "--role", "direktør"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2
    assert "Run " not in captured.out  # no run was launched
    reason = captured.err.strip()
    assert "\n" not in reason and "navn" in reason.lower()
    assert "010190" not in reason and "evil.example" not in reason
    assert not out_dir.exists() or not list(out_dir.rglob("*_v1.*"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signer", "said"),
    [
        ({"by": INJECTION, "role": "direktør"}, "navn"),
        ({"by": "Ida Kontrolsen", "role": " "}, "rolle"),
    ],
)
def test_the_asset_refuses_a_name_or_a_blank_role_from_the_launchpad(
    env, monkeypatch, tmp_path, signer, said
):
    from dagster import DagsterInstance

    from pipelines.definitions import build_definitions

    defs = build_definitions()

    out_dir = env.copy(tmp_path / "copy", monkeypatch)
    job = defs.resolve_job_def(f"signoff_{SCOPE}")
    config = {"ops": {f"sign_off_{SCOPE}": {"config": signer}}}
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance, partition_key="2021", run_config=config, raise_on_error=False
        )
    assert not result.success
    messages = [
        e.step_failure_data.error.message
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data.error
    ]
    assert any(said in m.lower() and "Godkendelsen afvises: " in m for m in messages), messages
    assert not any("010190" in m or "evil.example" in m for m in messages), messages
    assert not out_dir.exists() or not list(out_dir.rglob("*_v1.*"))


@pytest.mark.slow
def test_signed_files_are_read_only_and_their_hashes_recorded(env, monkeypatch, capsys):
    code, out, _ = sign(env, monkeypatch, capsys, "  Ida   Kontrolsen ", " direktør ")
    assert code == 0, out
    recorded = versions_recorded(env.root / "warehouse.duckdb")
    assert recorded[1]["by"] == "Ida Kontrolsen" and recorded[1]["role"] == "direktør"
    assert set(recorded[1]["files"]) == {
        f"aarsrapport_{VER}_2021_v1.pdf",
        f"resultatopfyldelse_{VER}_2021_v1.csv",
        f"aarsrapport_{VER}_2021_v1_datakvalitet_intern.html",  # the internal appendix
    }
    for name, digest in recorded[1]["files"].items():
        path = env.folder / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o444, name
        assert publish.sha256(path.read_bytes()) == digest
    # accessible and archivable by an independent validator (page-validation), the chart a
    # Figure whose text alternative gives the years' figures and the target in Danish
    pdf = (env.folder / f"aarsrapport_{VER}_2021_v1.pdf").read_bytes()
    assert validation_failures(pdf) == []
    [alt] = figure_alts(pdf)
    assert re.search(r"2020: \d,\d\d; 2021: \d,\d\d;.* mål ≥ 1,00 i alle år\.$", alt), alt
    assert not [p for p in env.out.rglob(".*")], "temporary files left behind"


SIGNED_BY = "Ida Kontrolsen, direktør, den"  # the role after the name, as the cover says it


@pytest.mark.slow
def test_the_signed_reports_cover_names_the_signers_role_and_the_csv_the_name_alone(env):
    """Issue 26 point 7: the contract makes the director answer for the report; the cover
    says in what role the signer signed, the submission's Godkendt af keeps the name."""
    today = long_date(dt.datetime.now(ZoneInfo("Europe/Copenhagen")).date())
    text = pdftotext(env.folder / f"aarsrapport_{VER}_2021_v1.pdf")
    cover = " ".join(text.split("\f")[0].split())
    assert f"Godkendt version 1, godkendt af {SIGNED_BY} {today}." in cover, cover
    flat = " ".join(text.split())  # the signature under the provenance says the same
    assert f"Godkendt af {SIGNED_BY} {today} (version 1)." in flat
    data = (env.folder / f"resultatopfyldelse_{VER}_2021_v1.csv").read_bytes().decode("utf-8-sig")
    header = data.split("\r\n")[0]
    assert header == (  # the recipients' columns exactly (shared/formats/submissions.md)
        "Kontrakt;Organisation;År;Opgørelse;Mål-ID;Målepunkt;Enhed;Resultat;Målværdi;Operator;"
        "Status;Usikker;Grundlag;Nedre 95 %;Øvre 95 %;Diskretioneret;Bemærkning;Godkendt af;"
        "Godkendt dato"
    )
    rows = list(csv.DictReader(io.StringIO(data), delimiter=";"))
    assert rows and {r["Godkendt af"] for r in rows} == {"Ida Kontrolsen"}
    assert "direktør" not in data


@pytest.mark.slow
def test_the_signed_csv_is_final_and_prints_each_figure_as_kpis_does_never_contradicting(
    env, monkeypatch, capsys
):
    """viborg-ver-2020 2021, signed in a later year with every delivery in: Endelig; each
    Resultat as the report rounds it, and no row reads as the other status (issue 25)."""
    text = (env.folder / f"resultatopfyldelse_{VER}_2021_v1.csv").read_text("utf-8-sig")
    assert text.startswith("Kontrakt;Organisation;År;Opgørelse;Mål-ID;")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert {r["Opgørelse"] for r in rows} == {"Endelig"}
    code, out, _ = cli(env, monkeypatch, capsys, "kpis", "--contract", VER, "--year", "2021")
    assert code == 0
    table = {line.split()[0]: line for line in out.splitlines()[2:] if line.strip()}
    for r in rows:
        if not r["Resultat"]:
            continue
        assert f" {number_text(r['Resultat'])} {r['Enhed']}" in table[r["Mål-ID"]], (r, table)
        if r["Målværdi"]:
            printed = float(r["Resultat"].replace(",", "."))
            target = float(r["Målværdi"].replace(",", "."))
            met = meets(r["Operator"], target)(printed)
            assert met == (r["Status"] == "Opfyldt"), r


def number_text(csv_cell: str) -> str:
    """A CSV number as `kpis` prints it (thousands separated)."""
    whole, _, fraction = csv_cell.partition(",")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    grouped = f"{int(digits):,}".replace(",", ".")
    return sign + grouped + ("," + fraction if fraction else "")


@pytest.mark.slow
def test_the_sign_off_run_is_tagged_with_the_signer_and_the_check_judges_it(env, monkeypatch):
    from dagster import DagsterInstance, RunsFilter

    from assets.report import SIGNER_TAG

    env.use(monkeypatch)
    with DagsterInstance.get() as instance:
        [run] = instance.get_runs(RunsFilter(job_name=f"signoff_{SCOPE}"), limit=1)
    assert run.tags[SIGNER_TAG] == "Ida Kontrolsen"  # as published, not as typed
    assert latest_check_status(f"report/{SCOPE}/signed:current") == "SUCCEEDED"


@pytest.mark.slow
def test_the_deadline_check_passes_once_the_year_is_signed(env, monkeypatch):
    env.use(monkeypatch)
    found = judged(run_check("2022-02-03"))  # after the deadline of 2021
    assert found["2021"][0] is True and "er godkendt" in found["2021"][2]
    assert found["2020"][0] is False  # never signed


@pytest.mark.slow
def test_signing_unchanged_data_again_says_who_signed_it_and_when(env, monkeypatch, capsys):
    code, out, _ = sign(env, monkeypatch, capsys, "Bo Revisorsen")
    today = dt.datetime.now(ZoneInfo("Europe/Copenhagen")).date()
    notice = f"Intet nyt at godkende: v1 er godkendt af {SIGNED_BY} {long_date(today)}"
    assert code == 0, out
    assert notice in out
    assert "OK -" not in out
    assert not list(env.folder.glob("*_v2.*"))
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(AssetKey(["report", SCOPE, "signed"]))
    assert event is not None and event.asset_materialization is not None
    assert event.asset_materialization.metadata["message"].value == notice


@pytest.mark.slow
def test_a_file_warehouse_shows_a_signed_version_only_while_its_data_is_the_signed_data(
    env, monkeypatch, capsys, tmp_path
):
    year = ("--contract", VER, "--year", "2021")
    code, signed, err = cli(env, monkeypatch, capsys, "show-signed", *year, "--version", "1", "--json")  # fmt: skip
    assert code == 0, err
    assert f"v1 er godkendt af {SIGNED_BY} " in err
    code, now, _ = cli(env, monkeypatch, capsys, "kpis", *year, "--json")
    assert code == 0 and json.loads(signed) == json.loads(now)
    # the data changes after the sign-off (on a copy): a file keeps no history, so it says so
    env.copy(tmp_path / "copy", monkeypatch)
    with duckdb.connect(str(tmp_path / "copy" / "warehouse.duckdb")) as con:
        con.execute("UPDATE kpi.results SET value = coalesce(value, 0) + 1000")
    capsys.readouterr()
    code = main(["show-signed", *year, "--version", "1"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "som ikke gemmer historik, og dets data er ændret siden" in captured.err
    code = main(["show-signed", *year, "--version", "3"])
    assert code == 2 and "har ingen godkendt version 3 (godkendt: v1)" in capsys.readouterr().err


@pytest.mark.slow
def test_a_signed_file_changed_by_hand_is_named_by_the_sign_off_and_the_check(
    env, monkeypatch, capsys
):
    name = f"resultatopfyldelse_{VER}_2021_v1.csv"
    path = env.folder / name
    original = path.read_bytes()
    lines = original.decode("utf-8-sig").split("\r\n")
    column = lines[0].split(";").index("Grundlag")
    number = next(i for i, line in enumerate(lines[1:], 1) if line.split(";")[column])
    cells = lines[number].split(";")
    cells[column] = str(int(cells[column]) + 1)  # one figure changed
    lines[number] = ";".join(cells)
    path.chmod(0o644)  # what someone editing it by hand would have to do
    path.write_bytes("\r\n".join(lines).encode("utf-8-sig"))

    code, out, _ = sign(env, monkeypatch, capsys, "Bo Revisorsen")
    assert code == 1, out
    assert "Godkendelsen afvises" in out and name in out and "ændret" in out
    code, out, _ = cli(env, monkeypatch, capsys, "run", "--contract", VER, "--year", "2021")
    assert code == 1, out
    assert f"check ERROR report/{SCOPE}/signed:current" in out
    assert name in out and "ændret" in out

    path.write_bytes(original)
    path.chmod(0o444)
    pdf = f"aarsrapport_{VER}_2021_v1.pdf"
    kept = env.root / pdf
    (env.folder / pdf).rename(kept)
    code, out, _ = sign(env, monkeypatch, capsys, "Bo Revisorsen")
    kept.rename(env.folder / pdf)
    assert code == 1, out
    assert pdf in out and "mangler" in out
    code, out, _ = sign(env, monkeypatch, capsys, "Bo Revisorsen")
    assert code == 0 and "Intet nyt at godkende: v1" in out, out


# --- a sign-off killed at chosen points -------------------------------------------------------

# runs the command line with the process killed (SIGKILL, by itself) right before or right after
# a function of the publish module, e.g. "before:link_staged" or "after:record_signoff"
KILLED_AT = """
import os, signal, sys
from resultatrapport.report import publish

when, name = sys.argv[1].split(":")
function = getattr(publish, name)

def killed(*args, **kwargs):
    if when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    function(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

setattr(publish, name, killed)
from commands.cli import main
from resultatrapport.kpis.status import meets
sys.exit(main(sys.argv[2:]))
"""


def killed_at(env: dict[str, str], point: str, *args: str) -> tuple[int, str]:
    return finish(python(env, "-c", KILLED_AT, point, *args))


def command(env: dict[str, str], *args: str) -> tuple[int, str]:
    return finish(spawn_cli(env, *args))


@pytest.mark.slow
def test_a_sign_off_killed_at_any_point_leaves_the_whole_recorded_version_or_no_trace(
    tmp_path, sample_inbox
):
    env = environment(tmp_path, sample_inbox(range(2020, 2028), 0.05, 9))
    db, folder = tmp_path / "warehouse.duckdb", tmp_path / "out" / VER / "2021"
    signoff = ("sign-off", "--contract", VER, "--year", "2021", "--by", "Ida Kontrolsen",
               "--role", "direktør")  # fmt: skip
    # the report, the submission and the version's internal data-quality appendix: one act
    v1 = {f"aarsrapport_{VER}_2021_v1.pdf", f"resultatopfyldelse_{VER}_2021_v1.csv",
          f"aarsrapport_{VER}_2021_v1_datakvalitet_intern.html"}  # fmt: skip

    def signed() -> set[str]:
        return {p.name for p in folder.iterdir()
                if re.search(r"_v\d+(\.(pdf|csv)|_datakvalitet_intern\.html)$", p.name)}  # fmt: skip

    code, out = command(env, "run", "--contract", VER, "--year", "2021")
    assert code == 0, out

    # killed with the files written in the temporary folder: nothing is visible
    code, out = killed_at(env, "before:link_staged", *signoff)
    assert code == -signal.SIGKILL, out
    assert signed() == set() and versions_recorded(db) == {}
    assert sorted(p.name for p in (folder / ".signoff-v1.tmp").iterdir()) == sorted(v1)

    # killed with the files linked into place but not recorded: the next start takes them back
    code, out = killed_at(env, "before:record_signoff", *signoff)
    assert code == -signal.SIGKILL, out
    assert signed() == v1 and versions_recorded(db) == {}
    assert (folder / ".signoff-v1.tmp").is_dir()

    # killed after the record, before the temporary folder is removed: the version stands
    code, out = killed_at(env, "after:record_signoff", *signoff)
    assert code == -signal.SIGKILL, out
    assert signed() == v1 and set(versions_recorded(db)) == {1}
    assert (folder / ".signoff-v1.tmp").is_dir()

    # the nightly run's check finishes it
    code, out = command(env, "run", "--contract", VER, "--year", "2021")
    assert code == 0, out
    assert "signed:current" not in out
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]

    code, out = command(env, *signoff)
    assert code == 0, out
    assert "Intet nyt at godkende: v1 er godkendt af Ida Kontrolsen" in out
    assert signed() == v1
    recorded = versions_recorded(db)[1]["files"]
    assert {n: publish.sha256((folder / n).read_bytes()) for n in v1} == recorded
    assert not [p for p in (tmp_path / "out").rglob(".*")], "temporary files left behind"
    assert os.stat(folder / f"aarsrapport_{VER}_2021_v1.pdf").st_nlink == 1
