"""The GX adapter pays its fixed costs once per process: one context, one suite per format
and year; and each validation leaves nothing behind (no data source, no frame, no frozen
objects)."""

from __future__ import annotations

import gc
import weakref
from unittest import mock

import great_expectations as gx_lib
import pytest

from resultatrapport import gx
from resultatrapport.formats import FORMATS
from resultatrapport.ingest import stage, staged_frame
from tests.helpers import crm_row, write_crm

CRM = FORMATS["crm_cases"]
ORG = "erhvervshus-midtjylland"


def _frame(con, tmp_path):
    write_crm(tmp_path / "inbox", [crm_row(1), crm_row(2, cvr="1234567"), crm_row(1)])
    stage(con, CRM, tmp_path / "inbox", 2026, ORG)
    return staged_frame(con, CRM, 2026)


def test_one_context_and_one_suite_for_many_validations(con, tmp_path):
    frame = _frame(con, tmp_path)
    first = gx.validate(CRM, frame, 2026)
    with mock.patch.object(gx_lib, "get_context", wraps=gx_lib.get_context) as get_context:
        again = [gx.validate(CRM, frame, 2026) for _ in range(3)]
    assert get_context.call_count == 0
    assert all(outcomes == first for outcomes in again)
    assert gx._suite(CRM, (2026,)) is gx._suite(CRM, (2026,))
    # the suite is the year's: its in_year rule reads another year for another partition
    assert gx._suite(CRM, (2025,)) is not gx._suite(CRM, (2026,))
    assert not gx._context().data_sources.all()


def test_a_validation_keeps_no_frame_and_no_frozen_objects(con, tmp_path):
    frame = _frame(con, tmp_path)
    gx.validate(CRM, frame, 2026)  # GX imported and its context made
    ref = weakref.ref(frame)
    gc.disable()  # only validate's own collection may free GX's cycles
    try:
        gx.validate(CRM, frame, 2026)
        del frame
        assert ref() is None
    finally:
        gc.enable()
    assert gc.get_freeze_count() == 0


def test_objects_frozen_by_someone_else_stay_frozen(con, tmp_path):
    frame = _frame(con, tmp_path)
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        outcomes = gx.validate(CRM, frame, 2026)
        # still frozen (objects freed meanwhile leave the count)
        assert gc.get_freeze_count() > frozen * 0.9
    finally:
        gc.unfreeze()
    assert {o.rule for o in outcomes if not o.success} == {"case_id.unique.1", "cvr.regex.0"}


def test_a_failed_validation_leaves_no_data_source(con, tmp_path):
    frame = _frame(con, tmp_path)
    with (
        mock.patch.object(gx, "_outcomes", side_effect=RuntimeError("broken")),
        pytest.raises(RuntimeError, match="broken"),
    ):
        gx.validate(CRM, frame, 2026)
    assert not gx._context().data_sources.all()
    assert gx.validate(CRM, frame, 2026)
