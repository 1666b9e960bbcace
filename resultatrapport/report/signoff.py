"""The sign-off of a contract year, as domain rules: refusals, the version, the submissions,
publishing.

:func:`sign_off` is the whole sign-off: it reads the year's report data, refuses
(:class:`Refused`, with the reasons in Danish) while anything stands in the way
(:func:`refusals`, :func:`verified`, and preliminary figures the signer did not call so:
:func:`preliminary_refusal`), says nothing is new when the latest signed version shows
the current data (:func:`decide`; the final sign-off of data signed as preliminary is the
next version: :func:`finalises`), else builds the submission CSVs, validates them against
their table schemas (:class:`SubmissionsInvalid`, before anything is published), renders the
signed PDF, refuses it unless an independent validator finds it PDF/A-3a and PDF/UA-1
(:class:`PdfInvalid`, before anything is published) and publishes files and record together
(:func:`resultatrapport.report.publish.publish_version`); the files are the PDF, the
submissions and the version's internal data-quality appendix (an HTML page for the signer and
the people who run the pipeline, :mod:`resultatrapport.report.quality`: recorded and verified
like the others, but no submission and never sent to a recipient). All of it holds the year's sign-off
lock (:func:`resultatrapport.report.publish.signoff_lock`): another sign-off of the year
meanwhile is refused at once (:class:`resultatrapport.report.publish.SignOffBusy`). The
signer's name and role are checked by :func:`resultatrapport.report.publish.signer_name` and
:func:`resultatrapport.report.publish.signer_role` before any of this. Nothing here knows Dagster: the sign-off asset turns a :class:`Signed` into its
materialisations and a refusal into a failure.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb

from resultatrapport import lake, texts
from resultatrapport.contracts import Contract, PopulationKeyBudget
from resultatrapport.kpis.budget import NOT_COMPUTED
from resultatrapport.report import content, publish, quality, records, submissions
from resultatrapport.report.danish import listed
from resultatrapport.report.files import writing_to
from resultatrapport.report.finality import Finality, finality
from resultatrapport.report.render import Attachment, validation_failures
from resultatrapport.warehouse_tx import transaction

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


class Render(Protocol):
    """Renders the signed report (PDF bytes, pages) of the data with the given hash."""

    def __call__(
        self,
        data: content.ReportData,
        data_hash: str,
        *,
        signed_by: str,
        signed_role: str,
        signed_on: dt.date,
        version: int,
        attachments: Sequence[Attachment],
    ) -> tuple[bytes, int]: ...


class Refused(publish.SignOffRefused):
    """The sign-off must not happen; ``reasons`` says why, one Danish sentence each."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("Godkendelsen afvises: " + " ".join(reasons))
        self.reasons = reasons


class PdfInvalid(Refused):
    """The rendered report fails PDF/A-3a or PDF/UA-1 (``findings``: the validator's, one
    line per failing rule); nothing was published."""

    def __init__(self, findings: list[str]) -> None:
        super().__init__(
            [
                "Rapportens PDF består ikke kontrollen af PDF/A-3a og PDF/UA-1 (arkivering og "
                f"tilgængelighed) med {len(findings)} fejl, så intet er offentliggjort."
            ]
        )
        self.findings = findings


def checked_pdf(pdf: bytes) -> bytes:
    """The PDF, once an independent validator finds it PDF/A-3a and PDF/UA-1; else
    :class:`PdfInvalid` with the validator's findings."""
    findings = validation_failures(pdf)
    if findings:
        raise PdfInvalid(findings)
    return pdf


class SubmissionsInvalid(publish.SignOffRefused):
    """A submission CSV breaks its table schema; nothing was published."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__(
            "Indberetningsfilerne overholder ikke deres skema; intet er offentliggjort."
        )
        self.problems = problems


@dataclass(frozen=True)
class Signed:
    """What a sign-off ended with: the version that shows the data (new or signed before)."""

    record: publish.SignOff
    directory: Path
    names: dict[str, str]  # "report", each submission kind and "appendix" -> file name
    message: str  # who signed and when (or that nothing was new), in Danish
    new: bool
    pages: int | None = None


def submission_kinds(contract: Contract) -> list[str]:
    """The submission files a contract's sign-off publishes."""
    kinds = ["resultatopfyldelse"]
    if isinstance(contract.budget, PopulationKeyBudget):
        kinds.append("kommunefordeling")
    return kinds


