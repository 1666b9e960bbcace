"""Cells of an xlsx sheet whose value cannot be trusted although a reader sees none.

A reader such as calamine returns what a workbook has *stored* in each cell. Two kinds of
cell then look empty without being empty:

- a formula without a cached value: the file was written by a program that does not
  compute formulas (openpyxl and others write the formula alone), so the value the sender
  saw in Excel is not in the file;
- a cell covered by a merged range other than its top-left (anchor) cell: the value the
  sender saw there belongs to the anchor, and the cell itself holds nothing.

:func:`problem_cells` finds both for the data rows of one sheet. It does not build a cell
object per cell (openpyxl would, at several microseconds each): it reads the sheet's XML part
from the zip and scans it with compiled regular expressions, which run in C. Only formula
cells and merged ranges reach Python code, and a sheet has few of either.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
import zlib
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

# an optional namespace prefix of an element or attribute name ("x:" in "<x:c ...>")
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
# the attributes of a start tag (attribute values may hold '>' only when quoted)
_ATTRS = rb"((?:[^>\"']|\"[^\"]*\"|'[^']*')*)"


def _element(name: bytes) -> bytes:
    """A start tag of element ``name`` (any prefix), its attributes as group 1."""
    return rb"<" + _PREFIX + name + rb"(?=[\s/>])" + _ATTRS + rb">"


# The search for formulas and merged ranges starts from a literal (found at memchr speed):
# the start of a formula element, unprefixed ('<f') or prefixed ('x:f'), and the name of the
# merged-range element. A pattern that tried an optional prefix at every '<' of the sheet
# would take ten times as long (measured: 0.5 s against 0.05 s for a 95 MB sheet).
_FORMULA_START = (re.compile(rb"<f[\s/>]"), re.compile(rb":f[\s/>]"))
MERGE_NAME = b"mergeCell"
# from the start of a formula element: the formula (self-closing for the other cells of a
# shared formula, <f t="shared" si="0"/>; else <f ...>text</f>) and the value stored after it,
# if there is one: group 1 a <v> element, group 2 the text of a <v>...</v>, group 3 an
# inline string (<is>)
_FORMULA_AND_VALUE = re.compile(
    rb"<" + _PREFIX + rb"f(?=[\s/>])(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(?:/>|>[^<]*</" + _PREFIX
    + rb"f\s*>)\s*(?:(<" + _PREFIX + rb"v(?=[\s/>])(?:[^>\"']|\"[^\"]*\"|'[^']*')*?"
    + rb"(?:/>|>([^<]*)</" + _PREFIX + rb"v\s*>))|(<" + _PREFIX + rb"is(?=[\s/>])))?"
)  # fmt: skip
_MERGE = re.compile(_element(rb"mergeCell"))
_ROW = re.compile(_element(rb"row"))
_CELL = re.compile(_element(rb"c"))
_SHEET = re.compile(_element(rb"sheet"))
_RELATIONSHIP = re.compile(_element(rb"Relationship"))
_SHEET_DATA_END = re.compile(rb"</" + _PREFIX + rb"sheetData\s*>")
# one attribute: (prefix:)name and its quoted value
_ATTRIBUTE = re.compile(
    rb"(?<![\w.:-])((?:[A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')"
)
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")

OFFICE_DOCUMENT = "/officeDocument"  # the end of the relationship type of the workbook part
MAX_COLUMNS = 16_384  # Excel's last column, XFD
LAST_ROW_WINDOW = 1 << 16  # bytes before </sheetData> searched first for the last row


class CellProblem(NamedTuple):
    row: int  # the sheet's row number (1: the header row)
    cell: str  # the cell's address, e.g. 'D7'
    reason: str  # Danish, for the quarantine table


class XlsxStructureError(ValueError):
    """The workbook's parts cannot be found (not an xlsx file, or the sheet is missing)."""


def problem_cells(
    path: Path | str, sheet: str | int, n_columns: int, first_row: int = 2
) -> list[CellProblem]:
    """The cells of ``sheet`` (a name, or a position in the workbook's order of sheets) that
    hold a formula without a cached value or are covered by a merged range without being
    its anchor, in the rows from ``first_row`` and the first ``n_columns`` columns; sorted
    by row and column."""
    try:
        with zipfile.ZipFile(path) as package:
            data = package.read(_sheet_part(package, sheet))
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        raise XlsxStructureError(f"filen kan ikke åbnes som xlsx-pakke ({exc})") from None
    return _scan(data, n_columns, first_row)


