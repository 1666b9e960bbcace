"""Complementary suppression audited by bounds (resultatrapport.report.suppression): the
published figures narrow no withheld figure below the protection level, and none to a point.

Every protection is checked by an independent auditor: τ-ARGUS's own audit
(``pytauargus``, the port of its ``intervalle`` audit on HiGHS), given the same table as a
JJ file (the cells with their status and a priori bounds 0 to a large number, the relations
as constraints), computes each withheld cell's feasible interval; the module's own
:func:`intervals` must agree with it, and on small tables both agree with the whole-number
tables enumerated one by one.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytauargus._tauargus import audit_jj

from resultatrapport.report.suppression import (
    Relation,
    SuppressionError,
    intervals,
    protect,
)

THRESHOLD = 3
LEVEL = 3
BIG = 10**6  # the a priori upper bound τ-ARGUS is given: none to speak of


def tau_intervals(
    values: Mapping[Hashable, float | None],
    relations: Sequence[Relation],
    withheld: Iterable[Hashable],
    primary: Iterable[Hashable] = (),
) -> dict[Hashable, tuple[float, float]]:
    """τ-ARGUS's audit of the table: each withheld cell's realised interval."""
    hidden, first = set(withheld), set(primary)
    cells = list(dict.fromkeys([*values, *(c for r in relations for c in r.cells)]))
    index = {c: i for i, c in enumerate(cells)}
    lines = ["0", str(len(cells))]
    for c in cells:
        status = ("u" if c in first else "m") if c in hidden else "s"
        value = values.get(c)
        lines.append(f"{index[c]} {value if value is not None else 0} 1 {status} 0 {BIG} 0 0 0")
    lines.append(str(len(relations)))
    for r in relations:
        terms: dict[int, int] = {index[r.total]: -1}
        for part in r.parts:
            terms[index[part]] = terms.get(index[part], 0) + 1
        lines.append(f"0 {len(terms)} : " + " ".join(f"{i} ({k})" for i, k in terms.items()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.jj"
        path.write_text("\n".join(lines) + "\n")
        rows = audit_jj(str(path))
    found = {cells[row["cell"]]: (float(row["min"]) + 0.0, float(row["max"])) for row in rows}
    # τ-ARGUS reports (nearly) its a priori bound for an unbounded cell
    return {c: (lo, float("inf") if hi >= BIG / 100 else hi) for c, (lo, hi) in found.items()}


def recoverable(relations: Sequence[Relation], withheld: Iterable[Hashable]) -> list[Hashable]:
    """The withheld cells the equations alone determine (a rank test: appending a cell's
    unit vector to the coefficients leaves the rank unchanged)."""
    hidden = set(withheld)
    unknowns = sorted({c for r in relations for c in r.cells if c in hidden}, key=repr)
    if not unknowns:
        return []
    index = {c: j for j, c in enumerate(unknowns)}
    a = np.zeros((len(relations), len(unknowns)))
    for i, r in enumerate(relations):
        for part in r.parts:
            if part in index:
                a[i, index[part]] += 1
        if r.total in index:
            a[i, index[r.total]] -= 1
    rank = np.linalg.matrix_rank(a)
    return [
        c
        for c, j in index.items()
        if np.linalg.matrix_rank(np.vstack([a, np.eye(len(unknowns))[j]])) == rank
    ]


def width(interval: tuple[float, float]) -> float:
    return interval[1] - interval[0]


def small(values: Mapping[Hashable, float | None], fixed: Iterable[Hashable] = ()) -> set:
    keep = set(fixed)
    return {c for c, v in values.items() if v is not None and 0 < v < THRESHOLD and c not in keep}


def check(
    values: Mapping[Hashable, float | None],
    relations: Sequence[Relation],
    primary: set,
    fixed: Iterable[Hashable] = (),
    linked: Sequence[Iterable[Hashable]] = (),
    level: float = LEVEL,
) -> set:
    """protect() and every property it promises, audited by τ-ARGUS; returns the withheld
    cells."""
    keep = set(fixed)
    groups = [set(g) for g in linked]

    def along(cells: set) -> set:
        return cells.union(*(g for g in groups if g & cells))

    for r in relations:  # the generated tables add up
        if all(values[c] is not None for c in r.cells):
            assert values[r.total] == sum(values[p] for p in r.parts)
    first = along(set(primary))
    everything = first | {c for c in values if not along({c}) & keep}
    widest = tau_intervals(values, relations, everything, primary)
    hopeless = {c for c, i in widest.items() if width(i) < 1e-6}
    try:
        withheld = protect(values, relations, primary, fixed=keep, linked=groups, level=level)
    except SuppressionError:
        # only when withholding all that may go still leaves a primary figure exact
        assert first & hopeless
        return set()
    assert first <= withheld
    assert not (withheld - first) & keep, "a fixed cell was withheld"
    for g in groups:
        assert g <= withheld or not g & withheld, "linked cells split"
    audited = tau_intervals(values, relations, withheld, primary)
    ours = intervals(values, relations, withheld)
    for c, interval in audited.items():  # the module's audit is τ-ARGUS's
        assert ours[c] == pytest.approx(interval, abs=1e-6), c
        v = values[c]
        if v is not None:
            assert interval[0] - 1e-6 <= v <= interval[1] + 1e-6, c
    for c in primary:  # the protection level, or the widest interval possible
        if c in audited:
            need = min(level, width(widest[c]))
            assert width(audited[c]) >= max(need, 1e-6) - 1e-6, (c, audited[c], need)
    # no primary cell is exact, but what no withholding could protect; and the equations
    # alone determine no withheld cell, but what they determine whatever is withheld
    assert {c for c in primary if c in audited and width(audited[c]) < 1e-6} <= hopeless
    assert set(recoverable(relations, withheld)) <= set(recoverable(relations, everything))
    return withheld


# --- the rule on small examples --------------------------------------------------------------


def test_one_withheld_cell_in_a_sum_takes_the_smallest_other_with_it():
    """Without a protection level the smallest other cell, a 0 included, does: a + b = 1
    leaves a at 0 or 1 (a "–" may be a 0, so the reader cannot tell which)."""
    values = {"total": 20, "a": 1, "b": 0, "c": 6, "d": 5, "e": 8}
    sums = [Relation("total", ("a", "b", "c", "d", "e"))]
    assert intervals(values, sums, {"a"}) == {"a": (1.0, 1.0)}  # 20 - (0 + 6 + 5 + 8)
    assert check(values, sums, {"a"}, level=0) == {"a", "b"}


def test_the_protection_level_takes_cells_until_the_interval_is_wide_enough():
    """a + b = 1 leaves a only 0 or 1: below the level 3 a further cell goes, the smallest
    that gives a an interval of 3 (d: a + b + d = 6)."""
    values = {"total": 20, "a": 1, "b": 0, "c": 6, "d": 5, "e": 8}
    sums = [Relation("total", ("a", "b", "c", "d", "e"))]
    withheld = check(values, sums, {"a"}, level=3)
    assert withheld == {"a", "b", "d"}
    assert intervals(values, sums, withheld)["a"] == (0.0, 6.0)


def test_bounds_give_away_what_the_equations_do_not():
    """The defect of the exact test alone: no equation determines a, but b and c add up
    to 0, so both are 0 (counts are not negative) and a is n - 0 = 2. The audit by bounds
    finds it, τ-ARGUS's too."""
    values = {"n": 2, "a": 2, "b": 0, "c": 0, "t": 0}
    sums = [Relation("n", ("a", "b")), Relation("t", ("b", "c"))]
    hidden = {"a", "b", "c"}
    assert intervals(values, sums, hidden)["a"] == (2.0, 2.0)
    assert tau_intervals(values, sums, hidden)["a"] == (2.0, 2.0)


