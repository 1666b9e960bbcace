"""Row-level rules: each rule kind declared once, compiled to DuckDB SQL and to Great
Expectations.

A rule kind is one class here, a frozen dataclass subclassing :class:`Rule`: its parameters,
the SQL predicate a valid row satisfies (:meth:`Rule.valid_sql`), the Great Expectations
expectation that judges the same (:meth:`Rule.expectation`, as data: :mod:`resultatrapport.gx`,
the one GX adapter, makes it), the column of GX's frame it reads (:attr:`Rule.reads`), and
the few facts the rest of the pipeline asks of a kind (:attr:`Rule.keeps_row`,
:attr:`Rule.blocks_file`, ...). The formats (:mod:`resultatrapport.formats`) declare their
rules with these classes; the quarantine, the clean rows, GX's frame and its suite only
iterate the declarations, so adding a kind is adding one class. ``tests/unit/test_rule_kinds.py``
holds the SQL and the GX verdicts to the same answer for every format's rules, over generated
values.

The module also compiles a format's rules to the SQL of ingestion: typing, quarantine, clean
rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple, Protocol

from resultatrapport.municipalities import municipality_codes, municipality_names
from resultatrapport.sql import lit, q
from resultatrapport.vocabulary import NO, YES


class RuledColumn(Protocol):
    """What the rules read of the column they stand on: a :class:`resultatrapport.formats.Column`
    (a protocol, not that class: the formats import the rule kinds, and the modules import
    each other in one direction only)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def rules(self) -> tuple[Rule, ...]: ...


class RuledFormat(Protocol):
    """What the SQL of ingestion reads of a :class:`resultatrapport.formats.SourceFormat`."""

    @property
    def kept(self) -> Sequence[RuledColumn]: ...

    @property
    def clean_filter(self) -> str | None: ...


class Expect(NamedTuple):
    """A Great Expectations expectation as data: its class in ``great_expectations.expectations``
    and its arguments besides ``column`` (the frame column the rule reads). ``nulls``: it
    judges NULL values, which GX's other expectations skip; the values of a line that could
    not be read are NULL, and such a line breaks no rule but its own (``parsed_line``), so
    the adapter hands it only the readable lines."""

    name: str
    args: dict[str, Any]
    nulls: bool = False


# the column of GX's frame a rule reads: the delivered text, its typed twin
# (``<column>__typed``), or the verdict of the rule's own SQL predicate (``<column>__<kind>``,
# which GX expects to be true: rules over several rows, the entries of a list, and casts a
# regex cannot judge, a 31 February or a number beyond INTEGER)
Reads = Literal["text", "typed", "verdict"]

# every rule kind by its name (``Rule.kind``), filled as the classes below are declared
RULE_KINDS: dict[str, type[Rule]] = {}


@dataclass(frozen=True)
class Rule:
    """A row-level rule of a column. A row breaking any rule is quarantined with the rule's
    reason (Danish, shown in the quarantine table and the internal data-quality appendix);
    its quarantine rows name it ``<column>.<kind>.<i>`` (``i``: its place among the column's
    rules). A kind is a subclass declaring what follows."""

    reason: str
    kind: ClassVar[str]  # the name quarantine rows and check outcomes carry
    reads: ClassVar[Reads] = "text"
    names_year: ClassVar[bool] = False  # the verdict depends on the partition's year
    across_rows: ClassVar[bool] = False  # a row is judged against the other rows of the file
    keeps_row: ClassVar[bool] = False  # a broken rule leaves the row in use (entries of a list)
    blocks_file: ClassVar[bool] = False  # a broken rule makes the file untrustworthy

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind in RULE_KINDS:
            raise TypeError(f"rule kind {cls.kind} is declared twice")
        RULE_KINDS[cls.kind] = cls

    def valid_sql(self, column: RuledColumn, year: int) -> str:
        """SQL that is true when a row of the raw table satisfies the rule."""
        raise NotImplementedError

    def expectation(self, column: RuledColumn, year: int) -> Expect:
        """The GX expectation judging the rule on :meth:`frame_column`. A verdict rule's:
        the SQL predicate's verdict is true."""
        if self.reads != "verdict":
            raise NotImplementedError(f"rule kind {self.kind} declares no expectation")
        return Expect("ExpectColumnValuesToBeInSet", {"value_set": [True]})

    def frame_column(self, column: RuledColumn) -> str:
        """The column of GX's frame the rule reads (:data:`Reads`)."""
        match self.reads:
            case "verdict":
                return f"{column.name}__{self.kind}"
            case "typed":
                return column.name + "__typed"
        return column.name

    def typed(self, column: RuledColumn, typed: str) -> str:
        """SQL: the column's typed value as the rule leaves it, for the clean row, the other
        rules and GX's typed twin (``typed``: as the column's type makes it)."""
        return typed

    def failures_sql(self, column: RuledColumn, rule_id: str, raw_table: str, year: int) -> str:
        """SQL: the quarantine rows of the rule (as :func:`failures_sql` unites them), one per
        readable row that breaks it. Window functions cannot stand in WHERE: the verdict is
        evaluated in a subquery."""
        x = q(column.name)
        return (
            f"SELECT line, {lit(column.name)}, {lit(rule_id)}, "
            f"{lit(self.reason)}, {x}, {str(self.keeps_row).lower()} FROM ("
            f"SELECT line, {x}, {self.valid_sql(column, year)} AS ok FROM {raw_table} "
            f"WHERE parse_error IS NULL) WHERE NOT ok"
        )


