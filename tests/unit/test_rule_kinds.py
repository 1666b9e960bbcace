"""A rule kind is declared once (:mod:`resultatrapport.rules`) and compiled twice: to the
DuckDB SQL of the quarantine and to the Great Expectations expectation of the asset checks.
Over every format and the rules it declares, generated values (valid ones, near misses and
edge cases: empty, white space, leading zeros, other scripts' digits, very long, negative,
the bounds, NULL, unreadable lines) get the same verdict from both, row by row and rule by
rule; a kind whose two compilations disagree on any value fails here."""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from resultatrapport import gx
from resultatrapport.formats import FORMATS, Column, SourceFormat
from resultatrapport.ingest import STAGE, staged_frame, staged_years_frame
from resultatrapport.rules import (
    RULE_KINDS,
    Between,
    InSet,
    KnownEntries,
    Parsed,
    Regex,
    failures_sql,
)

YEAR = 2024  # a leap year: 29-02 is a date in it, not in the years around it
YEARS = (YEAR, YEAR - 1, YEAR + 1)  # the partitions an example validates: one, two or three
UNREADABLE = "Linjen kunne ikke læses"
EXAMPLES = 3  # examples (GX validations) per format

# any column may hold these, whatever its type
# fmt: off
EDGES: tuple[str | None, ...] = (
    None, "", " ", "  ", "\t", "\u00a0", "\n", " x ", "'", '"', "é", "Æ", "|", "||",
    "0", "00", "-0", "-1", "+1", "007", "0,0", "1.5", "1,5,0", "1e3", "9" * 400, "x" * 3000,
    "١٢٣", "１２３", "𝟗", "²",  # Arabic-Indic, full-width, mathematical and superscript digits
    "nan", "NaN", "inf", "-inf", "infinity", "-infinity", "epoch",  # what DuckDB casts too
    "Ja", "ja", "Nej", str(YEAR), f"{YEAR}K1",
)
# dates (day, month, year) at the bounds: of the year, of what GX's frame holds (1678-2261)
DAY_BOUNDS = ((1, 1, YEAR), (31, 12, YEAR), (31, 12, YEAR - 1), (1, 1, YEAR + 1), (29, 2, YEAR),
              (31, 12, 1677), (1, 1, 1678), (31, 12, 2261), (1, 1, 2262), (5, 3, 2300))
NO_DATES = {  # by whether the format is dd-mm-yyyy
    True: ("31-02-2024", "29-02-2023", "00-01-2024", "01-13-2024", "1-1-2024", "05-03-24",
                 "01-01-0000", f"01-01-{YEAR} "),
    False: ("2024-02-31", "2023-02-29", "2024-00-01", "2024-13-01", "2024-1-1", "24-03-05",
                 "0000-01-01", f"{YEAR}-01-01 ", f"{YEAR}-01-01 00:00:00"),
}
WHOLE_BOUNDS = (str(-(2**31)), str(2**31 - 1), str(2**31), str(YEAR - 1), str(YEAR + 1), "1.0",
                "10", "11")
# decimals around 0 and the hours of a day (16), and too many digits for a DOUBLE
DECIMAL_BOUNDS = ("0", "0,0", "0,000001", "-0,5", "8", "8,5", "16", "16,0", "16,01", "17",
                  "1" + "0" * 400, "1,")
# fmt: on


def _dates(dmy: bool) -> st.SearchStrategy[str]:
    """Dates as delivered (dd-mm-yyyy or yyyy-mm-dd, four-digit years), near the year and
    anywhere, at the bounds, and strings that look like dates and are none."""

    def shown(d: dt.date) -> str:
        return f"{d.day:02d}-{d.month:02d}-{d.year:04d}" if dmy else d.isoformat()

    near = st.dates(dt.date(YEAR - 1, 12, 20), dt.date(YEAR + 1, 1, 10))
    anywhere = st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))
    bounds = [shown(dt.date(y, m, d)) for d, m, y in DAY_BOUNDS]
    return st.one_of(
        st.one_of(near, anywhere).map(shown), st.sampled_from([*bounds, *NO_DATES[dmy]])
    )


