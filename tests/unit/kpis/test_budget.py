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


def test_a_missing_population_quarter_is_one_sentence_naming_file_quarter_and_municipalities(
    con,
):
    from resultatrapport.contracts import load_contracts
    from resultatrapport.kpis.budget import budget_lines

    kkr = load_contracts()["kkr-midtjylland-2026"]
    _population(con, 2026, [(751, "2024K1", 1)])  # only an older quarter was delivered
    result = budget_lines(con, kkr.budget, 2026)
    assert result.lines == [] and result.incomplete
    assert result.remark == (
        "folketal.csv mangler 2025K1 for 19 kommuner; fordelingen for 2026 bruger 2025K1"
    )
    _population(con, 2026, [(c, "2025K1", 1000) for c in kkr.budget.municipalities[1:]])
    assert budget_lines(con, kkr.budget, 2026).remark == (
        "folketal.csv mangler 2025K1 for Horsens; fordelingen for 2026 bruger 2025K1"
    )


def test_a_missing_price_index_names_the_file_and_the_years(con):
    _index(con, 2022, [(2020, 100.0)])
    with pytest.raises(BudgetError) as err:
        indexed_sum(con, 2_762_000, 2020, 2022)
    assert str(err.value) == (
        "prisindeks.csv mangler indekset for 2022; kontraktsummen for 2022 reguleres fra 2020 "
        "til 2022"
    )


def test_the_contract_year_without_a_grant_is_no_missing_input(con):
    from resultatrapport.contracts import load_contracts
    from resultatrapport.kpis.budget import basis, budget_lines

    kkr = load_contracts()["kkr-midtjylland-2026"]
    result = budget_lines(con, kkr.budget, 2027)
    assert result.lines == [] and not result.incomplete
    assert basis(kkr.budget, 2026) == "Beregnet"  # the file carries no KL key


def test_kl_key_from_the_contract_file_is_used_as_given(con):
    from resultatrapport.contracts import load_contracts
    from resultatrapport.kpis.budget import basis, budget_lines

    budget = load_contracts()["kkr-midtjylland-2026"].budget
    codes = budget.municipalities
    amounts = {c: 44_815_000 // len(codes) for c in codes}
    amounts[codes[0]] += 44_815_000 - sum(amounts.values())
    keyed = budget.model_validate({**budget.model_dump(), "kl_key": {2026: amounts}})
    lines = budget_lines(con, keyed, 2026).lines  # no population needed
    assert [line.amount for line in lines] == [amounts[c] for c in codes]
    assert basis(keyed, 2026) == "KL" and basis(keyed, 2027) == "Beregnet"
    with pytest.raises(ValueError, match="adds up to"):
        budget.model_validate({**budget.model_dump(), "kl_key": {2026: {**amounts, 615: 1}}})