# --- the rule kinds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Required(Rule):
    """A value is delivered."""

    kind: ClassVar[str] = "required"

    def valid_sql(self, column: RuledColumn, year: int) -> str:
        return f"{q(column.name)} IS NOT NULL"

    def expectation(self, column: RuledColumn, year: int) -> Expect:
        return Expect("ExpectColumnValuesToNotBeNull", {}, nulls=True)


@dataclass(frozen=True)
class Regex(Rule):
    """The delivered text matches ``pattern`` whole."""

    pattern: str
    kind: ClassVar[str] = "regex"

    def valid_sql(self, column: RuledColumn, year: int) -> str:
        x = q(column.name)
        return f"({x} IS NULL OR regexp_full_match({x}, {lit(self.pattern)}))"

    def expectation(self, column: RuledColumn, year: int) -> Expect:
        # \Z, not $: Python's $ also matches before a final line break, which DuckDB's full
        # match does not (a quoted field can end in one)
        return Expect("ExpectColumnValuesToMatchRegex", {"regex": f"^(?:{self.pattern})\\Z"})


@dataclass(frozen=True)
class Parsed(Rule):
    """The delivered text matches ``pattern`` whole and casts to the column's type (a
    31 February matches a date's pattern and is no date)."""

    pattern: str
    kind: ClassVar[str] = "parsed"
    reads: ClassVar[Reads] = "verdict"

    def valid_sql(self, column: RuledColumn, year: int) -> str:
        x = q(column.name)
        return (
            f"({x} IS NULL OR (regexp_full_match({x}, {lit(self.pattern)}) "
            f"AND {typed_expr(column)} IS NOT NULL))"
        )


@dataclass(frozen=True)
class InSet(Rule):
    """The delivered text is one of ``values``; without values, of the municipality
    reference list the column names (codes or names)."""

    values: tuple[str, ...] = ()
    kind: ClassVar[str] = "in_set"

    def allowed(self, column: RuledColumn) -> tuple[str, ...]:
        if self.values:
            return self.values
        if column.name == "municipality_code":
            return municipality_codes()
        if column.name == "municipality":
            return municipality_names()
        raise ValueError(f"in_set rule on {column.name} has no values")

    def valid_sql(self, column: RuledColumn, year: int) -> str:
        x = q(column.name)
        values = ", ".join(lit(v) for v in self.allowed(column))
        return f"({x} IS NULL OR {x} IN ({values}))"

    def expectation(self, column: RuledColumn, year: int) -> Expect:
        return Expect("ExpectColumnValuesToBeInSet", {"value_set": list(self.allowed(column))})


@dataclass(frozen=True)
class Between(Rule):
    """The typed value lies in the range (inclusive, or above ``min_value`` with
    ``min_exclusive``); a value that does not parse is another rule's."""

    min_value: float | None = None
    max_value: float | None = None
    min_exclusive: bool = False
    kind: ClassVar[str] = "between"
    reads: ClassVar[Reads] = "typed"

    def valid_sql(self, column: RuledColumn, year: int) -> str:
        typed = typed_expr(column)
        parts = []
        if self.min_value is not None:
            parts.append(f"{typed} {'>' if self.min_exclusive else '>='} {self.min_value}")
        if self.max_value is not None:
            parts.append(f"{typed} <= {self.max_value}")
        return f"({typed} IS NULL OR ({' AND '.join(parts)}))"

    def expectation(self, column: RuledColumn, year: int) -> Expect:
        return Expect(
            "ExpectColumnValuesToBeBetween",
            {
                "min_value": self.min_value,
                "max_value": self.max_value,
                "strict_min": self.min_exclusive,
            },
        )


@dataclass(frozen=True)
class InYear(Rule):
    """The date (or the whole number, a year) is in the partition's year."""

    kind: ClassVar[str] = "in_year"
    reads: ClassVar[Reads] = "typed"
    names_year: ClassVar[bool] = True

    def valid_sql(self, column: RuledColumn, year: int) -> str:
        typed = typed_expr(column)
        if column.type == "int":
            return f"({typed} IS NULL OR {typed} = {year})"
        return f"({typed} IS NULL OR year({typed}) = {year})"

    def expectation(self, column: RuledColumn, year: int) -> Expect:
        if column.type == "int":
            return Expect("ExpectColumnValuesToBeBetween", {"min_value": year, "max_value": year})
        return Expect(
            "ExpectColumnValuesToBeBetween",
            {"min_value": dt.datetime(year, 1, 1), "max_value": dt.datetime(year, 12, 31)},
        )


