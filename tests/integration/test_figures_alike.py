"""A figure is printed alike everywhere it is shown, and never so that its row reads as
contradicting its status (issue 25, case 3): the report, the submission CSV, `kpis` /
`show-signed` and the Dagster UI's metadata and check. Fast: a small DuckDB warehouse, no
Dagster run."""

from __future__ import annotations

import csv
import datetime as dt
import io

import duckdb
import pytest

from assets.kpis import kpi_metadata, target_outcome
from commands.cli import _kpi_records, _kpi_table
from resultatrapport.contracts import Contract
from resultatrapport.kpis.compute import evaluate
from resultatrapport.kpis.kinds import Measure
from resultatrapport.kpis.results_table import store
from resultatrapport.report import content, signoff, view
from tests.unit.report.test_signoff_domain import YEAR, draw, fill

SIGNED_ON = dt.date(2022, 3, 14)


def with_v2(con: duckdb.DuckDBPyConnection, ver: Contract, value: float) -> object:
    """viborg-ver-2020's V2 (årsværk, target ≥ 1 in 2021) measured as ``value``."""
    fill(con, ver)
    kpi = next(k for k in ver.kpis if k.id == "V2")
    result = evaluate(ver, kpi, YEAR, Measure(value, n=12))
    store(con, result, [], None)
    draw(con, ver)
    return result


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.977, "0,98"),  # the V2: the CSV said 1,0, the PDF 0,98
        (0.997, "0,997"),  # 1,00 would read as meeting ≥ 1
        (1.0, "1,00"),
    ],
)
def test_v2_is_printed_alike_in_the_report_the_csv_kpis_and_the_ui(con, ver, value, shown):
    result = with_v2(con, ver, value)
    status = "Opfyldt" if value >= 1 else "Ikke opfyldt"
    data = content.load(con, ver, YEAR)

    # the submission to KL and Erhvervsstyrelsen
    csvs = signoff.submission_csvs(ver, data, "Ida Kontrolsen", SIGNED_ON)
    rows = csv.DictReader(
        io.StringIO(csvs["resultatopfyldelse"].decode("utf-8-sig")), delimiter=";"
    )
    v2 = next(r for r in rows if r["Mål-ID"] == "V2")
    assert (v2["Resultat"], v2["Målværdi"], v2["Operator"], v2["Status"]) == (
        shown, "1", ">=", status
    )  # fmt: skip

    # the report: the summary and the goal's section
    built = view.build(data, draft=True, provenance={})
    [summary] = [s for s in built["summary"] if s["id"] == "V2"]
    assert (summary["value"], summary["target"], summary["status"]) == (shown, "≥ 1", status)
    items = [i for s in built["sections"] for g in s["goals"].values() for i in g]
    assert next(i for i in items if i["id"] == "V2")["value"] == shown

    # `kpis` and `show-signed` (the same table)
    table = _kpi_table(_kpi_records(con, ver.id, YEAR))
    row = next(r for r in table if r[0] == "V2")
    assert row[2:5] == [f"{shown} årsværk", "≥ 1", status]

    # the Dagster UI: the KPI's metadata and its target_met check
    kpi = next(k for k in ver.kpis if k.id == "V2")
    metadata = kpi_metadata(kpi, result, Measure(value, n=12))
    assert metadata["value"].value == float(shown.replace(",", "."))
    outcome = target_outcome(result)
    assert outcome is not None
    assert outcome.description.startswith(f"{status}: {shown} årsværk, mål ≥ 1")
