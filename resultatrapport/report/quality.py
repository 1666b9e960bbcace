"""The data quality of a report, for its two audiences, from the one reading of it
(:func:`resultatrapport.report.content.load`).

- The recipients (KKR, KL, Erhvervsstyrelsen, the municipalities) read one paragraph in the
  report (:func:`summary`): which deliveries the figures rest on, which are missing, how many
  rows were left out for breaking the rules, and whether anything else touches the figures.
  No inbox path, no file name, no check name: nothing a recipient cannot act on. The
  provenance names each delivery by its source and years with its content hash
  (:func:`provenance`).
- The people who run the pipeline and the signer read the internal appendix
  (:func:`appendix_html`), an HTML page written beside the draft and beside each signed
  version (``…_datakvalitet_intern.html``, :func:`resultatrapport.report.publish.appendix_name`):
  the same paragraph, then the deliveries with their inbox paths, the files in the inbox that
  are no delivery, the quarantined rows by delivery and reason, and every check with its
  outcome. It is never sent to a recipient.

A register read once for several years (the CVR extract) is one delivery here, with the years
that read it, not one per year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from resultatrapport.formats import FORMATS
from resultatrapport.inventory import shown_name, shown_stray
from resultatrapport.report.content import ReportData
from resultatrapport.report.danish import listed, long_date, number
from resultatrapport.report.names import check_title, source_title
from resultatrapport.report.render import render_html

APPENDIX_TEMPLATE = "datakvalitet_intern.html.j2"


def years_text(years: list[int] | set[int] | tuple[int, ...]) -> str:
    """Years as a reader reads them: runs of consecutive years as '2021–2026', the runs
    listed in Danish ('2020, 2022–2024 og 2026')."""
    runs: list[list[int]] = []
    for year in sorted(set(years)):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return listed([f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs])


@dataclass(frozen=True)
class Delivery:
    """One delivered file (source, organisation, content hash) and the years whose
    partitions hold it; a delivery recorded as missing has no hash."""

    source: str
    org: str | None
    sha256: str | None
    file: str
    years: tuple[int, ...]
    rows: int  # rows read (unreadable lines included), each row of the file once
    rejected: int  # unreadable lines
    encoding: str | None

    @property
    def missing(self) -> bool:
        return self.sha256 is None

    @property
    def data(self) -> bool:
        """A delivery of data rows (the report owner's texts are none)."""
        return self.source in FORMATS


def deliveries(data: ReportData) -> list[Delivery]:
    """The deliveries the report rests on, each file once, in the order of their first year.
    A file that is the whole partition of every year (the CVR extract) counts its rows once;
    a file split into years (the population) counts each year's rows."""
    groups: dict[tuple[str, str | None, str | None, str | int], list[dict[str, Any]]] = {}
    for d in data.deliveries:
        # a missing delivery has no hash: each year's is its own
        key = (d["source"], d["org"], d["sha256"], d["sha256"] or d["year"])
        groups.setdefault(key, []).append(d)
    out = []
    for (source, org, sha256, _), rows in groups.items():
        split = source in FORMATS and FORMATS[source].year_filter is not None
        count = sum if split else max
        out.append(
            Delivery(
                source=source,
                org=org,
                sha256=sha256,
                file=rows[0]["file"],
                years=tuple(sorted({int(r["year"]) for r in rows})),
                rows=int(count(r["rows_read"] for r in rows)),
                rejected=int(count(r["rows_rejected"] for r in rows)),
                encoding=rows[0]["encoding"],
            )
        )
    return sorted(out, key=lambda d: (d.years[0], d.source, d.file))


def _named(source: str, years: set[int]) -> str:
    """A source and its years as the paragraph names them ('Regnskaber for 2021–2026'); a
    register read once for every year without its years."""
    title = source_title(source)
    if source not in FORMATS:  # the report owner's texts: no name of their own
        title = title[:1].lower() + title[1:]
    elif FORMATS[source].yearless:
        return title
    return f"{title} for {years_text(years)}"


def _by_source(items: list[Delivery]) -> list[str]:
    years: dict[str, set[int]] = {}
    for d in items:
        years.setdefault(d.source, set()).update(d.years)
    # the data first, the report owner's texts last
    ordered = sorted(years.items(), key=lambda item: item[0] not in FORMATS)
    return [_named(source, ys) for source, ys in ordered]


def _share(part: int, whole: int) -> str:
    share = 100 * part / whole if whole else 0.0
    return "under 0,1 %" if 0 < share < 0.05 else f"{number(share, 1)} %"


def summary(data: ReportData) -> str:
    """The report's one paragraph on its data quality, in Danish, for a recipient."""
    found = deliveries(data)
    received = [d for d in found if not d.missing]
    missing = [d for d in found if d.missing]
    sentences = []
    if received:
        sentences.append(f"Tallene bygger på disse leverancer: {listed(_by_source(received))}.")
    else:
        sentences.append("Ingen leverance er indlæst.")
    if missing:
        sentences.append(
            f"{_capital(listed(_by_source(missing)))} foreligger ikke; et målepunkt, der "
            f"bygger på {'den' if len(missing) == 1 else 'dem'}, står som Ikke målbar med "
            "årsagen."
        )
    rows = sum(d.rows for d in received if d.data)
    left = sum(int(x["rows"]) for x in data.left_out)
    entries = sum(int(x["entries"]) for x in data.left_out)
    checked = "Hver leverance er kontrolleret efter sin formatbeskrivelse, før den er brugt"
    if left:
        sentences.append(
            f"{checked}: {number(left)} af {number(rows)} rækker ({_share(left, rows)}) "
            f"overholdt ikke reglerne og er udeladt af alle tal."
        )
    else:
        sentences.append(f"{checked}, og ingen rækker er udeladt.")
    if entries:
        sentences.append(
            f"Desuden er {number(entries)} {'værdi' if entries == 1 else 'værdier'} i lister "
            "(fx en henvisning til en modtager, der ikke står på listen) ikke talt med; resten "
            "af rækken er brugt."
        )
    if data.blocking_failures:
        refused = sorted(
            {(int(c["year"]), source_title(c["source"])) for c in data.checks
             if c["blocking"] and not c["passed"]}
        )  # fmt: skip
        noun = "leverancen" if len(refused) == 1 else "leverancerne"
        named = listed([f"{source} for {year}" for year, source in refused])
        what = (
            f"Kontrollen har afvist {noun} {named}"
            if refused
            else "Ikke alle leverancer har bestået kontrollen"
        )
        sentences.append(
            f"{what}; indtil det er rettet, bygger tallene på den senest godkendte udgave, "
            "hvor der er en, og rapporten kan ikke godkendes."
        )
    else:
        sentences.append(
            "Ingen leverance er afvist, og ud over de udeladte rækker påvirker kontrollen ikke "
            "tallene."
            if left or entries
            else "Ingen leverance er afvist, og kontrollen påvirker ikke tallene."
        )
    return " ".join(sentences)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def provenance(data: ReportData) -> list[dict[str, Any]]:
    """The deliveries as the report's provenance lists them: source, years, content hash
    (no inbox path: the internal appendix has those)."""
    return [
        {
            "source": source_title(d.source),
            "years": years_text(d.years),
            "sha256": d.sha256 or "ikke leveret",
            "delivered": not d.missing,
        }
        for d in deliveries(data)
    ]


# --- the internal appendix ----------------------------------------------------------------------


def _checks(data: ReportData) -> list[dict[str, Any]]:
    """Every check with its outcome; the same outcome on the same file over several years
    (the CVR extract) once, with its years."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for c in data.checks:
        key = (c["source"], c["org"], c["check_name"], c["passed"], c["blocking"],
               c["summary"] or "", c.get("sha256") or c["year"])  # fmt: skip
        groups.setdefault(key, []).append(c)
    rows = []
    for (source, _org, check, passed, blocking, said, _), found in groups.items():
        rows.append(
            {
                "source": source_title(source),
                "years": years_text([int(c["year"]) for c in found]),
                "first": min(int(c["year"]) for c in found),
                "check": check_title(check),
                "blocking": blocking,
                "outcome": "Bestået" if passed else ("Fejlet" if blocking else "Advarsel"),
                "outcome_class": "ok" if passed else ("fail" if blocking else "warn"),
                "summary": said,
            }
        )
    return sorted(rows, key=lambda r: (r["first"], r["source"], r["check"]))


def appendix(
    data: ReportData,
    *,
    report_name: str,
    data_hash: str,
    version: int | None = None,
    generated: dt.date | None = None,
) -> dict[str, Any]:
    """The internal appendix's content (the template's context): everything the report's
    paragraph sums up, in detail. ``report_name``: the PDF it belongs to."""
    left = {(x["source"], x["org"], x["sha256"]): int(x["rows"]) for x in data.left_out}

    def left_out(d: Delivery) -> str:
        if not d.data or d.missing:
            return ""
        return number(left.get((d.source, d.org, d.sha256), 0))

    checks = _checks(data)
    return {
        "title": f"Internt bilag: Datakvalitet – Årsrapport {data.year}: {data.contract.title}",
        "contract": data.contract,
        "year": data.year,
        "report_name": report_name,
        "version": version,
        "data_hash": data_hash,
        "generated": long_date(generated or dt.date.today()),
        "summary": summary(data),
        "blocking_failures": data.blocking_failures,
        "deliveries": [
            {
                "source": source_title(d.source),
                "years": years_text(d.years),
                "file": shown_name(d.file),
                "missing": d.missing,
                "rows": number(d.rows) if d.data and not d.missing else "",
                "rejected": number(d.rejected) if d.data and not d.missing else "",
                "left_out": left_out(d),
                "sha256": d.sha256 or "",
            }
            for d in deliveries(data)
        ],
        "strays": [shown_stray(relpath, why) for relpath, why in data.inbox_strays],
        "quarantine": [
            {
                "source": source_title(q["source"]),
                "years": years_text(q["years"]),
                "file": shown_name(q["file"]),
                "reason": q["reason"],
                "rows": number(q["rows"]),
                "row_kept": bool(q["row_kept"]),
            }
            for q in data.quarantine
        ],
        "checks": checks,
        "checks_passed": sum(1 for c in checks if c["outcome"] == "Bestået"),
    }


def appendix_html(
    data: ReportData,
    *,
    report_name: str,
    data_hash: str,
    version: int | None = None,
    generated: dt.date | None = None,
) -> bytes:
    """The internal appendix as a self-contained HTML page (UTF-8)."""
    context = appendix(
        data, report_name=report_name, data_hash=data_hash, version=version, generated=generated
    )
    return render_html(APPENDIX_TEMPLATE, context).encode("utf-8")
