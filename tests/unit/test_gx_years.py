"""Several years of a format validated in one GX validation give each year exactly the
outcomes a validation of that year alone gives: a value unique in its year may repeat in
another, a date in its year is out of every other year's range, and the rules over several
rows (repeats, group sums) are judged within the year."""

from __future__ import annotations

from pathlib import Path

import pytest

from resultatrapport import gx
from resultatrapport.formats import FORMATS
from resultatrapport.ingest import (
    hold_stage,
    restore_stage,
    stage,
    staged_frame,
    staged_years_frame,
)
from tests.helpers import crm_row, write_crm

CRM = FORMATS["crm_cases"]
ORG = "erhvervshus-midtjylland"
YEARS = (2021, 2022, 2023)


def _alone_and_together(con, fmt, inbox: Path, org: str | None, years=YEARS):
    alone, tables = {}, {}
    for year in years:
        stage(con, fmt, inbox, year, org)
        alone[year] = gx.validate(fmt, staged_frame(con, fmt, year), year)
        tables[year] = hold_stage(con, year)
    together = gx.validate_years(fmt, staged_years_frame(con, fmt, tables), years)
    restore_stage(con, tables[years[-1]])  # a held year goes back to be committed
    return alone, together


def test_a_repeated_id_and_a_date_are_judged_within_their_own_year(con, tmp_path):
    inbox = tmp_path / "inbox"
    # the same case id in 2021 and 2022 is no duplicate; twice in 2022 it is
    write_crm(inbox, [crm_row(1, start="03-02-2021"), crm_row(2, start="04-02-2021")], year=2021)
    write_crm(
        inbox,
        [
            crm_row(1, start="03-02-2022"),
            crm_row(3, start="03-02-2022"),
            crm_row(3, start="05-02-2022"),
        ],
        year=2022,
    )
    # a 2023 date is right in 2023 and out of range in 2022's file
    write_crm(inbox, [crm_row(4, start="03-02-2023"), crm_row(5, start="03-02-2024")], year=2023)
    alone, together = _alone_and_together(con, CRM, inbox, ORG)
    assert together == alone
    unique = {y: next(o for o in alone[y] if o.kind == "unique") for y in YEARS}
    assert [unique[y].success for y in YEARS] == [True, False, True]
    assert unique[2022].lines == [3, 4] and unique[2022].element_count == 3
    in_year = {y: next(o for o in alone[y] if o.kind == "in_year") for y in YEARS}
    assert [in_year[y].lines for y in YEARS] == [[], [], [3]]


@pytest.mark.parametrize(
    "source", sorted(name for name, fmt in FORMATS.items() if not fmt.yearless)
)
def test_every_yearly_format_of_a_generated_inbox_is_judged_alike(con, sample_inbox, source):
    """The generated inbox plants bad rows of every kind the rules know."""
    inbox = sample_inbox(range(2020, 2027), 0.05, 11)
    fmt = FORMATS[source]
    orgs = (
        [None]
        if "{org}" not in fmt.path
        else sorted(
            d.name
            for d in inbox.iterdir()
            if d.is_dir() and (inbox / fmt.relpath(2021, d.name)).exists()
        )
    )
    compared = 0
    for org in orgs:
        if not all((inbox / fmt.relpath(y, org)).exists() for y in YEARS):
            continue
        alone, together = _alone_and_together(con, fmt, inbox, org)
        assert together == alone, (source, org)
        compared += 1
    if not compared:
        pytest.skip(f"the sample inbox has no {source} for {YEARS}")
