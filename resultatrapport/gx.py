"""The one adapter to Great Expectations 1.x.

It turns a format's declared rules into an expectation suite, validates a partition's raw
rows with it, and returns plain :class:`RuleOutcome` objects; :func:`check_results` turns
those into Dagster asset-check results. GX is imported on the first validation (importing
it costs several seconds), with its progress bars and analytics off; its context and each
format's suite for a year are made once per process (:func:`_context`, :func:`_suite`).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import itertools
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pandas as pd

from resultatrapport.formats import Column, Rule, SourceFormat
from resultatrapport.ingest import frame_column
from resultatrapport.rules import rule_values

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


def _expectation(gxe: Any, column: Column, rule: Rule, year: int) -> Any:
    # the delivered text, or for a range rule its typed twin
    col = frame_column(column, rule)
    match rule.kind:
        case "required":
            return gxe.ExpectColumnValuesToNotBeNull(column=col)
        case "regex":
            return gxe.ExpectColumnValuesToMatchRegex(column=col, regex=f"^(?:{rule.pattern})$")
        case "in_set":
            return gxe.ExpectColumnValuesToBeInSet(
                column=col, value_set=list(rule_values(column, rule))
            )
        case "between":
            return gxe.ExpectColumnValuesToBeBetween(
                column=col,
                min_value=rule.min_value,
                max_value=rule.max_value,
                strict_min=rule.min_exclusive,
            )
        case "in_year":
            if column.type == "int":
                return gxe.ExpectColumnValuesToBeBetween(column=col, min_value=year, max_value=year)
            return gxe.ExpectColumnValuesToBeBetween(
                column=col,
                min_value=dt.datetime(year, 1, 1),
                max_value=dt.datetime(year, 12, 31),
            )
        case "unique":
            return gxe.ExpectColumnValuesToBeUnique(column=col)
        case "parsed" | "repeat" | "group_max":  # the verdict of the rule's SQL predicate
            return gxe.ExpectColumnValuesToBeInSet(column=col, value_set=[True])
    raise ValueError(f"unknown rule kind {rule.kind}")


def _rules(fmt: SourceFormat) -> Iterable[tuple[str, Column | None, Rule]]:
    yield "parsed_line", None, Rule("required", "Linjen kunne ikke læses")
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


_Ids = tuple[tuple[str, Column | None, Rule], ...]


@functools.lru_cache(maxsize=256)
def _suite(fmt: SourceFormat, year: int) -> tuple[Any, _Ids]:
    """The format's expectation suite for ``year`` and the rule behind each expectation,
    in the suite's order; made once per (format, year) in a process (a frozen format is its
    own key, so a changed rule makes a new suite)."""
    _context()  # GX adds expectations through the context it made last
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=f"{fmt.name}_rules")
    ids: list[tuple[str, Column | None, Rule]] = []
    for rule_id, column, rule in _rules(fmt):
        if column is None:
            suite.add_expectation(gxe.ExpectColumnValuesToBeNull(column="parse_error"))
        else:
            suite.add_expectation(_expectation(gxe, column, rule, year))
        ids.append((rule_id, column, rule))
    return suite, tuple(ids)


_sources = itertools.count()


def validate(fmt: SourceFormat, frame: pd.DataFrame, year: int) -> list[RuleOutcome]:
    """Validate the raw rows of one partition against the format's rules."""
    with _collected():
        return _validate(fmt, frame, year)


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


def _validate(fmt: SourceFormat, frame: pd.DataFrame, year: int) -> list[RuleOutcome]:
    context = _context()
    suite, ids = _suite(fmt, year)
    source = f"{fmt.name}_{year}_{next(_sources)}"
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
                    "unexpected_index_column_names": ["line"],
                    "partial_unexpected_count": EXAMPLES,
                },
            )
        return _outcomes(ids, result.results, len(frame))
    finally:
        # the context keeps no data source (and no frame) beyond its validation
        if source in context.data_sources.all():
            context.data_sources.delete(source)


def _outcomes(ids: _Ids, results: list[Any], rows: int) -> list[RuleOutcome]:
    outcomes = []
    # GX keeps the suite's order in its results
    for (rule_id, column, rule), res in zip(ids, results, strict=True):
        info = res.result or {}
        index_list = info.get("unexpected_index_list") or []
        lines = sorted({int(row["line"]) for row in index_list})
        examples = []
        for row in index_list[:EXAMPLES]:
            example: dict[str, Any] = {"linje": int(row["line"])}
            if column is not None:
                value = row.get(frame_column(column, rule))
                example["værdi (form)"] = value_shape(value)
            examples.append(example)
        outcomes.append(
            RuleOutcome(
                rule=rule_id,
                kind=rule.kind if column is not None else "parsed_line",
                column=column.name if column else None,
                reason=rule.reason,
                success=bool(res.success),
                element_count=int(info.get("element_count") or rows),
                unexpected_count=int(info.get("unexpected_count") or 0),
                lines=lines,
                examples=examples,
            )
        )
    return outcomes