def test_the_widest_interval_possible_where_the_level_is_more():
    """A distribution of 2 answers: every cell is 0, 1 or 2 whatever is withheld, so the
    level 3 asks for all of that, [0, 2]."""
    values = {"n": 2, "a": 2, "b": 0, "c": 0}
    withheld = check(values, [Relation("n", ("a", "b", "c"))], {"a"}, fixed={"n"})
    assert intervals(values, [Relation("n", ("a", "b", "c"))], withheld)["a"] == (0.0, 2.0)


def test_a_total_is_a_published_figure_and_may_be_withheld():
    values = {"total": 9, "a": 1, "b": 8}
    assert check(values, [Relation("total", ("a", "b"))], {"a"}) == {"a", "b"}
    assert check(values, [Relation("total", ("a", "b"))], {"a"}, fixed={"b"}) == {"a", "total"}


def test_the_rule_runs_to_a_fixed_point_across_relations():
    # a complement in the first sum breaks the second, whose complement breaks the third
    values = {"t1": 11, "t2": 12, "t3": 15, "a": 1, "b": 10, "c": 2, "d": 13}
    sums = [Relation("t1", ("a", "b")), Relation("t2", ("b", "c")), Relation("t3", ("c", "d"))]
    assert check(values, sums, {"a"}, fixed={"t1", "t2", "t3"}) == {"a", "b", "c", "d"}