@dataclass(frozen=True)
class Unique(Rule):
    """No other row of the file has the value: every row carrying a duplicated value is
    quarantined, and a duplicate makes the whole file untrustworthy (a blocking check)."""

    kind: ClassVar[str] = "unique"
    across_rows: ClassVar[bool] = True
    blocks_file: ClassVar[bool] = True

    def valid_sql(self, column: RuledColumn, year: int) -> str:
        x = q(column.name)
        return f"({x} IS NULL OR count(*) OVER (PARTITION BY {x}) = 1)"

    def expectation(self, column: RuledColumn, year: int) -> Expect:
        return Expect("ExpectColumnValuesToBeUnique", {})


@dataclass(frozen=True)
class Repeat(Rule):
    """A row repeating an earlier row's values of ``columns`` (the column the rule stands
    on included) is quarantined; the first stays. Many such rows make the file
    untrustworthy through the quarantine threshold."""

    columns: tuple[str, ...]  # the clean names of the other columns
    kind: ClassVar[str] = "repeat"
    reads: ClassVar[Reads] = "verdict"
    across_rows: ClassVar[bool] = True

    def valid_sql(self, column: RuledColumn, year: int) -> str:
        group = ", ".join(q(c) for c in (column.name, *self.columns))
        return f"(row_number() OVER (PARTITION BY {group} ORDER BY line) = 1)"


@dataclass(frozen=True)
class GroupMax(Rule):
    """The rows sharing ``columns`` add up to at most ``max_value`` in the rule's column
    (e.g. the hours a person works in a day); all rows of a group over it are quarantined."""

    max_value: float
    columns: tuple[str, ...]  # the clean names of the columns that make a group
    kind: ClassVar[str] = "group_max"
    reads: ClassVar[Reads] = "verdict"
    across_rows: ClassVar[bool] = True

    def valid_sql(self, column: RuledColumn, year: int) -> str:
        group = ", ".join(q(c) for c in self.columns)
        typed = typed_expr(column)
        return f"(coalesce(sum({typed}) OVER (PARTITION BY {group}), 0) <= {self.max_value})"


@dataclass(frozen=True)
class KnownEntries(Rule):
    """On a ``list_pipe`` column: every entry is one of ``values``, compared after trimming,
    with runs of white space as one space and regardless of case, and stored in the spelling
    of ``values``. An entry that is none of them is left out of the clean row and quarantined
    on its own (one quarantine row per entry, the reason naming its position, never its
    text); the row and its known entries stay in use."""

    values: tuple[str, ...]
    kind: ClassVar[str] = "known_entries"
    reads: ClassVar[Reads] = "verdict"
    keeps_row: ClassVar[bool] = True

    def known(self, entry: str) -> str:
        """SQL: ``entry`` in the spelling of :attr:`values`, NULL for an entry not on it."""
        whens = " ".join(f"WHEN {lit(v.lower())} THEN {lit(v)}" for v in self.values)
        return f"(CASE {entry_key(entry)} {whens} END)"

    def valid_sql(self, column: RuledColumn, year: int) -> str:
        x = q(column.name)
        unknown = f"list_filter({list_entries(x)}, lambda s: {self.known('s')} IS NULL)"
        return f"({x} IS NULL OR len({unknown}) = 0)"

    def typed(self, column: RuledColumn, typed: str) -> str:
        # an entry not on the list is left out (and quarantined)
        return (
            f"list_filter(list_transform({typed}, lambda s: {self.known('s')}), "
            "lambda s: s IS NOT NULL)"
        )

    def failures_sql(self, column: RuledColumn, rule_id: str, raw_table: str, year: int) -> str:
        # each unknown entry with its position among the delivered entries ('|'-separated)
        x = q(column.name)
        return (
            f"SELECT line, {lit(column.name)}, {lit(rule_id)}, "
            f"{lit(self.reason + ' (punkt ')} || pos || ' af ' || n || ')', entry, "
            f"{str(self.keeps_row).lower()} "
            f"FROM (SELECT line, unnest(e) AS entry, generate_subscripts(e, 1) AS pos, "
            f"len(e) AS n FROM (SELECT line, {list_entries(x)} AS e FROM {raw_table} "
            f"WHERE parse_error IS NULL AND {x} IS NOT NULL)) "
            f"WHERE {self.known('entry')} IS NULL"
        )


