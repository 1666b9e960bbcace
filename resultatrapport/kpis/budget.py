"""Budget distribution: a grant split by population share, or a sum regulated by an index."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import duckdb

from resultatrapport.contracts import Contract, IndexedSumBudget, PopulationKeyBudget
from resultatrapport.kpis.compute import delivery_hashes
from resultatrapport.kpis.kinds.spread import population_by_municipality
from resultatrapport.kpis.stats import largest_remainder
from resultatrapport.report.danish import number
from resultatrapport.version import code_identity
from resultatrapport.warehouse_tx import replace_rows, transaction, write_attempts


@dataclass(frozen=True)
class BudgetLine:
    key: str  # municipality code or budget item
    name: str
    amount: int  # whole kroner
    population: int | None = None
    quarter: str | None = None
    share_pct: float | None = None
    remark: str = ""  # what a reader needs to check the amount (the index values)


# the key of the one kpi.budget row of a year whose distribution lacks an input
NOT_COMPUTED = "not_computed"
# the key of the one row of a year for which the contract gives no distribution
NO_LINES = "none"


class BudgetError(ValueError):
    """An input the distribution needs is missing from its delivery; the message says which
    file lacks what, in one Danish sentence (the budget's blocking check and the sign-off's
    refusal quote it)."""


@dataclass(frozen=True)
class Distribution:
    lines: list[BudgetLine]
    remark: str  # why there are no lines ("" when there are)
    incomplete: bool = False  # a missing input, not the contract's own silence


def _names(codes: Sequence[int], names: Mapping[int, str]) -> str:
    shown = [names.get(c, str(c)) for c in codes]
    if len(shown) > 5:
        return f"{len(shown)} kommuner"
    return ", ".join(shown)


def population_key(
    con: duckdb.DuckDBPyConnection, year: int, total: int, quarter: str, codes: Sequence[int]
) -> list[BudgetLine]:
    """Split ``total`` kroner over the municipalities by their population in ``quarter``,
    in whole kroner that add up exactly (largest remainder)."""
    population = population_by_municipality(con, year, quarter, codes)
    names = dict(con.execute("SELECT code, name FROM ref.municipalities").fetchall())
    missing = [c for c in codes if c not in population]
    if missing:
        raise BudgetError(
            f"folketal.csv mangler {quarter} for {_names(missing, names)}; fordelingen for "
            f"{year} bruger {quarter}"
        )
    weights = [population[c] for c in codes]
    amounts = largest_remainder(total, weights)
    whole = sum(weights)
    return [
        BudgetLine(
            str(c), names.get(c, str(c)), a, population[c], quarter, 100 * population[c] / whole
        )
        for c, a in zip(codes, amounts, strict=True)
    ]


def price_index(con: duckdb.DuckDBPyConnection, partition: int, year: int) -> float | None:
    """The index of ``year`` as known in the ``partition`` year."""
    row = con.execute(
        "SELECT index FROM ingest.price_index WHERE year = $p AND index_year = $y",
        {"p": partition, "y": year},
    ).fetchone()
    return float(row[0]) if row else None


def _index(value: float) -> str:
    """An index value with the decimals it was delivered with (at least one)."""
    decimals = max(1, len(f"{value:.6f}".rstrip("0").split(".")[1]))
    return number(value, decimals)


def indexed_sum(
    con: duckdb.DuckDBPyConnection,
    base_amount: int,
    base_year: int,
    year: int,
    earmarks: Mapping[str, int] | None = None,
) -> list[BudgetLine]:
    """The contract sum for ``year``: ``base_amount`` (in ``base_year`` prices) times the
    index of ``year`` relative to ``base_year``, rounded to whole kroner; earmarks are shown
    as parts of the total and the rest as the remainder."""
    index_year = price_index(con, year, year)
    index_base = price_index(con, year, base_year)
    if index_year is None or index_base is None:
        missing = [y for y, i in ((base_year, index_base), (year, index_year)) if i is None]
        raise BudgetError(
            f"prisindeks.csv mangler indekset for {' og '.join(map(str, missing))}; "
            f"kontraktsummen for {year} reguleres fra {base_year} til {year}"
        )
    regulated = Decimal(base_amount) * Decimal(str(index_year)) / Decimal(str(index_base))
    total = int(regulated.quantize(Decimal(1), rounding=ROUND_HALF_UP))  # whole kroner, half up
    # the index values behind the amount, so a recipient can check it (Danish numbers)
    said = (
        f"{number(base_amount)} kr. × prisindeks {year} ({_index(index_year)}) / "
        f"prisindeks {base_year} ({_index(index_base)}), afrundet til hele kroner"
    )
    lines = [BudgetLine("total", "Kontraktsum", total, remark=said)]
    rest = total
    for name, amount in (earmarks or {}).items():
        lines.append(BudgetLine(name, name, amount))
        rest -= amount
    if earmarks:
        lines.append(BudgetLine("rest", "Øvrige aktiviteter", rest))
    return lines


def budget_lines(
    con: duckdb.DuckDBPyConnection, budget: PopulationKeyBudget | IndexedSumBudget, year: int
) -> Distribution:
    """The year's distribution of a contract's budget, or no lines and the reason (with
    ``incomplete`` set where an input is missing from its delivery)."""
    try:
        if isinstance(budget, PopulationKeyBudget):
            total = budget.totals[year]
            if total is None:
                return Distribution([], f"Kontrakten angiver ikke bevillingen for {year}")
            kl = budget.kl_key.get(year)
            if kl is not None:
                return Distribution(kl_key(con, kl, budget.municipalities), "")
            quarter = budget.population_quarter[year]
            return Distribution(
                population_key(con, year, total, quarter, budget.municipalities), ""
            )
        earmarks = {e.name: e.amount for e in budget.earmarks.get(year, [])}
        return Distribution(
            indexed_sum(con, budget.base_amount, budget.base_year, year, earmarks), ""
        )
    except BudgetError as exc:
        return Distribution([], str(exc), incomplete=True)


def kl_key(
    con: duckdb.DuckDBPyConnection, amounts: Mapping[int, int], codes: Sequence[int]
) -> list[BudgetLine]:
    """KL's own key (bilag a), as the contract file carries it: the amounts per municipality
    as given, in the contract's order, with each one's share of the whole."""
    names = dict(con.execute("SELECT code, name FROM ref.municipalities").fetchall())
    whole = sum(amounts.values())
    return [
        BudgetLine(str(c), names.get(c, str(c)), amounts[c], share_pct=100 * amounts[c] / whole)
        for c in codes
    ]


def basis(budget: PopulationKeyBudget | IndexedSumBudget, year: int) -> str | None:
    """'KL' where the year's amounts follow KL's key as the contract gives it, 'Beregnet'
    where the project computed them from the population (kommunefordeling's
    Fordelingsgrundlag); None for a budget that is no key over municipalities."""
    if not isinstance(budget, PopulationKeyBudget):
        return None
    return "KL" if year in budget.kl_key else "Beregnet"


def budget_inputs(con: duckdb.DuckDBPyConnection, contract: Contract, year: int) -> str:
    """What the budget's distribution of ``year`` follows from, as one hash: the contract's
    budget definition and the content hash of the delivery of its source for the year (the
    population quarter or the price index is read from that partition only; the names of
    the municipalities are reference data, part of the code). Stored with the rows: a
    distribution whose inputs, and code, are today's is not computed again
    (:func:`still_holds`)."""
    source = contract.budget.source
    payload = {
        "budget": contract.budget.model_dump(mode="json"),
        "inputs": delivery_hashes(con, [(source, contract.source_org(source), year)]),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StoredBudget:
    """A year's distribution as stored, and when it was computed."""

    distribution: Distribution
    computed_at: dt.datetime


