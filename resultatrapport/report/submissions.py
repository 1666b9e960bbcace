"""The CSV submission files in the recipients' dialect, and their validation.

Both files (``resultatopfyldelse`` and ``kommunefordeling``, see
``shared/formats/submissions.md``), and the national overview made of every hub's
``resultatopfyldelse`` (``maalopfyldelse_national``, ``shared/formats/national.md``), are
UTF-8 with a byte-order mark, ``;``-separated, with a decimal comma, CRLF line ends, the
exact Danish header row, no thousands separators and an empty field for no value. Their columns, types and constraints are declared once, in the
Frictionless Table Schemas shipped in ``resultatrapport/report/schemas``; the column lists
here are read from them.

:func:`render_csv` turns rows (dicts keyed by the Danish headers, holding Python values)
into the file's bytes; :func:`validate_csv` checks a written file against its schema and
the dialect; :func:`write_atomically` (from :mod:`resultatrapport.report.files`) writes it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from resultatrapport.report.danish import csv_number
from resultatrapport.report.files import write_atomically
from resultatrapport.vocabulary import NO, YES

__all__ = [
    "KINDS",
    "MUNICIPALITY_COLUMNS",
    "NATIONAL_COLUMNS",
    "RESULT_COLUMNS",
    "Finding",
    "findings",
    "render_csv",
    "schema_descriptor",
    "validate_bytes",
    "validate_csv",
    "write_atomically",
]

RESULTATOPFYLDELSE = "resultatopfyldelse"
KOMMUNEFORDELING = "kommunefordeling"
# the national overview of every hub's resultatopfyldelse (shared/formats/national.md), in
# the same dialect; written by resultatrapport.national, not at a sign-off
MAALOPFYLDELSE_NATIONAL = "maalopfyldelse_national"
KINDS = (RESULTATOPFYLDELSE, KOMMUNEFORDELING, MAALOPFYLDELSE_NATIONAL)

DELIMITER = ";"
LINE_END = "\r\n"
BOM = codecs.BOM_UTF8

# number columns with a fixed number of decimals; the other number columns (result, target
# and bounds) are rounded by the caller as the report prints them (report/rounding.py) and
# passed as a Decimal, written with exactly its decimals, or as a whole number
FIXED_DECIMALS = {"Andel": 4, "Afvigelse": 1, "Måltal": 1}

# a text cell a spreadsheet would run as a formula if it began so (OWASP, CSV injection); the
# writer puts a single quote before it, which the spreadsheet shows as text and hides
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"

# what a number cell may look like; frictionless alone would also take e.g. "1e3", "NaN"
_NUMBER_SYNTAX = {
    "integer": re.compile(r"-?[0-9]+"),
    "number": re.compile(r"-?[0-9]+(,[0-9]+)?"),
}


def schema_descriptor(kind: str) -> dict[str, Any]:
    """The Frictionless Table Schema (as a dict) shipped for a submission kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown submission kind {kind!r}; expected one of {KINDS}")
    resource = files("resultatrapport.report") / "schemas" / f"{kind}.schema.json"
    descriptor: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return descriptor


def _fields(kind: str) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = schema_descriptor(kind)["fields"]
    return fields


def _columns(kind: str) -> tuple[str, ...]:
    return tuple(field["name"] for field in _fields(kind))


RESULT_COLUMNS: tuple[str, ...] = _columns(RESULTATOPFYLDELSE)
MUNICIPALITY_COLUMNS: tuple[str, ...] = _columns(KOMMUNEFORDELING)
NATIONAL_COLUMNS: tuple[str, ...] = _columns(MAALOPFYLDELSE_NATIONAL)
_FIELDS = {kind: {f["name"]: f for f in _fields(kind)} for kind in KINDS}


# --- writing ---------------------------------------------------------------------------------


