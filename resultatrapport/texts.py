"""The report owner's written status: the delivery ``<org>/tekster/<contract-id>_<YYYY>.md``.

A Markdown file (CommonMark and simple tables; UTF-8 with or without a byte-order mark, LF
or CRLF) with one level-2 heading per section. Each section is declared by the contract
(``narratives``); a heading names it by its title, optionally preceded by its id or by the
id of the KPI it is placed after (``## F1-1 Detailhandel, …``, ``## F1 Detailhandel, …``,
``## Detailhandel, …``). Case and runs of spaces in a heading do not count.

:func:`parse` splits a file into its sections or raises :class:`TextsError`, whose
messages are Danish and located (file, line, heading): text before the first heading, a
heading no section has, two headings for one section, a level-1 heading, raw HTML, an
image, a control character, and a number shaped like a CPR number (an error, never a mask:
the text is published as written). :func:`render` turns a section's Markdown into HTML that
is safe in the report's template: raw HTML off, no images, links written out as text and
address.

The warehouse keeps the sections of the last good file in ``ingest.report_texts``; the file
itself is a delivery like the others (``ingest.deliveries`` and ``ingest.checks`` under the
source :func:`source_name`), so its SHA-256 is in the report's provenance and its blocking
check refuses the sign-off. No Dagster here: the asset is ``assets/texts.py``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import duckdb
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markupsafe import Markup

from resultatrapport.checks_table import record_checks, replace_checks
from resultatrapport.contracts import Contract, KpiPlace, Narrative, title_key
from resultatrapport.formats import TEXTS_PATH
from resultatrapport.inventory import listed
from resultatrapport.reader import (
    CONTROL_CHARS,
    CPR_PATTERN,
    EMAIL_PATTERN,
    PHONE_PATTERN,
    excerpt,
)
from resultatrapport.warehouse_tx import transaction, write_attempts

SOURCE = "report_texts"
CHECK = "texts_valid"
SHOWN_HEADING = 60  # characters of a heading a message quotes at most
_CONTROL = re.compile(CONTROL_CHARS)
# the checks on the text as the report prints it (:func:`printed_problems`): a CPR number
# in any shape, a phone number, an e-mail address; none is ever quoted in a message
_PRINTED_CHECKS = (
    (
        re.compile(rf"(?<![0-9]){CPR_PATTERN}(?![0-9])"),
        "et tal af samme form som et CPR-nummer (ddmmåå-xxxx) er ikke tilladt i teksterne; "
        "fjern det",
    ),
    (
        re.compile(rf"(?<![0-9,.]){PHONE_PATTERN}(?![0-9])"),
        "et tal af samme form som et telefonnummer (8 cifre, fx 20 30 40 50) er ikke tilladt "
        "i teksterne; fjern det (et beløb skrives med punktum som tusindtalsseparator, fx "
        "20.304.050)",
    ),
    (
        re.compile(EMAIL_PATTERN),
        "en e-mailadresse er ikke tilladt i teksterne; fjern den",
    ),
)
# the size a texts file may have (bytes, checked before it is read) and a section (characters)
MAX_FILE_BYTES = 200_000
MAX_SECTION_CHARS = 20_000


def relpath(contract: Contract, year: int) -> str:
    return TEXTS_PATH.format(org=contract.organisation.slug, contract=contract.id, year=year)


def source_name(contract_id: str) -> str:
    """The texts' source in ``ingest.deliveries`` and ``ingest.checks``: one per contract, as
    an organisation may have several contracts."""
    return f"{SOURCE}:{contract_id}"


# --- parsing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    id: str  # the narrative's id
    title: str  # its title as the contract declares it
    line: int  # the line of its heading in the file
    markdown: str  # the text under the heading, as written (LF line ends)


@dataclass(frozen=True)
class Problem:
    line: int
    message: str  # Danish, without the location
    heading: str | None = None  # the heading of the section the problem is in

    def located(self, file: str) -> str:
        """``file, linje N (under '## heading'): message``; line 0: the whole file."""
        if self.line == 0:
            return f"{file}: {self.message}"
        under = f" (under '## {_clip(self.heading)}')" if self.heading else ""
        return f"{file}, linje {self.line}{under}: {self.message}"


class TextsError(ValueError):
    """A texts file that cannot be used; every problem located (file, line, heading)."""

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.file = file
        self.problems = list(problems)
        self.messages = [p.located(file) for p in self.problems]
        more = len(self.messages) - 1
        super().__init__(self.messages[0] + (f" (og {more} fejl mere)" if more > 0 else ""))


def _clip(text: str, limit: int = SHOWN_HEADING) -> str:
    text = excerpt(" ".join(text.split()), limit * 2)  # CPR numbers masked, one line
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode(data: bytes, file: str) -> str:
    """The file's text with LF line ends: UTF-8 with or without a byte-order mark."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TextsError(file, [Problem(1, "filen er gemt som UTF-16; gem den som UTF-8")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TextsError(
            file, [Problem(line, "filen er ikke UTF-8; gem den som UTF-8 (med eller uden BOM)")]
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _matchers(contract: Contract) -> list[tuple[Narrative, re.Pattern[str]]]:
    """Per narrative, the headings that name it (matched against :func:`title_key` of the
    heading): the title, optionally after the id or the id of the KPI it is placed after."""
    out = []
    for n in contract.narratives:
        prefixes = [n.id] + ([n.place.kpi] if isinstance(n.place, KpiPlace) else [])
        ids = "|".join(re.escape(p.casefold()) for p in prefixes)
        title = re.escape(title_key(n.title))
        out.append((n, re.compile(rf"(?:(?:{ids})(?:\s*[:.–—-]\s*|\s+))?{title}")))
    return out


