"""What the report and the submissions show, read from the warehouse (never recomputed).

The report and the submissions read only the results table (``kpi.results``, with the KPI
detail rows in ``kpi.details``), the budget (``kpi.budget``) and the ingestion records
(``ingest.deliveries``, ``ingest.quarantine``, ``ingest.checks``, ``ingest.inbox_files``).
:func:`load` is also the one place the data quality is read: the report's paragraph on it and
the internal data-quality appendix are both made from it (:mod:`resultatrapport.report.quality`).
:func:`data_hash` is the fingerprint of exactly what a signed-off version publishes, so a
sign-off can tell whether the data changed since.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from resultatrapport import texts as owner_texts
from resultatrapport.contracts import Contract
from resultatrapport.inventory import UNKNOWN_ORG
from resultatrapport.kpis import results_table
from resultatrapport.kpis.compute import partitions_read
from resultatrapport.kpis.kinds import KINDS
from resultatrapport.kpis.results_table import settle
from resultatrapport.report import confidential
from resultatrapport.report.names import check_title, source_title
from resultatrapport.rules import is_entry_rule

# what the years' table and the charts read of every year up to the report's
HISTORY_COLUMNS = (
    "kpi_id", "year", "value", "target", "operator", "status", "uncertain", "n", "low",
    "high", "path_value", "suppressed", "remark",
)  # fmt: skip


@dataclass
class ReportData:
    contract: Contract
    year: int
    results: list[dict[str, Any]]
    history: dict[str, list[dict[str, Any]]]  # KPI id -> its result in each contract year
    details: dict[str, list[dict[str, Any]]]  # KPI id -> detail rows (confidential cells withheld)
    withheld_cells: dict[str, int]  # KPI id -> number of detail cells withheld
    budget: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    # the quarantined rows by delivery (source, org, file, content hash) and reason, with the
    # years whose partitions hold them: a register read once for several years (the CVR
    # extract) is one group, not one per year; ``row_kept``: an entry left out of a row that
    # is still used (an unknown referral target)
    quarantine: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    blocking_failures: list[str] = field(default_factory=list)
    # files of the inbox that are no delivery (in the contract's folders, the registers' or
    # the inbox's top level, or resembling a delivery there), each with what it resembles
    # ('ligner …'): read by nothing, listed so that nobody thinks they were
    inbox_strays: list[tuple[str, str | None]] = field(default_factory=list)
    # the report owner's texts of the year: narrative id -> Markdown (the last good file's)
    texts: dict[str, str] = field(default_factory=dict)
    # per delivery (source, org, content hash): the rows left out of every figure for
    # breaking a rule (each row once, however many rules and years), and the entries left
    # out of rows that are used
    left_out: list[dict[str, Any]] = field(default_factory=list)

    @property
    def spread_kpi(self) -> str | None:
        return next((k.id for k in self.contract.kpis if KINDS[k.kind].per_municipality), None)


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def shown_years(contract: Contract, year: int) -> list[int]:
    """The contract years a report of ``year`` shows: every one up to its own."""
    return [y for y in contract.years if y <= year]


def read_by_report(contract: Contract, year: int) -> dict[tuple[str, str | None], list[int]]:
    """The ingested partitions the report of ``year`` rests on: those of its own year's KPIs
    and of every earlier contract year it shows (:func:`shown_years`)."""
    out: dict[tuple[str, str | None], set[int]] = {}
    for shown in shown_years(contract, year) or [year]:
        for pair, years in partitions_read(contract, shown).items():
            out.setdefault(pair, set()).update(years)
    return {pair: sorted(years) for pair, years in out.items()}


def _scope_sql(contract: Contract, year: int) -> str:
    """A WHERE clause selecting the (source, org, year) partitions the report of ``year``
    reads (:func:`read_by_report`)."""
    parts = [
        f"(source = '{source}' AND "
        + (f"org = '{org}'" if org else "org IS NULL")
        + f" AND year IN ({', '.join(map(str, years))}))"
        for (source, org), years in read_by_report(contract, year).items()
    ]
    # the report owner's texts of the year, a delivery of the contract's own
    parts.append(
        f"(source = '{owner_texts.source_name(contract.id)}' AND "
        f"org = '{contract.organisation.slug}' AND year = {year})"
    )
    return " OR ".join(parts) or "false"


def blocking_failures(con: duckdb.DuckDBPyConnection, contract: Contract, year: int) -> list[str]:
    """The failed blocking checks on the deliveries the contract's report of ``year`` rests
    on, as Danish sentences (empty: none)."""
    rows = con.execute(
        f"SELECT source, org, year, check_name, summary FROM ingest.checks "
        f"WHERE blocking AND NOT passed AND ({_scope_sql(contract, year)}) ORDER BY year, source"
    ).fetchall()
    failures = [
        f"{source_title(source)} {y}: kontrollen »{check_title(check)}« fejlede: {summary}"
        for source, _org, y, check, summary in rows
    ]
    # every delivery the report names must have passed its checks as that very file (its
    # hash); a partition whose checks failed is said above already
    failed = {(source, org, y) for source, org, y, _, _ in rows}
    unverified = con.execute(
        f"""
        SELECT source, org, year, file FROM ingest.deliveries d
        WHERE sha256 IS NOT NULL AND ({_scope_sql(contract, year)}) AND NOT EXISTS (
            SELECT 1 FROM ingest.checks c WHERE c.source = d.source
            AND c.org IS NOT DISTINCT FROM d.org AND c.year = d.year AND c.sha256 = d.sha256
            AND c.blocking AND c.passed)
        ORDER BY year, source
        """
    ).fetchall()
    return failures + [
        f"{source_title(source)} {y}: leverancen '{file}' har ingen bestået kontrol for "
        "netop denne fil; indlæs den igen"
        for source, org, y, file in unverified
        if (source, org, y) not in failed
    ]


def _details(
    con: duckdb.DuckDBPyConnection, contract: Contract, year: int
) -> dict[str, list[dict[str, Any]]]:
    """The KPI detail rows of a year as stored (nothing withheld yet)."""
    details: dict[str, list[dict[str, Any]]] = {}
    for kpi_id, row in con.execute(
        "SELECT kpi_id, row FROM kpi.details WHERE contract = $c AND year = $y "
        "ORDER BY kpi_id, row_no",
        {"c": contract.id, "y": year},
    ).fetchall():
        details.setdefault(kpi_id, []).append(json.loads(row))
    return details


def _withhold_in_history(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    history: dict[str, list[dict[str, Any]]],
    year: int,
    results: list[dict[str, Any]],
) -> None:
    """A value withheld in a year's report is withheld in the charts of later years too:
    each earlier year's suppression, as that year's report made it (``results``: the
    year's, as published)."""
    hidden = {(year, r["kpi_id"]) for r in results if r["suppressed"]}
    for earlier in sorted({h["year"] for rows in history.values() for h in rows} - {year}):
        shown, _, _ = published(con, contract, earlier)
        hidden |= {(earlier, r["kpi_id"]) for r in shown if r["suppressed"]}
    for kpi_id, rows in history.items():
        for row in rows:
            if (row["year"], kpi_id) in hidden:
                row.update(value=None, low=None, high=None, suppressed=True)


def published(
    con: duckdb.DuckDBPyConnection, contract: Contract, year: int
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], dict[str, int]]:
    """The year's results and detail rows as the report and the submissions publish them:
    small cells withheld, and the figures that would give them away (primary and
    complementary suppression); with the number of withheld detail cells per KPI."""
    results = results_table.read(con, contract.id, year)
    return confidential.protect(contract, results, _details(con, contract, year))