# --- the refusals ------------------------------------------------------------------------------


def refusals(
    con: duckdb.DuckDBPyConnection, contract: Contract, year: int, data: content.ReportData
) -> list[str]:
    """Why the current draft must not be signed, in Danish (empty: it may)."""
    draft = publish.latest_draft(con, contract.id, year)
    if not draft:
        return [f"Der er intet udkast for {contract.id} {year}: kør rapporten først."]
    reasons = []
    if draft["data_hash"] != content.data_hash(data):
        recorded = json.loads(draft.get("parts") or "{}")
        changed = content.changed_parts(recorded, content.data_parts(data)) if recorded else []
        what = (
            f"Siden udkastet blev dannet, er {listed(changed)} ændret"
            if changed
            else ("Udkastet viser ikke de nuværende data")
        )
        reasons.append(
            f"{what}: dan udkastet igen med `resultatrapport run --contract {contract.id} "
            f"--year {year}`, og læs det, før det godkendes."
        )
    return reasons + _content_refusals(contract, year, data)


def _content_refusals(contract: Contract, year: int, data: content.ReportData) -> list[str]:
    """What the report data lack: results, passed blocking checks, texts, the budget."""
    reasons = []
    missing = [k.id for k in contract.kpis if k.id not in {r["kpi_id"] for r in data.results}]
    if missing:
        reasons.append(f"Resultater mangler for {', '.join(missing)}.")
    reasons += [f"Blokerende kontrol: {f}" for f in data.blocking_failures]
    if lacking := texts.missing_required(contract, data.texts):
        reasons.append(
            "Rapportejerens tekst mangler for: "
            + "; ".join(n.title for n in lacking)
            + f" (skrives under hver sin overskrift i {texts.relpath(contract, year)})."
        )
    return reasons + [
        f"Budgettet er ikke beregnet: {b['remark']}."
        for b in data.budget
        if b["key"] == NOT_COMPUTED
    ]


def verified(
    directory: Path,
    contract: Contract,
    year: int,
    signed: Mapping[int, publish.SignOff],
    warn: Callable[[str], None],
) -> list[str]:
    """Clear what cut-off sign-offs left in the year folder (each said to ``warn``), then say
    what is wrong with the signed files there (changed, missing, or not recorded), in Danish.
    Call it holding the year's sign-off lock (:func:`publish.signoff_lock`)."""
    for note in publish.recover(directory, signed):
        warn(f"{contract.id} {year}: {note}")
    return publish.integrity_problems(directory, contract.id, year, signed.values())


@dataclass(frozen=True)
class Current:
    """Whether a year's latest signed version still shows the current data."""

    state: str  # said in Danish
    up_to_date: bool  # False too while nothing is signed
    signed: bool  # a version is signed
    errors: list[str]  # what is wrong with the signed files


def current(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    year: int,
    directory: Path,
    warn: Callable[[str], None],
    *,
    on: dt.date,
) -> Current:
    """Judge the year's signed version against the current data and its files (clearing
    what cut-off sign-offs left, each said to ``warn``) on the day ``on``: a version signed
    as preliminary is no longer current once its figures are final. While another sign-off
    of the year is under way nothing is cleared (what it left is its own) and only the
    recorded files are judged (its files may be in place before their record)."""
    with publish.signoff_lock(con, contract.id, year) as mine:
        signed = publish.signoffs(con, contract.id, year)
        if mine:
            errors = verified(directory, contract, year, signed, warn)
        else:
            warn(f"{contract.id} {year}: a sign-off is under way; its files are not judged")
            errors = publish.integrity_problems(
                directory, contract.id, year, signed.values(), unrecorded=False
            )
    last = publish.latest(signed)
    data = content.load(con, contract, year) if last else None
    data_hash = content.data_hash(data) if data else ""
    state, up_to_date = publish.signed_state(year, last, data_hash)
    if up_to_date and last and data and finalises(data, last, finality(data, on)):
        state = (
            f"v{last.version} er godkendt som foreløbig, og tallene for {year} er nu endelige: "
            f"en endelig godkendelse giver v{last.version + 1}"
        )
        up_to_date = False
    return Current(state, up_to_date, last is not None, errors)


