"""The domain library on its own (README: Layout): a generated inbox ingested, the KPIs and
the budget computed and the draft rendered with ``resultatrapport`` alone, Dagster never
imported, ends with a draft a signer could sign: every delivery it names passed its blocking
checks as that very file, and nothing else refuses the sign-off.

The run is a subprocess, so that nothing pytest or another test imported (Dagster) can be
in its ``sys.modules``; :func:`library_run` is what it runs, a script as a user of the
library would write it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import duckdb

from resultatrapport.contracts import load_contracts
from resultatrapport.formats import FORMATS
from resultatrapport.ingestion import ingest_delivery, ingest_texts
from resultatrapport.kpis.budget import budget_inputs, budget_lines
from resultatrapport.kpis.budget import store as store_budget
from resultatrapport.kpis.compute import evaluate, inputs_fingerprint, measure
from resultatrapport.kpis.results_table import store
from resultatrapport.report import content, signoff
from resultatrapport.report.draft import write_draft
from resultatrapport.vocabulary import FIRST_YEAR
from resultatrapport.warehouse_schema import ensure_schema

CONTRACT = "viborg-ver-2020"
YEAR = 2020  # the contract's first year: one year of deliveries, nothing to show before it


def library_run(inbox: Path, warehouse: Path, out: Path) -> dict[str, object]:
    """Inbox to draft with library calls only; what the draft is, and who imported Dagster."""
    contract = load_contracts()[CONTRACT]
    run = "library"
    with duckdb.connect(str(warehouse)) as con:
        ensure_schema(con)
        ingested = []
        for (source, org), years in content.read_by_report(contract, YEAR).items():
            wanted = [y for y in years if FIRST_YEAR <= y <= YEAR]
            ingested += ingest_delivery(con, FORMATS[source], org, inbox, wanted, run_id=run)
        texts = ingest_texts(con, inbox, contract, [YEAR], run_id=run)
        for kpi in contract.kpis:
            m = measure(con, contract, kpi, YEAR)
            result = evaluate(contract, kpi, YEAR, m)
            detail = [] if result.suppressed else m.detail
            store(con, result, detail, run, inputs_fingerprint(con, contract, kpi, YEAR))
        budget = budget_lines(con, contract.budget, YEAR)
        store_budget(con, contract.id, YEAR, budget, budget_inputs(con, contract, YEAR))
        draft = write_draft(lambda: nullcontext(con), contract, YEAR, out, run)
        refusals = signoff.refusals(con, contract, YEAR, content.load(con, contract, YEAR))
    return {
        "dagster": sorted(m for m in sys.modules if m.split(".")[0].startswith("dagster")),
        "not_taken": [f"{r.file}: {r.refused}" for r in ingested if not r.taken],
        "taken": [r.file for r in ingested if r.taken and not r.missing],
        "texts_passed": [t.passed for t in texts],
        "path": str(draft.path),
        "pages": draft.pages,
        "blocking_failures": draft.blocking_failures,
        "refusals": refusals,
    }


def test_the_library_alone_ingests_an_inbox_and_renders_a_signable_draft(tmp_path, sample_inbox):
    inbox = sample_inbox([YEAR], 0.05, 5)  # only read
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        "from test_library_alone import library_run; from pathlib import Path; "
        "print(json.dumps(library_run(*map(Path, sys.argv[2:]))))"
    )
    paths = [Path(__file__).parent, inbox, tmp_path / "w.duckdb", tmp_path / "out"]
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, paths)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["dagster"] == []  # no Dagster module was imported, not even indirectly
    assert result["not_taken"] == []
    assert len(result["taken"]) >= 3 and result["texts_passed"] == [True]
    draft = Path(str(result["path"]))
    assert draft.read_bytes().startswith(b"%PDF-") and result["pages"] > 5
    # signable: no blocking failure (every delivery passed its checks as that very file),
    # and nothing else refuses it (results, texts, budget, the draft shows the current data)
    assert result["blocking_failures"] == []
    assert result["refusals"] == []