def _scan(data: bytes, n_columns: int, first_row: int) -> list[CellProblem]:
    found: dict[tuple[int, int], str] = {}
    rows: _Rows | None = None
    for cell_start, reference in _formulas_without_value(data):
        if reference is None:  # the cell has no reference: count the cells before it in its row
            rows = rows or _Rows(data)
            reference = rows.position(data, cell_start)
        row, column = reference
        if row >= first_row and column <= n_columns:
            found[(row, column)] = (
                f"Celle {_address(row, column)} indeholder en formel uden gemt værdi"
            )
    for top, left, bottom, right in _merged_ranges(data):
        shown = f"{_address(top, left)}:{_address(bottom, right)}"
        # a range reaching past the sheet's last row covers rows that hold nothing at all
        last = min(bottom, _last_row(data, rows))
        for row in range(max(top, first_row), last + 1):
            for column in range(left, min(right, n_columns) + 1):
                if (row, column) != (top, left):  # the anchor holds the merged cell's value
                    found.setdefault(
                        (row, column),
                        f"Celle {_address(row, column)} er en del af den flettede celle {shown}",
                    )
    return [CellProblem(row, _address(row, column), found[(row, column)])
            for row, column in sorted(found)]  # fmt: skip


def _formulas_without_value(data: bytes) -> Iterator[tuple[int, tuple[int, int] | None]]:
    """Where the start tag of each cell holding a formula and no stored value begins, and
    the cell's (row, column) if the cell names it."""
    for start_pattern in _FORMULA_START:
        for hit in start_pattern.finditer(data):
            at = data.rfind(b"<", 0, hit.start() + 1)  # the formula element's '<'
            formula = _FORMULA_AND_VALUE.match(data, at)
            cell_start = data.rfind(b"<", 0, at)
            cell = _CELL.match(data, cell_start) if formula and cell_start >= 0 else None
            if formula is None or cell is None or data[cell.end() : at].strip():
                continue  # not a formula element that is a cell's first child
            attrs = _attributes(cell.group(1))
            if (formula.group(2) or b"").strip() or formula.group(3):
                continue  # a stored value
            if formula.group(1) and attrs.get("t") == "str":
                continue  # a text formula whose computed value is the empty text
            yield cell_start, _reference(attrs.get("r", ""))