def _numbers(column: Column) -> st.SearchStrategy[str]:
    whole = st.integers(-(2**31) - 2, 2**31 + 1)
    small = st.integers(-12, 20)
    if column.type == "int":
        leading_zeros = small.map(lambda i: f"{i:04d}")
        return st.one_of(
            whole.map(str), small.map(str), leading_zeros, st.sampled_from(WHOLE_BOUNDS)
        )
    fraction = st.from_regex(r"[0-9]{1,6}", fullmatch=True)
    return st.one_of(
        st.builds(lambda i, f: f"{i},{f}", st.one_of(small, whole), fraction),
        small.map(str),
        st.sampled_from(DECIMAL_BOUNDS),
    )


def _entries(rule: KnownEntries) -> st.SearchStrategy[str]:
    known = st.sampled_from(rule.values)
    spelled = st.one_of(
        known,
        known.map(str.upper),
        known.map(str.lower),
        known.map(lambda v: f"  {v.replace(' ', chr(0xA0))} "),
        known.map(lambda v: v.replace(" ", "   ")),
    )
    unknown = st.one_of(st.text(max_size=12), st.sampled_from(["", " ", "Ring til Jens"]))
    return st.lists(st.one_of(spelled, unknown), min_size=1, max_size=4).map("|".join)


def _for_rule(column: Column, rule: object) -> Iterator[st.SearchStrategy[str]]:
    """Values a rule of the column is about: its pattern, its set and near misses of both."""
    if isinstance(rule, Regex | Parsed):
        matching = st.from_regex(rule.pattern, fullmatch=True)
        yield matching
        yield matching.map(lambda v: v + "\n")
        yield matching.map(lambda v: " " + v)
        yield matching.map(lambda v: v[:-1])
    if isinstance(rule, InSet):
        allowed = st.sampled_from(rule.allowed(column))
        yield allowed
        yield allowed.map(str.lower)
        yield allowed.map(lambda v: v + " ")
        yield allowed.map(lambda v: "0" + v)
    if isinstance(rule, KnownEntries):
        yield _entries(rule)
    if isinstance(rule, Between):
        bounds = [b for b in (rule.min_value, rule.max_value) if b is not None]
        yield st.sampled_from(
            [f"{b + d:g}".replace(".", ",") for b in bounds for d in (-1, -0.5, 0, 0.5, 1)]
        )


def column_values(column: Column) -> st.SearchStrategy[str | None]:
    by_type: list[st.SearchStrategy[str]] = []
    match column.type:
        case "int" | "decimal":
            by_type.append(_numbers(column))
        case "date_dmy":
            by_type.append(_dates(dmy=True))
        case "date_iso" | "date_excel":
            by_type.append(_dates(dmy=False))
        case "ja_nej":
            by_type.append(st.sampled_from(["Ja", "Nej", "JA", "Ja ", "Måske"]))
    by_rule = [s for rule in column.rules for s in _for_rule(column, rule)]
    text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
    return st.one_of(
        st.sampled_from(EDGES), *by_type, *by_rule, text, st.text(string.digits, max_size=9)
    )


@st.composite
def deliveries(draw: st.DrawFn, fmt: SourceFormat) -> list[dict[str, str | None]]:
    """Rows of a staged delivery: each column's value drawn fresh or, more often, from a few
    values the delivery repeats, and some rows repeated whole (so that the rules over several
    rows, duplicates, repeats and group sums, have something to judge); now and then a line
    that could not be read (an empty dict)."""
    pools = {
        c.name: st.sampled_from(draw(st.lists(column_values(c), min_size=1, max_size=3)))
        for c in fmt.kept
    }
    row = st.fixed_dictionaries(
        {c.name: st.one_of(pools[c.name], pools[c.name], column_values(c)) for c in fmt.kept}
    )
    rows = draw(
        st.lists(
            st.one_of(row, row, row, row, row, row, row, st.just({})), min_size=20, max_size=60
        )
    )
    again = draw(st.lists(st.sampled_from(rows), max_size=6))
    return [*rows, *again]