def _plain(inline: Token) -> str:
    """A heading's text without its Markdown (emphasis, code marks)."""
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


def _inline_lines(inline: Token) -> Iterable[tuple[int, Token]]:
    """The children of an inline token with the (0-based) line each stands on."""
    line = inline.map[0] if inline.map else 0
    for child in inline.children or []:
        yield line, child
        if child.type in ("softbreak", "hardbreak"):
            line += 1


@cache
def _parser() -> MarkdownIt:
    # html on for parsing only: raw HTML must be found (and refused), not silently escaped
    return MarkdownIt("commonmark", {"html": True}).enable("table")


def parse(data: bytes | str, contract: Contract, file: str) -> list[Section]:
    """The sections of a texts file in file order, or :class:`TextsError` with every problem.
    A section with no text under its heading is left out (it counts as missing)."""
    text = decode(data, file) if isinstance(data, bytes) else data.replace("\r\n", "\n")
    lines = text.split("\n")
    problems: list[Problem] = []
    tokens = _parser().parse(text)
    headings = _headings(tokens, contract, problems)

    def heading_at(line0: int) -> str | None:
        under = [h for h in headings if h[0] <= line0]
        return under[-1][2] if under else None

    problems += _markup_problems(tokens, heading_at)
    problems += _line_problems(lines, heading_at)
    problems += printed_problems(text, heading_at)
    if problems:
        raise TextsError(file, sorted(set(problems), key=lambda p: (p.line, p.message)))

    sections = []
    for k, (_, body_start, _, narrative) in enumerate(headings):
        end = headings[k + 1][0] if k + 1 < len(headings) else len(lines)
        body = "\n".join(lines[body_start:end]).strip("\n")
        if narrative is not None and body.strip():
            sections.append(Section(narrative.id, narrative.title, headings[k][0] + 1, body))
    too_long = [
        Problem(
            s.line,
            f"afsnittet har {_number(len(s.markdown))} tegn; et afsnit må højst have "
            f"{_number(MAX_SECTION_CHARS)} tegn",
            s.title,
        )
        for s in sections
        if len(s.markdown) > MAX_SECTION_CHARS
    ]
    if too_long:
        raise TextsError(file, too_long)
    return sections


def _number(n: int) -> str:
    """A whole number as a Danish reader writes it (20.000)."""
    return f"{n:,}".replace(",", ".")


