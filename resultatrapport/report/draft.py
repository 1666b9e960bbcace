"""The draft report of a contract year, as one call, and the rendering it shares with the
sign-off.

:func:`write_draft` reads the year's report data from the warehouse
(:func:`resultatrapport.report.content.load`), fingerprints it (its data hash and named
parts), renders the Danish report with ``UDKAST`` on every page (:func:`render_report`),
writes it atomically to ``<out>/<contract>/<year>/aarsrapport_…_udkast.pdf``, with the internal
data-quality appendix from the same data beside it (``…_udkast_datakvalitet_intern.html``,
written first: a draft is never newer than its appendix), and records it
in ``report.drafts`` with the blocking failures it shows; a sign-off is judged against that
record. A draft whose record says it shows exactly what it would show now
(:func:`drawn_from`: the data, the contract, final or preliminary today, the code and
templates), and whose file is still the one recorded, is not drawn again: nothing is
rendered, written or recorded. It returns a plain :class:`Draft`. Nothing here knows Dagster: the draft asset turns
a :class:`Draft` into its materialisation, and
:class:`resultatrapport.report.files.OutputNotWritable` into a failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import duckdb

from resultatrapport import settings
from resultatrapport.contracts import Contract
from resultatrapport.report import content, publish, quality, view
from resultatrapport.report.charts import cached_in
from resultatrapport.report.files import write_atomically, writing_to
from resultatrapport.report.finality import finality
from resultatrapport.report.render import Attachment, render_pdf
from resultatrapport.version import code_identity, code_version

TEMPLATE = "report.html.j2"

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


def chart_folder(contract_id: str, year: int) -> Path:
    """Where the charts of a contract year's report are kept to be drawn once per change of
    what they show (:class:`resultatrapport.report.charts.ChartCache`): under the cache
    folder (``$RESULTATRAPPORT_CACHE``, by default ``var/cache``), never beside the
    published files."""
    return settings.cache_dir() / "charts" / contract_id / str(year)


@dataclass(frozen=True)
class Rendered:
    """A rendered report: the PDF, its pages, and how many charts were drawn and how many
    were reused as drawn before from equal inputs."""

    pdf: bytes
    pages: int
    charts_drawn: int = 0
    charts_reused: int = 0


def render_report(
    data: content.ReportData,
    run_id: str | None,
    data_hash: str,
    *,
    draft: bool,
    attachments: Sequence[Attachment] = (),
    charts: Path | None = None,
    **signed: Any,
) -> Rendered:
    """The report of ``data`` rendered: the draft, or with ``signed`` (signed_by,
    signed_role, signed_on, version) the signed version. Its provenance names the code
    version, ``run_id`` and ``data_hash``. ``charts``: the folder whose charts drawn before
    are reused where their inputs are equal (and whose other charts are removed once the
    report is rendered); None draws every chart."""
    provenance = {"code_version": code_version(), "run_id": run_id, "data_hash": data_hash}
    title = f"Årsrapport {data.year}: {data.contract.title}"
    if charts is None:
        context = view.build(data, draft=draft, provenance=provenance, **signed)
        return Rendered(*render_pdf(TEMPLATE, context, title=title, attachments=attachments))
    with cached_in(charts) as cache:
        context = view.build(data, draft=draft, provenance=provenance, **signed)
    pdf, pages = render_pdf(TEMPLATE, context, title=title, attachments=attachments)
    cache.prune()  # the charts of data shown no more
    return Rendered(pdf, pages, cache.drawn, cache.reused)


@dataclass(frozen=True)
class Draft:
    """A written draft: where it is, what it shows (the data hash and its named parts, as
    the sign-off compares them) and the blocking failures it shows (empty: none stands in
    the way of a sign-off from the deliveries' side)."""

    contract_id: str
    year: int
    path: Path
    appendix: Path  # the internal data-quality appendix beside it (never sent)
    pages: int
    seconds: float  # rendering alone
    data_hash: str
    pdf_sha256: str
    parts: dict[str, str]
    blocking_failures: list[str]
    # not drawn again: the file is the one drawn then, and shows what it would show now
    unchanged_since: dt.datetime | None = None
    # its charts drawn, and reused as drawn before from equal inputs
    charts_drawn: int = 0
    charts_reused: int = 0


def drawn_from(data: content.ReportData, today: dt.date) -> str:
    """Everything a draft of ``data`` drawn on ``today`` shows but that date, as one hash:
    all the report and its appendix read (its data hash is made of a part of it; the times
    the deliveries were read are left out: they are not shown), the contract file, whether
    the figures are final on ``today``, and the code and templates that draw it
    (:func:`resultatrapport.version.code_identity`)."""
    shown: dict[str, Any] = {f.name: getattr(data, f.name) for f in fields(data)}
    shown["contract"] = data.contract.model_dump(mode="json")
    shown["deliveries"] = [{k: v for k, v in d.items() if k != "read_at"} for d in data.deliveries]
    shown["state"] = finality(data, today).sentence
    shown["code"] = code_identity()
    text = json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _still_drawn(
    recorded: dict[str, Any], drawn: str, path: Path, appendix: Path
) -> dt.datetime | None:
    """When the recorded draft was drawn, where it shows what a draft drawn now would
    (``drawn``) and its file is still the one recorded, with its appendix beside it; None:
    draw it."""
    if not recorded or recorded.get("drawn_from") != drawn or recorded["path"] != str(path):
        return None
    try:
        if publish.sha256(path.read_bytes()) != recorded["pdf_sha256"] or not appendix.is_file():
            return None
    except OSError:
        return None
    return recorded["rendered_at"]


def draft_path(out: Path, contract_id: str, year: int) -> Path:
    """Where the draft of a contract year is written under the output folder ``out``."""
    return publish.year_dir(out, contract_id, year) / publish.draft_name(contract_id, year)


def draft_current(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    year: int,
    out: Path,
    today: dt.date | None = None,
) -> bool:
    """Whether :func:`write_draft` would leave the year's draft as it is (drawn on
    ``today``, by default today): its record says it shows what a draft drawn now would,
    and its file is still the one recorded. Nothing is rendered or written to tell."""
    data = content.load(con, contract, year)
    recorded = publish.latest_draft(con, contract.id, year)
    path = draft_path(out, contract.id, year)
    appendix = path.with_name(publish.appendix_name(path.name))
    drawn = drawn_from(data, today or dt.date.today())
    return _still_drawn(recorded, drawn, path, appendix) is not None


def write_draft(
    connect: Connect,
    contract: Contract,
    year: int,
    out: Path,
    run_id: str | None = None,
    charts: Path | None = None,
) -> Draft:
    """Render, write and record the draft of ``contract`` for ``year`` (see the module's
    docstring); ``connect`` opens a warehouse connection, held while reading and while
    recording, not while rendering; ``charts`` keeps its charts (default:
    :func:`chart_folder`). :class:`OutputNotWritable` where the output folder cannot take
    the file (a full disk, a read-only folder)."""
    with connect() as con:
        data = content.load(con, contract, year)
        recorded = publish.latest_draft(con, contract.id, year)
    data_hash = content.data_hash(data)
    parts = content.data_parts(data)
    path = draft_path(out, contract.id, year)
    appendix = path.with_name(publish.appendix_name(path.name))
    drawn = drawn_from(data, dt.date.today())
    since = _still_drawn(recorded, drawn, path, appendix)
    if since is not None:
        return Draft(
            contract_id=contract.id,
            year=year,
            path=path,
            appendix=appendix,
            pages=recorded["pages"],
            seconds=0.0,
            data_hash=data_hash,
            pdf_sha256=recorded["pdf_sha256"],
            parts=parts,
            blocking_failures=list(data.blocking_failures),
            unchanged_since=since,
        )
    started = time.perf_counter()
    folder = charts or chart_folder(contract.id, year)
    rendered = render_report(data, run_id, data_hash, draft=True, charts=folder)
    pdf, pages = rendered.pdf, rendered.pages
    seconds = time.perf_counter() - started
    appendix_html = quality.appendix_html(data, report_name=path.name, data_hash=data_hash)
    with writing_to(out):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(appendix, appendix_html)
        write_atomically(path, pdf)
    with connect() as con:
        publish.record_draft(
            con, contract.id, year, data_hash, pdf, pages, path, data.blocking_failures,
            run_id, parts, drawn,
        )  # fmt: skip
    return Draft(
        contract_id=contract.id,
        year=year,
        path=path,
        appendix=appendix,
        pages=pages,
        seconds=seconds,
        data_hash=data_hash,
        pdf_sha256=publish.sha256(pdf),
        parts=parts,
        blocking_failures=list(data.blocking_failures),
        charts_drawn=rendered.charts_drawn,
        charts_reused=rendered.charts_reused,
    )