def test_linked_cells_are_withheld_together():
    values = {"n": 10, "x": 3, "y": 7, "x1": 1, "x2": 2, "y1": 3, "y2": 4}
    sums = [Relation("n", ("x", "y")), Relation("x", ("x1", "x2")), Relation("y", ("y1", "y2"))]
    withheld = check(values, sums, {"x1"}, fixed={"n"}, linked=[{"x", "y"}], level=0)
    assert {"x1", "x2"} <= withheld
    assert "x" not in withheld  # x1 and x2 protect each other; the value stays


def test_two_in_every_row_and_column_can_still_give_a_cell_away():
    """The limit of two-or-none: a withheld cell joining two blocks of withheld cells in a
    table with row and column totals is a difference of totals, though every row and
    column holds two withheld cells. The audit finds it and withholds more."""
    rows, cols = range(4), range(4)
    grid = {(i, j): 5 + i + 2 * j for i in rows for j in cols}
    values: dict[Hashable, float | None] = dict(grid)
    sums = []
    for i in rows:
        values[("row", i)] = sum(grid[i, j] for j in cols)
        sums.append(Relation(("row", i), tuple((i, j) for j in cols)))
    for j in cols:
        values[("col", j)] = sum(grid[i, j] for i in rows)
        sums.append(Relation(("col", j), tuple((i, j) for i in rows)))
    blocks = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3)}
    bridge = (0, 2)
    hidden = blocks | {bridge}
    assert all(sum(c in hidden for c in r.cells) != 1 for r in sums)  # rule 1 is content
    exact = [c for c, i in intervals(values, sums, hidden).items() if width(i) < 1e-9]
    assert exact == [bridge]
    assert [c for c, i in tau_intervals(values, sums, hidden).items() if width(i) < 1e-9] == [
        bridge
    ]
    withheld = check(values, sums, hidden)
    assert len(withheld) > len(hidden)


def test_the_audit_is_the_bounds_of_the_whole_number_tables():
    """On a small table the LP bounds are those of every whole-number table that fits."""
    values = {"n": 7, "a": 1, "b": 2, "c": 0, "d": 4, "p": 3, "q": 4}
    sums = [Relation("n", ("a", "b", "c", "d")), Relation("p", ("a", "b", "c")),
            Relation("n", ("p", "q"))]  # fmt: skip
    hidden = {"a", "b", "c", "p"}
    found = intervals(values, sums, hidden)
    order = sorted(hidden)
    tables = [
        dict(zip(order, xs, strict=True))
        for xs in itertools.product(range(8), repeat=len(order))
        if all(
            sum(({**values, **dict(zip(order, xs, strict=True))})[x] for x in r.parts)
            == ({**values, **dict(zip(order, xs, strict=True))})[r.total]
            for r in sums
        )
    ]
    for c in order:
        assert found[c] == (min(t[c] for t in tables), max(t[c] for t in tables))


def test_a_cell_that_no_withholding_can_protect_is_an_error():
    values = {"n": 5, "a": 1, "b": 4}
    with pytest.raises(SuppressionError, match="'a' follows from the published figures"):
        protect(values, [Relation("n", ("a", "b"))], {"a"}, fixed={"n", "b"})


def test_a_cell_without_a_value_must_be_withheld():
    with pytest.raises(ValueError, match="without a value"):
        protect({"n": 5, "a": None, "b": 4}, [Relation("n", ("a", "b"))], set())


def test_the_issue_case_a_row_total_and_two_segments():
    """KKR 2026, scale 0.05, seed 1 as reported: answer 4 of all respondents (2) withheld
    alone was 70 minus the other cells; a segment's cell was the total's minus the other's."""
    everyone = [0, 0, 0, 0, 2, 0, 0, 8, 5, 32, 23]
    growth = [0, 0, 0, 0, 1, 0, 0, 3, 1, 10, 8]
    values: dict[Hashable, float | None] = {}
    sums = []
    for name, counts in (
        ("V", growth),
        ("D", [a - b for a, b in zip(everyone, growth, strict=True)]),
    ):
        values.update({(name, s): c for s, c in enumerate(counts)})
    values.update({("M3", s): c for s, c in enumerate(everyone)})
    for name in ("M3", "V", "D"):
        values[(name, "n")] = sum(values[(name, s)] for s in range(11))  # type: ignore[misc]
        sums.append(Relation((name, "n"), tuple((name, s) for s in range(11))))
    sums += [Relation(("M3", s), (("V", s), ("D", s))) for s in range(11)]
    primary = small(values, fixed={("M3", "n"), ("V", "n"), ("D", "n")})
    assert ("M3", 4) in primary and width(intervals(values, sums, primary)[("M3", 4)]) == 0
    check(values, sums, primary, fixed={("M3", "n"), ("V", "n"), ("D", "n")})


