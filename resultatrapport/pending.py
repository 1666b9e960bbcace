"""What a contract year's report would do again now, asked without doing it.

Every step of the report decides for itself whether its work still stands (a KPI's stored
result follows from today's deliveries, definition and code: :func:`still_holds`; so does
the budget's distribution; the draft shows what a draft drawn now would show:
:func:`draft_current`). :func:`contract_year_pending` asks the same questions of the
warehouse and the output folder, writing nothing, so that the automation
(``pipelines/automation.py``) launches a contract year's run only where something is
missing or out of date.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from resultatrapport.contracts import Contract
from resultatrapport.kpis import budget
from resultatrapport.kpis.compute import inputs_fingerprint, still_holds
from resultatrapport.report.draft import draft_current


def contract_year_pending(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    year: int,
    out: Path,
    today: dt.date | None = None,
) -> str | None:
    """The first work of the contract year's report that a run would do again now (a KPI
    to measure, the budget to compute, the draft to draw), said in a few words; None where
    every step's work stands."""
    for kpi in contract.kpis:
        inputs = inputs_fingerprint(con, contract, kpi, year)
        if still_holds(con, contract, kpi, year, inputs) is None:
            return f"KPI {kpi.id} of {year} is missing or out of date"
    if budget.still_holds(con, contract, year, budget.budget_inputs(con, contract, year)) is None:
        return f"the budget of {year} is missing or out of date"
    if not draft_current(con, contract, year, out, today):
        return f"the draft of {year} is missing or out of date"
    return None