def still_holds(
    con: duckdb.DuckDBPyConnection, contract: Contract, year: int, inputs: str
) -> StoredBudget | None:
    """The year's stored distribution where computing it again would give the same rows: it
    follows from the same definition and delivery (``inputs``, today's
    :func:`budget_inputs`) and was computed by the same code
    (:func:`resultatrapport.version.code_identity`). None: compute it."""
    rows = con.execute(
        "SELECT key, name, amount, population, quarter, share_pct, remark, computed_at, "
        "inputs_sha256, code_version FROM kpi.budget WHERE contract = $c AND year = $y "
        "ORDER BY position",
        {"c": contract.id, "y": year},
    ).fetchall()
    if not rows or any(r[8] != inputs or r[9] != code_identity() or r[7] is None for r in rows):
        return None
    since = max(r[7] for r in rows)
    if len(rows) == 1 and rows[0][0] in (NOT_COMPUTED, NO_LINES):  # no lines, and why
        remark = rows[0][6] or ""
        return StoredBudget(Distribution([], remark, rows[0][0] == NOT_COMPUTED), since)
    lines = [
        BudgetLine(key, name, amount, population, quarter, share_pct, remark or "")
        for key, name, amount, population, quarter, share_pct, remark, *_ in rows
    ]
    return StoredBudget(Distribution(lines, ""), since)


def store(
    con: duckdb.DuckDBPyConnection,
    contract_id: str,
    year: int,
    d: Distribution,
    inputs: str | None = None,
) -> None:
    """Replace the year's rows of ``kpi.budget`` with the distribution ``d``, atomically; a
    year without lines keeps one row that says why (``NOT_COMPUTED`` when an input lacks).
    Each row records what the distribution follows from (``inputs``: its
    :func:`budget_inputs`) and the code that computed it (this process's)."""
    code = code_identity()
    with_run = (inputs, code)
    rows: list[tuple[object, ...]] = [
        (contract_id, year, i, b.key, b.name, b.amount, b.population, b.quarter, b.share_pct,
         b.remark or None)
        for i, b in enumerate(d.lines)
    ] or [
        (contract_id, year, 0, NOT_COMPUTED if d.incomplete else NO_LINES, "Ikke opgjort",
         None, None, None, None, d.remark)
    ]  # fmt: skip
    now = dt.datetime.now()  # local time, as kpi.results' now()::TIMESTAMP
    for attempt in write_attempts():
        with attempt, transaction(con):
            keys = {"c": contract_id, "y": year}
            stamped = [(*row, now, *with_run) for row in rows]
            replace_rows(con, "kpi.budget", "contract = $c AND year = $y", keys, stamped)