def load(con: duckdb.DuckDBPyConnection, contract: Contract, year: int) -> ReportData:
    params = {"c": contract.id, "y": year}
    results, details, withheld = published(con, contract, year)
    history: dict[str, list[dict[str, Any]]] = {}
    for row in results_table.read(con, contract.id, year, HISTORY_COLUMNS, through=True):
        history.setdefault(row["kpi_id"], []).append(row)
    _withhold_in_history(con, contract, history, year, results)
    budget = _records(
        con,
        "SELECT key, name, amount, population, quarter, share_pct, remark FROM kpi.budget "
        "WHERE contract = $c AND year = $y ORDER BY position",
        params,
    )
    scope = _scope_sql(contract, year)
    deliveries = _records(
        con,
        f"SELECT source, org, year, file, sha256, encoding, rows_read, rows_rejected, read_at "
        f"FROM ingest.deliveries WHERE {scope} ORDER BY year, source",
        {},
    )
    # each quarantine row with the content hash of the delivery its partition holds, so
    # that one file's rows count once over the years that read it
    quarantined = (
        f"SELECT q.*, d.sha256, {is_entry_rule('q.rule')} AS row_kept "
        f"FROM (SELECT * FROM ingest.quarantine WHERE {scope}) q LEFT JOIN ingest.deliveries d "
        "ON d.source = q.source AND d.org IS NOT DISTINCT FROM q.org AND d.year = q.year"
    )
    quarantine = _records(
        con,
        f"SELECT source, org, file, sha256, reason, row_kept, list_sort(list(DISTINCT year)) "
        f"AS years, count(DISTINCT line) AS rows FROM ({quarantined}) GROUP BY ALL "
        "ORDER BY min(year), source, file, row_kept, rows DESC, reason",
        {},
    )
    left_out = _records(
        con,
        f"SELECT source, org, sha256, count(DISTINCT line) FILTER (WHERE NOT row_kept) AS rows, "
        f"count(DISTINCT (line, rule)) FILTER (WHERE row_kept) AS entries "
        f"FROM ({quarantined}) GROUP BY ALL ORDER BY source, org, sha256",
        {},
    )
    checks = _records(
        con,
        f"SELECT source, org, year, check_name, passed, blocking, summary, sha256 "
        "FROM ingest.checks "
        f"WHERE {scope} ORDER BY year, source, check_name",
        {},
    )
    return ReportData(
        contract=contract,
        year=year,
        results=results,
        history=history,
        details=details,
        withheld_cells=withheld,
        budget=budget,
        deliveries=deliveries,
        quarantine=quarantine,
        checks=checks,
        blocking_failures=blocking_failures(con, contract, year),
        inbox_strays=[
            (relpath, why)
            for relpath, why in con.execute(
                "SELECT relpath, why FROM ingest.inbox_files WHERE relpath NOT LIKE '%/%' "
                "OR split_part(relpath, '/', 1) IN ($org, 'register', 'erst') "
                "OR split_part(resembles, '/', 1) IN ($org, 'register', 'erst', $unknown) "
                "ORDER BY 1",
                {"org": contract.organisation.slug, "unknown": UNKNOWN_ORG},
            ).fetchall()
        ],
        texts=owner_texts.stored(con, contract.id, year),
        left_out=left_out,
    )