_Heading = tuple[int, int, str, Narrative | None]  # (0-based) start, body start, text, narrative


def _headings(tokens: list[Token], contract: Contract, problems: list[Problem]) -> list[_Heading]:
    """The level-2 headings in file order, each with the narrative it names (None: none, or
    one named before); adds to ``problems`` level-1 headings, unknown and repeated ones, and
    text before the first heading."""
    matchers = _matchers(contract)
    headings: list[_Heading] = []
    seen: dict[str, int] = {}  # narrative id: the line of its heading
    before = False  # text before the first heading was found (said once)
    for i, token in enumerate(tokens):
        if token.level != 0 or not token.map:
            continue
        if token.type == "heading_open" and token.tag in ("h1", "h2"):
            plain = _plain(tokens[i + 1])
            line = token.map[0] + 1
            if token.tag == "h1":
                problems.append(
                    Problem(
                        line,
                        f"overskriften '# {_clip(plain)}' er på niveau 1; hvert "
                        "afsnit har en overskrift på niveau 2 (## …)",
                    )
                )
                continue
            narrative = _named(plain, line, matchers, seen, contract, problems)
            headings.append((token.map[0], token.map[1], plain, narrative))
            continue
        if not headings and not before and not token.type.endswith("_close"):
            before = True
            problems.append(
                Problem(
                    token.map[0] + 1,
                    "tekst før første overskrift er ikke tilladt; "
                    "hvert afsnit begynder med en overskrift på niveau 2 (## …)",
                )
            )
    return headings


def _named(
    plain: str,
    line: int,
    matchers: list[tuple[Narrative, re.Pattern[str]]],
    seen: dict[str, int],
    contract: Contract,
    problems: list[Problem],
) -> Narrative | None:
    """The narrative a level-2 heading names, the first time it is named (noted in ``seen``);
    None, with a problem, for a heading that names none or one named before."""
    key = title_key(plain)
    narrative = next((n for n, m in matchers if m.fullmatch(key)), None)
    if narrative is None:
        problems.append(Problem(line, _unknown(plain, contract)))
        return None
    if narrative.id in seen:
        problems.append(
            Problem(
                line,
                f"afsnittet '{narrative.title}' har allerede en "
                f"overskrift i linje {seen[narrative.id]}",
            )
        )
        return None
    seen[narrative.id] = line
    return narrative


def _markup_problems(tokens: list[Token], heading_at: Callable[[int], str | None]) -> list[Problem]:
    """Raw HTML (blocks and inline) and images, which the texts may not contain."""
    problems = []
    for token in tokens:
        if token.type == "html_block" and token.map:
            line0 = token.map[0]
            problems.append(Problem(line0 + 1, _NO_HTML, heading_at(line0)))
        elif token.type == "inline":
            for line0, child in _inline_lines(token):
                if child.type == "html_inline":
                    problems.append(Problem(line0 + 1, _NO_HTML, heading_at(line0)))
                elif child.type == "image":
                    problems.append(
                        Problem(
                            line0 + 1,
                            "billeder er ikke tilladt i teksterne; beskriv indholdet med ord",
                            heading_at(line0),
                        )
                    )
    return problems


def _line_problems(lines: list[str], heading_at: Callable[[int], str | None]) -> list[Problem]:
    """Lines with a control character."""
    problems = []
    for line0, line_text in enumerate(lines):
        if _CONTROL.search(line_text):
            problems.append(
                Problem(
                    line0 + 1,
                    "et kontroltegn (fx NUL) er ikke tilladt i teksterne",
                    heading_at(line0),
                )
            )
    return problems