@st.composite
def partitions(draw: st.DrawFn, fmt: SourceFormat) -> dict[int, list[dict[str, str | None]]]:
    """One to three years' deliveries, validated by GX together as a multi-year run does
    (:func:`resultatrapport.gx.validate_years`), or alone as a partition is."""
    years = draw(st.sampled_from([YEARS[:1], YEARS[:2], YEARS]))
    return {year: draw(deliveries(fmt)) for year in sorted(years)}


def stage_rows(con: duckdb.DuckDBPyConnection, fmt: SourceFormat, rows: list, table: str) -> None:
    """The rows as the reader stages them (:func:`resultatrapport.reader.stage_file`): a
    line number, the reason a line could not be read (its values NULL), one text per kept
    column."""
    staged = pa.table(
        {
            "line": pa.array(range(2, len(rows) + 2), pa.int32()),
            "parse_error": pa.array([None if r else UNREADABLE for r in rows], pa.string()),
            **{c.name: pa.array([r.get(c.name) for r in rows], pa.string()) for c in fmt.kept},
        }
    )
    con.register("_generated", staged)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _generated")
    con.unregister("_generated")


def sql_verdicts(
    con: duckdb.DuckDBPyConnection, fmt: SourceFormat, table: str, year: int
) -> dict[str, set[int]]:
    """The lines breaking each rule, as the quarantine finds them."""
    broken: dict[str, set[int]] = {}
    sql = f"SELECT DISTINCT rule, line FROM ({failures_sql(fmt, table, year)})"
    for rule, line in con.execute(sql).fetchall():
        broken.setdefault(rule, set()).add(line)
    return broken


def gx_verdicts(
    con: duckdb.DuckDBPyConnection, fmt: SourceFormat, tables: dict[int, str]
) -> dict[int, list[gx.RuleOutcome]]:
    """Each year's outcomes of GX's one validation of the staged years."""
    if len(tables) == 1:
        [(year, table)] = tables.items()
        assert table == STAGE
        return {year: gx.validate(fmt, staged_frame(con, fmt, year), year)}
    return gx.validate_years(fmt, staged_years_frame(con, fmt, tables), tuple(tables))


@pytest.fixture(scope="module")
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    yield con
    con.close()


def test_every_kind_of_rule_is_declared_by_a_format():
    """The formats are what the test draws from: a kind no format declares is not held to
    anything here."""
    declared = {r.kind for f in FORMATS.values() for c in f.kept for r in c.rules}
    assert declared == set(RULE_KINDS)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_sql_and_gx_give_every_row_the_same_verdict(connection, name):
    fmt = FORMATS[name]

    # each example is one GX validation of some 20 to 200 rows (GX costs about 0.3 s a
    # validation whatever its rows); a failure is reported unshrunk (shrinking would run GX
    # hundreds of times): the message names the rule, the year and the rows the two
    # disagree on
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(partitions(fmt))
    def holds(delivered: dict[int, list[dict]]) -> None:
        tables = {y: STAGE if len(delivered) == 1 else f"{STAGE}_{y}" for y in delivered}
        for year, rows in delivered.items():
            stage_rows(connection, fmt, rows, tables[year])
        outcomes = gx_verdicts(connection, fmt, tables)
        for year, rows in delivered.items():
            by_sql = sql_verdicts(connection, fmt, tables[year], year)
            for outcome in outcomes[year]:
                lines = by_sql.get(outcome.rule, set())
                differ = lines ^ set(outcome.lines)
                assert not differ, (
                    outcome.rule,
                    year,
                    # the lines and the rule's column in them ('sql': the quarantine's verdict)
                    [
                        (n, rows[n - 2].get(outcome.column), "sql" if n in lines else "gx")
                        for n in sorted(differ)
                    ][:5],
                )
                assert outcome.success == (not lines), (outcome.rule, year)

    holds()
