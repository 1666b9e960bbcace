"""`resultatrapport`: what report owners and scripts do outside the Dagster UI.

Every command that computes something launches the Dagster asset graph; none of them
re-implements a step. An error is one line on stderr and exit code 2, said before anything is
launched where it can be (unknown contract, a year outside it or not open yet, a signer's name
that is no name or an empty role); the Dagster stack traces of a failed run stay in the
instance's event log (the UI) unless --debug is given.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commands.instance import open_instance, process_tags
from commands.interrupt import INTERRUPTED, run_interruptibly
from commands.interrupt import MESSAGE_NO_RUN as INTERRUPTED_NO_RUN
from resultatrapport import lake, settings
from resultatrapport.report.danish import years_text

if TYPE_CHECKING:
    from resultatrapport.contracts import Contract

DEFAULT_CONTRACT = "kkr-midtjylland-2026"
DEFAULT_YEAR = 2026

# --debug: tracebacks of the CLI and Dagster's own console log (with its stack traces)
_debug = False


class CommandError(Exception):
    """A command that cannot go on: its message is the one line the user reads (exit 2)."""


def _year(text: str) -> int:
    """A year as the command line gives it: four digits (said in Danish otherwise)."""
    if not re.fullmatch(r"\s*\d{4}\s*", text):
        raise argparse.ArgumentTypeError(f"{text!r} er ikke et årstal (fx 2026)")
    return int(text)


def parse_years(text: str) -> list[int]:
    """'2020-2027' or '2024,2026' -> list of years."""
    years: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            first, last = (_year(p) for p in part.split("-", 1))
            if last < first:
                raise argparse.ArgumentTypeError(f"tom række af år: {part}")
            years.extend(range(first, last + 1))
        elif part:
            years.append(_year(part))
    if not years:
        raise argparse.ArgumentTypeError("ingen år angivet (fx 2020-2023)")
    return sorted(set(years))


def _number(text: str, *, whole: bool = False, least: float = 0, above: bool = True) -> Any:
    """A number of the command line, said in Danish when it is none or out of range."""
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} er ikke et {'helt tal' if whole else 'tal'}"
        ) from None
    if value != value or (value <= least if above else value < least):  # NaN too
        bound = f"over {least:g}" if above else f"mindst {least:g}"
        raise argparse.ArgumentTypeError(f"{text!r} skal være {bound}")
    return value


def _scale(text: str) -> float:
    return float(_number(text))


def _scales(text: str) -> list[float]:
    return [_scale(x) for x in text.split(",")]


def _count(text: str) -> int:
    return int(_number(text, whole=True, least=1, above=False))


def _whole(text: str) -> int:
    return int(_number(text, whole=True, least=0, above=False))


def cmd_sample_data(args: argparse.Namespace) -> int:
    from resultatrapport.sample.generate import generate_inbox

    out = Path(args.out).resolve() if args.out else settings.inbox_dir()
    started = time.perf_counter()
    manifest = generate_inbox(
        out, args.years, scale=args.scale, seed=args.seed, progress=not args.quiet, hubs=args.hubs
    )
    files = manifest.get("files", {})
    rows = sum(f.get("rows", 0) for f in files.values())
    print(
        f"Sample inbox in {out}: {len(files)} files, {rows:,} data rows "
        f"(scale {args.scale}, seed {args.seed}) in {time.perf_counter() - started:.1f} s"
    )
    for slug, hub in manifest.get("hubs", {}).items():
        print(f"  {slug}/: {hub['name']}, kontrakt {hub['contract']}")
    return 0


def _contract(contract_id: str, years: list[int], any_partition: bool = False):
    """The contract, if all ``years`` lie in its period (with ``any_partition``: in the
    pipeline's years at all, e.g. the earlier years ingestion loads) and are open, i.e. year
    partitions already (a year opens on its 1 January); else None, having said why in one line:
    an unknown contract, an unknown year, a year not open yet.

    A broken contract file stops only commands about its own contract (in one line, the
    error of :attr:`ContractError.summary`); for the others it is a warning."""
    import warnings

    from pipelines.partitions import YEARS
    from resultatrapport.contracts import ContractError, ContractWarning, load_contract_folder

    try:
        folder = load_contract_folder()
    except ContractError as exc:  # no folder, or no contract files in it
        print(exc.summary, file=sys.stderr)
        return None
    if contract_id in folder.broken:
        print(f"Kontrakten {contract_id} kan ikke bruges: {folder.broken[contract_id]}",
              file=sys.stderr)  # fmt: skip
        return None
    for message in folder.broken.values():
        print(f"Advarsel: {message} – kontrakten springes over", file=sys.stderr)
    # said once here: the Dagster definitions this command builds would warn again
    warnings.filterwarnings("ignore", category=ContractWarning)
    contracts = folder.contracts
    if contract_id not in contracts:
        print(
            f"Ukendt kontrakt {contract_id!r}; kendte: {', '.join(sorted(contracts))}",
            file=sys.stderr,
        )
        return None
    contract = contracts[contract_id]
    opened = sorted(int(key) for key in YEARS.get_partition_keys())
    if any_partition:
        outside = [y for y in years if y < opened[0]]
        where = f"ligger før pipelinens første år {opened[0]}"
    else:
        outside = [y for y in years if y not in contract.years]
        where = (
            f"ligger uden for kontraktperioden for {contract.id} "
            f"({contract.period.first}-{contract.period.last})"
        )
    if outside:
        print(f"Ukendt år: {years_text(outside)} {where}; intet er kørt", file=sys.stderr)
        return None
    later = [y for y in years if y > opened[-1]]
    if later:
        what = (
            "er endnu ikke åbnet i pipelinen"
            if any_partition
            else f"hører til {contract.id}, men er endnu ikke åbnet i pipelinen"
        )
        print(
            f"Ikke åbnet endnu: {years_text(later)} {what} ({opened[0]}-{opened[-1]}; et år åbner "
            "1. januar); intet er kørt",
            file=sys.stderr,
        )
        return None
    return contract


def _prepare(args: argparse.Namespace) -> None:
    """The Dagster home, for a command that runs."""
    from commands.instance import ensure_dagster_home

    ensure_dagster_home()


def _inbox(args: argparse.Namespace) -> Path:
    """The inbox folder: --inbox, else the environment's (``settings.inbox_dir``)."""
    return settings.inbox_dir(getattr(args, "inbox", None) or "")


def _definitions(args: argparse.Namespace):
    """The code location's definitions, its runs reading the inbox of the command line
    (passed as the ``inbox`` resource, not through the environment)."""
    from pipelines.definitions import build_definitions
    from resources import Inbox

    return build_definitions(inbox=Inbox(path=str(_inbox(args))))


def _inbox_refused(root: Path, contract: Contract, years: list[int]) -> bool:
    """Say why the inbox cannot be read for ``contract`` and ``years`` (True), before
    anything runs; list the files in it that are no delivery."""
    from resultatrapport.formats import FORMATS
    from resultatrapport.inventory import inbox_refusal, unrecognised_files
    from resultatrapport.kpis.compute import partitions_read

    expected = [
        FORMATS[source].relpath(y, org)
        for year in years
        for (source, org), read in partitions_read(contract, year).items()
        for y in read
    ]
    reason = inbox_refusal(root, expected)
    if reason:
        print(reason, file=sys.stderr)
        return True
    strays = unrecognised_files(root)
    if strays:
        print(
            "Filer i indbakken, der ikke er leverancer (de læses ikke; en fil i en "
            "leveringsmappe blokerer sin leverance): " + ", ".join(s.shown for s in strays),
            file=sys.stderr,
        )
    return False


def cmd_run(args: argparse.Namespace) -> int:
    _prepare(args)
    contract = _contract(args.contract, [args.year])
    if contract is None:
        return 2
    if _inbox_refused(_inbox(args), contract, [args.year]):
        return 2
    from commands.runs import build_years

    return build_years(contract, [args.year], _definitions(args), _debug, _inbox(args))


def cmd_backfill(args: argparse.Namespace) -> int:
    """Rebuild a range of contract years (e.g. the January backfill of last year)."""
    _prepare(args)
    contract = _contract(args.contract, args.years)
    if contract is None:
        return 2
    if args.years != list(range(args.years[0], args.years[-1] + 1)):
        raise CommandError("Angiv en række på hinanden følgende år, fx 2020-2023")
    if _inbox_refused(_inbox(args), contract, args.years):
        return 2
    from commands.runs import build_years

    return build_years(contract, args.years, _definitions(args), _debug, _inbox(args))


def cmd_ingest(args: argparse.Namespace) -> int:
    """(Re)ingest the deliveries a contract reads for the given years, without KPIs: e.g.
    after a corrected delivery, or to load the earlier years the effect KPIs follow."""
    _prepare(args)
    contract = _contract(args.contract, args.years, any_partition=True)
    if contract is None:
        return 2
    if _inbox_refused(_inbox(args), contract, args.years):
        return 2
    from commands.runs import ingest_years, say_dead_runs_ended

    # after the contract is known to be valid: building the definitions warns of broken files
    defs = _definitions(args)
    with open_instance() as instance:
        say_dead_runs_ended(instance)
        failed = ingest_years(instance, defs, contract, args.years, min(args.years), _debug)
    if failed:
        print(f"Indlæsningen fejlede for {', '.join(map(str, failed))}", file=sys.stderr)
    return 1 if failed else 0


def cmd_sign_off(args: argparse.Namespace) -> int:
    """Sign off the year's draft: launches the contract's sign-off job with the signer and
    the signer's role, checked first (nothing runs for a name that is no person's name or an
    empty role). When the data are signed already, says by whom and when instead of the run
    summary; while another sign-off of the year is under way, says so in one sentence (exit
    code 2: try again)."""
    from resultatrapport.report.publish import SignOffRefused, signer_name, signer_role

    try:
        signer, role = signer_name(args.by), signer_role(args.role)
    except SignOffRefused as refused:
        print(refused, file=sys.stderr)
        return 2
    _prepare(args)

    from pipelines.jobs import signoff_job_name

    contract = _contract(args.contract, [args.year])
    if contract is None:
        return 2
    from commands.runs import QUIET, execute, say_dead_runs_ended, summary

    # after the contract is known to be valid: building the definitions warns of broken files
    defs = _definitions(args)
    name = signoff_job_name(contract.id)
    config = {"by": signer, "role": role, "preliminary": args.preliminary}
    run_config = {**QUIET, "ops": {f"sign_off_{contract.scope}": {"config": config}}}
    with open_instance() as instance:
        say_dead_runs_ended(instance)
        result = execute(
            defs.resolve_job_def(name), instance, str(args.year), run_config, process_tags(), _debug
        )
    from assets.report import BUSY

    busy = [
        failure.description
        for event in result.all_events
        if event.is_step_failure
        and (failure := event.step_failure_data.user_failure_data) is not None
        and BUSY in failure.metadata
    ]
    if busy:  # "En anden godkendelse af … er i gang; prøv igen, når den er færdig."
        print(busy[0], file=sys.stderr)
        return 2
    signed = [
        event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
        if event.step_materialization_data.materialization.asset_key.path[-1] == "signed"
    ]
    passed = all(e.passed for e in result.get_asset_check_evaluations())
    if result.success and passed and signed and not signed[0]["new_version"].value:
        print(signed[0]["message"].value)  # "Intet nyt at godkende: v1 er godkendt af …"
        return 0
    return summary(result, name, str(args.year))


def cmd_national(args: argparse.Namespace) -> int:
    """Erhvervshusenes målopfyldelse for a year from a folder of every hub's submissions:
    launches the asset national/maalopfyldelse (the job ``national``) for the year, with the
    folder (and --out) as its resources. Refused in one line, before anything runs, for a
    folder that does not exist, a year no framework agreement covers, or a year not open."""
    from resultatrapport.national.output import NationalError, framework_of

    folder = Path(args.submissions).expanduser().resolve()
    if not folder.is_dir():
        raise CommandError(f"Mappen med indberetninger {folder} findes ikke; intet er kørt")
    try:
        framework_of(args.year)
    except NationalError as refused:
        raise CommandError(f"{refused}; intet er kørt") from None
    _prepare(args)
    from commands.runs import QUIET, execute, say_dead_runs_ended, summary
    from pipelines.definitions import build_definitions
    from resources import Renderer, Submissions
    from resultatrapport.naming import NATIONAL

    out = Renderer(out=str(Path(args.out).expanduser().resolve())) if args.out else None
    defs = build_definitions(submissions=Submissions(path=str(folder)), renderer=out)
    job = defs.resolve_job_def(NATIONAL)
    assert job.partitions_def is not None
    opened = job.partitions_def.get_partition_keys()
    if str(args.year) not in opened:
        raise CommandError(
            f"Ikke åbnet endnu: {args.year} er endnu ikke åbnet i pipelinen "
            f"({years_text(map(int, opened))}; et år åbner 1. januar); intet er kørt"
        )
    with open_instance() as instance:
        say_dead_runs_ended(instance)
        result = execute(job, instance, str(args.year), QUIET, process_tags(), _debug)
    code = summary(result, NATIONAL, str(args.year))
    for event in result.get_asset_materialization_events():
        metadata = event.step_materialization_data.materialization.metadata
        if "csv" in metadata and "path" in metadata:
            print(f"Landsoverblik: {metadata['csv'].value} og {metadata['path'].value}")
    return code


def cmd_submit(args: argparse.Namespace) -> int:
    """Send the hubs' signed ``resultatopfyldelse`` files of a year to the recipients' folder
    of submissions, one folder per hub, as the national overview reads them
    (:mod:`resultatrapport.report.submit`): every contract whose organisation is one of the
    framework agreement's hubs, or the ones given."""
    from resultatrapport.contracts import ContractError, load_contract_folder
    from resultatrapport.national.output import NationalError, framework_of
    from resultatrapport.report.submit import SubmitRefused, submit

    try:
        hubs = {h.slug for h in framework_of(args.year).hubs}
        folder = load_contract_folder()
    except (NationalError, ContractError) as error:
        raise CommandError(f"{getattr(error, 'summary', error)}; intet er sendt") from None
    chosen = args.contract or sorted(
        c.id for c in folder.contracts.values() if c.organisation.slug in hubs
    )
    for contract_id in chosen:
        contract = folder.contracts.get(contract_id)
        if contract is None or contract.organisation.slug not in hubs:
            raise CommandError(
                f"{contract_id} er ikke et erhvervshus' kontrakt under rammeaftalen for "
                f"{args.year}; intet er sendt"
            )
    to = Path(args.to).expanduser().resolve()
    out = settings.out_dir()
    if lake.configured() is None and not settings.warehouse_path().exists():
        raise CommandError(f"Intet datalager i {settings.warehouse_path()}: intet er godkendt")
    refused = 0
    with lake.open_configured(read_only=True) as con:
        for contract_id in chosen:
            contract = folder.contracts[contract_id]
            try:
                sent = submit(con, out, contract, args.year, to)
            except SubmitRefused as why:
                print(f"{contract_id}: {why}", file=sys.stderr)
                refused += 1
                continue
            if not sent:
                print(f"{contract_id}: ingen godkendt version for {args.year}; intet sendt")
            for s in sent:
                state = "sendt" if s.new else "sendt før, uændret"
                print(f"{s.path.relative_to(to)} ({state})")
    return 1 if refused else 0


KPI_KEYS = (
    "id",
    "name",
    "unit",
    "value",
    "target",
    "operator",
    "status",
    "uncertain",
    "n",
    "low",
    "high",
    "suppressed",
    "remark",
)


def _published(con: Any, contract_id: str, year: int) -> dict[str, dict[str, Any]]:
    """The year's results as the report publishes them (complementary suppression applied),
    by KPI id; empty for a contract that is not (or no longer) a valid contract file."""
    from resultatrapport.contracts import ContractError, load_contract_folder
    from resultatrapport.report import content

    try:
        contract = load_contract_folder().contracts.get(contract_id)
    except ContractError:
        return {}
    if contract is None:
        return {}
    return {r["kpi_id"]: r for r in content.published(con, contract, year)[0]}


def cmd_kpis(args: argparse.Namespace) -> int:
    """Print the results table of a contract and year (read from the warehouse)."""
    said = _defaults(args)
    if _contract(args.contract, [args.year]) is None:  # unknown contract or year: said
        return 2
    said()
    path = settings.warehouse_path()
    if lake.configured() is None and not path.exists():
        print(f"Intet datalager i {path}: kør først `resultatrapport run`.", file=sys.stderr)
        return 2
    with lake.open_configured(read_only=True) as con:
        records = _kpi_records(con, args.contract, args.year)
    if not records:
        print(
            f"No results for {args.contract} {args.year}: run `resultatrapport run` first.",
            file=sys.stderr,
        )
        return 2
    _show_records(records, args.json)
    return 0


RECORD_COLUMNS = (
    "kpi_id", "name", "unit", "value", "target", "operator", "status", "uncertain", "n", "low",
    "high", "suppressed", "remark",
)  # fmt: skip


def _kpi_records(con: Any, contract_id: str, year: int) -> list[dict[str, Any]]:
    """The year's KPI results as the report and the submissions publish them; empty if none."""
    import duckdb

    from resultatrapport.kpis import results_table

    try:
        rows = results_table.read(con, contract_id, year, RECORD_COLUMNS)
    except (duckdb.CatalogException, duckdb.BinderException):
        return []  # no results table, or one made by an older version
    shown = _published(con, contract_id, year) if rows else {}
    records = [dict(zip(KPI_KEYS, row.values(), strict=True)) for row in rows]
    for r in records:  # as the report and the submissions publish them
        r.update({key: shown[r["id"]][key] for key in KPI_KEYS[3:] if r["id"] in shown})
    return records


def _show_records(records: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        import json

        print(json.dumps(records, ensure_ascii=False, indent=2))
        return
    _print_table(_kpi_table(records))
    remarks = [(r["id"], r["remark"]) for r in records if r["remark"]]
    if remarks:
        print()
        for kpi_id, remark in remarks:
            print(f"{kpi_id}: {remark}")


def cmd_show_signed(args: argparse.Namespace) -> int:
    """Print the KPI table of a signed version as it was signed: on a lake read from the
    snapshot the sign-off recorded, whatever changed since; on a file warehouse (which keeps
    no history) from the warehouse while its data is still the signed data, else refused."""
    from resultatrapport.contracts import load_contracts
    from resultatrapport.report import content, publish

    if _contract(args.contract, [args.year]) is None:  # unknown contract or year: said
        return 2
    where = lake.configured()
    path = settings.warehouse_path()
    if where is None and not path.exists():
        print(f"Intet datalager i {path}: kør først `resultatrapport run`.", file=sys.stderr)
        return 2
    with lake.open_configured(read_only=True) as con:
        signed = publish.signoffs(con, args.contract, args.year)
        signoff = signed.get(args.version)
        if signoff is None:
            versions = ", ".join(f"v{v}" for v in signed) or "ingen"
            raise CommandError(
                f"{args.contract} {args.year} har ingen godkendt version {args.version} "
                f"(godkendt: {versions})"
            )
        if signoff.snapshot is None:
            contract = load_contracts()[args.contract]
            if content.data_hash(content.load(con, contract, args.year)) != signoff.data_hash:
                raise CommandError(
                    f"v{args.version} af {args.contract} {args.year} blev godkendt på et "
                    "datalager i én fil, som ikke gemmer historik, og dets data er ændret siden: "
                    "tallene som godkendt står i versionens godkendte filer (resultatopfyldelse "
                    f"v{args.version}, CSV og rapport)"
                )
            records = _kpi_records(con, args.contract, args.year)
    if signoff.snapshot is not None:
        assert where is not None
        with lake.connect(path, settings.duckdb_config(), where, True, signoff.snapshot) as con:
            records = _kpi_records(con, args.contract, args.year)
    print(
        f"{args.contract} {args.year} v{args.version}, {publish.signed_notice(signoff)}"
        + (f" (snapshot {signoff.snapshot})" if signoff.snapshot is not None else ""),
        file=sys.stderr,
    )
    _show_records(records, args.json)
    return 0


def _kpi_table(records: list[dict[str, Any]]) -> list[list[str]]:
    """The rows of `kpis`' table, a header first."""
    from resultatrapport.report.danish import number
    from resultatrapport.report.rounding import printed_target, printed_value
    from resultatrapport.vocabulary import OPERATOR_SIGN

    def fmt(value: float | None, r: dict[str, Any]) -> str:
        """As the report and the CSV print it (resultatrapport/report/rounding.py)."""
        if value is None:
            return "–"
        return printed_value(value, r["unit"], r["target"], r["operator"])

    table = [["Mål", "Målepunkt", "Resultat", "Mål", "Status", "Grundlag", "95 %-interval"]]
    for r in records:
        interval = f"{fmt(r['low'], r)} – {fmt(r['high'], r)}" if r["low"] is not None else ""
        target = (
            f"{OPERATOR_SIGN[r['operator']]} {printed_target(r['target'], r['unit'])}"
            if r["target"] is not None
            else ""
        )
        name = r["name"] if len(r["name"]) <= 48 else r["name"][:47] + "…"
        table.append(
            [
                r["id"],
                name,
                f"{fmt(r['value'], r)} {r['unit']}",
                target,
                r["status"] + (" (usikkert)" if r["uncertain"] else ""),
                number(r["n"]) if r["n"] is not None else "",
                interval,
            ]
        )
    return table


def _print_table(table: list[list[str]]) -> None:
    """Columns padded to their widest cell, a rule under the header."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def cmd_validate_methods(args: argparse.Namespace) -> int:
    """Measure the intervals' coverage and the effect estimator (see resultatrapport.methods)."""
    from resultatrapport.methods import validate

    if args.replications < 1 or args.effect_replications < 1:
        print("--replications og --effect-replications skal være mindst 1", file=sys.stderr)
        return 2
    table = Path(args.table) if args.table else None
    return validate(args.replications, args.effect_replications, args.seed, table)


def cmd_bench(args: argparse.Namespace) -> int:
    """Time the pipeline, its floor and its limit at each scale, and the tiny inbox; print
    the tables and the targets (see commands.bench)."""
    import tempfile

    from commands.bench import TINY, bench, table

    if args.quick and args.lake_server:
        print("--quick measures no nightly run, so none on a lake: leave out one of them",
              file=sys.stderr)  # fmt: skip
        return 2
    said = _defaults(args)
    if _contract(args.contract, [args.year]) is None:
        return 2
    said()
    scales = args.scales or ([TINY] if args.quick else [1, 10, 100])
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = bench(
        scales, args.contract, args.year, workdir, lake_server=args.lake_server, quick=args.quick
    )
    print(table(results))
    return 0


# argparse's own messages (Python 3.11), said in Danish like every other error of the command
_USAGE_ERRORS = (
    (r"the following arguments are required: (.*)", "disse argumenter mangler: {0}"),
    (r"unrecognized arguments: (.*)", "ukendte argumenter: {0}"),
    (
        r"argument (\S+): invalid choice: (.*) \(choose from (.*)\)",
        "{0}: ukendt valg {1} (vælg mellem {2})",
    ),
    (r"argument (\S+): invalid \S+ value: (.*)", "{0}: ugyldig værdi {1}"),
    (r"argument (\S+): expected one argument", "{0}: mangler en værdi"),
    (r"argument (\S+): ignored explicit argument (.*)", "{0}: tager ingen værdi ({1})"),
    (r"argument (\S+): not allowed with argument (.*)", "{0}: kan ikke gives sammen med {1}"),
    (r"ambiguous option: (\S+) could match (.*)", "tvetydigt argument {0}: kan være {1}"),
    (r"argument (\S+): (.*)", "{0}: {1}"),  # an ArgumentTypeError, said in Danish already
)


def danish_usage_error(message: str) -> str:
    """argparse's message of a wrong command line in Danish (unknown ones as they are)."""
    for pattern, danish in _USAGE_ERRORS:
        if match := re.fullmatch(pattern, message, re.S):
            return danish.format(*match.groups())
    return message


class _Parser(argparse.ArgumentParser):
    """Says a wrong command line in one line (argparse prints the usage too), exit code 2."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: {danish_usage_error(message)} (se: {self.prog} --help)\n")


def _debug_flag() -> argparse.ArgumentParser:
    # allowed before and after the sub-command; SUPPRESS: the sub-command's default does not
    # overwrite a --debug given before it
    flag = argparse.ArgumentParser(add_help=False)
    flag.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="on an error show the traceback, and Dagster's full console log of a run",
    )
    return flag


def _command(sub: Any, name: str, func: Any, summary: str, description: str, examples: str) -> Any:
    """One sub-command: ``summary`` in the list of commands, ``description`` and ``examples``
    (lines of shell) in its --help."""
    p = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog="Examples (eksempler):\n" + "\n".join(f"  {line}" for line in examples.splitlines()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_debug_flag()],
    )
    p.set_defaults(func=func)
    return p


INBOX_HELP = "inbox folder (default: $RESULTATRAPPORT_INBOX or var/inbox)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="resultatrapport",
        description=__doc__,
        epilog="Every command has its own --help with examples, e.g. resultatrapport run --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_debug_flag()],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(
        sub, "sample-data", cmd_sample_data, "write a generated sample inbox",
        "Write a generated inbox of deliveries (register, CRM, survey and ERST files) for the\n"
        "given years: made-up firms and people, for trying the pipeline.",
        "resultatrapport sample-data --out var/inbox\n"
        "resultatrapport sample-data --out /tmp/inbox --years 2024-2026 --scale 0.1\n"
        "resultatrapport sample-data --hubs --out var/inbox --years 2021-2026 --scale 0.1",
    )  # fmt: skip
    p.add_argument("--out", help="inbox folder (default: $RESULTATRAPPORT_INBOX or var/inbox)")
    p.add_argument("--years", type=parse_years, default=parse_years("2020-2027"))
    p.add_argument("--scale", type=_scale, default=1.0, help="1 = one region's year (above 0)")
    p.add_argument("--seed", type=_whole, default=20260101)
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument(
        "--hubs",
        action="store_true",
        help="all six erhvervshuse: a folder per hub for KKR Midtjylland's contract and the five "
        "generated examples (contracts/examples/; run them with RESULTATRAPPORT_EXAMPLE_CONTRACTS=1)",
    )

    p = _command(
        sub, "run", cmd_run, "materialise a contract's asset graph for one year",
        "Ingest the year's deliveries (and earlier years the KPIs read, where not ingested\n"
        "yet), then compute KPIs and budget and write the draft report, as Dagster runs\n"
        "recorded in the instance. Prints a summary per run and the draft's path; exits 1 if\n"
        "a step or a blocking check failed, 2 if nothing could be run.",
        "resultatrapport run --contract kkr-midtjylland-2026 --year 2026\n"
        "resultatrapport run --contract viborg-ver-2020 --year 2021 --inbox var/inbox",
    )  # fmt: skip
    p.add_argument("--contract", required=True, help="contract id, e.g. kkr-midtjylland-2026")
    p.add_argument("--year", type=_year, required=True, help="a year of the contract")
    p.add_argument("--inbox", help=INBOX_HELP)

    p = _command(
        sub, "backfill", cmd_backfill,
        "rebuild a range of contract years: ingestion, KPIs and drafts (one run for the KPIs)",
        "Rebuild consecutive years of a contract, e.g. all of last year's in January: each\n"
        "year is ingested, then KPIs, budget and drafts of the whole range in one run.",
        "resultatrapport backfill --contract viborg-ver-2020 --years 2020-2023",
    )  # fmt: skip
    p.add_argument("--contract", required=True, help="contract id, e.g. viborg-ver-2020")
    p.add_argument("--years", type=parse_years, required=True, help="e.g. 2020-2023")
    p.add_argument("--inbox", help=INBOX_HELP)

    p = _command(
        sub, "ingest", cmd_ingest,
        "(re)ingest the deliveries a contract reads for some years, no KPIs",
        "(Re)ingest the deliveries a contract reads for the given years, without KPIs: after\n"
        "a corrected delivery, or to load the earlier years the effect KPIs follow.",
        "resultatrapport ingest --contract kkr-midtjylland-2026 --years 2021-2025",
    )  # fmt: skip
    p.add_argument("--contract", required=True, help="contract id, e.g. kkr-midtjylland-2026")
    p.add_argument("--years", type=parse_years, required=True, help="e.g. 2021-2025")
    p.add_argument("--inbox", help=INBOX_HELP)

    p = _command(
        sub, "sign-off", cmd_sign_off,
        "sign off the year's draft report: writes version N and the submissions, once",
        "Sign off the year's draft: the contract's sign-off job writes the next version of\n"
        "the report (PDF/A) and the submission CSVs, with the signer's name (and, on the\n"
        "report's cover, the signer's role). Refused, with the reason, while a check fails\n"
        "or the draft is not current; signed data are not signed again.",
        "resultatrapport sign-off --contract kkr-midtjylland-2026 --year 2026 "
        '--by "Anne Hansen" --role direktør',
    )  # fmt: skip
    p.add_argument("--contract", required=True, help="contract id, e.g. kkr-midtjylland-2026")
    p.add_argument("--year", type=_year, required=True, help="a year of the contract")
    p.add_argument(
        "--by",
        required=True,
        help="name of the person who signs off: letters, spaces, hyphens, apostrophes",
    )
    p.add_argument(
        "--role",
        required=True,
        help="the signer's role, e.g. direktør: the signed report's cover says it after the "
        "name (the CSVs carry the name alone)",
    )
    p.add_argument(
        "--preliminary",
        action="store_true",
        help="godkend foreløbige tal: året er ikke slut, eller en leverance mangler (uden "
        "dette afvises en sådan godkendelse); en senere endelig godkendelse bliver næste version",
    )

    _measuring_and_reading_commands(sub)
    return parser


def _measuring_and_reading_commands(sub: Any) -> None:
    """The commands that measure the pipeline (bench, validate-methods) or read what it
    made (kpis, show-signed, national)."""
    p = _command(
        sub, "bench", cmd_bench,
        "time a run as the data grows: pipeline, floor and limit per scale, and the targets",
        "Time a whole run per scale of generated data against its floor (Dagster alone) and\n"
        "its limit (the data alone); the nights after it (nothing new, against its floor; the\n"
        "survey delivered again, against the floor and limit of that delivery's path); the\n"
        "first run on an empty warehouse and a four-year backfill; first, a tiny inbox\n"
        "(scale 0.05): its first run against its nightly run.\n"
        "With --lake-server, each scale's nightly run is measured on a DuckLake warehouse too.\n"
        "With --quick, only the first run against its floor and limit, at the tiny scale\n"
        "unless --scales says otherwise: four processes, a check that the bench works.\n"
        "Prints Markdown tables, the last one each target's ratio as measured in this run;\n"
        "see docs/benchmarks.md. Without --contract and --year:\n"
        f"{DEFAULT_CONTRACT} {DEFAULT_YEAR}, said before it starts.",
        "resultatrapport bench --scales 1,10 --workdir /tmp/benchwork\n"
        "resultatrapport bench --scales 1,100 --lake-server 'host=127.0.0.1 port=5432 user=postgres'\n"
        "resultatrapport bench --quick",
    )  # fmt: skip
    p.add_argument(
        "--scales",
        type=_scales,
        help="comma-separated scales of the sample data (default: 1,10,100, which the targets "
        "name; with --quick 0.05); the tiny inbox is measured too, unless --quick",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="measure only the first run on an empty warehouse against its floor and limit "
        "(four processes per scale; no tiny inbox, nightly runs or backfill): whether the bench "
        "works, its tables and targets whole, the rest saying not measured",
    )
    p.add_argument(
        "--lake-server",
        help="a PostgreSQL server (libpq connection string without dbname; the password in "
        "$PGPASSWORD) on which to make a DuckLake catalog per scale and measure the nightly run "
        "on it too",
    )
    p.add_argument("--contract", help=f"contract id (default: {DEFAULT_CONTRACT})")
    p.add_argument("--year", type=_year, help=f"year (default: {DEFAULT_YEAR})")
    p.add_argument("--workdir", help="where inboxes and runs go (default: a new temporary folder)")

    p = _command(
        sub, "validate-methods", cmd_validate_methods,
        "measure how often the KPIs' 95 %% intervals hold, and the effect estimator's bias",
        "Simulate (or compute exactly) each interval kind's coverage over a grid of sample\n"
        "sizes and true values, and run the growth-effect estimator on generated firms with a\n"
        "planted effect and selection on growth before guidance (bias, RMSE, coverage).\n"
        "Prints Markdown tables (docs/methods.md keeps them); --table also writes the table\n"
        "the report's method notes read. Exits 1 if a figure is outside its bound (mean\n"
        "coverage 93-97 % from 10 answers, effect bias under 10 %).",
        "resultatrapport validate-methods\n"
        "resultatrapport validate-methods --replications 500 --effect-replications 20\n"
        "resultatrapport validate-methods --table resultatrapport/kpis/coverage.csv",
    )  # fmt: skip
    p.add_argument(
        "--replications",
        type=_count,
        default=10_000,
        help="simulated samples per true value (weighted shares; default 10,000)",
    )
    p.add_argument(
        "--effect-replications",
        type=_count,
        default=500,
        help="generated data sets for the effect estimator (default 500)",
    )
    p.add_argument("--seed", type=_whole, default=0)
    p.add_argument("--table", help="also write the measured table (CSV) here")  # fmt: skip

    p = _command(
        sub, "national", cmd_national,
        "the national overview of every hub's submissions for a year (CSV and PDF)",
        "Erhvervshusenes målopfyldelse: read every hub's resultatopfyldelse of the year from a\n"
        "folder laid out as <submissions>/<hub-slug>/resultatopfyldelse_<contract>_<YYYY>_v<N>.csv\n"
        "(the highest version counts; a file that breaks the format is refused with its line\n"
        "and column), pool the framework agreement's national measures over the hubs and write\n"
        "<out>/national/<YYYY>/maalopfyldelse_national_<YYYY>.csv and .pdf, as a Dagster run\n"
        "of the asset national/maalopfyldelse. Exits 1 if the run failed, 2 if nothing ran.",
        "resultatrapport national --year 2026 --submissions var/submissions\n"
        "resultatrapport national --year 2026 --submissions /data/indberetninger --out /data/ud",
    )  # fmt: skip
    p.add_argument("--year", type=_year, required=True, help="a year of the framework agreement")
    p.add_argument(
        "--submissions",
        required=True,
        help="folder of received submissions, one folder per hub (e.g. erhvervshus-fyn/)",
    )
    p.add_argument("--out", help="output folder (default: $RESULTATRAPPORT_OUT or var/out)")

    p = _command(
        sub, "submit", cmd_submit,
        "send the hubs' signed resultatopfyldelse files of a year to a folder per hub",
        "Copy every signed version's resultatopfyldelse_<id>_<YYYY>_v<N>.csv (as its sign-off\n"
        "recorded it) from the output folder to <to>/<hub-slug>/, the layout `national` reads:\n"
        "every contract whose organisation is one of the framework agreement's hubs, or those\n"
        "given. A file the folder holds already is left as it is; other content under its name\n"
        "is refused. Exits 1 if a version could not be sent.",
        "resultatrapport submit --year 2026 --to var/submissions\n"
        "resultatrapport submit --year 2026 --to /data/indberetninger --contract kkr-midtjylland-2026",
    )  # fmt: skip
    p.add_argument("--year", type=_year, required=True, help="the report year")
    p.add_argument("--to", required=True, help="the recipients' folder, one folder per hub")
    p.add_argument(
        "--contract", action="append", help="only this contract (may be given several times)"
    )

    p = _command(
        sub, "kpis", cmd_kpis, "print the KPI results of a contract and year",
        "Print the KPI results of a contract and year from the warehouse, as the report\n"
        "publishes them (suppressed cells suppressed). Without --contract and --year:\n"
        f"{DEFAULT_CONTRACT} {DEFAULT_YEAR}, said on stderr first.",
        "resultatrapport kpis --contract kkr-midtjylland-2026 --year 2026\n"
        "resultatrapport kpis --contract viborg-ver-2020 --year 2021 --json",
    )  # fmt: skip
    p.add_argument("--contract", help=f"contract id (default: {DEFAULT_CONTRACT})")
    p.add_argument("--year", type=_year, help=f"year (default: {DEFAULT_YEAR})")
    p.add_argument("--json", action="store_true", help="a list of objects for scripts")

    p = _command(
        sub, "show-signed", cmd_show_signed, "print the KPI results of a signed version as signed",
        "Print the KPI results of a signed version as they were signed. On a DuckLake\n"
        "warehouse they are read from the snapshot the sign-off recorded, however the data\n"
        "changed since; a single-file warehouse keeps no history and shows them only while\n"
        "its data is still the signed data.",
        "resultatrapport show-signed --contract kkr-midtjylland-2026 --year 2026 --version 1",
    )  # fmt: skip
    p.add_argument("--contract", required=True, help="contract id")
    p.add_argument("--year", type=_year, required=True, help="year")
    p.add_argument("--version", type=_count, required=True, help="the signed version (1 for v1)")
    p.add_argument("--json", action="store_true", help="a list of objects for scripts")


def _defaults(args: argparse.Namespace) -> Callable[[], None]:
    """Fill in the default contract and year of a command that has them; returns what says so
    on stderr, to be called once they are known to be valid (an error stays one line) and
    before the command acts (its stdout stays the command's output)."""
    given = []
    if args.contract is None:
        args.contract = DEFAULT_CONTRACT
        given.append(f"--contract {DEFAULT_CONTRACT}")
    if args.year is None:
        args.year = DEFAULT_YEAR
        given.append(f"--year {DEFAULT_YEAR}")

    def say() -> None:
        if given:
            print(f"{args.command}: {' '.join(given)} (default)", file=sys.stderr, flush=True)

    return say


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: its exit code (0 done, 1 a run failed, 2 an error said in one line)."""
    global _debug
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, or a wrong command line said in one line
        return done.code if isinstance(done.code, int) else 2
    except KeyboardInterrupt:  # before the command began: nothing of it ran
        print(INTERRUPTED_NO_RUN, file=sys.stderr)
        return INTERRUPTED
    _debug = bool(getattr(args, "debug", False))
    try:
        return run_interruptibly(lambda: int(args.func(args)))
    except CommandError as refused:
        print(refused, file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # after the work (its handler gone) or raised by the work itself
        if _debug:
            raise
        print(INTERRUPTED_NO_RUN, file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:
        if _debug:
            raise
        from commands.runs import one_line

        print(
            f"{type(exc).__name__}: {one_line(str(exc), width=300)} (--debug viser hvor)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
