"""One reader for every source format: encoding, header, rows as delivered.

The reader turns a delivered file into the partition's staged *raw* rows inside DuckDB:
one text column per non-personal column (named by its clean name), the file's physical
line number, and the parse error of lines that could not be read. Personal-data columns
are never selected into a table; in the kept ones one masking (:func:`masked`) runs before
anything is stored: CPR numbers in any shape (also inside a longer token, with a space, any
dash, an escape, an entity or a line break), e-mail addresses and the row's own personal
values everywhere, and phone numbers and given names in the free-text columns. A row with a control character (NUL, …) is an unreadable line.

Every physical line of a CSV file is accounted for: :func:`map_records` finds where each
record stands from the file's own bytes (quote parity), and DuckDB's reading is held
against that map, so a stray quote that makes DuckDB swallow the rest of a file is refused
at its line instead of losing rows without a word. Nothing here loops over rows in Python:
CSV goes through numpy and DuckDB's reader, xlsx through calamine into one frame.
Messages quote at most a short, masked excerpt of delivered text (:func:`excerpt`).
"""

from __future__ import annotations

import codecs
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from resultatrapport.file_hashes import content_sha256
from resultatrapport.formats import SourceFormat
from resultatrapport.inventory import listed
from resultatrapport.sql import lit, q
from resultatrapport.xlsx_cells import XlsxStructureError, problem_cells


# a digit as written or as an HTML numeric entity ('&#48;', '&#x30;'), restricted to ``d``
def _digit(d: str = "0-9") -> str:
    last = int(d[-1])
    dec = "4[89]" if last <= 1 else f"(?:4[89]|5[0-{last - 2}])"
    return f"(?:[{d}]|&#0*{dec};|&#[xX]0*3[0-{last}];)"


# between a CPR number's date and its last four digits: nothing, a space or line break, a
# dash of any kind (hyphen, U+2010-U+2015, minus), a backslash escape or a dash written as
# an entity, up to three of them ('010190 1234', '010190–1234', '020290\-4321', '030390-\n1234')
_CPR_SEP = "(?:[\\s\u00a0\\\\\u2010-\u2015\u2212-]|&#0*45;|&#[xX]0*2[dD];){0,3}"
# a CPR number anywhere, also inside a longer token ('cprnr0101901234'): masking a ten-digit
# number that is not one costs less than storing one that is. The same text is a Python and
# an RE2 (DuckDB) regular expression.
CPR_PATTERN = (
    _digit("0-3") + _digit() + _digit("0-1") + _digit() + _digit() + _digit() + _CPR_SEP
    + _digit() * 4
)  # fmt: skip
CPR_MASK = "[CPR fjernet]"
# a Danish phone number: 8 digits (the first 2-9), whole or in pairs or fours with spaces
# or hyphens, optionally after +45 / 0045; on its own (no digit either side: see callers)
PHONE_PATTERN = "(?:(?:\\+|00)45[\\s\u00a0-]*)?[2-9][0-9](?:[ \u00a0-]?[0-9]{2}){3}"
PHONE_MASK = "[telefonnummer fjernet]"
EMAIL_PATTERN = r"[A-Za-z0-9æøåÆØÅ._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
EMAIL_MASK = "[e-mail fjernet]"
PERSON_MASK = "[personoplysning fjernet]"


@cache
def given_names() -> tuple[str, ...]:
    """The common Danish given names the free-text columns are masked for
    (``reference/fornavne.txt``, its source in ``reference/README.md``)."""
    text = (Path(__file__).parent / "reference" / "fornavne.txt").read_text(encoding="utf-8")
    names = {n.strip() for n in text.splitlines() if n.strip() and not n.startswith("#")}
    return tuple(sorted(names, key=lambda n: (-len(n), n)))


