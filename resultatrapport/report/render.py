"""The one place a template becomes a PDF: Jinja2 (``report_templates/``) + WeasyPrint.

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


def render_pdf(
    template: str,
    context: dict[str, Any],
    *,
    attachments: Sequence[Attachment] = (),
    archival: bool = False,
    title: str = "",
    templates: Path | None = None,
) -> tuple[bytes, int]:
    """Render a template to PDF bytes; returns (pdf, page count). ``archival`` writes PDF/A-3b
    (the variant that may carry attachments, e.g. the submission CSVs)."""
    import weasyprint

    templates = templates or templates_dir()
    html = render_html(template, context, templates)
    document = weasyprint.HTML(string=html, base_url=str(templates)).render()
    document.metadata.title = title
    document.metadata.lang = "da"
    document.metadata.modified = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    options: dict[str, Any] = {}
    if archival:
        options["pdf_variant"] = "pdf/a-3b"
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
    pdf = document.write_pdf(**options)
    assert pdf is not None
    return pdf, len(document.pages)