# the kinds by what the ingestion steps ask of a failed check outcome (names, as quarantine
# rows and outcomes carry them): its row stays in use; it makes the file untrustworthy
ENTRY_RULES = tuple(k for k, c in RULE_KINDS.items() if c.keeps_row)
BLOCKING_RULES = tuple(k for k, c in RULE_KINDS.items() if c.blocks_file)


# --- a format's rules compiled to the SQL of ingestion ---------------------------------------


def entry_key(entry: str) -> str:
    """SQL: the key an entry of a list column is compared by (:class:`KnownEntries`): trimmed,
    runs of white space (a no-break space too) as one space, lower case."""
    return f"lower(trim(regexp_replace({entry}, '[\\s\u00a0]+', ' ', 'g')))"


def list_entries(x: str) -> str:
    """SQL: the non-empty entries of a delivered '|'-separated text, trimmed."""
    return (
        f"list_filter(list_transform(string_split({x}, '|'), lambda s: trim(s)), lambda s: s <> '')"
    )


def typed_expr(column: RuledColumn, raw: str | None = None) -> str:
    """SQL turning the delivered text into the column's type (NULL when it does not parse),
    as the column's rules leave it (:meth:`Rule.typed`)."""
    typed = _typed(column, raw or q(column.name))
    for rule in column.rules:
        typed = rule.typed(column, typed)
    return typed


def _typed(column: RuledColumn, x: str) -> str:
    match column.type:
        case "text":
            return x
        case "int":
            return f"TRY_CAST({x} AS INTEGER)"
        case "decimal":
            return f"TRY_CAST(replace({x}, ',', '.') AS DOUBLE)"
        case "date_dmy":  # four-digit years only: '05-03-20' is no date of year 20
            return (
                f"CASE WHEN regexp_full_match({x}, '[0-9]{{2}}-[0-9]{{2}}-[0-9]{{4}}') "
                f"THEN CAST(try_strptime({x}, '%d-%m-%Y') AS DATE) END"
            )
        case "date_iso" | "date_excel":  # no infinite date ('infinity', 'inf'): no date
            return f"CASE WHEN isfinite(TRY_CAST({x} AS DATE)) THEN TRY_CAST({x} AS DATE) END"
        case "ja_nej":
            return f"CASE {x} WHEN {lit(YES)} THEN true WHEN {lit(NO)} THEN false END"
        case "list_pipe":
            return f"CASE WHEN {x} IS NULL THEN []::VARCHAR[] ELSE {list_entries(x)} END"
    raise ValueError(f"unknown column type {column.type}")


SQL_TYPES = {
    "text": "VARCHAR",
    "int": "INTEGER",
    "decimal": "DOUBLE",
    "date_dmy": "DATE",
    "date_iso": "DATE",
    "date_excel": "DATE",
    "ja_nej": "BOOLEAN",
    "list_pipe": "VARCHAR[]",
}


def is_entry_rule(rule_column: str) -> str:
    """SQL: whether a quarantine row's ``rule`` (``<column>.<kind>.<i>``) is of a kind whose
    row stays in use (:attr:`Rule.keeps_row`, :data:`ENTRY_RULES`)."""
    kinds = ", ".join(lit(k) for k in ENTRY_RULES)
    return f"(split_part({rule_column}, '.', 2) IN ({kinds}))"


def failures_sql(fmt: RuledFormat, raw_table: str, year: int) -> str:
    """One row per (line, broken rule): line, column, rule, reason, value (as staged: personal
    data masked by the reader), and ``keeps_row``: a row that stays in use although it broke
    the rule (:attr:`Rule.keeps_row`)."""
    parts = [
        f"SELECT line, NULL::VARCHAR AS column_name, 'parsed_line' AS rule, parse_error AS reason, "
        f"NULL::VARCHAR AS value, false AS keeps_row FROM {raw_table} WHERE parse_error IS NOT NULL"
    ]
    for column in fmt.kept:
        for i, rule in enumerate(column.rules):
            parts.append(
                rule.failures_sql(column, f"{column.name}.{rule.kind}.{i}", raw_table, year)
            )
    return "\nUNION ALL\n".join(parts)


def clean_select_sql(fmt: RuledFormat, raw_table: str, failures_table: str, year: int) -> str:
    """The typed rows of the partition that broke no rule (and pass the format's clean filter)."""
    typed = ", ".join(
        f"CAST({typed_expr(c)} AS {SQL_TYPES[c.type]}) AS {q(c.name)}" for c in fmt.kept
    )
    inner = (
        f"SELECT line, {typed} FROM {raw_table} "
        f"WHERE parse_error IS NULL AND line NOT IN "
        f"(SELECT line FROM {failures_table} WHERE NOT keeps_row)"
    )
    where = (fmt.clean_filter or "true").format(year=year)
    return f"SELECT * FROM ({inner}) WHERE {where}"
