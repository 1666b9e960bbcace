"""The command line explains itself: help with examples, errors in one line (exit 2) before
anything runs, progress before the work it announces, and a reason on every failed check's
line. Fast: no Dagster run except the one that shows a failed run without stack traces."""

from __future__ import annotations

import io
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from dagster import AssetCheckSeverity, AssetKey, MetadataValue

from commands import cli, runs
from commands.cli import build_parser, main
from pipelines.automation import RANGE_END_TAG, RANGE_START_TAG
from resultatrapport.progress import track

KKR, VER = "kkr-midtjylland-2026", "viborg-ver-2020"
SIGNER = ["--by", "Anne Hansen", "--role", "direktør"]
COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and "Stack Trace" not in captured.err
    assert "Run " not in captured.out  # nothing was launched
    return lines[0]


@pytest.fixture
def open_until_2026(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline's years as on a day of 2026 (2027, a year of KKR, is not open yet), so
    the tests do not change on 1 January 2027."""
    from pipelines import partitions

    keys = [str(y) for y in range(2020, 2027)]
    monkeypatch.setattr(partitions, "YEARS", SimpleNamespace(get_partition_keys=lambda: keys))


# --- help -------------------------------------------------------------------------------------


def test_every_command_is_listed_with_its_summary(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert set(COMMANDS) >= {"run", "backfill", "ingest", "sign-off", "kpis", "bench"}
    for command in COMMANDS:
        assert command in out
    assert "--debug" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_a_description_and_an_example_in_its_help(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    description = out.split("\n\n")[1]  # after the usage
    assert not description.startswith("options:") and len(description) > 40, out
    examples = out.split("Examples (eksempler):\n", 1)[1]
    assert f"  resultatrapport {command} " in examples


# --- a wrong command line: one line, exit 2 ---------------------------------------------------


def test_sign_off_without_contract_and_year_is_refused_not_done_for_a_default(capsys):
    assert main(["sign-off", *SIGNER]) == 2
    line = one_error_line(capsys)
    assert line.startswith("resultatrapport sign-off: ")
    assert "--contract" in line and "--year" in line and "--help" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--year", "2026"],
        ["run", "--contract", KKR],
        ["backfill", "--years", "2026"],
        ["ingest", "--years", "2026"],
    ],
)
def test_commands_that_act_on_a_contract_need_it_said(argv, capsys):
    assert main(argv) == 2
    assert "disse argumenter mangler: --" in one_error_line(capsys)


def test_a_malformed_argument_is_one_line(capsys):
    assert main(["run", "--contract", KKR, "--year", "20x6"]) == 2
    assert "'20x6'" in one_error_line(capsys)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["sample-data", "--scale", "-1"], "--scale: '-1' skal være over 0"),
        (["sample-data", "--scale", "nan"], "--scale: 'nan' skal være over 0"),
        (["sample-data", "--scale", "lidt"], "--scale: 'lidt' er ikke et tal"),
        (["sample-data", "--seed", "x"], "--seed: 'x' er ikke et helt tal"),
        (["backfill", "--contract", VER, "--years", "2020-abc"], "'abc' er ikke et årstal"),
        (["backfill", "--contract", VER, "--years", "2023-2020"], "tom række af år: 2023-2020"),
        (["show-signed", "--contract", KKR, "--year", "2026", "--version", "0"], "mindst 1"),
        (["bench", "--scales", "1,0"], "--scales: '0' skal være over 0"),
        (["validate-methods", "--replications", "0"], "--replications: '0' skal være mindst 1"),
        (["run", "--contract", KKR, "--year", "2026", "--bogus"], "ukendte argumenter: --bogus"),
        (["nope"], "ukendt valg 'nope'"),
    ],
)
def test_every_invalid_argument_is_one_danish_line(argv, said, capsys):
    """A wrong argument is one line in the language of the command's other errors (Danish),
    never a traceback: `sample-data --scale -1` once ended in a raw ValueError and argparse's
    own messages were English beside Danish refusals."""
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert said in line and "(se: resultatrapport" in line, line
    for english in ("invalid", "required", "unrecognized", "choose from", "must be"):
        assert english not in line, line


# --- unknown contract, unknown year, a year not open yet ----------------------------------------


def test_kpis_of_an_unknown_contract_says_so_not_run_first(capsys):
    assert main(["kpis", "--contract", "nope", "--year", "2026"]) == 2
    line = one_error_line(capsys)
    assert line.startswith("Ukendt kontrakt 'nope'") and KKR in line and VER in line
    assert "run" not in line


@pytest.mark.parametrize("command", ["run", "sign-off", "kpis"])
def test_a_year_outside_the_contract_is_an_unknown_year(command, capsys):
    argv = [command, "--contract", VER, "--year", "2024"]
    assert main(argv + (SIGNER if command == "sign-off" else [])) == 2
    line = one_error_line(capsys)
    assert line.startswith("Ukendt år: 2024 ligger uden for kontraktperioden for viborg-ver-2020")


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--contract", KKR, "--year", "2027"],
        ["sign-off", "--contract", KKR, "--year", "2027", *SIGNER],
        ["backfill", "--contract", KKR, "--years", "2026-2027"],
        ["ingest", "--contract", VER, "--years", "2026-2027"],
    ],
)
def test_a_contract_year_that_is_no_partition_yet_is_not_open_yet(argv, open_until_2026, capsys):
    # before: a DagsterUnknownPartitionError traceback, after the ingestion had run
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert line.startswith("Ikke åbnet endnu: 2027 ") and "(2020-2026;" in line


def test_ingest_of_a_year_before_the_pipeline_is_an_unknown_year(capsys):
    assert main(["ingest", "--contract", VER, "--years", "2018-2019"]) == 2
    assert one_error_line(capsys).startswith("Ukendt år: 2018-2019 ligger før")


def test_a_backfill_of_years_that_do_not_follow_each_other_is_one_line(capsys):
    assert main(["backfill", "--contract", VER, "--years", "2020,2022"]) == 2
    assert one_error_line(capsys) == "Angiv en række på hinanden følgende år, fx 2020-2023"


@pytest.mark.parametrize("by", ["", "  ", "12345678", "=HYPERLINK(1)"])
def test_sign_off_by_no_name_is_one_line(by, capsys):
    argv = ["sign-off", "--contract", KKR, "--year", "2026", "--by", by, "--role", "direktør"]
    assert main(argv) == 2
    assert "navn" in one_error_line(capsys).lower()


def test_sign_off_without_the_signers_role_is_refused_in_one_line(capsys):
    # before: signed with the name alone, the cover saying nothing of who answers for it
    assert main(["sign-off", "--contract", KKR, "--year", "2026", "--by", "Anne Jensen"]) == 2
    line = one_error_line(capsys)
    assert line.startswith("resultatrapport sign-off: ") and "mangler: --role" in line


@pytest.mark.parametrize("role", ["", "   ", "\t"])
def test_sign_off_with_a_blank_role_is_one_danish_line(role, capsys):
    argv = ["sign-off", "--contract", KKR, "--year", "2026", "--by", "Anne Jensen", "--role", role]
    assert main(argv) == 2
    assert one_error_line(capsys) == (
        "Godkendelse kræver den godkendendes rolle (role), fx direktør."
    )


def test_kpis_says_its_defaults_before_it_reads(capsys):
    assert main(["kpis"]) == 2  # no warehouse yet
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"kpis: --contract {KKR} --year 2026 (default)"
    assert err[1].startswith("Intet datalager i ")


# --- an unexpected error: one line, the traceback with --debug ---------------------------------


def _broken(args: Any) -> int:
    raise RuntimeError("disk full\nsecond line")


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    monkeypatch.setattr(cli, "cmd_kpis", _broken)
    assert main(["kpis", "--contract", KKR, "--year", "2026"]) == 2
    assert one_error_line(capsys) == "RuntimeError: disk full (--debug viser hvor)"
    with pytest.raises(RuntimeError):
        main(["--debug", "kpis", "--contract", KKR, "--year", "2026"])
    with pytest.raises(RuntimeError):
        main(["kpis", "--contract", KKR, "--year", "2026", "--debug"])
    assert cli._debug  # reset by the next command
    main(["kpis", "--contract", KKR, "--year", "2026"])
    assert not cli._debug


def _interrupted(args: Any) -> int:
    raise KeyboardInterrupt


def test_ctrl_c_is_one_line_too(monkeypatch, capsys):
    monkeypatch.setattr(cli, "cmd_kpis", _interrupted)
    assert main(["kpis", "--contract", KKR, "--year", "2026"]) == 130
    assert one_error_line(capsys).startswith("Afbrudt: kommandoen er stoppet")


# --- a failed Dagster run: its reason, no stack traces ------------------------------------------


def test_a_refused_sign_off_run_says_the_reason_without_stack_traces(capsys):
    # a real run: nothing is drafted, the sign-off asset raises Failure
    assert main(["sign-off", "--contract", VER, "--year", "2021", *SIGNER]) == 1
    captured = capsys.readouterr()
    assert "Stack Trace" not in captured.err and "Traceback" not in captured.err
    assert "dagster._core" not in captured.out + captured.err
    failed = captured.out.splitlines()
    reason = failed[failed.index(f"  FAILED step sign_off_{VER.replace('-', '_')}") + 1]
    assert reason.strip().startswith("Godkendelsen afvises: ")


def test_the_reason_of_a_step_is_the_innermost_user_error():
    def error(cls_name: str, message: str, cause: Any = None) -> Any:
        return SimpleNamespace(cls_name=cls_name, message=message, cause=cause)

    failure = error("Failure", "dagster._core.definitions.events.Failure: Afvist: x.\n")
    assert runs._error_line(failure) == "Afvist: x."
    wrapped = error(
        "DagsterExecutionStepExecutionError",
        'dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op "a":\n',
        error("SourceError", "resultatrapport.reader.SourceError: fil.csv, linje 1: x\n  y\n"),
    )
    assert runs._error_line(wrapped) == "SourceError: fil.csv, linje 1: x"


# --- progress before the work it announces ------------------------------------------------------


def test_track_can_announce_each_item_before_its_work():
    out = io.StringIO()
    seen = []
    for year in track([2024, 2025], "ingesting", stream=out, note=str, announce=True):
        seen.append(out.getvalue().splitlines()[-1])
        print(f"run of {year}", file=out)
    assert seen == ["ingesting: 2024 (1/2) ...", "ingesting: 2025 (2/2) ..."]
    assert out.getvalue().splitlines() == [
        "ingesting: 2024 (1/2) ...",
        "run of 2024",
        "ingesting: 2025 (2/2) ...",
        "run of 2025",
    ]


class _Result:
    """What runs.summary reads of an ExecuteInProcessResult."""

    def __init__(self, run_id: str, evaluations: list[Any] = (), success: bool = True) -> None:  # type: ignore[assignment]
        self.run_id, self.success, self.all_events = run_id, success, []
        self._evaluations = list(evaluations)

    def get_asset_materialization_events(self) -> list[Any]:
        return []

    def get_asset_check_evaluations(self) -> list[Any]:
        return self._evaluations


class _Job:
    name = "ingest_x"
    asset_layer = SimpleNamespace(executable_asset_keys=[AssetKey(["ingest", "x", "crm"])])

    def with_logger_defs(self, logger_defs: Any) -> _Job:
        return self

    def execute_in_process(self, partition_key: str | None, **kwargs: Any) -> _Result:
        tags = kwargs["tags"]
        span = partition_key or f"{tags[RANGE_START_TAG]}-{tags[RANGE_END_TAG]}"
        return _Result(f"r-{span}")


def test_the_ingestion_of_each_span_of_years_is_one_run_announced_before_it(monkeypatch):
    both = io.StringIO()  # stdout (the summaries) and stderr (progress) as a terminal shows them
    monkeypatch.setattr(sys, "stdout", both)
    monkeypatch.setattr(sys, "stderr", both)
    defs = SimpleNamespace(resolve_job_def=lambda name: _Job())
    contract = SimpleNamespace(id=VER)
    assert runs.ingest_years(None, defs, contract, [2021, 2022, 2023, 2025], 2021) == []
    lines = both.getvalue().splitlines()
    assert lines == [
        "ingesting: 2021-2023 (1/2) ...",
        "Run r-2021-2023 (ingest_x, 2021-2023):",
        "OK - 0 assets materialised",
        "ingesting: 2025 (2/2) ...",
        "Run r-2025 (ingest_x, 2025):",
        "OK - 0 assets materialised",
    ]


# --- a reason on each failed check's line --------------------------------------------------------

ROWS_VALID_TABLE = "\n".join(
    [
        "| regel | kolonne | rækker | årsag | eksempler (linje) |",
        "|---|---|---|---|---|",
        "| cvr_format | cvr | 3 | Ugyldigt CVR-nummer (skal være 8 cifre) | 4, 9, 12 |",
        "| date_in_year | dato | 1 | Dato uden for filens år | 7 |",
    ]
)


def evaluation(check: str, severity: Any = AssetCheckSeverity.WARN, **metadata: Any) -> Any:
    return SimpleNamespace(
        passed=False,
        asset_key=AssetKey(["raw", "org", "crm_cases"]),
        check_name=check,
        severity=severity,
        metadata=metadata,
        description=metadata.pop("description", None),
    )


def check_lines(
    capsys: pytest.CaptureFixture[str], *evaluations: Any, partition: str = "2021"
) -> list[str]:
    runs.summary(_Result("r", evaluations), "job", partition)
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]


def test_a_warning_of_rows_valid_carries_its_first_reason_never_the_examples(capsys):
    rows_valid = evaluation(
        "rows_valid",
        rules_failed=MetadataValue.int(2),
        failed_rules=MetadataValue.md(ROWS_VALID_TABLE),
        examples=MetadataValue.json({"cvr_format": [{"linje": 4, "cvr": "0101901234"}]}),
    )
    assert check_lines(capsys, rows_valid) == [
        "  check WARN raw/org/crm_cases:rows_valid: Ugyldigt CVR-nummer (skal være 8 cifre) "
        "(3 rows; 1 more rule)"
    ]


def test_a_check_line_carries_its_first_problem_note_or_description(capsys):
    long = "x" * 300
    lines = check_lines(
        capsys,
        evaluation("current", problems=MetadataValue.md("- Ingen godkendt version af 2021 endnu")),
        evaluation("file_trustworthy", AssetCheckSeverity.ERROR, note=MetadataValue.text("Ingen fil: a.csv")),
        evaluation("schema_valid", AssetCheckSeverity.ERROR, problems=MetadataValue.json(["kolonne A", "kolonne B"])),
        evaluation("texts_valid", AssetCheckSeverity.ERROR, problems=MetadataValue.md(f"- {long}")),
        evaluation("complete", AssetCheckSeverity.ERROR, missing=MetadataValue.json(["M3"]), duplicated=MetadataValue.json([])),
        evaluation("other", description="Beskrivelsen\nanden linje"),
    )  # fmt: skip
    assert lines == [
        "  check WARN raw/org/crm_cases:current: Ingen godkendt version af 2021 endnu",
        "  check ERROR raw/org/crm_cases:file_trustworthy: Ingen fil: a.csv",
        "  check ERROR raw/org/crm_cases:schema_valid: kolonne A",
        "      - kolonne A",
        "      - kolonne B",
        f"  check ERROR raw/org/crm_cases:texts_valid: {'x' * 159}…",
        f"      - {long}",  # in full where the check line had to shorten it
        "  check ERROR raw/org/crm_cases:complete: missing: ['M3']",
        "  check WARN raw/org/crm_cases:other: Beskrivelsen",
    ]


def test_each_failed_step_is_followed_by_its_reason(capsys):
    def failed(step: str, message: str) -> Any:
        error = SimpleNamespace(cls_name="Failure", message=f"x.Failure: {message}", cause=None)
        return SimpleNamespace(
            is_step_failure=True, step_key=step, step_failure_data=SimpleNamespace(error=error)
        )

    result = _Result("r", success=False)
    result.all_events = [failed("a", "Fejl i a"), failed("b", "Fejl i b")]
    assert runs.summary(result, "job", "2021") == 1
    assert capsys.readouterr().out.splitlines()[1:] == [
        "  FAILED step a",
        "      Fejl i a",
        "  FAILED step b",
        "      Fejl i b",
        "FAILED - 0 assets materialised",
    ]


def test_a_check_failed_alike_in_several_years_of_a_run_is_one_line_naming_them(capsys):
    def in_year(year: int, note: str) -> Any:
        found = evaluation("rows_valid", note=MetadataValue.text(note))
        found.partition = str(year)
        return found

    lines = check_lines(
        capsys,
        *(in_year(y, "Ugyldig dato") for y in (2021, 2022, 2023, 2025)),
        in_year(2024, "Andet"),
    )
    assert lines == [
        "  check WARN raw/org/crm_cases:rows_valid (2021-2023, 2025): Ugyldig dato",
        "  check WARN raw/org/crm_cases:rows_valid: Andet",
    ]


def test_a_step_that_gave_up_after_its_retries_is_summarised_by_its_cause():
    from dagster._utils.error import SerializableErrorInfo

    from commands.runs import _error_line

    cause = SerializableErrorInfo(
        "dagster._core.definitions.events.Failure: Rapporten kan ikke skrives i /ud: der er "
        "ikke mere plads på disken.\n",
        [],
        "Failure",
    )
    wrapped = SerializableErrorInfo(
        "Error occurred while executing op", [], "DagsterExecutionStepExecutionError", cause
    )
    gave_up = SerializableErrorInfo("Exceeded max_retries of 2\n", [], "RetryRequested", wrapped)
    assert _error_line(gave_up) == (
        "Rapporten kan ikke skrives i /ud: der er ikke mere plads på disken. "
        "(opgivet efter 3 forsøg)"
    )
    # a plain error that a retry policy retried is the context of the retry, not its cause
    plain = SerializableErrorInfo("duckdb.ParserException: syntax error\n", [], "ParserException")
    retried = SerializableErrorInfo(
        "Exceeded max_retries of 2\n", [], "RetryRequested", None, plain
    )
    assert _error_line(retried) == "ParserException: syntax error (opgivet efter 3 forsøg)"
