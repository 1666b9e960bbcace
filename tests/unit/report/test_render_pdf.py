"""The PDF the report is rendered as: PDF/A-3a and PDF/UA-1 by an independent validator
(page-validation), tagged, its title shown, and no stream /Length a reader can misread."""

from __future__ import annotations

import io
import re
import zlib
from pathlib import Path

import page
import pydyf

from resultatrapport.report import render
from resultatrapport.report.render import Attachment, render_pdf, validation_failures
from tests.helpers import inflated

TEMPLATES = Path(__file__).parent / "templates"
CONTEXT = {"title": "Årsrapport 2021: Prøve", "version": 1, "signed_by": "Ida", "data_hash": "ab"}


def rendered() -> bytes:
    attachment = Attachment("a.csv", b"Kontrakt;Aar\r\nx;2021\r\n", "Indberetning: a")
    pdf, pages = render_pdf(
        "signed.html.j2", CONTEXT, attachments=[attachment], title=CONTEXT["title"],
        templates=TEMPLATES,
    )  # fmt: skip
    assert pages == 1
    return pdf


def old_render() -> bytes:
    """The same page as render.py wrote it before: WeasyPrint's PDF/A-3b, untagged."""
    import weasyprint

    html = render.render_html("signed.html.j2", CONTEXT, TEMPLATES)
    pdf = weasyprint.HTML(string=html, base_url=str(TEMPLATES)).write_pdf(pdf_variant="pdf/a-3b")
    assert pdf is not None
    return pdf


def rules(findings: list[str]) -> set[str]:
    return {f.split(":")[0] for f in findings}


def test_the_pdf_is_pdfa3a_and_pdfua1_tagged_in_danish_with_its_title_shown():
    pdf = rendered()
    assert validation_failures(pdf) == []
    pdf = inflated(pdf)
    assert b"/StructTreeRoot" in pdf and b"/MarkInfo <</Marked true>>" in pdf
    assert b"/Lang (da)" in pdf and b"/DisplayDocTitle true" in pdf
    # the XMP packet, uncompressed, declares both, and PDF/A knows the PDF/UA schema
    assert b'pdfaid:part="3"' in pdf and b'pdfaid:conformance="A"' in pdf
    assert b"<pdfuaid:part>1</pdfuaid:part>" in pdf
    assert b"<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>" in pdf
    assert re.search(rb"/TH\b", pdf) and re.search(rb"/H1\b", pdf)


def test_the_old_render_fails_both_profiles():
    found = rules(validation_failures(old_render()))
    assert {
        "PDF/A-3a PDFA3A-METADATA-FILTER-001",  # a compressed XMP packet
        "PDF/A-3a PDFA3A-ID-CONFORMANCE-001",  # it said B
        "PDF/UA-1 PDFUA1-TAGGED-DOCUMENT-001",
        "PDF/UA-1 PDFUA1-ID-PART-001",
        "PDF/UA-1 PDFUA1-VIEWER-PREFERENCES-001",  # the file name shown, not the title
    } <= found


def deflated(data: bytes) -> bytes:
    compress = zlib.compressobj(level=9)  # as pydyf compresses
    return compress.compress(data) + compress.flush()


def test_a_stream_whose_compressed_data_ends_in_cr_keeps_its_length():
    """pydyf wrote '<data> LF endstream'; data ending in CR then read as one byte shorter than
    its /Length (about one compressed stream in 256: the KKR report had one)."""
    render._unambiguous_stream_ends()  # as render_pdf does
    data = next(
        d
        for i in range(1, 5000)
        if deflated(d := b"0 0 m 10 10 l S %%%d" % i + b"x" * (i % 97)).endswith(b"\r")
    )
    pdf = pydyf.PDF()
    content = pydyf.Stream([data], compress=True)
    pdf.add_object(content)
    page_dict = {"Type": "/Page", "Parent": pdf.pages.reference, "Contents": content.reference}
    pdf.add_page(pydyf.Dictionary(page_dict | {"MediaBox": pydyf.Array([0, 0, 100, 100])}))
    out = io.BytesIO()
    pdf.write(out, identifier=True)
    assert b"\r\r\nendstream" in out.getvalue()
    report = page.validate_pdf_bytes(out.getvalue(), profile="3b")
    assert "PDFA3B-STREAM-LENGTH-001" not in {f.rule_id for f in report.failures}
