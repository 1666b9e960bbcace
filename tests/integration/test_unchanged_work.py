"""Work whose inputs did not change is not done again, as library calls (issue 28): a KPI
whose stored result follows from the same deliveries, definition and code is not measured,
nor a budget's distribution, and a draft that would show exactly what it shows is not drawn (the deliveries:
tests/unit/test_ingestion.py; the whole nightly run: tests/integration/test_nightly.py)."""

from __future__ import annotations

from contextlib import nullcontext

import duckdb

from resultatrapport.checks_table import record_checks
from resultatrapport.contracts import load_contracts
from resultatrapport.kpis.budget import budget_inputs, budget_lines
from resultatrapport.kpis.budget import still_holds as budget_still_holds
from resultatrapport.kpis.compute import inputs_fingerprint, still_holds
from resultatrapport.report.draft import chart_folder, write_draft
from tests.integration.test_library_alone import CONTRACT, YEAR, library_run


def test_a_stored_result_or_draft_stands_until_something_it_shows_changed(tmp_path, sample_inbox):
    inbox = sample_inbox([YEAR], 0.05, 5)  # only read
    warehouse, out = tmp_path / "w.duckdb", tmp_path / "out"
    library_run(inbox, warehouse, out)
    contract = load_contracts()[CONTRACT]
    with duckdb.connect(str(warehouse)) as con:
        # every KPI follows from what it was computed from
        for kpi in contract.kpis:
            inputs = inputs_fingerprint(con, contract, kpi, YEAR)
            assert still_holds(con, contract, kpi, YEAR, inputs) is not None, kpi.id
        # a changed definition (V1's name as the report prints it) is measured again
        v1 = next(k for k in contract.kpis if k.id == "V1")
        changed = v1.model_copy(update={"name": v1.name + " (rettet)"})
        edited = contract.model_copy(
            update={"kpis": [changed if k is v1 else k for k in contract.kpis]}
        )
        inputs = inputs_fingerprint(con, edited, changed, YEAR)
        assert still_holds(con, edited, changed, YEAR, inputs) is None
        # and so is every KPI after a change of the budget (the spread KPI follows it)
        budget = contract.budget.model_copy(update={"note": contract.budget.note + " (rettet)"})
        rebudgeted = contract.model_copy(update={"budget": budget})
        inputs = inputs_fingerprint(con, rebudgeted, v1, YEAR)
        assert still_holds(con, rebudgeted, v1, YEAR, inputs) is None
        # so is a KPI moved to another place in the contract file
        moved = contract.model_copy(update={"kpis": contract.kpis[::-1]})
        inputs = inputs_fingerprint(con, moved, v1, YEAR)
        assert still_holds(con, moved, v1, YEAR, inputs) is None

        budget_stands(con, contract, rebudgeted)

        def draft_table() -> list[tuple]:
            return con.execute("SELECT * FROM report.drafts ORDER BY ALL").fetchall()

        connect = lambda: nullcontext(con)  # noqa: E731
        charts = chart_folder(contract.id, YEAR)
        first = write_draft(connect, contract, YEAR, out, "r2")
        # drawn by library_run: not drawn again, the file and its record untouched
        assert first.unchanged_since is not None
        pdf, stat, recorded = first.path.read_bytes(), first.path.stat(), draft_table()
        again = write_draft(connect, contract, YEAR, out, "r3")
        assert again.unchanged_since == first.unchanged_since
        assert first.path.read_bytes() == pdf and first.path.stat().st_mtime_ns == stat.st_mtime_ns
        assert draft_table() == recorded
        assert (again.data_hash, again.pdf_sha256) == (first.data_hash, first.pdf_sha256)

        # a delivery refused since shows in the draft, though its data hash is the same
        record_checks(
            con, "crm_cases", contract.source_org("crm_cases"), YEAR,
            [("rows_valid", False, False, "x"), ("file_trustworthy", False, True, "dubletter")],
            "0" * 64,
        )  # fmt: skip
        redrawn = write_draft(connect, contract, YEAR, out, "r4")
        assert redrawn.unchanged_since is None and redrawn.data_hash == first.data_hash
        assert redrawn.blocking_failures and redrawn.path.read_bytes() != pdf
        # its charts show what they showed: read as drawn then, none drawn again
        assert (redrawn.charts_drawn, redrawn.charts_reused) == (0, len(list(charts.iterdir())))
        assert redrawn.charts_reused > 0
        # a draft file changed on disk is drawn again
        redrawn.path.write_bytes(b"%PDF-1.7 changed by hand")
        assert write_draft(connect, contract, YEAR, out, "r5").unchanged_since is None
        assert redrawn.path.read_bytes() != b"%PDF-1.7 changed by hand"


def budget_stands(con, contract, rebudgeted) -> None:
    """The budget's distribution is not computed again while what it follows from holds."""
    # the budget's distribution stands as stored, line for line what it would compute
    inputs = budget_inputs(con, contract, YEAR)
    kept = budget_still_holds(con, contract, YEAR, inputs)
    assert kept is not None
    assert kept.distribution == budget_lines(con, contract.budget, YEAR)
    assert kept.distribution.lines  # a distribution, not the row of none
    # not after a change of the budget's definition, of the delivery it reads, or of
    # the code that computed it
    assert budget_still_holds(con, rebudgeted, YEAR, budget_inputs(con, rebudgeted, YEAR)) is None
    where = {"s": contract.budget.source, "y": YEAR}
    con.execute("BEGIN TRANSACTION")
    con.execute("UPDATE ingest.deliveries SET sha256 = 'x' WHERE source = $s AND year = $y", where)
    assert budget_inputs(con, contract, YEAR) != inputs
    con.execute("ROLLBACK")
    con.execute("BEGIN TRANSACTION")
    con.execute("UPDATE kpi.budget SET code_version = 'older'")
    assert budget_still_holds(con, contract, YEAR, inputs) is None
    con.execute("ROLLBACK")