def _number(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise ValueError(f"column {name!r}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"column {name!r}: {value!r} is not a finite number")
    decimals = FIXED_DECIMALS.get(name)
    if decimals is None and isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    elif decimals is None:
        if not float(value).is_integer():
            raise ValueError(
                f"column {name!r}: {value!r} is not rounded; pass a Decimal with the decimals "
                "the report prints (resultatrapport/report/rounding.py)"
            )
        decimals = 0
    rounded = round(float(value), decimals)
    return csv_number(rounded or 0.0, decimals)  # -0.0 is falsy: never "-0"


def _integer(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise ValueError(f"column {name!r}: expected a whole number, got {value!r}")
    if isinstance(value, Integral):
        return str(int(value))
    if not float(value).is_integer():  # also refuses NaN and infinity
        raise ValueError(f"column {name!r}: {value!r} is not a whole number")
    return str(int(float(value)))


def _text(name: str, field: dict[str, Any], value: object) -> str:
    if isinstance(value, bool) and field.get("constraints", {}).get("enum") == [YES, NO]:
        return YES if value else NO
    if name == "Kommunenr" and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:03d}"
    if not isinstance(value, str):
        raise ValueError(f"column {name!r}: expected text, got {value!r}")
    if "\r" in value or "\n" in value:
        raise ValueError(f"column {name!r}: line break in {value!r}")
    return TEXT_MARK + value if value.startswith(FORMULA_START) else value


def _date(name: str, value: object) -> str:
    # a datetime is refused: its date depends on the time zone
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValueError(f"column {name!r}: expected a date, got {value!r}")
    return value.isoformat()


def _cell(field: dict[str, Any], value: object) -> str:
    name = field["name"]
    if value is None:
        return ""
    match field["type"]:
        case "number":
            return _number(name, value)
        case "integer":
            return _integer(name, value)
        case "date":
            return _date(name, value)
        case "string":
            return _text(name, field, value)
    raise AssertionError(f"column {name!r}: unsupported schema type {field['type']!r}")


def render_csv(kind: str, rows: list[dict[str, object]]) -> bytes:
    """The submission file's bytes: UTF-8 with BOM, ``;``, decimal comma, CRLF.

    Each row has exactly the file's Danish headers as keys (:data:`RESULT_COLUMNS` or
    :data:`MUNICIPALITY_COLUMNS`), with Python values: ``None`` for no value (an empty
    field), ``int``/``float``/``Decimal`` for numbers, ``bool`` for the Ja/Nej columns,
    ``datetime.date`` for dates and ``str`` for text. Numbers get a decimal comma and no
    thousands separator: ``Andel`` 4 decimals, ``Afvigelse`` and ``Måltal`` 1, integer
    columns none (a fraction is refused), and ``Resultat``, ``Målværdi`` and the bounds as
    the caller rounded them: a ``Decimal`` with exactly its decimals (``Decimal("0.98")``
    -> ``0,98``), a whole number whole, and a fraction that is no Decimal is refused (one
    rounding, the report's: :mod:`resultatrapport.report.rounding`). A text that begins like a spreadsheet
    formula (``=``, ``+``, ``-``, ``@``, a tab) gets a leading ``'``, so Excel shows it as
    text instead of running it; numbers are never text, so ``-3,5`` stays a number.

    Raises :class:`ValueError` for an unknown kind, unknown or missing keys (naming them)
    and values of the wrong type.
    """
    fields = _FIELDS.get(kind)
    if fields is None:
        raise ValueError(f"unknown submission kind {kind!r}; expected one of {KINDS}")
    columns = list(fields)
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer, delimiter=DELIMITER, quoting=csv.QUOTE_MINIMAL, lineterminator=LINE_END
    )
    writer.writerow(columns)
    for number, row in enumerate(rows, start=2):  # row numbers as in the file: header is 1
        unknown = [key for key in row if key not in fields]
        missing = [name for name in columns if name not in row]
        if unknown or missing:
            problems = []
            if unknown:
                problems.append(f"unknown columns {unknown}")
            if missing:
                problems.append(f"missing columns {missing}")
            raise ValueError(f"{kind}, row {number}: {'; '.join(problems)}")
        writer.writerow([_cell(fields[name], row[name]) for name in columns])
    return buffer.getvalue().encode("utf-8-sig")


# --- validation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One way a file breaks its schema or the dialect: where (the record ``row``, the header
    being row 1, and the physical ``line`` it starts on, which differ only after a quoted line
    break; ``field`` the column), and what, in English (``text``, as :func:`validate_bytes`
    says it) and in Danish for a recipient (``danish``, without the place: :attr:`located`)."""

    text: str
    danish: str
    row: int | None = None
    line: int | None = None
    field: str | None = None
    # frictionless's error type ("type-error", "missing-label", …), or "header" for the
    # header row against the schema's columns; empty for the dialect's and the syntax's
    code: str = ""

    @property
    def located(self) -> str:
        """The Danish finding with its place: "linje 3, kolonne 'Resultat': …"."""
        where = []
        if self.line is not None:
            where.append(f"linje {self.line}")
        if self.field:
            where.append(f"kolonne {self.field!r}")
        return f"{', '.join(where)}: {self.danish}" if where else self.danish


def _dialect_errors(data: bytes) -> list[Finding]:
    """What frictionless does not check: the byte-order mark and the CRLF line ends."""
    errors = []
    if not data.startswith(BOM):
        errors.append(
            Finding(
                "the file does not start with a UTF-8 byte-order mark (BOM)",
                "filen begynder ikke med et UTF-8-byte-order-mark (BOM)",
            )
        )
    lf = data.count(b"\n") - data.count(b"\r\n")
    cr = data.count(b"\r") - data.count(b"\r\n")
    if lf:
        errors.append(
            Finding(
                f"{lf} line(s) end with LF instead of CRLF",
                f"{lf} linje(r) ender med LF i stedet for CRLF",
            )
        )
    if cr:
        errors.append(
            Finding(
                f"{cr} line(s) end with CR instead of CRLF",
                f"{cr} linje(r) ender med CR i stedet for CRLF",
            )
        )
    if data.strip(BOM) and not data.endswith((b"\n", b"\r")):
        errors.append(
            Finding("the last line has no line end (CRLF)", "den sidste linje har intet linjeskift")
        )
    return errors


def _header_errors(columns: tuple[str, ...], header: list[str]) -> list[Finding]:
    if header == list(columns):
        return []
    problems, danish = [], []
    missing = [c for c in columns if c not in header]
    extra = [h for h in header if h not in columns]
    if missing:
        problems.append(f"missing columns {missing}")
        danish.append(f"kolonnerne {missing} mangler")
    if extra:
        problems.append(f"unknown columns {extra}")
        danish.append(f"ukendte kolonner {extra}")
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        problems.append(f"repeated columns {duplicated}")
        danish.append(f"kolonnerne {duplicated} står flere gange")
    if not problems:
        problems.append("columns in the wrong order")
        danish.append("kolonnerne står i forkert rækkefølge")
    expected = DELIMITER.join(columns)
    return [
        Finding(
            f"header row: {'; '.join(problems)}; expected {expected!r}",
            f"overskriftslinjen: {'; '.join(danish)}",
            row=1,
            line=1,
            code="header",
        )
    ]


def _syntax_errors(
    kind: str,
    records: list[list[str]],
    lines: list[int],
    flagged: set[tuple[int | None, str | None]],
) -> list[Finding]:
    """Number cells frictionless accepts but the recipients' dialect does not ("1e3", "NaN",
    "+5", " 5", "1_000", non-ASCII digits). Cells are matched to fields by position, as
    frictionless does."""
    errors = []
    fields = list(_FIELDS[kind].values())
    for row_number, row in enumerate(records[1:], start=2):
        for field, cell in zip(fields, row, strict=False):
            name = field["name"]
            syntax = _NUMBER_SYNTAX.get(field["type"])
            if syntax is None or cell == "" or (row_number, name) in flagged:
                continue
            if not syntax.fullmatch(cell):
                errors.append(
                    Finding(
                        f"row {row_number}, field {name!r}: {cell!r} {_EXPECTED[field['type']]}",
                        f"{_clip(cell)!r} {_EXPECTED_DA[field['type']]}",
                        row_number,
                        _line(lines, row_number),
                        name,
                    )
                )
    return errors


def _formula_errors(kind: str, records: list[list[str]], lines: list[int]) -> list[Finding]:
    """Text cells a spreadsheet would run as a formula (:data:`FORMULA_START`); the writer
    neutralises them with a leading quote, so one here was written by something else."""
    fields = list(_FIELDS[kind].values())
    return [
        Finding(
            f"row {row_number}, field {field['name']!r}: {cell!r} begins like a spreadsheet formula",
            f"{_clip(cell)!r} begynder som en regnearksformel",
            row_number,
            _line(lines, row_number),
            field["name"],
        )
        for row_number, row in enumerate(records[1:], start=2)
        for field, cell in zip(fields, row, strict=False)
        if field["type"] == "string" and cell.startswith(FORMULA_START)
    ]


_EXPECTED = {
    "integer": "is not a whole number written with digits only (no thousands separators)",
    "number": "is not a number written with digits and a decimal comma (no thousands separators)",
    "date": "is not an ISO date (YYYY-MM-DD)",
}
_EXPECTED_DA = {
    "integer": "er ikke et helt tal skrevet med cifre alene (uden tusindtalsseparator)",
    "number": "er ikke et tal skrevet med cifre og decimalkomma (uden tusindtalsseparator)",
    "date": "er ikke en ISO-dato (ÅÅÅÅ-MM-DD)",
}
# frictionless's row errors in Danish, by error type
_ROW_ERRORS_DA = {
    "primary-key": "rækken gentager en anden rækkes nøgle ({keys})",
    "extra-cell": "rækken har flere felter end overskriftslinjen",
    "missing-cell": "rækken har færre felter end overskriftslinjen",
    "blank-row": "rækken er tom",
    "duplicate-label": "en kolonne står to gange i overskriftslinjen",
}
SHOWN_CELL = 40  # characters of a cell a Danish finding quotes at most


def _clip(cell: str) -> str:
    return cell if len(cell) <= SHOWN_CELL else cell[: SHOWN_CELL - 1] + "…"


def _line(lines: list[int], row_number: int | None) -> int | None:
    """The physical line record ``row_number`` (the header is 1) starts on."""
    if row_number is None or not 1 <= row_number <= len(lines):
        return row_number
    return lines[row_number - 1]


def _constraint_da(kind: str, field_name: str | None, cell: str, note: str) -> str:
    if note.startswith('constraint "required"'):
        return "mangler en værdi"
    if note.startswith('constraint "enum"'):
        allowed = _FIELDS[kind][field_name or ""]["constraints"]["enum"]
        return f"{_clip(cell)!r} er ikke en af {', '.join(map(repr, allowed))}"
    if note.startswith('constraint "pattern"'):
        return f"{_clip(cell)!r} har ikke den krævede form"
    if note.startswith('constraint "minimum"'):
        return f"{_clip(cell)!r} er mindre end den mindste tilladte værdi"
    return f"{_clip(cell)!r} overholder ikke feltets regler"


def _describe(kind: str, error: Any, lines: list[int]) -> Finding:
    """A frictionless error as one line naming its row and field."""
    where = []
    row_number = getattr(error, "row_number", None)
    field_name = getattr(error, "field_name", None)
    if row_number is not None:
        where.append(f"row {row_number}")
    if field_name:
        where.append(f"field {field_name!r}")
    cell = getattr(error, "cell", None)
    field_type = _FIELDS[kind].get(field_name or "", {}).get("type")
    if error.type == "type-error" and field_type in _EXPECTED:
        detail = f"{cell!r} {_EXPECTED[field_type]}"
        danish = f"{_clip(str(cell))!r} {_EXPECTED_DA[field_type]}"
    elif error.type == "constraint-error":
        if error.note.startswith('constraint "required"'):
            detail = "a value is required"
        elif error.note.startswith('constraint "enum"'):
            allowed = _FIELDS[kind][field_name]["constraints"]["enum"]
            detail = f"{cell!r} is not one of {', '.join(map(repr, allowed))}"
        else:
            detail = f"{cell!r} breaks the {error.note}"
        danish = _constraint_da(kind, field_name, str(cell or ""), error.note)
    else:
        detail = f"{error.title}: {error.note}" if error.note else error.title
        if cell:
            detail += f" ({cell!r})"
        keys = ", ".join(schema_descriptor(kind).get("primaryKey", []))
        danish = _ROW_ERRORS_DA.get(error.type, f"fejl i filen ({error.title})").format(keys=keys)
    return Finding(
        f"{', '.join(where) or 'file'}: {detail}",
        danish,
        row_number,
        _line(lines, row_number),
        field_name or None,
        error.type,
    )


def validate_csv(kind: str, path: Path) -> list[str]:
    """Check a written submission file against its shipped schema and the dialect (see
    :func:`validate_bytes`)."""
    return validate_bytes(kind, Path(path).read_bytes())


def validate_bytes(kind: str, data: bytes) -> list[str]:
    """Check a submission's bytes against its shipped schema and the dialect, before or
    after they are written.

    Returns human-readable errors naming the row (the header is row 1) and field; an empty
    list means the file is valid. Checks the byte-order mark, CRLF line ends, the exact
    header row, text cells that begin like a spreadsheet formula, and (with frictionless)
    every cell's type and constraints, required values and unique ids. The same findings
    with their lines and in Danish: :func:`findings`.
    """
    return [finding.text for finding in findings(kind, data)]


def _record_lines(text: str) -> list[int]:
    """The physical line each CSV record starts on (1 for the header)."""
    starts = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITER)
    line = 0
    for _ in reader:
        starts.append(line + 1)
        line = reader.line_num
    return starts


def findings(kind: str, data: bytes) -> list[Finding]:
    """What :func:`validate_bytes` finds, each with its row, physical line and column, in
    English and Danish (a file received from elsewhere is refused naming them)."""
    if kind not in KINDS:
        raise ValueError(f"unknown submission kind {kind!r}; expected one of {KINDS}")
    errors = _dialect_errors(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [
            *errors,
            Finding(f"the file is not UTF-8: {exc}", f"filen er ikke UTF-8 (byte {exc.start})"),
        ]
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITER))
    if not records:
        return [
            *errors,
            Finding("the file is empty (no header row)", "filen er tom (ingen overskriftslinje)"),
        ]
    lines = _record_lines(text)
    errors += _header_errors(tuple(_FIELDS[kind]), records[0])

    from frictionless import Dialect, Resource, Schema  # slow to import: only when validating
    from frictionless.formats import CsvControl

    # the bytes already read, not the path: frictionless refuses absolute paths as "not safe"
    # unless the whole process is switched to trusted mode
    resource = Resource(
        data,
        format="csv",
        encoding="utf-8-sig",  # explicit: don't let frictionless guess the encoding
        dialect=Dialect(header_rows=[1], controls=[CsvControl(delimiter=DELIMITER)]),
        schema=Schema.from_descriptor(schema_descriptor(kind)),
    )
    report = resource.validate()
    flagged: set[tuple[int | None, str | None]] = set()
    for task in report.tasks:
        for error in task.errors:
            errors.append(_describe(kind, error, lines))
            flagged.add((getattr(error, "row_number", None), getattr(error, "field_name", None)))
    errors += [_describe(kind, error, lines) for error in report.errors]
    errors += _syntax_errors(kind, records, lines, flagged)
    errors += _formula_errors(kind, records, lines)
    return errors