def _merged_ranges(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(top, left, bottom, right) of each merged range of the sheet."""
    first = data.find(MERGE_NAME)
    if first < 0:
        return
    for match in _MERGE.finditer(data, max(0, data.rfind(b"<", 0, first))):
        parts = _attributes(match.group(1)).get("ref", "").split(":")
        first_corner, last_corner = _reference(parts[0]), _reference(parts[-1])
        if len(parts) != 2 or first_corner is None or last_corner is None:
            continue  # a single cell, or no reference
        (r1, c1), (r2, c2) = first_corner, last_corner
        yield min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def _last_row(data: bytes, rows: _Rows | None) -> int:
    """The number of the sheet's last row: from the last row start tag before </sheetData>
    (rows stand in order), else by numbering every row."""
    if rows is not None:
        return rows.last
    end_match = _SHEET_DATA_END.search(data)
    end = end_match.start() if end_match else len(data)
    window = LAST_ROW_WINDOW
    while True:
        begin = max(0, end - window)
        found = list(_ROW.finditer(data, begin, end))
        if found:
            given = _attributes(found[-1].group(1)).get("r", "")
            return int(given) if given.isdigit() else _Rows(data).last
        if begin == 0:
            return 0
        window *= 4


def _address(row: int, column: int) -> str:
    return column_letters(column) + str(row)


def column_letters(column: int) -> str:
    """1 -> 'A', 27 -> 'AA'."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _reference(text: str) -> tuple[int, int] | None:
    """'D7' (also '$D$7') -> (row 7, column 4); None if it is no cell reference."""
    match = _CELL_REF.fullmatch(text.strip())
    if match is None:
        return None
    column = _column_number(match.group(1))
    row = int(match.group(2))
    if not 1 <= column <= MAX_COLUMNS or row < 1:
        return None
    return row, column


def _attributes(raw: bytes) -> dict[str, str]:
    """A start tag's attributes by local name (a prefix such as 'r:' dropped), unescaped."""
    out: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(raw):
        name = match.group(1).decode("ascii", "replace").rsplit(":", 1)[-1]
        value = match.group(2) if match.group(2) is not None else match.group(3)
        out.setdefault(name, html.unescape(value.decode("utf-8", "replace")))
    return out


class _Rows:
    """Where each row of the sheet starts and its number (a row without ``r`` follows the
    one before). Built only when needed: for a cell without a reference, or to bound a
    merged range by the sheet's last row."""

    def __init__(self, data: bytes) -> None:
        self.starts: list[int] = []
        self.numbers: list[int] = []
        number = 0
        for match in _ROW.finditer(data):
            given = _attributes(match.group(1)).get("r", "")
            number = int(given) if given.isdigit() else number + 1
            self.starts.append(match.end())
            self.numbers.append(number)
        self.last = max(self.numbers, default=0)

    def position(self, data: bytes, at: int) -> tuple[int, int]:
        """The (row, column) of the cell without a reference whose start tag begins at
        ``at``: the column after the cell before it in the row."""
        i = bisect_right(self.starts, at) - 1
        if i < 0:
            raise XlsxStructureError("en celle står uden for arkets rækker")
        column = 0
        for match in _CELL.finditer(data, self.starts[i], at):
            given = _reference(_attributes(match.group(1)).get("r", ""))
            column = given[1] if given else column + 1
        return self.numbers[i], column + 1


# --- finding the sheet's part ----------------------------------------------------------------


def _sheet_part(package: zipfile.ZipFile, sheet: str | int) -> str:
    """The zip member of the sheet: the workbook part names the sheet's relationship id,
    the workbook's relationships give the part."""
    workbook = _workbook_part(package)
    sheets = [_attributes(m.group(1)) for m in _SHEET.finditer(_read(package, workbook))]
    if isinstance(sheet, int):
        chosen = sheets[sheet] if 0 <= sheet < len(sheets) else None
    else:
        chosen = next((s for s in sheets if s.get("name") == sheet), None)
    if chosen is None or "id" not in chosen:
        raise XlsxStructureError(f"arket '{sheet}' findes ikke i projektmappen")
    folder, name = posixpath.split(workbook)
    rels = _relationships(package, posixpath.join(folder, "_rels", name + ".rels"), folder)
    if chosen["id"] not in rels:
        raise XlsxStructureError(f"arket '{sheet}' peger på en del, der ikke findes")
    return _member(package, rels[chosen["id"]][1])


def _workbook_part(package: zipfile.ZipFile) -> str:
    """The workbook part: named by the package's relationships, by convention xl/workbook.xml."""
    try:
        rels = _relationships(package, "_rels/.rels", "")
    except XlsxStructureError:
        rels = {}
    for kind, target in rels.values():
        if kind.endswith(OFFICE_DOCUMENT):
            return _member(package, target)
    return _member(package, "xl/workbook.xml")


def _relationships(package: zipfile.ZipFile, part: str, folder: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part), targets resolved against ``folder``."""
    out: dict[str, tuple[str, str]] = {}
    for match in _RELATIONSHIP.finditer(_read(package, part)):
        attrs = _attributes(match.group(1))
        if attrs.get("TargetMode") == "External" or "Id" not in attrs:
            continue
        target = attrs.get("Target", "")
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        out[attrs["Id"]] = (attrs.get("Type", ""), posixpath.normpath(resolved))
    return out


def _member(package: zipfile.ZipFile, part: str) -> str:
    """The zip member named ``part`` (part names are case-insensitive in a package)."""
    names = package.namelist()
    if part in names:
        return part
    lowered = {n.lower(): n for n in names}
    if part.lower() in lowered:
        return lowered[part.lower()]
    raise XlsxStructureError(f"projektmappen mangler delen {part}")


def _read(package: zipfile.ZipFile, part: str) -> bytes:
    return package.read(_member(package, part))
