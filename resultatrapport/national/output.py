"""The national overview's files: ``<out>/national/<YYYY>/maalopfyldelse_national_<YYYY>.csv``
and ``.pdf`` (``shared/formats/national.md``, "Output").

The CSV is written in the recipients' dialect by the one CSV writer
(:func:`resultatrapport.report.submissions.render_csv`) and validated against its shipped
table schema (``resultatrapport/report/schemas/maalopfyldelse_national.schema.json``); the
PDF by the one renderer (:func:`resultatrapport.report.render.render_pdf`, template
``report_templates/national.html.j2``), PDF/A-3a and PDF/UA-1 with the CSV attached, and
validated by page-validation. Either failing, nothing is written. Both files are replaced
atomically on every run (the overview is remade whenever a hub sends a new version).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from resultatrapport.national.framework import (
    Framework,
    FrameworkError,
    Measure,
    framework_for,
    load_frameworks,
)
from resultatrapport.national.pooling import Line, Overview, overview
from resultatrapport.national.received import (
    MISSING,
    RECEIVED,
    REFUSED,
    Received,
    SubmissionsError,
    read_submissions,
)
from resultatrapport.report import charts
from resultatrapport.report.danish import DASH, long_date, number, years_text
from resultatrapport.report.files import write_atomically, writing_to
from resultatrapport.report.render import Attachment, render_pdf, validation_failures
from resultatrapport.report.submissions import MAALOPFYLDELSE_NATIONAL, render_csv, validate_bytes
from resultatrapport.report.view import STATUS_CLASS
from resultatrapport.vocabulary import OPERATOR_SIGN, TZ

TEMPLATE = "national.html.j2"
_STATUS_CLASS: dict[str, str] = {str(k): v for k, v in STATUS_CLASS.items()}
FOLDER = "national"


class NationalError(ValueError):
    """The overview cannot be made or written; the message is one Danish line."""


def csv_name(year: int) -> str:
    return f"maalopfyldelse_{FOLDER}_{year}.csv"


def pdf_name(year: int) -> str:
    return f"maalopfyldelse_{FOLDER}_{year}.pdf"


def year_dir(out: Path, year: int) -> Path:
    return Path(out) / FOLDER / str(year)


def title(year: int) -> str:
    return f"Erhvervshusenes målopfyldelse {year}"


# --- the figures as printed ------------------------------------------------------------------


def printed(value: Decimal | None) -> str:
    """A figure as submitted or pooled, with exactly its decimals, in Danish."""
    if value is None:
        return DASH
    exponent = value.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return number(float(value), decimals)


def target_text(line: Line, prefix: str = "") -> str:
    if line.target is None or line.operator is None:
        return ""
    return f"{prefix}{OPERATOR_SIGN[line.operator]} {printed(line.target)}"


def _interval(line: Line) -> str:
    if line.low is None or line.high is None:
        return ""
    return f"{printed(line.low)} til {printed(line.high)}"


def _missing(line: Line, pooling: str) -> str:
    """Why a row has no figure, in a few words (a chart's bar, a table's cell)."""
    if line.withheld:
        return f"{DASH} diskretioneret"
    if line.state == MISSING:
        return "ikke modtaget"
    if line.state == REFUSED:
        return REFUSED
    if line.pooled:
        return "lægges ikke sammen" if pooling == "none" else "kan ikke dannes"
    return "intet resultat"


def _bar(line: Line, pooling: str) -> charts.Bar:
    return charts.Bar(
        label=line.hub,
        value=None if line.value is None else float(line.value),
        text=printed(line.value) if line.value is not None else _missing(line, pooling),
        low=None if line.low is None else float(line.low),
        high=None if line.high is None else float(line.high),
        interval=_interval(line),
        target=None if line.target is None else float(line.target),
        target_text=target_text(line, "Mål ") or ("Intet mål" if line.source else ""),
        emphasis=line.pooled,
    )


def _row(line: Line, pooling: str) -> dict[str, Any]:
    return {
        "hub": line.hub,
        "pooled": line.pooled,
        # a hub's missing figure is "–" as in the reports (its status and remark say why)
        "value": printed(line.value)
        if line.value is not None or not line.pooled
        else _missing(line, pooling),
        "measured": line.value is not None,
        "withheld": line.withheld,
        "interval": _interval(line),
        "target": target_text(line) or ("Intet mål" if line.source or line.pooled else ""),
        "status": line.status,
        "status_class": _STATUS_CLASS[line.status],
        "uncertain": bool(line.uncertain),
        "n": number(line.n) if line.n is not None else "",
        "reckoning": line.reckoning or "",
        "source": line.source or "",
        "remark": line.remark or "",
        # the page's remark: a file's refusal is said once, under the submissions
        "shown_remark": (
            f"{REFUSED}; afvisningen står under Indberetninger"
            if line.state == REFUSED
            else line.remark or ""
        ),
    }


# --- the page of a measure -------------------------------------------------------------------


def _collective_chart(measure: Measure, year: int, history: dict[int, Line], pooled: Line) -> str:
    """Mål 2's collective path: the baseline, the sums received so far, the target."""
    c = measure.collective
    if c is None:
        return ""
    years = list(range(c.baseline_year, max(measure.targets) + 1))
    sums = {**history, year: pooled}
    values: list[float | None] = []
    for y in years:
        line = sums.get(y)
        if y == c.baseline_year:
            values.append(float(c.total))
        elif line is not None and line.value is not None and y <= year:
            values.append(float(line.value))
        else:
            values.append(None)
    targets = [measure.target(y) for y in years]
    return charts.kpi_over_years(
        years,
        values,
        [t.value if t else None for t in targets],
        [t.operator if t else None for t in targets],
        [None if y == c.baseline_year else measure.path(y) for y in years],
        measure.unit,
        f"{measure.id} alle erhvervshuse: summen mod det fælles mål",
        withheld=[bool(sums.get(y) and sums[y].withheld) for y in years],
        report_year=year,
        height_cm=5.0,
    )


