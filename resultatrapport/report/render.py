"""The one place a template becomes a PDF: Jinja2 (``report_templates/``) + WeasyPrint.

Every PDF is tagged PDF/A-3a and declares PDF/UA-1 (the recipients' spec, "The report (PDF)"):
a structure tree with headings, tables and figures, ``/Lang da`` from ``<html lang>``, the title
shown instead of the file name, every chart a Figure with its text alternative. ``validate``
checks a PDF against both with an independent validator (page-validation).

WeasyPrint is imported when a PDF is rendered, not at import (it is slow to import and only
the report steps need it).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from resultatrapport.report.danish import DASH, long_date, number
from resultatrapport.settings import templates_dir

# PDF/A-3 level A: the level for a tagged (accessible) file; it may carry attachments (the
# submission CSVs). WeasyPrint writes one variant's identifier; the PDF/UA-1 one is added to the
# same XMP packet (see _declare_pdfua).
PDF_VARIANT = "pdf/a-3a"
# the profiles every PDF is validated against, with their names as a reader knows them
PROFILES = {"3a": "PDF/A-3a", "ua1": "PDF/UA-1"}

# PDF/A admits an XMP property only from a predefined schema or one the packet describes in an
# extension schema (ISO 19005-3, 6.6.2.3.1); PDF/UA's identification schema is not predefined.
_PDFUA_XMP = b"""<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">
<pdfaProperty:name>part</pdfaProperty:name>
<pdfaProperty:valueType>Integer</pdfaProperty:valueType>
<pdfaProperty:category>internal</pdfaProperty:category>
<pdfaProperty:description>Indicates which part of ISO 14289 standard is followed</pdfaProperty:description>
</rdf:li></rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/"><pdfuaid:part>1</pdfuaid:part></rdf:Description>
"""


@dataclass(frozen=True)
class Attachment:
    name: str  # file name inside the PDF
    data: bytes
    description: str


@functools.lru_cache(maxsize=8)
def _environment(templates: Path) -> jinja2.Environment:
    """The Jinja2 environment of a folder of templates, made once per folder in a process: it
    keeps the compiled templates (compiling the report's took about 0.3 s of each render, and
    a range run renders a draft per year), and reloads one whose file changed."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,  # a misspelt field fails, it never prints nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    env.filters["long_date"] = lambda d: long_date(d) if d else DASH
    env.filters["svg"] = lambda s: Markup(s) if s else ""
    # text inside a CSS string in the template's <style> (running headers)
    env.filters["css_string"] = lambda s: Markup(
        str(s).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    )
    return env


def render_html(template: str, context: dict[str, Any], templates: Path | None = None) -> str:
    """``templates``: the folder of templates; by default ``settings.templates_dir()``."""
    return _environment(templates or templates_dir()).get_template(template).render(**context)


@functools.cache
def _unambiguous_stream_ends() -> None:
    """Make pydyf end a stream whose data ends in CR with CR LF before ``endstream``.

    pydyf writes ``<data> LF endstream``. When the data (compressed, so any byte) ends in CR,
    a reader sees CR LF as the end-of-line before ``endstream`` and counts the stream one
    byte shorter than its /Length: PDF/A validators (veraPDF, page-validation) reject the file
    (ISO 19005-3, 6.1.7.1). About one compressed stream in 256 ends so, and a report has
    hundreds. With CR LF as the end-of-line the data keeps its CR and /Length is right. pydyf
    has no option for it and builds the streams inside WeasyPrint (page, object and xref
    streams alike), so its one serialisation of a stream is wrapped, once per process."""
    import pydyf

    serialise = pydyf.Stream.data.fget
    assert serialise is not None

    def data(stream: pydyf.Stream) -> bytes:
        written: bytes = serialise(stream)
        if written.endswith(b"\r\nendstream"):  # the data ends in CR
            return written[: -len(b"\nendstream")] + b"\r\nendstream"
        return written

    pydyf.Stream.data = property(data)


def _finish(document: Any, pdf: Any) -> None:
    """WeasyPrint's last step before the PDF is written (its ``finisher``): the XMP packet
    declares PDF/UA-1 beside PDF/A-3a, and it is not compressed (PDF/A forbids a Filter on the
    document's metadata stream, ISO 19005-3, 6.6.2.1; WeasyPrint compresses it from PDF/A-2)."""
    metadata = pdf.objects[int(pdf.catalog["Metadata"].split()[0])]
    packet = b"".join(metadata.stream)
    assert packet.count(b"</rdf:RDF>") == 1, "WeasyPrint's XMP packet changed shape"
    metadata.stream = [packet.replace(b"</rdf:RDF>", _PDFUA_XMP + b"</rdf:RDF>")]
    metadata.compress = False


def render_pdf(
    template: str,
    context: dict[str, Any],
    *,
    attachments: Sequence[Attachment] = (),
    title: str = "",
    templates: Path | None = None,
) -> tuple[bytes, int]:
    """Render a template to PDF bytes, tagged PDF/A-3a and PDF/UA-1 (see the module); returns
    (pdf, page count). ``title`` is the document's title, shown by a viewer."""
    import weasyprint

    _unambiguous_stream_ends()
    templates = templates or templates_dir()
    html = render_html(template, context, templates)
    document = weasyprint.HTML(string=html, base_url=str(templates)).render()
    document.metadata.title = title
    document.metadata.lang = "da"
    document.metadata.modified = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    options: dict[str, Any] = {"pdf_variant": PDF_VARIANT}
    if attachments:
        options["attachments"] = [
            weasyprint.Attachment(
                string=a.data,
                name=a.name,
                description=a.description,
                relationship="Data",
            )
            for a in attachments
        ]
    pdf = document.write_pdf(finisher=_finish, **options)
    assert pdf is not None
    return pdf, len(document.pages)


def validation_failures(pdf: bytes) -> list[str]:
    """What an independent validator (page-validation) finds against PDF/A-3a and PDF/UA-1:
    one line per rule that fails, '<profile> <rule>: <message>' (empty: the PDF conforms)."""
    import page

    failures = []
    for profile, name in PROFILES.items():
        report = page.validate_pdf_bytes(pdf, profile=profile)
        seen: dict[str, int] = {}
        for failure in report.failures:
            seen[failure.rule_id] = seen.get(failure.rule_id, 0) + 1
            if seen[failure.rule_id] == 1:
                failures.append(f"{name} {failure.rule_id}: {failure.message}")
        if not report.is_compliant and not report.failures:
            failures.append(f"{name}: ikke overholdt")
    return failures