# --- the version -------------------------------------------------------------------------------


def decide(signed: Mapping[int, publish.SignOff], data_hash: str) -> publish.SignOff | int:
    """The signed version that shows the data of ``data_hash`` already (nothing new to sign),
    or the number of the version to sign: the latest's plus one, 1 for the first."""
    last = publish.latest(signed)
    if last is not None and last.data_hash == data_hash:
        return last
    return last.version + 1 if last else 1


# --- the submissions ---------------------------------------------------------------------------


def submission_csvs(
    contract: Contract, data: content.ReportData, signer: str, on: dt.date
) -> dict[str, bytes]:
    """Each submission file of the contract (kind -> CSV bytes), from the report data."""
    rows = {
        "resultatopfyldelse": lambda: records.result_rows(data, signer, on),
        "kommunefordeling": lambda: records.municipality_rows(data),
    }
    csvs = {}
    for kind in submission_kinds(contract):
        kind_rows = rows[kind]()
        assert kind_rows is not None, f"{contract.id} has no {kind}"
        csvs[kind] = submissions.render_csv(kind, kind_rows)
    return csvs


def schema_problems(csvs: Mapping[str, bytes]) -> dict[str, list[str]]:
    """What breaks each CSV's table schema (kind -> problems; empty lists: none)."""
    return {kind: submissions.validate_bytes(kind, data) for kind, data in csvs.items()}


def published_problems(
    directory: Path, names: Mapping[str, str], kinds: Iterable[str]
) -> dict[str, list[str]]:
    """What breaks the table schema in each published CSV, as it is on disk."""
    return {kind: submissions.validate_csv(kind, directory / names[kind]) for kind in kinds}


# --- the whole sign-off ------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A sign-off to make: whose, of what, where its files go."""

    contract: Contract
    year: int
    signer: str  # checked by publish.signer_name
    role: str  # the signer's role (direktør), checked by publish.signer_role: the cover says it
    directory: Path
    run_id: str | None
    now: dt.datetime  # when it is signed (local time)
    # the signer says the figures may be preliminary (the year is not over, or a delivery is
    # missing); without it such a sign-off is refused
    preliminary: bool = False


def preliminary_refusal(reckoning: Finality, request: Request) -> list[str]:
    """Why preliminary figures must not be signed without the signer saying so (empty:
    they are final, or the signer said so)."""
    if reckoning.final or request.preliminary:
        return []
    why = listed(reckoning.reasons)
    return [
        f"Tallene for {request.year} er foreløbige ({why}); en foreløbig version godkendes "
        "kun, når den, der godkender, siger det (sign-off --preliminary, eller "
        "preliminary: true i launchpad). Det endelige resultat godkendes, når året er slut "
        "og alle leverancer foreligger."
    ]


def finalises(data: content.ReportData, last: publish.SignOff, now: Finality) -> bool:
    """Whether signing ``data`` now is the final sign-off of data that ``last`` signed while
    they were preliminary: then it is the next version, though the data are the same (the
    data hash holds the deliveries, so only the day can have made them preliminary)."""
    return now.final and not finality(data, last.signed_at.date()).final


