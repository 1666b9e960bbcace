import pytest

from resultatrapport.kpis.budget import BudgetError, indexed_sum, population_key


def _population(con, year, rows):
    for code, quarter, n in rows:
        con.execute(
            "INSERT INTO ingest.population (org, year, municipality, quarter, inhabitants, municipality_code) "
            "VALUES (NULL, $y, 'x', $q, $n, $c)",
            {"y": year, "q": quarter, "n": n, "c": code},
        )


def test_population_key_adds_up_exactly(con):
    _population(con, 2026, [(751, "2025K1", 1), (791, "2025K1", 1), (657, "2025K1", 1)])
    lines = population_key(con, 2026, 100, "2025K1", [751, 791, 657])
    assert [line.amount for line in lines] == [34, 33, 33]
    assert {line.name for line in lines} == {"Aarhus", "Viborg", "Herning"}
    assert lines[0].share_pct == pytest.approx(100 / 3)
    with pytest.raises(BudgetError, match="2024K1"):
        population_key(con, 2026, 100, "2024K1", [751])


def _index(con, partition, rows):
    for year, value in rows:
        con.execute(
            "INSERT INTO ingest.price_index (org, year, index_year, index) VALUES (NULL, $p, $y, $v)",
            {"p": partition, "y": year, "v": value},
        )


def test_indexed_sum_with_earmark(con):
    _index(con, 2021, [(2020, 100.0), (2021, 101.8)])
    lines = indexed_sum(con, 2_762_000, 2020, 2021, {"Start Up Viborg": 375_000})
    amounts = {line.key: line.amount for line in lines}
    assert amounts["total"] == 2_811_716  # 2,762,000 * 1.018
    assert amounts["Start Up Viborg"] == 375_000
    assert amounts["rest"] == 2_811_716 - 375_000
    with pytest.raises(BudgetError, match="2022"):
        indexed_sum(con, 2_762_000, 2020, 2022)