def _measure_page(
    measure: Measure, lines: list[Line], year: int, history: dict[int, Line]
) -> dict[str, Any]:
    hubs, pooled = lines[:-1], lines[-1]
    # a sum dwarfs its parts: the hubs side by side, the sum on its own chart (Mål 2)
    bars = [
        _bar(line, measure.pooling) for line in (hubs if measure.pooling != "weighted" else lines)
    ]
    distribution = measure.collective.baseline if measure.collective else {}
    rows = [_row(line, measure.pooling) for line in lines]
    for row, line in zip(rows, lines, strict=True):
        base = distribution.get(line.slug or "")
        row["baseline"] = number(base) if base is not None else ""
    if distribution:
        rows[-1]["baseline"] = number(sum(distribution.values()))
    return {
        "id": measure.id,
        "name": measure.name,
        "goal": measure.goal,
        "unit": measure.unit,
        "framework_text": measure.framework_text,
        "interpretation": measure.interpretation,
        "pooling": measure.pooling,
        "chart": charts.side_by_side(bars, measure.unit, f"{measure.id} pr. erhvervshus, {year}"),
        "path_chart": _collective_chart(measure, year, history, pooled),
        "baseline_year": measure.collective.baseline_year if measure.collective else None,
        "rows": rows,
        "intervals": any(line.low is not None for line in lines),
        "pooled": _row(pooled, measure.pooling),
    }


def view(ov: Overview, history: dict[str, dict[int, Line]], today: dt.date) -> dict[str, Any]:
    """The template's context: the sources, the summary, a page per measure, the method."""
    received = ov.received
    f = ov.framework
    sources = [
        {
            "hub": h.name,
            "state": h.state,
            "state_class": {RECEIVED: "ok", REFUSED: "fail", MISSING: "na"}[h.state],
            "file": h.file_name or "",
            "reckoning": h.reckoning or "",
            "superseded": [p.rsplit("/", 1)[-1] for p in h.superseded],
            "problems": list(h.problems),
        }
        for h in received.hubs
    ]
    summary = [
        {
            "id": m.id,
            "name": m.name,
            **_row(ov.lines[m.id][-1], m.pooling),
        }
        for m in f.measures
    ]
    return {
        "title": title(ov.year),
        "year": ov.year,
        "framework": {
            "title": f.title,
            "source": f.source,
            "years": years_text(f.years),
        },
        "generated": long_date(today),
        "hub_count": len(received.hubs),
        "received_count": sum(h.state == RECEIVED for h in received.hubs),
        "sources": sources,
        "strays": [{"path": s.path, "reason": s.reason} for s in received.strays],
        "preliminary": any(s["reckoning"] != "Endelig" for s in summary),
        "summary": summary,
        "measures": [
            _measure_page(m, ov.lines[m.id], ov.year, history.get(m.id, {})) for m in f.measures
        ],
        "csv_name": csv_name(ov.year),
    }