def sign_off(
    connect: Connect, request: Request, render: Render, warn: Callable[[str], None]
) -> Signed:
    """Sign off the request's contract year (see the module): the version it published, or
    the one that shows the data already; :class:`Refused` or :class:`SubmissionsInvalid`
    when it must not, :class:`publish.SignOffBusy` while another sign-off of the year is
    under way, before anything is published."""
    contract, year = request.contract, request.year
    with ExitStack() as held:  # the year's sign-off lock, from the reading to the record
        with connect() as con:
            if not held.enter_context(publish.signoff_lock(con, contract.id, year)):
                raise publish.SignOffBusy(contract.id, year)
            with transaction(con):
                # one transaction: the figures, the checks and the records as of one moment;
                # on a lake that is one snapshot, which the record names so the figures can be
                # read back
                data = content.load(con, contract, year)
                reasons = refusals(con, contract, year, data)
                signed = publish.signoffs(con, contract.id, year)
                draft = publish.latest_draft(con, contract.id, year)
                snapshot = lake.current_snapshot(con) if lake.is_lake(con) else None
        reckoning = finality(data, request.now.date())
        reasons += preliminary_refusal(reckoning, request)
        reasons += verified(request.directory, contract, year, signed, warn)
        if reasons:
            raise Refused(reasons)
        data_hash = content.data_hash(data)
        decision = decide(signed, data_hash)
        if isinstance(decision, publish.SignOff) and finalises(data, decision, reckoning):
            decision = decision.version + 1
        if isinstance(decision, publish.SignOff):
            names = publish.version_names(contract.id, year, decision.version)
            message = publish.nothing_new(decision)
            return Signed(decision, request.directory, names, message, new=False)
        # the version is claimed: no other sign-off of the year decides one until the lock
        # is let go, after the record
        return _publish(connect, request, render, data, draft["pdf_sha256"], decision, snapshot)


def _publish(
    connect: Connect,
    request: Request,
    render: Render,
    data: content.ReportData,
    draft_sha256: str,
    version: int,
    snapshot: int | None = None,
) -> Signed:
    """Build, validate, render, validate and publish version ``version`` with its record."""
    contract, year, signed_on = request.contract, request.year, request.now.date()
    names = publish.version_names(contract.id, year, version)
    csvs = submission_csvs(contract, data, request.signer, signed_on)
    problems = schema_problems(csvs)
    if any(problems.values()):
        raise SubmissionsInvalid(problems)
    data_hash = content.data_hash(data)
    attachments = [Attachment(names[k], csv, f"Indberetning: {k}") for k, csv in csvs.items()]
    pdf, pages = render(
        data, data_hash, signed_by=request.signer, signed_role=request.role, signed_on=signed_on,
        version=version, attachments=attachments,
    )  # fmt: skip
    checked_pdf(pdf)  # a PDF that is not PDF/A-3a and PDF/UA-1 is never published
    # the internal data-quality appendix of the version, from the same data: published,
    # recorded and verified with the version's files, but no submission and never sent
    appendix = quality.appendix_html(
        data, report_name=names["report"], data_hash=data_hash, version=version,
        generated=signed_on,
    )  # fmt: skip
    files = {names["report"]: pdf} | {names[kind]: csv for kind, csv in csvs.items()}
    files[names["appendix"]] = appendix
    record = publish.SignOff(
        version=version,
        signed_by=request.signer,
        signed_at=request.now.replace(tzinfo=None),
        data_hash=data_hash,
        draft_sha256=draft_sha256,
        files={name: publish.sha256(b) for name, b in files.items()},
        snapshot=snapshot,
        signed_role=request.role,
    )

    def record_signoff() -> None:
        with connect() as con:
            publish.record_signoff(con, contract.id, year, record, request.run_id)

    try:
        with writing_to(request.directory):  # a full disk or read-only folder, said so
            publish.publish_version(request.directory, version, files, record=record_signoff)
    except (FileExistsError, publish.VersionTaken):
        # another sign-off got past the lock (it cannot: one that does is still refused)
        with connect() as con:
            made = version in publish.signoffs(con, contract.id, year)
        raise publish.SignOffBusy(contract.id, year, version if made else None) from None
    message = publish.signed_notice(record)
    return Signed(record, request.directory, names, message, new=True, pages=pages)
