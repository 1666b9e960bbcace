"""The one adapter to Great Expectations 1.x.

It turns a format's declared rules into an expectation suite, validates a partition's raw
rows with it, and returns plain :class:`RuleOutcome` objects; :func:`check_results` turns
those into Dagster asset-check results. GX is imported on the first validation (importing
it costs several seconds), with its progress bars and analytics off; its context and each
format's suite for a year, or for the years validated together, are made once per process
(:func:`_context`, :func:`_suite`).
"""

from __future__ import annotations

import functools
import gc
import itertools
import logging
import operator
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pandas as pd

from resultatrapport.formats import Column, SourceFormat
from resultatrapport.rules import Required, Rule

EXAMPLES = 5


@dataclass
class RuleOutcome:
    rule: str  # "<column>.<kind>.<i>" as in the quarantine table
    kind: str
    column: str | None
    reason: str
    success: bool
    element_count: int
    unexpected_count: int
    lines: list[int] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)


def value_shape(value: object) -> str:
    """A value's shape without its content: digits -> 9, letters -> x (no identifiers leak)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "(tom)"
    text = str(value)
    if text == "[CPR fjernet]":
        return text
    shape = re.sub(r"[0-9]", "9", text)
    shape = re.sub(r"[^\W\d_]", "x", shape)
    return shape if len(shape) <= 24 else shape[:21] + "..."


def _expectation(gxe: Any, column: Column, rule: Rule, year: int) -> tuple[Any, bool]:
    """The rule's expectation (:meth:`Rule.expectation`) on the column of the frame it
    reads (:meth:`Rule.frame_column`), and whether it judges NULL values."""
    made = rule.expectation(column, year)
    return getattr(gxe, made.name)(column=rule.frame_column(column), **made.args), made.nulls


def _per_year(rule: Rule) -> bool:
    """Whether a rule is judged on each year's rows apart when several years are validated
    together: it names the year, or it judges a row against the other rows of the frame (a
    rule read as its SQL verdict was judged within its year by the SQL that made it)."""
    return rule.names_year or (rule.across_rows and rule.reads != "verdict")


def _rules(fmt: SourceFormat) -> Iterable[tuple[str, Column | None, Rule]]:
    yield "parsed_line", None, Required("Linjen kunne ikke læses")
    for column in fmt.kept:
        for i, rule in enumerate(column.rules):
            yield f"{column.name}.{rule.kind}.{i}", column, rule


@contextmanager
def _no_batch_fingerprint() -> Iterator[None]:
    """GX fingerprints every in-memory batch (an md5 over pandas' hash of every cell, twice
    per validation) unless the frame is over ``HASH_THRESHOLD`` bytes (1e9; object columns
    count as pointers, so a delivery never is). The fingerprint is a batch marker nothing
    here reads, and it was 1.3 s of the 2.3 s GX spent on one year's deliveries at scale 10
    (4 s for 300,000 rows of 12 text columns). GX 1.x has no setting for it (checked in
    1.24: no config, no parameter; the module constant is read on each batch), so the
    constant is set for the duration of this validation only and restored after, instead
    of being changed for the whole process."""
    from great_expectations.execution_engine import pandas_execution_engine

    with mock.patch.object(pandas_execution_engine, "HASH_THRESHOLD", 0):
        yield


@functools.cache
def _context() -> Any:
    """The process's one ephemeral GX context, made on first use: analytics and progress bars
    off in its own configuration (not through the process's environment). It holds no data
    between validations: each one's data source is removed when it is done. Made per
    validation, the context and its data source cost about 0.1 s of every call."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    return gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            store_backend_defaults=InMemoryStoreBackendDefaults(),
        ),
    )


# the rule behind each expectation of a suite (by its key, ``meta["key"]``), and the year it
# alone judges (None: every year of the frame)
_Ids = dict[str, tuple[str, Column | None, Rule, int | None]]


@functools.lru_cache(maxsize=256)
def _suite(fmt: SourceFormat, years: tuple[int, ...], unreadable: bool = False) -> tuple[Any, _Ids]:
    """The format's expectation suite for ``years`` and the rule behind each expectation
    (by a key in the expectation's ``meta``: GX does not keep the suite's order in its
    results once some expectations have a row condition, and an unsaved suite's
    expectations have no id); made once per (format, years, unreadable) in a process (a
    frozen format is its own key, so a changed rule makes a new suite).

    For one year the suite is the format's rules for that year. For several, the frame has
    a ``year`` column: a rule that does not depend on the year is one expectation over all
    the rows, and a rule judged within a year (:func:`_per_year`) is one expectation per year
    on that year's rows (a row condition).

    ``unreadable``: the frame has lines that could not be read; an expectation that judges
    NULL values (``Expect.nulls``) is then given the readable lines only (a row condition),
    as the quarantine judges the rules. A row condition costs GX a filtered copy of the frame
    for each of its metrics (about 0.1 s per expectation on a million rows), so a frame
    without such lines, the usual one, gets none."""
    _context()  # GX adds expectations through the context it made last
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column as RowColumn

    suite = gx.ExpectationSuite(name=f"{fmt.name}_rules")
    ids: _Ids = {}
    for rule_id, column, rule in _rules(fmt):
        if column is None:
            expectation = gxe.ExpectColumnValuesToBeNull(column="parse_error")
            made: list[tuple[int | None, Any, bool]] = [(None, expectation, False)]
        elif len(years) > 1 and _per_year(rule):
            made = [(one, *_expectation(gxe, column, rule, one)) for one in years]
        else:  # one year, or a rule whose expectation does not use the year
            made = [(None, *_expectation(gxe, column, rule, years[0]))]
        for judged, expectation, nulls in made:
            conditions: list[Any] = []
            if judged is not None:
                conditions.append(RowColumn("year") == judged)
            if nulls and unreadable:
                conditions.append(RowColumn("parse_error").is_null())
            if conditions:
                expectation.row_condition = functools.reduce(operator.and_, conditions)
            key = f"{rule_id}@{judged or ''}"
            expectation.meta = {"key": key}
            suite.add_expectation(expectation)
            ids[key] = (rule_id, column, rule, judged)
    return suite, ids