def data_parts(data: ReportData) -> dict[str, str]:
    """What a report shows, in named parts, each with its fingerprint: every shown year's
    results (as published, withheld figures withheld) and the deliveries they rest on, the
    year's detail tables, budget and report owner's texts, and the contract's settings.
    Run ids and timestamps are left out; figures are settled (a last digit never counts).
    The names are Danish: a sign-off refused for a change names the parts that changed."""

    def digest(value: Any) -> str:
        text = json.dumps(settle(value), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    by_year: dict[int, list[dict[str, Any]]] = {}
    for kpi_id, rows in data.history.items():
        for row in rows:
            by_year.setdefault(int(row["year"]), []).append({"kpi_id": kpi_id, **row})
    by_year[data.year] = data.results  # the year itself as the summary publishes it
    parts = {
        f"resultaterne for {y}": digest(sorted(rows, key=lambda r: r["kpi_id"]))
        for y, rows in sorted(by_year.items())
    }
    inputs: dict[int, list[tuple[str, str, str]]] = {}
    for d in data.deliveries:
        inputs.setdefault(int(d["year"]), []).append(
            (d["source"], d["org"] or "", d["sha256"] or "")
        )
    parts |= {f"leverancerne for {y}": digest(sorted(rows)) for y, rows in sorted(inputs.items())}
    parts |= {
        f"detailtabellerne for {data.year}": digest(data.details),
        f"budgettet for {data.year}": digest(data.budget),
        # the owner's texts as the report shows them: a text changed after the sign-off
        # makes the signed version stale
        f"rapportejerens tekster for {data.year}": digest(data.texts),
        "kontraktens indstillinger": digest(
            {"contract": data.contract.id, "settings": data.contract.settings.model_dump()}
        ),
    }
    return parts


def data_hash(data: ReportData) -> str:
    """Fingerprint of what a signed-off version publishes (:func:`data_parts`, together)."""
    text = json.dumps({"year": data.year, "parts": data_parts(data)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def changed_parts(recorded: dict[str, str], now: dict[str, str]) -> list[str]:
    """The names of the parts whose fingerprint differs between a recorded draft and now
    (a part that is new or gone counts as changed), in their order of :func:`data_parts`."""
    names = list(now) + [name for name in recorded if name not in now]
    return [name for name in names if recorded.get(name) != now.get(name)]
