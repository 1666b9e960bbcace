"""Row-level rules of a format compiled to DuckDB SQL: typing, quarantine, clean rows.

The same declared rules are compiled to Great Expectations expectations in
:mod:`resultatrapport.gx`; a test holds the two to the same verdicts on sample data.
"""

from __future__ import annotations

from resultatrapport.formats import ENTRY_RULES, Column, Rule, SourceFormat
from resultatrapport.municipalities import municipality_codes, municipality_names
from resultatrapport.sql import lit, q
from resultatrapport.vocabulary import NO, YES


def rule_values(column: Column, rule: Rule) -> tuple[str, ...]:
    """The allowed values of an in_set rule; municipality rules take the reference list."""
    if rule.values:
        return rule.values
    if column.name == "municipality_code":
        return municipality_codes()
    if column.name == "municipality":
        return municipality_names()
    raise ValueError(f"in_set rule on {column.name} has no values")


def entry_key(entry: str) -> str:
    """SQL: the key an entry of a list column is compared by (``known_entries``): trimmed,
    runs of white space (a no-break space too) as one space, lower case."""
    return f"lower(trim(regexp_replace({entry}, '[\\s\u00a0]+', ' ', 'g')))"


def known_entry(column: Column, entry: str) -> str | None:
    """SQL: ``entry`` in the spelling of the column's ``known_entries`` list, NULL for an
    entry not on it; None when the column has no such rule (every entry is kept)."""
    rule = next((r for r in column.rules if r.kind == "known_entries"), None)
    if rule is None:
        return None
    whens = " ".join(f"WHEN {lit(v.lower())} THEN {lit(v)}" for v in rule.values)
    return f"(CASE {entry_key(entry)} {whens} END)"


def list_entries(x: str) -> str:
    """SQL: the non-empty entries of a delivered '|'-separated text, trimmed."""
    return (
        f"list_filter(list_transform(string_split({x}, '|'), lambda s: trim(s)), lambda s: s <> '')"
    )


def typed_expr(column: Column, raw: str | None = None) -> str:
    """SQL turning the delivered text into the column's type (NULL when it does not parse)."""
    x = raw or q(column.name)
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
        case "date_iso" | "date_excel":
            return f"TRY_CAST({x} AS DATE)"
        case "ja_nej":
            return f"CASE {x} WHEN {lit(YES)} THEN true WHEN {lit(NO)} THEN false END"
        case "list_pipe":
            entries = list_entries(x)
            known = known_entry(column, "s")
            if known is not None:  # an entry not on the list is left out (and quarantined)
                entries = (
                    f"list_filter(list_transform({entries}, lambda s: {known}), "
                    "lambda s: s IS NOT NULL)"
                )
            return f"CASE WHEN {x} IS NULL THEN []::VARCHAR[] ELSE {entries} END"
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


def _between(typed: str, rule: Rule) -> str:
    parts = []
    if rule.min_value is not None:
        parts.append(f"{typed} {'>' if rule.min_exclusive else '>='} {rule.min_value}")
    if rule.max_value is not None:
        parts.append(f"{typed} <= {rule.max_value}")
    return f"({typed} IS NULL OR ({' AND '.join(parts)}))"


def valid_predicate(column: Column, rule: Rule, year: int) -> str:
    """SQL that is true when the row satisfies the rule (on the raw table)."""
    x = q(column.name)
    typed = typed_expr(column)
    match rule.kind:
        case "required":
            return f"{x} IS NOT NULL"
        case "regex":
            return f"({x} IS NULL OR regexp_full_match({x}, {lit(rule.pattern or '')}))"
        case "parsed":
            return (
                f"({x} IS NULL OR (regexp_full_match({x}, {lit(rule.pattern or '')}) "
                f"AND {typed} IS NOT NULL))"
            )
        case "in_set":
            values = ", ".join(lit(v) for v in rule_values(column, rule))
            return f"({x} IS NULL OR {x} IN ({values}))"
        case "between":
            return _between(typed, rule)
        case "in_year":
            if column.type == "int":
                return f"({typed} IS NULL OR {typed} = {year})"
            return f"({typed} IS NULL OR year({typed}) = {year})"
        case "unique":
            return f"({x} IS NULL OR count(*) OVER (PARTITION BY {x}) = 1)"
        case "repeat":
            group = ", ".join(q(c) for c in (column.name, *rule.columns))
            return f"(row_number() OVER (PARTITION BY {group} ORDER BY line) = 1)"
        case "group_max":
            group = ", ".join(q(c) for c in rule.columns)
            return f"(coalesce(sum({typed}) OVER (PARTITION BY {group}), 0) <= {rule.max_value})"
        case "known_entries":
            unknown = (
                f"list_filter({list_entries(x)}, lambda s: {known_entry(column, 's')} IS NULL)"
            )
            return f"({x} IS NULL OR len({unknown}) = 0)"
    raise ValueError(f"unknown rule kind {rule.kind}")


def is_entry_rule(rule_column: str) -> str:
    """SQL: whether a quarantine row's ``rule`` (``<column>.<kind>.<i>``) is an entry rule
    (:data:`ENTRY_RULES`), whose row stays in use."""
    kinds = ", ".join(lit(k) for k in ENTRY_RULES)
    return f"(split_part({rule_column}, '.', 2) IN ({kinds}))"


def failures_sql(fmt: SourceFormat, raw_table: str, year: int) -> str:
    """One row per (line, broken rule): line, column, rule, reason, value (as staged: personal
    data masked by the reader), and ``keeps_row``: an entry rule's row (one per unknown
    entry, its position in the reason) leaves the row in use."""
    parts = [
        f"SELECT line, NULL::VARCHAR AS column_name, 'parsed_line' AS rule, parse_error AS reason, "
        f"NULL::VARCHAR AS value, false AS keeps_row FROM {raw_table} WHERE parse_error IS NOT NULL"
    ]
    for column in fmt.kept:
        for i, rule in enumerate(column.rules):
            rule_id = lit(f"{column.name}.{rule.kind}.{i}")
            x = q(column.name)
            if rule.kind == "known_entries":
                # each entry with its position among the delivered entries ('|'-separated)
                parts.append(
                    f"SELECT line, {lit(column.name)}, {rule_id}, "
                    f"{lit(rule.reason + ' (punkt ')} || pos || ' af ' || n || ')', entry, true "
                    f"FROM (SELECT line, unnest(e) AS entry, generate_subscripts(e, 1) AS pos, "
                    f"len(e) AS n FROM (SELECT line, {list_entries(x)} AS e FROM {raw_table} "
                    f"WHERE parse_error IS NULL AND {x} IS NOT NULL)) "
                    f"WHERE {known_entry(column, 'entry')} IS NULL"
                )
                continue
            pred = valid_predicate(column, rule, year)
            # window functions (unique) cannot stand in WHERE: evaluate in a subquery
            parts.append(
                f"SELECT line, {lit(column.name)}, {rule_id}, "
                f"{lit(rule.reason)}, {x}, false FROM ("
                f"SELECT line, {x}, {pred} AS ok FROM {raw_table} "
                f"WHERE parse_error IS NULL) WHERE NOT ok"
            )
    return "\nUNION ALL\n".join(parts)


def clean_select_sql(fmt: SourceFormat, raw_table: str, failures_table: str, year: int) -> str:
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