_sources = itertools.count()


def validate(fmt: SourceFormat, frame: pd.DataFrame, year: int) -> list[RuleOutcome]:
    """Validate the raw rows of one partition against the format's rules."""
    return validate_years(fmt, frame, (year,))[year]


def validate_years(
    fmt: SourceFormat, frame: pd.DataFrame, years: tuple[int, ...]
) -> dict[int, list[RuleOutcome]]:
    """Validate the raw rows of several partitions of a format in one GX validation (each
    validation costs about 0.3 s whatever its rows; a first run validated some thirty
    partitions). With more than one year the frame has a ``year`` column; each year's
    outcomes are those a validation of its rows alone gives."""
    with _collected():
        return _validate(fmt, frame, tuple(sorted(years)))


@contextmanager
def _collected() -> Iterator[None]:
    """Collect the garbage a validation leaves, and only that.

    GX's objects refer to each other, and with them the batch and the whole frame: they go
    only when the cycle collector runs. Without a collection a run kept the partitions'
    frames long after their steps (scale 100: about 600 MB for one year's CVR extract; the
    run's peak RSS was 4.5 GB). A full collection walks every object of the process, though
    (0.3 s of each validation's 1.3 s in a whole run, whose heap Dagster fills): so the
    objects that were there before are frozen (``gc.freeze``) and the collection walks only
    those the validation made. Where something else has frozen objects (a pre-fork server)
    the freeze is left alone and the collection is a full one."""
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        gc.collect()
        if freeze:
            gc.unfreeze()


def _validate(
    fmt: SourceFormat, frame: pd.DataFrame, years: tuple[int, ...]
) -> dict[int, list[RuleOutcome]]:
    context = _context()
    suite, ids = _suite(fmt, years, bool(frame["parse_error"].notna().any()))
    source = f"{fmt.name}_{years[0]}_{next(_sources)}"
    index = ["line"] if len(years) == 1 else ["year", "line"]
    try:
        with _no_batch_fingerprint():
            batch = (
                context.data_sources.add_pandas(source)
                .add_dataframe_asset(fmt.name)
                .add_batch_definition_whole_dataframe("partition")
                .get_batch(batch_parameters={"dataframe": frame})
            )
            result = batch.validate(
                suite,
                result_format={
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": index,
                    "partial_unexpected_count": EXAMPLES,
                },
            )
        if len(years) == 1:
            rows = {years[0]: len(frame)}
        else:
            counts = frame["year"].value_counts()
            rows = {y: int(counts.get(y, 0)) for y in years}
        return _outcomes(fmt, ids, result.results, years, rows)
    finally:
        # the context keeps no data source (and no frame) beyond its validation
        if source in context.data_sources.all():
            context.data_sources.delete(source)


def _outcomes(
    fmt: SourceFormat,
    ids: _Ids,
    results: list[Any],
    years: tuple[int, ...],
    rows: dict[int, int],
) -> dict[int, list[RuleOutcome]]:
    """Each year's outcome of each rule, in the rules' order. An expectation over several
    years is split by the ``year`` of its unexpected rows; one of a single year is that
    year's as GX gave it."""
    by_rule: dict[tuple[str, int | None], Any] = {}
    for res in results:
        rule_id, _, _, year = ids[res.expectation_config.meta["key"]]
        by_rule[rule_id, year] = res
    outcomes: dict[int, list[RuleOutcome]] = {y: [] for y in years}
    for rule_id, column, rule in _rules(fmt):
        for year in years:
            own = (rule_id, year) in by_rule
            res = by_rule[rule_id, year] if own else by_rule[rule_id, None]
            info = res.result or {}
            index_list = info.get("unexpected_index_list") or []
            if own or len(years) == 1:
                count = int(info.get("unexpected_count") or 0)
                elements = int(info.get("element_count") or rows.get(year, 0))
                success = bool(res.success)
            else:  # this year's part of an expectation over every year
                index_list = [row for row in index_list if int(row["year"]) == year]
                count, elements, success = len(index_list), rows.get(year, 0), not index_list
            outcomes[year].append(_outcome(rule_id, column, rule, success, elements, count,
                                           index_list))  # fmt: skip
    return outcomes


def _outcome(
    rule_id: str,
    column: Column | None,
    rule: Rule,
    success: bool,
    elements: int,
    unexpected: int,
    index_list: list[dict[str, Any]],
) -> RuleOutcome:
    lines = sorted({int(row["line"]) for row in index_list})
    examples = []
    for row in index_list[:EXAMPLES]:
        example: dict[str, Any] = {"linje": int(row["line"])}
        if column is not None:
            value = row.get(rule.frame_column(column))
            example["værdi (form)"] = value_shape(value)
        examples.append(example)
    return RuleOutcome(
        rule=rule_id,
        kind=rule.kind if column is not None else "parsed_line",
        column=column.name if column else None,
        reason=rule.reason,
        success=success,
        element_count=elements,
        unexpected_count=unexpected,
        lines=lines,
        examples=examples,
    )