def _printed_runs(tokens: list[Token]) -> Iterable[tuple[str, list[int]]]:
    """The text the report prints, in runs that read as one (a paragraph, a heading, a table
    cell, a code block), each with the (0-based) source line of every character: entities
    decoded and backslash escapes removed (markdown-it's text tokens hold the printed
    characters), soft and hard line breaks joined with a space, and a link's address where
    :func:`render` writes it out."""
    for token in tokens:
        if token.type == "inline" and token.map:
            text: list[str] = []
            where: list[int] = []
            hrefs: list[str] = []
            for line0, child in _inline_lines(token):
                piece = ""
                if child.type in ("text", "code_inline", "image", "html_inline"):
                    piece = child.content
                elif child.type in ("softbreak", "hardbreak"):
                    piece = " "
                elif child.type == "link_open":
                    hrefs.append(str(child.attrGet("href") or ""))
                elif child.type == "link_close" and hrefs:
                    piece = f" ({hrefs.pop()})"
                text.append(piece)
                where += [line0] * len(piece)
            yield "".join(text), where
        elif token.type in ("code_block", "fence") and token.map:
            first = token.map[0] + (1 if token.type == "fence" else 0)
            where = []
            for k, line in enumerate(token.content.split("\n")):
                where += [first + k] * (len(line) + 1)
            yield token.content.replace("\n", " "), where


def printed_problems(text: str, heading_at: Callable[[int], str | None]) -> list[Problem]:
    """A CPR number, a phone number or an e-mail address in the text as the report prints it
    (rendered by the report's own Markdown renderer), each located at the source line where
    it begins: an entity (``&#48;``), an escape (``\\-``) or a line break inside the number
    hides nothing. The match is never quoted."""
    problems = []
    for printed, where in _printed_runs(_renderer().parse(text)):
        for pattern, message in _PRINTED_CHECKS:
            for match in pattern.finditer(printed):
                line0 = where[min(match.start(), len(where) - 1)]
                problems.append(Problem(line0 + 1, message, heading_at(line0)))
    return problems


_NO_HTML = "HTML er ikke tilladt i teksterne; skriv almindelig tekst (Markdown)"


def _unknown(heading: str, contract: Contract) -> str:
    titles = [n.title for n in contract.narratives]
    close = difflib.get_close_matches(heading, titles, n=1, cutoff=0.6)
    hint = (
        f"; mente du '## {close[0]}'?"
        if close
        else f"; afsnittene står under narratives i contracts/{contract.id}.yaml"
    )
    return (
        f"overskriften '## {_clip(heading)}' svarer ikke til noget afsnit, som kontrakten "
        f"{contract.id} beder om{hint}"
    )


# --- rendering ----------------------------------------------------------------------------


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    env.setdefault("links", []).append(str(tokens[idx].attrGet("href") or ""))
    return ""


