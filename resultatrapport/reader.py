"""One reader for every source format: encoding, header, rows as delivered.

The reader turns a delivered file into the partition's *raw* rows inside DuckDB: one
text column per non-personal column (named by its clean name), the file's line number,
and the parse error of lines DuckDB could not split. Personal-data columns are never
selected into a table, and anything CPR-shaped in the kept columns is masked before it
is stored. Nothing here loops over rows in Python: CSV goes through DuckDB's reader,
xlsx through calamine into one Arrow-backed frame.
"""

from __future__ import annotations

import codecs
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from resultatrapport.formats import SourceFormat

CPR_PATTERN = r"\b[0-3][0-9][01][0-9][0-9]{2}-?[0-9]{4}\b"
CPR_MASK = "[CPR fjernet]"
_CHUNK = 1 << 20


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
    rows_read: int
    rows_rejected: int

    @property
    def missing(self) -> bool:
        return self.sha256 is None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_encoding(path: Path, relpath: str) -> str:
    """'utf-8-sig', 'utf-8' or 'cp1252', decided by decoding the whole file (C speed)."""
    with path.open("rb") as fh:
        head = fh.read(3)
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


def check_header(fmt: SourceFormat, found: list[str], relpath: str) -> None:
    expected = fmt.headers
    if found == expected:
        return
    for position, (want, got) in enumerate(zip(expected, found, strict=False), start=1):
        if want != got:
            raise HeaderError(
                relpath,
                f"ændret overskrift: kolonne {position} skulle være '{want}', men er '{got}'",
                line=1,
                column=got,
            )
    if len(found) < len(expected):
        missing = ", ".join(f"'{c}'" for c in expected[len(found) :])
        raise HeaderError(relpath, f"ændret overskrift: mangler kolonne(r) {missing}", line=1)
    extra = ", ".join(f"'{c}'" for c in found[len(expected) :])
    raise HeaderError(relpath, f"ændret overskrift: ukendte ekstra kolonne(r) {extra}", line=1)


def _mask(expr: str) -> str:
    return f"regexp_replace({expr}, '{CPR_PATTERN}', '{CPR_MASK}', 'g')"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def stage_file(
    con: duckdb.DuckDBPyConnection,
    fmt: SourceFormat,
    path: Path,
    relpath: str,
    year: int,
    target: str,
) -> Delivery:
    """Read one delivery into the (temporary) table ``target`` of raw rows.

    ``target`` gets the columns ``line``, ``parse_error`` and one VARCHAR per kept column.
    A missing file gives an empty table and a Delivery with ``missing`` set.
    """
    kept = fmt.kept
    cols_ddl = ", ".join(f"{_quote(c.name)} VARCHAR" for c in kept)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {target} (line INTEGER, parse_error VARCHAR, {cols_ddl})"
    )
    if not path.exists():
        return Delivery(relpath, None, None, 0, 0)
    if not path.is_file():
        raise SourceError(relpath, "er ikke en fil")
    sha = file_sha256(path)
    if fmt.file_type == "xlsx":
        rows, rejected, encoding = _stage_xlsx(con, fmt, path, relpath, year, target), 0, "xlsx"
    else:
        encoding = detect_encoding(path, relpath)
        check_header(fmt, _first_line(path, encoding).split(";"), relpath)
        rows, rejected = _stage_csv(con, fmt, path, relpath, encoding, year, target)
    return Delivery(relpath, sha, encoding, rows, rejected)


def _stage_csv(
    con: duckdb.DuckDBPyConnection,
    fmt: SourceFormat,
    path: Path,
    relpath: str,
    encoding: str,
    year: int,
    target: str,
) -> tuple[int, int]:
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
        columns = {c.header: "VARCHAR" for c in fmt.columns}
        scan = (
            f"read_csv(?, delim=';', quote='\"', escape='\"', header=true, columns={columns!r}, "
            "auto_detect=false, store_rejects=true, rejects_scan='rr_scan', "
            "rejects_table='rr_errors', max_line_size=10000000)"
        )
        con.execute("DROP TABLE IF EXISTS rr_errors; DROP TABLE IF EXISTS rr_scan")
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _rr_read AS SELECT *, ordinality AS _k "
                f"FROM {scan} WITH ORDINALITY",
                [str(readable)],
            )
        except duckdb.Error as exc:
            raise SourceError(relpath, f"filen kan ikke læses som CSV: {exc}") from None
    # rejected lines: line number and kind of error only (the line text may hold personal data)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rr_rejects AS SELECT line, "
        "string_agg(DISTINCT error_type, ', ') AS error FROM rr_errors GROUP BY line"
    )
    n_read = con.execute("SELECT count(*) FROM _rr_read").fetchone()[0]  # type: ignore[index]
    n_rej = con.execute("SELECT count(*) FROM _rr_rejects").fetchone()[0]  # type: ignore[index]
    # accepted row k sits on the k-th line (from 2) that is not a rejected line
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _rr_lines AS
        SELECT range::INTEGER AS line, row_number() OVER (ORDER BY range) AS _k
        FROM range(2, {n_read + n_rej + 2})
        WHERE range NOT IN (SELECT line FROM _rr_rejects)
        """
    )
    year_filter = (fmt.year_filter or "true").format(year=year)
    select = ", ".join(
        f"{_mask(f'nullif(trim(r.{_quote(c.header)}), {chr(39) * 2})')}" for c in fmt.kept
    )
    con.execute(
        f"""
        INSERT INTO {target}
        SELECT l.line, NULL, {select}
        FROM _rr_read r JOIN _rr_lines l USING (_k)
        WHERE {year_filter}
        UNION ALL
        SELECT line::INTEGER, 'Linjen kunne ikke læses (' || error || ')',
               {", ".join("NULL" for _ in fmt.kept)}
        FROM _rr_rejects
        ORDER BY 1
        """
    )
    con.execute("DROP TABLE _rr_read; DROP TABLE _rr_lines; DROP TABLE _rr_rejects")
    stored = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]  # type: ignore[index]
    return int(stored), int(n_rej)


def _stage_xlsx(
    con: duckdb.DuckDBPyConnection,
    fmt: SourceFormat,
    path: Path,
    relpath: str,
    year: int,
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
    import pyarrow as pa

    from resultatrapport.xlsx_cells import XlsxStructureError, problem_cells

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
        exprs = []
        for c in fmt.kept:
            raw = f"nullif(trim(c{positions[c.header]}), '')"
            if c.type == "date_excel":  # a date cell arrives as 'yyyy-mm-dd 00:00:00'
                raw = (
                    f"regexp_replace({raw}, '^([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}) 00:00:00$', '\\1')"
                )
            elif c.type == "int":  # an integral number cell arrives as '9' or '9.0'
                raw = f"regexp_replace({raw}, '^(-?[0-9]+)\\.0$', '\\1')"
            exprs.append(_mask(raw))
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
    return int(con.execute(f"SELECT count(*) FROM {target}").fetchone()[0])  # type: ignore[index]
