"""Budget distribution: a grant split by population share, or a sum regulated by an index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import duckdb

from resultatrapport.contracts import IndexedSumBudget, PopulationKeyBudget
from resultatrapport.kpis.kinds import population_by_municipality
from resultatrapport.kpis.stats import largest_remainder


@dataclass(frozen=True)
class BudgetLine:
    key: str  # municipality code or budget item
    name: str
    amount: int  # whole kroner
    population: int | None = None
    quarter: str | None = None
    share_pct: float | None = None


class BudgetError(ValueError):
    pass


def population_key(
    con: duckdb.DuckDBPyConnection, year: int, total: int, quarter: str, codes: Sequence[int]
) -> list[BudgetLine]:
    """Split ``total`` kroner over the municipalities by their population in ``quarter``,
    in whole kroner that add up exactly (largest remainder)."""
    population = population_by_municipality(con, year, quarter, codes)
    missing = [c for c in codes if c not in population]
    if missing:
        raise BudgetError(f"Folketal {quarter} mangler for kommune(r) {missing}")
    names = dict(con.execute("SELECT code, name FROM ref.municipalities").fetchall())
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
        raise BudgetError(f"Prisindeks mangler for {', '.join(map(str, missing))}")
    regulated = Decimal(base_amount) * Decimal(str(index_year)) / Decimal(str(index_base))
    total = int(regulated.quantize(Decimal(1), rounding=ROUND_HALF_UP))  # whole kroner, half up
    lines = [BudgetLine("total", "Kontraktsum", total)]
    rest = total
    for name, amount in (earmarks or {}).items():
        lines.append(BudgetLine(name, name, amount))
        rest -= amount
    if earmarks:
        lines.append(BudgetLine("rest", "Øvrige aktiviteter", rest))
    return lines


def budget_lines(
    con: duckdb.DuckDBPyConnection, budget: PopulationKeyBudget | IndexedSumBudget, year: int
) -> tuple[list[BudgetLine], str]:
    """The year's distribution of a contract's budget, or no lines and the reason."""
    try:
        if isinstance(budget, PopulationKeyBudget):
            total = budget.totals[year]
            if total is None:
                return [], f"Kontrakten angiver ikke bevillingen for {year}"
            quarter = budget.population_quarter[year]
            return population_key(con, year, total, quarter, budget.municipalities), ""
        earmarks = {e.name: e.amount for e in budget.earmarks.get(year, [])}
        return indexed_sum(con, budget.base_amount, budget.base_year, year, earmarks), ""
    except BudgetError as exc:
        return [], str(exc)