def _link_close(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    href = env["links"].pop()
    # the text before the close, to leave out an address that is its own text (an autolink)
    j, shown = idx - 1, []
    while j >= 0 and tokens[j].type != "link_open":
        shown.append(tokens[j].content)
        j -= 1
    text = "".join(reversed(shown)).strip()
    return "" if not href or text in (href, href.removeprefix("mailto:")) else f" ({escape(href)})"


def _image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return escape(tokens[idx].content)  # never fetched: the alt text only (parse refuses images)


def _heading(self: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """A section's own heading one level below its title (the section's '##'), wherever the
    report places the title (``env["title_level"]``): a tagged PDF's headings nest without a
    gap. Its class keeps its look, whatever its level."""
    token = tokens[idx]
    written = int(token.tag[1])  # 3 or more: '##' is the section's heading
    level = min(written - 2 + env["title_level"], 6)
    if token.nesting != 1:
        return f"</h{level}>\n"
    return f'<h{level} class="{"sub" if written <= 3 else "subsub"}">'


@cache
def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    md.add_render_rule("heading_open", _heading)
    md.add_render_rule("heading_close", _heading)
    return md


def render(markdown: str, title_level: int) -> Markup:
    """A section's Markdown as HTML for the report, under its title's heading of
    ``title_level`` (2-6): raw HTML is escaped text, no image is fetched, and a link is
    written out as its text and address (nothing is clickable)."""
    return Markup(_renderer().render(markdown, {"title_level": title_level}))


# --- what a report shows ------------------------------------------------------------------


def missing_required(contract: Contract, texts: Mapping[str, str]) -> list[Narrative]:
    """The required sections the year's texts lack (or leave empty), in contract order."""
    return [n for n in contract.narratives if n.required and not texts.get(n.id, "").strip()]


@dataclass(frozen=True)
class Placed:
    """The year's texts where the report shows them, each a dict for the template: ``title``,
    ``level`` (of its title's heading), ``contract_text``, ``html`` (safe) or ``missing`` (a required text not written: the
    placeholder names it and the file it is written in). A missing optional text is left
    out."""

    foreword: list[dict[str, Any]]
    by_kpi: dict[str, list[dict[str, Any]]]
    by_section: dict[str, list[dict[str, Any]]]


# the level of a text's title heading where the report places it: a foreword is a chapter
# (h2), a section's text follows its goals (h3), a KPI's text its KPI's heading (h4)
TITLE_LEVEL = {"foreword": 2, "section": 3, "kpi": 5}


def placed(contract: Contract, texts: Mapping[str, str], year: int) -> Placed:
    out = Placed([], {}, {})
    for n in contract.narratives:
        written = texts.get(n.id, "").strip()
        if not written and not n.required:
            continue
        where = (
            "foreword"
            if n.place == "foreword"
            else "kpi"
            if isinstance(n.place, KpiPlace)
            else "section"
        )
        level = TITLE_LEVEL[where]
        item = {
            "id": n.id,
            "title": n.title,
            "level": level,
            "contract_text": n.contract_text,
            "html": render(written, level) if written else Markup(""),
            "missing": not written,
            "file": relpath(contract, year),
        }
        if n.place == "foreword":
            out.foreword.append(item)
        elif isinstance(n.place, KpiPlace):
            out.by_kpi.setdefault(n.place.kpi, []).append(item)
        else:
            out.by_section.setdefault(n.place.section, []).append(item)
    return out


# --- the delivery in the warehouse --------------------------------------------------------

TEXTS_DDL = """
CREATE TABLE IF NOT EXISTS ingest.report_texts (
    contract VARCHAR NOT NULL, year INTEGER NOT NULL, section_id VARCHAR NOT NULL,
    title VARCHAR NOT NULL, position INTEGER NOT NULL, line INTEGER NOT NULL,
    markdown VARCHAR NOT NULL, file VARCHAR NOT NULL, sha256 VARCHAR NOT NULL
)"""


def ensure_texts_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(TEXTS_DDL)


@dataclass(frozen=True)
class TextsDelivery:
    relpath: str
    sha256: str | None  # None: no file
    sections: list[Section]
    lines: int = 0
    encoding: str | None = None

    @property
    def missing(self) -> bool:
        return self.sha256 is None


def read(inbox: Path, contract: Contract, year: int) -> TextsDelivery:
    """The year's texts file of the contract, parsed (:class:`TextsError` if it cannot be
    used). A link out of the inbox is not followed."""
    rel = relpath(contract, year)
    path = inbox / rel
    if not listed(inbox, rel):  # also one named in another case (inventory.listed)
        return TextsDelivery(rel, None, [])
    if not path.is_file() or not path.resolve().is_relative_to(inbox.resolve()):
        raise TextsError(rel, [Problem(1, "filen er ikke en almindelig fil i indbakken")])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:  # not read at all
        raise TextsError(
            rel,
            [
                Problem(
                    0,
                    f"filen fylder {_number(size)} byte; teksterne må højst fylde "
                    f"{_number(MAX_FILE_BYTES)} byte; skriv kortere afsnit",
                )
            ],
        )
    data = path.read_bytes()
    sections = parse(data, contract, rel)
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    # the hash of the bytes parsed (never a second read, which could see another file)
    sha = hashlib.sha256(data).hexdigest()
    return TextsDelivery(rel, sha, sections, data.count(b"\n") + 1, encoding)


def stored(con: duckdb.DuckDBPyConnection, contract_id: str, year: int) -> dict[str, str]:
    """The year's sections as last read from a good file: id -> Markdown, in file order."""
    rows = con.execute(
        "SELECT section_id, markdown FROM ingest.report_texts WHERE contract = $c AND year = $y "
        "ORDER BY position",
        {"c": contract_id, "y": year},
    ).fetchall()
    return dict(rows)


def previous(con: duckdb.DuckDBPyConnection, contract: Contract, year: int) -> tuple[str, int]:
    """The file the year's stored sections come from (sha256, sections), or ('', 0)."""
    rows = con.execute(
        "SELECT sha256, rows_read FROM ingest.deliveries WHERE source = $s AND org = $o "
        "AND year = $y AND sha256 IS NOT NULL",
        {"s": source_name(contract.id), "o": contract.organisation.slug, "y": year},
    ).fetchall()
    return (rows[0][0], int(rows[0][1])) if rows else ("", 0)


def unchanged_since(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    year: int,
    delivery: TextsDelivery,
    summary: str,
) -> dt.datetime | None:
    """When the year's stored texts were read from this very file (or the same absence of
    one) with the same outcome and sections, so that :func:`commit` would change nothing but
    the times; None where it would change more."""
    source, org = source_name(contract.id), contract.organisation.slug
    keys = {"s": source, "o": org, "y": year, "sha": delivery.sha256, "summary": summary}
    rows = con.execute(
        "SELECT d.read_at FROM ingest.deliveries d WHERE d.source = $s AND d.org = $o "
        "AND d.year = $y AND d.sha256 IS NOT DISTINCT FROM $sha AND EXISTS (SELECT 1 FROM "
        "ingest.checks c WHERE c.source = $s AND c.org = $o AND c.year = $y AND c.passed "
        "AND c.sha256 IS NOT DISTINCT FROM $sha AND c.summary = $summary) AND (SELECT "
        "count(*) FROM ingest.checks c WHERE c.source = $s AND c.org = $o AND c.year = $y) = 1",
        keys,
    ).fetchall()
    if len(rows) != 1:
        return None
    sections = {s.id: s.markdown for s in delivery.sections}
    if list(stored(con, contract.id, year).items()) != list(sections.items()):
        return None
    return rows[0][0]


def commit(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    year: int,
    delivery: TextsDelivery,
    summary: str,
    run_id: str | None = None,
) -> None:
    """Replace the year's sections, the delivery record and the check outcome together."""
    source, org = source_name(contract.id), contract.organisation.slug
    keys = {"c": contract.id, "y": year}
    for attempt in write_attempts():
        with attempt, transaction(con):
            con.execute("DELETE FROM ingest.report_texts WHERE contract = $c AND year = $y", keys)
            if delivery.sections:
                con.executemany(
                    "INSERT INTO ingest.report_texts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            contract.id,
                            year,
                            s.id,
                            s.title,
                            i,
                            s.line,
                            s.markdown,
                            delivery.relpath,
                            delivery.sha256,
                        )
                        for i, s in enumerate(delivery.sections)
                    ],
                )
            con.execute(
                "DELETE FROM ingest.deliveries WHERE source = $s AND org = $o AND year = $y",
                {"s": source, "o": org, "y": year},
            )
            con.execute(
                "INSERT INTO ingest.deliveries (source, org, year, file, sha256, encoding, rows_read, "
                "rows_rejected, read_at, run_id, records, physical_lines, blank_lines, "
                "out_of_partition) VALUES ($s, $o, $y, $file, $sha, $enc, $n, 0, now()::TIMESTAMP, "
                "$run, $n, $lines, NULL, 0)",
                {
                    "s": source,
                    "o": org,
                    "y": year,
                    "file": delivery.relpath,
                    "sha": delivery.sha256,
                    "enc": delivery.encoding,
                    "n": len(delivery.sections),
                    "run": run_id,
                    "lines": delivery.lines,
                },
            )
            replace_checks(
                con, source, org, year, [(CHECK, True, True, summary)], delivery.sha256, run_id
            )


def refuse(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    year: int,
    reason: str,
    sha256: str | None,
    run_id: str | None = None,
) -> None:
    """Record a failed blocking check against the file; the year's sections stay as they
    were (the last good file's)."""
    outcomes = [(CHECK, False, True, reason)]
    record_checks(
        con, source_name(contract.id), contract.organisation.slug, year, outcomes, sha256, run_id
    )
