"""Every vocabulary is declared once (resultatrapport.vocabulary): the contract schema, the
source formats, the SQL and Great Expectations rules compiled from them, and the report use
the same lists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from resultatrapport import contracts, vocabulary
from resultatrapport.formats import FORMATS, Column
from resultatrapport.municipalities import municipality_codes
from resultatrapport.report.rounding import UNIT_DECIMALS
from resultatrapport.report.view import STATUS_CLASS
from resultatrapport.rules import InSet
from resultatrapport.sql import lit, q

# (source, column) -> the vocabulary its values come from
CATEGORY_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("crm_cases", "form"): vocabulary.FORMS,
    ("crm_cases", "segment"): vocabulary.SEGMENTS,
    ("crm_cases", "case_type"): vocabulary.CASE_TYPES,
    ("crm_cases", "focus_area"): vocabulary.FOCUS_AREAS,
    ("survey_answers", "segment"): vocabulary.SEGMENTS,
    ("survey_answers", "referred"): vocabulary.JA_NEJ,
    ("survey_answers", "used_referral"): vocabulary.JA_NEJ_VED_IKKE,
    ("survey_answers", "sustainability_guided"): vocabulary.JA_NEJ,
    ("survey_answers", "sustainability_better"): vocabulary.DEGREES,
    ("awareness", "hub"): vocabulary.HUBS,
    ("awareness", "knows_hub"): vocabulary.JA_NEJ,
    ("awareness", "knows_offers"): vocabulary.JA_NEJ,
}
# the fields of a contract file (filters are named by the column they filter) -> vocabulary
SCHEMA_FIELDS: dict[str, tuple[str, ...]] = {
    "hub": vocabulary.HUBS,
    "segment": vocabulary.SEGMENTS,
    "form": vocabulary.FORMS,
    "case_type": vocabulary.CASE_TYPES,
    "focus_area": vocabulary.FOCUS_AREAS,
    "areas": vocabulary.FOCUS_AREAS,
    "used_referral": vocabulary.JA_NEJ_VED_IKKE,
    "sustainability_better": vocabulary.DEGREES,
    "operator": vocabulary.OPERATORS,
    "unit": vocabulary.UNITS,
}


def in_set(source: str, name: str) -> tuple[Column, InSet]:
    [column] = [c for c in FORMATS[source].columns if c.name == name]
    [rule] = [r for r in column.rules if isinstance(r, InSet)]
    return column, rule


def test_every_category_column_of_the_formats_is_listed() -> None:
    """A format column restricted to a fixed set (not the municipality reference) is one of
    CATEGORY_COLUMNS, so none is left out of the tests below."""
    restricted = {
        (fmt.name, c.name)
        for fmt in FORMATS.values()
        for c in fmt.columns
        for r in c.rules
        if r.kind == "in_set" and r.values
    }
    assert restricted == set(CATEGORY_COLUMNS)


@pytest.mark.parametrize(("source", "name"), sorted(CATEGORY_COLUMNS))
def test_the_formats_rules_are_the_vocabulary(source: str, name: str) -> None:
    column, rule = in_set(source, name)
    assert rule.allowed(column) == CATEGORY_COLUMNS[source, name]


@pytest.mark.parametrize(("source", "name"), sorted(CATEGORY_COLUMNS))
def test_the_sql_rule_admits_the_vocabulary_and_nothing_else(source: str, name: str) -> None:
    column, rule = in_set(source, name)
    predicate = rule.valid_sql(column, 2024)
    values = [*CATEGORY_COLUMNS[source, name], "ikke en værdi"]
    listed = ", ".join(lit(v) for v in values)
    rows = duckdb.sql(
        f"SELECT {q(column.name)}, {predicate} FROM (SELECT unnest([{listed}]) AS {q(column.name)})"
    ).fetchall()
    assert {v for v, ok in rows if ok} == set(CATEGORY_COLUMNS[source, name])


@pytest.mark.parametrize(("source", "name"), sorted(CATEGORY_COLUMNS))
def test_the_gx_rule_is_the_vocabulary(source: str, name: str) -> None:
    column, rule = in_set(source, name)
    expectation = rule.expectation(column, 2024)
    assert expectation.name == "ExpectColumnValuesToBeInSet"
    assert set(expectation.args["value_set"]) == set(CATEGORY_COLUMNS[source, name])


def schema_enums(node: Any, name: str | None = None) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(property, its allowed values) for every enum or constant anywhere in a JSON schema
    (a list's items and an optional value's options included)."""
    if isinstance(node, list):
        for item in node:
            yield from schema_enums(item, name)
        return
    if not isinstance(node, dict):
        return
    if name and "enum" in node:
        yield name, tuple(node["enum"])
    for key, value in node.items():
        if key == "properties":
            for prop, sub in value.items():
                yield from schema_enums(sub, prop)
        elif key == "$defs":
            yield from schema_enums(list(value.values()))
        else:
            yield from schema_enums(value, name)


def test_the_contract_schema_is_the_vocabulary() -> None:
    """Every field of a contract file holding a category, an operator or a unit (on any
    model, in any filter) admits the vocabulary's values exactly."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for name, values in schema_enums(contracts.Contract.model_json_schema()):
        found.setdefault(name, []).append(values)
    assert set(SCHEMA_FIELDS) <= set(found)
    for name, expected in SCHEMA_FIELDS.items():
        assert all(set(values) == set(expected) for values in found[name]), name


def test_the_contract_filters_name_the_format_columns_values() -> None:
    """A filter on a category column admits what the format admits."""
    for (_source, name), values in CATEGORY_COLUMNS.items():
        if name in SCHEMA_FIELDS:
            assert SCHEMA_FIELDS[name] == values, name


def test_the_report_knows_every_status_operator_and_unit() -> None:
    assert set(STATUS_CLASS) == set(vocabulary.STATUSES)
    assert set(vocabulary.OPERATOR_SIGN) == set(vocabulary.OPERATORS)
    assert set(UNIT_DECIMALS) == set(vocabulary.UNITS)


def test_the_municipality_rule_is_the_reference() -> None:
    column, rule = in_set("crm_cases", "municipality_code")
    assert rule.allowed(column) == municipality_codes()
    assert "101" in municipality_codes()  # København