def name_pattern() -> str:
    """RE2: a given name as a whole word with up to two capitalised words after it (a
    surname: 'Jens Hansen', 'Anne Marie Østergaard'); group 1 and 2 are the characters
    either side, which a replacement keeps."""
    names = "|".join(re.escape(n) for n in given_names())
    return f"(^|[^\\pL\\pN])(?:{names})(?:[ \u00a0]+\\p{{Lu}}[\\pL'-]*){{0,2}}([^\\pL\\pN]|$)"


# a personal column's value shorter than this is not searched for in the kept columns
MIN_PERSONAL_LENGTH = 4
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
EXCERPT_LENGTH = 40
_CHUNK = 1 << 20
_SCAN_CHUNK = 1 << 24


_PHONE = re.compile(f"(?<![0-9]){PHONE_PATTERN}(?![0-9])")


def excerpt(text: object, limit: int = EXCERPT_LENGTH) -> str:
    """A short, masked excerpt of delivered text for a message a person reads: CPR numbers,
    phone numbers and e-mail addresses masked, control characters shown as '?', at most
    ``limit`` characters (a header line of megabytes is never echoed whole)."""
    value = re.sub(CPR_PATTERN, CPR_MASK, str(text)[: limit * 4])
    value = _PHONE.sub(PHONE_MASK, value)
    value = re.sub(EMAIL_PATTERN, EMAIL_MASK, value)
    value = re.sub(CONTROL_CHARS + "|[\r\n\t]", "?", value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


class SourceError(Exception):
    """A delivery that cannot be read; the message says file, line and column."""

    def __init__(self, file: str, message: str, line: int | None = None, column: str | None = None):
        where = file if line is None else f"{file}, linje {line}"
        if column:
            where += f", kolonne '{column}'"
        super().__init__(f"{where}: {message}")
        self.file, self.line, self.column, self.detail = file, line, column, message


class HeaderError(SourceError):
    """The header differs from the declared format (a changed export)."""


@dataclass(frozen=True)
class Delivery:
    """What was read: provenance for the warehouse, the checks and the report."""

    relpath: str
    sha256: str | None  # None: the file is missing
    encoding: str | None
    rows_read: int  # rows of the partition, unreadable lines included
    rows_rejected: int  # unreadable lines
    records: int = 0  # data records in the file (header and blank lines excluded)
    physical_lines: int = 0
    blank_lines: int = 0
    out_of_partition: int = 0  # records of other years in a file holding several years

    @property
    def empty(self) -> bool:
        """Delivered, but without a single data row (a header-only file)."""
        return not self.missing and self.records == 0

    @property
    def missing(self) -> bool:
        return self.sha256 is None


def detect_encoding(path: Path, relpath: str) -> str:
    """'utf-8-sig', 'utf-8' or 'cp1252', decided by decoding the whole file (C speed).

    UTF-16 (a byte-order mark, or the NUL byte beside every ASCII letter it writes) is said
    as such: it is no delivery encoding, and read as bytes it would only look like a strange
    header."""
    with path.open("rb") as fh:
        start = fh.read(4096)
    head = start[:3]
    if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or (
        len(start) >= 8 and start.count(b"\x00") * 3 >= len(start)
    ):
        raise SourceError(
            relpath,
            "filen er kodet som UTF-16, som ikke er en tilladt kodning for leverancer; "
            "gem den som UTF-8 (eller Windows-1252)",
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        return "utf-8-sig" if head == codecs.BOM_UTF8 else "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = f"byte {offset + exc.start}"
    cp1252 = codecs.getincrementaldecoder("cp1252")()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                cp1252.decode(chunk)
        return "cp1252"
    except UnicodeDecodeError as exc:
        raise SourceError(
            relpath,
            f"filen er hverken UTF-8 ({utf8_error}) eller Windows-1252 (byte {exc.start}); "
            "kan ikke læses",
        ) from None


def _first_line(path: Path, encoding: str) -> str:
    with path.open("r", encoding=encoding, newline="") as fh:
        return fh.readline().rstrip("\r\n")


def inside_inbox(root: Path, path: Path, relpath: str) -> None:
    """Refuse a delivery that is, or lies behind, a link out of the inbox: the inbox is read
    without following links out of it (never a system file in an error message)."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise SourceError(relpath, "er et link, der peger ud af indbakken; filen læses ikke")


def check_header(fmt: SourceFormat, found: list[str], relpath: str) -> None:
    expected = fmt.headers
    if found == expected:
        return
    for position, (want, got) in enumerate(zip(expected, found, strict=False), start=1):
        if want != got:
            shown = excerpt(got)
            raise HeaderError(
                relpath,
                f"ændret overskrift: kolonne {position} skulle være '{want}', men er '{shown}'",
                line=1,
                column=shown,
            )
    if len(found) < len(expected):
        missing = ", ".join(f"'{c}'" for c in expected[len(found) :])
        raise HeaderError(relpath, f"ændret overskrift: mangler kolonne(r) {missing}", line=1)
    extra = found[len(expected) :]
    shown = ", ".join(f"'{excerpt(c)}'" for c in extra[:3]) + (" …" if len(extra) > 3 else "")
    raise HeaderError(
        relpath, f"ændret overskrift: {len(extra)} ukendte ekstra kolonne(r): {shown}", line=1
    )


def stage_file(
    con: duckdb.DuckDBPyConnection,
    fmt: SourceFormat,
    root: Path,
    relpath: str,
    year: int | None,
    target: str,
) -> Delivery:
    """Read the delivery ``root / relpath`` into the temporary table ``target``.

    ``target`` gets the columns ``line``, ``parse_error`` and one VARCHAR per kept column.
    A missing file gives an empty table and a Delivery with ``missing`` set. Nothing outside
    ``target`` is written: what is kept of the delivery is decided after validation.
    """
    path = root / relpath
    kept = fmt.kept
    cols_ddl = ", ".join(f"{q(c.name)} VARCHAR" for c in kept)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {target} (line INTEGER, parse_error VARCHAR, {cols_ddl})"
    )
    if not listed(root, relpath):  # also one named in another case (inventory.listed)
        return Delivery(relpath, None, None, 0, 0)
    inside_inbox(root, path, relpath)
    if not path.is_file():
        raise SourceError(relpath, "er ikke en fil")
    sha = content_sha256(path)
    if fmt.file_type == "xlsx":
        stored = _stage_xlsx(con, fmt, path, relpath, year, target)
        counts = StagedCounts(stored, 0, stored, 0, stored + 1, 0)
        encoding = "xlsx"
    else:
        encoding = detect_encoding(path, relpath)
        check_header(fmt, _first_line(path, encoding).split(";"), relpath)
        counts = _stage_csv(con, fmt, path, relpath, encoding, year, target)
    return Delivery(
        relpath,
        sha,
        encoding,
        counts.stored,
        counts.rejected,
        records=counts.records,
        physical_lines=counts.physical_lines,
        blank_lines=counts.blank_lines,
        out_of_partition=counts.out_of_partition,
    )


@dataclass(frozen=True)
class StagedCounts:
    """How the lines of a delivery were accounted for."""

    stored: int  # rows of the partition (unreadable lines included)
    rejected: int  # records DuckDB could not split into the columns
    records: int  # data records in the file (header and blank lines excluded)
    out_of_partition: int  # records of other years (a file holding several years)
    physical_lines: int
    blank_lines: int


@dataclass(frozen=True)
class RecordMap:
    """Where each record of a CSV file stands, found from the file's own bytes: a line ends a
    record where the number of quote characters so far is even (a doubled quote inside a
    quoted field counts twice, so it keeps the parity). DuckDB's reading is held against it,
    so no line can go missing between the two."""

    records: pa.Table  # data records (header and blank lines excluded): rec, line, lines, byte
    physical_lines: int
    blank_lines: int
    unclosed_from: int | None  # the line where a quoted field opens that the file never closes


def map_records(path: Path) -> RecordMap:
    """The record map of ``path`` (vectorised with numpy over chunks of the file)."""
    newlines: list[np.ndarray] = []
    quotes_before: list[np.ndarray] = []
    carriage: list[np.ndarray] = []
    quotes, offset, previous_last = 0, 0, -1
    with path.open("rb") as fh:
        while chunk := fh.read(_SCAN_CHUNK):
            data = np.frombuffer(chunk, dtype=np.uint8)
            nl = np.flatnonzero(data == 10)
            qp = np.flatnonzero(data == 34)
            before = np.where(nl > 0, data[np.maximum(nl - 1, 0)], previous_last)
            newlines.append(nl + offset)
            quotes_before.append(quotes + np.searchsorted(qp, nl))
            carriage.append(before == 13)
            quotes += len(qp)
            offset += len(data)
            previous_last = int(data[-1])
    ends = np.concatenate(newlines) if newlines else np.zeros(0, dtype=np.int64)
    parity = np.concatenate(quotes_before) if quotes_before else np.zeros(0, dtype=np.int64)
    cr = np.concatenate(carriage) if carriage else np.zeros(0, dtype=bool)
    if offset and (len(ends) == 0 or ends[-1] != offset - 1):  # a last line without newline
        ends = np.append(ends, offset)
        parity = np.append(parity, quotes)
        cr = np.append(cr, False)
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    content = ends - starts - cr.astype(np.int64)
    closes = parity % 2 == 0
    record_of_line = np.concatenate([[0], np.cumsum(closes)[:-1]]) if len(ends) else ends
    recs, first, count = np.unique(record_of_line, return_index=True, return_counts=True)
    unclosed = int(first[-1]) + 1 if len(ends) and not closes[-1] else None
    blank = (count == 1) & (content[first] == 0)
    data_rec = (recs > 0) & ~blank
    table = pa.table(
        {
            "rec": pa.array(np.arange(1, int(data_rec.sum()) + 1), pa.int64()),
            "line": pa.array(first[data_rec] + 1, pa.int64()),
            "lines": pa.array(count[data_rec], pa.int64()),
            "byte": pa.array(starts[first[data_rec]], pa.int64()),
        }
    )
    return RecordMap(table, len(ends), int(blank[recs > 0].sum()), unclosed)


def masked(value: str, personal: list[str], free_text: bool) -> str:
    """SQL for a kept delivered value with personal data masked, the one masking of the
    reader (every kept column, so the raw rows and the quarantine's stored values too): the
    row's own personal values (a contact's name or e-mail typed into another column),
    e-mail addresses and CPR numbers in any of their shapes (:data:`CPR_PATTERN`) anywhere;
    in a free-text column (:attr:`Column.free_text`) also phone numbers and given names with
    their surname. The e-mail pattern runs only on values holding an '@'; each of the other
    two runs twice, as a match takes the character after it that the next one needs."""
    value = _protected(value, personal)
    if not free_text:
        return value
    phone = lit(f"(^|[^0-9]){PHONE_PATTERN}([^0-9]|$)")
    names = lit(name_pattern())
    for pattern, mask in ((phone, PHONE_MASK), (names, PERSON_MASK)):
        for _ in range(2):
            value = f"regexp_replace({value}, {pattern}, '\\1{mask}\\2', 'g')"
    return value


def _protected(value: str, personal: list[str]) -> str:
    """SQL: the row's own personal values, e-mail addresses and CPR numbers masked."""
    for p in personal:
        value = (
            f"replace({value}, coalesce(CASE WHEN length({p}) >= {MIN_PERSONAL_LENGTH} "
            f"THEN {p} END, chr(1)), '{PERSON_MASK}')"
        )
    value = (
        f"(CASE WHEN contains({value}, '@') THEN "
        f"regexp_replace({value}, '{EMAIL_PATTERN}', '{EMAIL_MASK}', 'g') ELSE {value} END)"
    )
    return f"regexp_replace({value}, {lit(CPR_PATTERN)}, '{CPR_MASK}', 'g')"


def _control_char_error(fmt: SourceFormat, ref: str) -> str:
    """SQL: the reason a row holding a control character (NUL, …) in a kept column is
    unreadable, else NULL (one pattern over the whole row; the column only where it hits)."""
    cols = [f"{ref}{q(c.header)}" for c in fmt.kept]
    whens = " ".join(
        f"WHEN regexp_matches({col}, '{CONTROL_CHARS}') THEN "
        f"'Linjen indeholder et kontroltegn (fx NUL) i kolonne ''{c.header}'''"
        for col, c in zip(cols, fmt.kept, strict=True)
    )
    return (
        f"CASE WHEN regexp_matches(concat({', '.join(cols)}), '{CONTROL_CHARS}') "
        f"THEN CASE {whens} END END"
    )


def _stage_csv(
    con: duckdb.DuckDBPyConnection,
    fmt: SourceFormat,
    path: Path,
    relpath: str,
    encoding: str,
    year: int | None,
    target: str,
) -> StagedCounts:
    with tempfile.TemporaryDirectory(prefix="resultatrapport-") as tmp:
        readable = path
        if encoding == "cp1252":
            # DuckDB reads UTF-8 only: transcode in chunks (C codec, no per-row work)
            readable = Path(tmp) / "utf8.csv"
            with (
                path.open("r", encoding="cp1252", newline="") as src,
                readable.open("w", encoding="utf-8", newline="") as dst,
            ):
                shutil.copyfileobj(src, dst, _CHUNK)
        records = map_records(readable)
        if records.unclosed_from is not None:
            raise SourceError(
                relpath,
                'et anførselstegn (") åbner et felt, som ikke lukkes før filens slutning; '
                f"linje {records.unclosed_from}-{records.physical_lines} kan ikke læses sikkert",
                line=records.unclosed_from,
            )
        columns = {c.header: "VARCHAR" for c in fmt.columns}
        scan = (
            f"read_csv(?, delim=';', quote='\"', escape='\"', header=true, columns={columns!r}, "
            "auto_detect=false, store_rejects=true, rejects_scan='rr_scan', "
            "rejects_table='rr_errors', max_line_size=10000000)"
        )
        every = [f"src.{q(c.header)}" for c in fmt.columns]
        broken = " OR ".join(f"contains({c}, chr(10))" for c in every)
        extra_lines = " + ".join(
            f"coalesce(length({c}) - length(replace({c}, chr(10), '')), 0)" for c in every
        )
        # a line break followed by a line with as many separators as a whole row: a quote is
        # missing and the field has swallowed rows
        swallowed = " OR ".join(
            f"coalesce(regexp_matches({c}, '\\n([^\\n]*;){{{len(fmt.columns) - 1}}}'), false)"
            for c in every
        )
        # both are looked at only in the rare rows that hold a line break
        extra_lines = f"CASE WHEN {broken} THEN {extra_lines} ELSE 0 END"
        swallowed = f"CASE WHEN {broken} THEN {swallowed} ELSE false END"
        con.execute("DROP TABLE IF EXISTS rr_errors; DROP TABLE IF EXISTS rr_scan")
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _rr_read AS SELECT src.*, src.ordinality AS _k, "
                f"{extra_lines} AS _extra_lines, {swallowed} AS _swallowed "
                f"FROM (SELECT * FROM {scan} WITH ORDINALITY) AS src",
                [str(readable)],
            )
        except duckdb.Error as exc:
            raise SourceError(
                relpath, f"filen kan ikke læses som CSV ({type(exc).__name__})"
            ) from None
    con.register("_rr_records", records.records)
    try:
        return _place_rows(con, fmt, relpath, records, year, target)
    finally:
        con.unregister("_rr_records")
        con.execute(
            "DROP TABLE IF EXISTS _rr_read; DROP TABLE IF EXISTS _rr_rejects; "
            "DROP TABLE IF EXISTS _rr_accepted"
        )


def _place_rows(
    con: duckdb.DuckDBPyConnection,
    fmt: SourceFormat,
    relpath: str,
    records: RecordMap,
    year: int | None,
    target: str,
) -> StagedCounts:
    """Give every row DuckDB read its line from the record map, insert the partition's rows
    into ``target``, and refuse the file where the two disagree on any record."""
    # rejected records: which record each error lies in (DuckDB's byte position of a line
    # is its start, or one past it in LF files) and the kind of error only (the text may
    # hold personal data)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rr_rejects AS SELECT m.rec, m.line, m.lines, "
        "string_agg(DISTINCT e.error_type, ', ') AS error FROM rr_errors e "
        "ASOF LEFT JOIN _rr_records m ON e.line_byte_position >= m.byte GROUP BY ALL"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rr_accepted AS SELECT row_number() OVER (ORDER BY rec) "
        "AS _k, line, lines FROM _rr_records WHERE rec NOT IN "
        "(SELECT rec FROM _rr_rejects WHERE rec IS NOT NULL)"
    )
    last = records.physical_lines
    wrong = con.execute(
        f"""
        SELECT min(line) FROM (
            SELECT coalesce(a.line, {last}) AS line FROM _rr_read r
            FULL JOIN _rr_accepted a USING (_k)
            WHERE r._k IS NULL OR a._k IS NULL OR r._extra_lines <> a.lines - 1 OR r._swallowed
            UNION ALL
            SELECT coalesce(line, 1) FROM _rr_rejects WHERE rec IS NULL OR lines > 1
        )
        """
    ).fetchall()[0][0]
    if wrong is not None:
        raise SourceError(
            relpath,
            'rækkerne kan ikke adskilles sikkert herfra: et anførselstegn (") mangler eller er '
            "i overskud, så et felt strækker sig over flere linjer; ret filen og lever den igen",
            line=int(wrong),
        )
    # year None: the whole file (a year-less register, staged once for every year)
    year_filter = "true" if year is None else (fmt.year_filter or "true").format(year=year)
    personal = [f"nullif(trim(r.{q(c.header)}), '')" for c in fmt.columns if c.personal]
    values = [masked(f"nullif(trim(r.{q(c.header)}), '')", personal, c.free_text) for c in fmt.kept]
    nulls = ", ".join("NULL" for _ in fmt.kept)
    con.execute(
        f"""
        INSERT INTO {target}
        SELECT line, bad, {", ".join(f"CASE WHEN bad IS NULL THEN v{i} END" for i in range(len(fmt.kept)))}
        FROM (
            SELECT a.line, {_control_char_error(fmt, "r.")} AS bad,
                   {", ".join(f"{e} AS v{i}" for i, e in enumerate(values))}
            FROM _rr_read r JOIN _rr_accepted a USING (_k)
            WHERE {year_filter}
        )
        UNION ALL
        SELECT line::INTEGER, 'Linjen kunne ikke læses (' || error || ')', {nulls}
        FROM _rr_rejects
        ORDER BY 1
        """
    )
    rejected = _count(con, "SELECT count(*) FROM _rr_rejects")
    accepted = _count(con, "SELECT count(*) FROM _rr_read")
    stored = _count(con, f"SELECT count(*) FROM {target}")
    return StagedCounts(
        stored=stored,
        rejected=rejected,
        records=records.records.num_rows,
        out_of_partition=accepted + rejected - stored,
        physical_lines=records.physical_lines,
        blank_lines=records.blank_lines,
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    # fetchall: a result left unfinished blocks (un)registering on the connection
    return int(con.execute(sql).fetchall()[0][0])


def _stage_xlsx(
    con: duckdb.DuckDBPyConnection,
    fmt: SourceFormat,
    path: Path,
    relpath: str,
    year: int | None,
    target: str,
) -> int:
    import pandas as pd

    sheet = fmt.sheet or 0
    try:
        frame: pd.DataFrame = pd.read_excel(
            path, sheet_name=sheet, engine="calamine", dtype=str, header=None
        )
    except ValueError as exc:
        raise SourceError(
            relpath, f"arket '{fmt.sheet}' findes ikke eller kan ikke læses ({exc})"
        ) from None
    except Exception as exc:  # calamine raises its own errors for corrupt files
        raise SourceError(relpath, f"filen kan ikke læses som Excel-projektmappe ({exc})") from None
    if frame.empty:
        raise HeaderError(relpath, "arket er tomt: overskriftsrækken mangler", line=1)
    header = [("" if pd.isna(v) else str(v)).strip() for v in frame.iloc[0].tolist()]
    while header and header[-1] == "":
        header.pop()
    check_header(fmt, header, relpath)
    body = frame.iloc[1:, : len(fmt.columns)].copy()
    body.columns = [f"c{i}" for i in range(len(fmt.columns))]
    body.insert(0, "line", range(2, len(body) + 2))
    # cells calamine reads as empty that are not: a formula without a stored value, a cell
    # covered by a merged range; their rows are unreadable lines, like CSV lines DuckDB
    # cannot split (the values stay out, the reason names the cells)
    try:
        problems = problem_cells(path, sheet, len(fmt.columns))
    except XlsxStructureError as exc:
        raise SourceError(relpath, f"arket '{fmt.sheet}' kan ikke gennemgås ({exc})") from None
    reasons: dict[int, list[str]] = {}
    for problem in problems:
        reasons.setdefault(problem.row, []).append(problem.reason)
    unreadable = pa.table(
        {
            "line": pa.array(list(reasons), pa.int32()),
            "reason": pa.array(["; ".join(r) for r in reasons.values()], pa.string()),
        }
    )
    con.register("_xlsx_body", body)
    con.register("_xlsx_unreadable", unreadable)
    try:
        positions = {c.header: i for i, c in enumerate(fmt.columns)}
        personal = [f"nullif(trim(c{positions[c.header]}), '')" for c in fmt.columns if c.personal]
        exprs = []
        for c in fmt.kept:
            raw = f"nullif(trim(c{positions[c.header]}), '')"
            if c.type == "date_excel":  # a date cell arrives as 'yyyy-mm-dd 00:00:00'
                raw = (
                    f"regexp_replace({raw}, '^([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}) 00:00:00$', '\\1')"
                )
            elif c.type == "int":  # an integral number cell arrives as '9' or '9.0'
                raw = f"regexp_replace({raw}, '^(-?[0-9]+)\\.0$', '\\1')"
            exprs.append(masked(raw, personal, c.free_text))
        # rows that are entirely empty (trailing rows of a sheet) are not records
        nonempty = " OR ".join(
            f"nullif(trim(c{i}), '') IS NOT NULL" for i in range(len(fmt.columns))
        )
        nulls = ", ".join("NULL" for _ in exprs)
        con.execute(
            f"INSERT INTO {target} SELECT line, NULL, {', '.join(exprs)} FROM _xlsx_body "
            f"WHERE ({nonempty}) AND line NOT IN (SELECT line FROM _xlsx_unreadable) "
            f"UNION ALL SELECT line, reason, {nulls} FROM _xlsx_unreadable ORDER BY line"
        )
    finally:
        con.unregister("_xlsx_body")
        con.unregister("_xlsx_unreadable")
    # fetchall: after fetchone DuckDB 2 keeps the result open, and the connection's next
    # query (con.sql) is refused
    return int(con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0])