# --- making and writing the files --------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """What a run of the overview wrote and found."""

    overview: Overview
    csv: Path
    pdf: Path
    pages: int
    csv_sha256: str
    pdf_sha256: str

    @property
    def received(self) -> Received:
        return self.overview.received


def framework_of(year: int, frameworks_dir: Path | None = None) -> Framework:
    """The framework whose period holds ``year``, or a Danish refusal naming the periods."""
    try:
        frameworks = load_frameworks(frameworks_dir)
    except FrameworkError as error:
        raise NationalError(error.summary) from None
    found = framework_for(year, frameworks)
    if found is None:
        periods = ", ".join(f"{f.id} ({years_text(f.years)})" for f in frameworks) or "ingen"
        raise NationalError(f"Ingen rammeaftale dækker {year}; rammeaftaler: {periods}")
    return found


def _history(folder: Path, framework: Framework, year: int) -> dict[str, dict[int, Line]]:
    """The pooled rows of the collective measures in the framework's earlier years, as the
    folder holds their submissions (the path chart shows the sums so far)."""
    collective = [m for m in framework.measures if m.collective is not None]
    if not collective:
        return {}
    history: dict[str, dict[int, Line]] = {m.id: {} for m in collective}
    first = min(m.collective.baseline_year for m in collective if m.collective is not None)
    for earlier in range(first + 1, year):
        lines = overview(read_submissions(folder, framework, earlier)).lines
        for m in collective:
            history[m.id][earlier] = lines[m.id][-1]
    return history


def csv_bytes(ov: Overview) -> bytes:
    """The overview's CSV, validated against its shipped table schema."""
    data = render_csv(MAALOPFYLDELSE_NATIONAL, ov.rows())
    problems = validate_bytes(MAALOPFYLDELSE_NATIONAL, data)
    if problems:
        raise NationalError(
            f"{csv_name(ov.year)} overholder ikke sit skema ({problems[0]}); intet er skrevet"
        )
    return data


def make(
    folder: Path, year: int, *, frameworks_dir: Path | None = None, today: dt.date | None = None
) -> tuple[Overview, bytes, bytes, int]:
    """The overview of ``year`` from the submissions in ``folder``: (overview, CSV, PDF,
    pages), each file validated (:class:`NationalError` naming what fails)."""
    framework = framework_of(year, frameworks_dir)
    try:
        received = read_submissions(folder, framework, year)
        history = _history(folder, framework, year)
    except SubmissionsError as error:
        raise NationalError(str(error)) from None
    ov = overview(received)
    data = csv_bytes(ov)
    context = view(ov, history, today or dt.datetime.now(TZ).date())
    attachment = Attachment(csv_name(year), data, f"Landsoverblik {year} (CSV)")
    pdf, pages = render_pdf(TEMPLATE, context, attachments=[attachment], title=title(year))
    failures = validation_failures(pdf)
    if failures:
        raise NationalError(
            f"{pdf_name(year)} er ikke PDF/A-3a og PDF/UA-1 ({failures[0]}); intet er skrevet"
        )
    return ov, data, pdf, pages


def write(
    folder: Path,
    year: int,
    out: Path,
    *,
    frameworks_dir: Path | None = None,
    today: dt.date | None = None,
) -> Written:
    """Make the overview of ``year`` (:func:`make`) and write both files into
    ``<out>/national/<year>/``, each atomically (a reader sees the old file or the new one)."""
    ov, data, pdf, pages = make(folder, year, frameworks_dir=frameworks_dir, today=today)
    target = year_dir(out, year)
    with writing_to(Path(out)):
        target.mkdir(parents=True, exist_ok=True)
        write_atomically(target / csv_name(year), data)
        write_atomically(target / pdf_name(year), pdf)
    return Written(
        ov,
        target / csv_name(year),
        target / pdf_name(year),
        pages,
        hashlib.sha256(data).hexdigest(),
        hashlib.sha256(pdf).hexdigest(),
    )