# --- generated tables ---------------------------------------------------------------------

counts = st.integers(0, 6) | st.sampled_from([0, 1, 1, 2, 2])


@st.composite
def two_way_tables(draw: st.DrawFn) -> tuple:
    """Rows (municipalities, focus areas) by columns, with row, column and grand totals."""
    n_rows, n_cols = draw(st.integers(2, 5)), draw(st.integers(2, 4))
    grid = {(i, j): draw(counts) for i in range(n_rows) for j in range(n_cols)}
    values: dict[Hashable, float | None] = dict(grid)
    sums = []
    for i in range(n_rows):
        values[("row", i)] = sum(grid[i, j] for j in range(n_cols))
        sums.append(Relation(("row", i), tuple((i, j) for j in range(n_cols))))
    for j in range(n_cols):
        values[("col", j)] = sum(grid[i, j] for i in range(n_rows))
        sums.append(Relation(("col", j), tuple((i, j) for i in range(n_rows))))
    values["all"] = sum(grid.values())
    sums.append(Relation("all", tuple(("row", i) for i in range(n_rows))))
    sums.append(Relation("all", tuple(("col", j) for j in range(n_cols))))
    fixed = {"all"} if draw(st.booleans()) else set()
    return values, sums, small(values, fixed), fixed, []


GROUPS = {"De": range(0, 7), "Pa": range(7, 9), "Pr": range(9, 11)}


@st.composite
def nps_families(draw: st.DrawFn) -> tuple:
    """The report's NPS shape: a total over segments, each a distribution of the answers
    0-10 adding up to its n (always published), with the detractor, passive and promoter
    groups (published or withheld together, with the KPI's value), a segment below the
    threshold publishing nothing but n, and the total's groups kept where it has a target."""
    segments = [f"S{i}" for i in range(draw(st.integers(1, 3)))]
    dist = {(s, k): draw(counts) for s in segments for k in range(11)}
    values: dict[Hashable, float | None] = {}
    sums, primary, fixed, linked = [], set(), set(), []
    for k in range(11):
        dist[("T", k)] = sum(dist[(s, k)] for s in segments)
    target = draw(st.booleans())
    for row in [*segments, "T"]:
        n = sum(dist[(row, k)] for k in range(11))
        # the KPI's value is withheld and its table not published (without answers there is
        # nothing to withhold: the report leaves such a KPI out of the relations)
        hidden = 0 < n < THRESHOLD
        for k in range(11):
            values[(row, k)] = None if hidden else dist[(row, k)]
            if hidden or 0 < dist[(row, k)] < THRESHOLD:
                primary.add((row, k))
        group = []
        for g, scores in GROUPS.items():
            values[(row, g)] = None if hidden else sum(dist[(row, k)] for k in scores)
            sums.append(Relation((row, g), tuple((row, k) for k in scores)))
            group.append((row, g))
            if hidden:
                primary.add((row, g))
            elif row == "T" and target:
                fixed.add((row, g))
        linked.append(group)
        values[(row, "n")] = n
        fixed.add((row, "n"))
        sums.append(Relation((row, "n"), tuple(group)))
    for key in [*range(11), *GROUPS, "n"]:
        sums.append(Relation(("T", key), tuple((s, key) for s in segments)))
    return values, sums, primary, fixed, linked


@st.composite
def random_sums(draw: st.DrawFn) -> tuple:
    """Cells and overlapping sums of them, sums of sums included."""
    cells: list[Hashable] = [f"c{i}" for i in range(draw(st.integers(3, 9)))]
    values: dict[Hashable, float | None] = {c: draw(counts) for c in cells}
    sums = []
    for t in range(draw(st.integers(1, 5))):
        parts = draw(st.lists(st.sampled_from(cells), min_size=2, max_size=5, unique=True))
        total = f"t{t}"
        values[total] = sum(values[p] for p in parts)  # type: ignore[misc]
        sums.append(Relation(total, tuple(parts)))
        cells.append(total)
    fixed = set(draw(st.lists(st.sampled_from([f"t{i}" for i in range(len(sums))]), max_size=2)))
    return values, sums, small(values, fixed), fixed, []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(two_way_tables(), nps_families(), random_sums()))
def test_no_withheld_value_is_narrowed_below_the_protection_level(table):
    check(*table)


@settings(max_examples=60, deadline=None)
@given(nps_families())
def test_the_nps_shape_is_always_protectable(table):
    """Zero cells and segments always leave something to withhold: never an error."""
    values, sums, primary, fixed, linked = table
    protect(values, sums, primary, fixed=fixed, linked=linked)
