"""Complementary (secondary) suppression audited by bounds: withhold enough further figures
that the published ones narrow no withheld figure below a protection level.

Primary suppression withholds a figure that rests on too few units. It protects nothing on
its own when the figure is also part of a sum that is published: a distribution's cells add
up to its published number of answers, so one withheld cell is the total minus the others;
the answers of all respondents are those of one segment plus those of the other, so a
segment's withheld cell is the all-respondents cell minus the other segment's. Nor is it
enough that no withheld figure is *determined*: counts are whole and not negative, so two
withheld cells that add up to 2 are each 0, 1 or 2, and a reader who also takes a withheld
cell to be non-zero has them exactly.

The tables are described, not hard-coded: a *cell* is any published figure (a count, a row
total, a KPI's number of answers), named by any hashable key; a :class:`Relation` says that
one cell is the sum of others. A cell can be in several relations. Totals are cells like the
others: a published total is a published figure.

The audit (:func:`intervals`)
-----------------------------
The reader's knowledge is modelled as a linear programme: the withheld cells are the
unknowns, each relation an equation in them (published cells are known numbers), and each
unknown is bounded below by 0 (counts are not negative) and above by nothing but the
equations. Minimising and maximising each unknown (SciPy's HiGHS, ``linprog(method="highs")``)
gives its *feasible interval* ``[lo, hi]``: every value the published figures leave
possible. These are the bounds of the LP relaxation, which is what τ-ARGUS's audit computes
too; for the tables here (distributions with nested totals, and a total over segments: a
network matrix) they are whole numbers and equal the bounds over whole-number tables. The
tests check both against τ-ARGUS's own audit (``pytauargus``) and, on small tables, against
every whole-number table.

A withheld cell is *protected* when ``hi - lo`` is at least its required width: for a
primary cell (a sensitive figure) the protection level (``level``, the contract's
``protection_level``) or, where that is more than any withholding could achieve (a cell of a
distribution of 2 answers is 0, 1 or 2 whatever is withheld), the widest interval possible
with every cell that may be withheld withheld; for a complementary cell only that it is not
exact (it protects nothing then).

What the rule itself tells the reader is part of the model, and the rule is made to tell
little: a withheld cell is printed as "–" whether it is small or a complement, and a
complement may be any count, 0 included (the smallest cell that protects is chosen, and a 0
often is the smallest). So a "–" says "some whole number from 0": the lower bound 0. A
reader who takes every "–" to be 1 or 2 (below the threshold) is wrong for complements, and
the audit does not credit him with it.

The rule (:func:`protect`)
--------------------------
1. *Two or none.* In every relation either no cell is withheld or at least two are (one
   unknown in an equation is determined). Where a relation holds exactly one, one more of
   its cells is withheld: the smallest that may be withheld (a linked cell weighs all it
   takes along; ties in the order the cells were given), with the cells linked to it
   (figures published or withheld together, such as the group totals that a KPI's published
   value and interval reveal); repeated to a fixed point.
2. *Bounds.* Then every primary cell is audited; for the first one not protected, one
   more cell of a relation holding it is withheld: the smallest that protects it, else the
   smallest that widens its interval, else the smallest; and rule 1 runs again. Each step
   withholds a cell, and withholding a cell only widens intervals, so it ends; with every
   cell that may be withheld withheld, every cell has its widest interval.
3. *Equations.* When every primary cell is protected, no withheld cell may be determined by
   the equations alone (a rank test: ``e_j`` in the row space of the coefficients); for one
   that is, the smallest cell that leaves it undetermined is withheld, and the rule runs
   again from 1. A complement is thus never worked out by adding and subtracting, though
   its bounds may pin it (a complement 0 in a sum of zeros): only the primary cells are
   held to the protection level, as in τ-ARGUS. At the end a complement the equations
   determine anyway (with its linked cells) is published again: it protected nothing.

What it does not do
-------------------
- It is greedy (smallest cell first), not the fewest or smallest cells in total, and the
  reader is not credited with knowing the greedy order (which cell the rule would have
  chosen), only the published figures, the relations and that counts are whole and not
  negative.
- It audits one year's figures as published now. A later signed version of the same year
  is audited alone: the same data give the same pattern, but after changed data an earlier
  version's published figures are not constraints of the new version's audit.
- It knows only the relations it is told. A published figure that is a sum of others, or a
  linear combination of them (a KPI's value), must be declared by the caller, as cells and
  relations or as linked cells.

:func:`protect` raises :class:`SuppressionError` when the equations alone determine a
primary cell even with every cell that may be withheld withheld (the relations and the cells
that must stay published pin it). Where only the bounds pin it, it is left withheld: a cell
that is 0 whatever is withheld is empty (no unit's answer in it), and a non-zero one is
given away by figures the caller will not withhold (M3 with its target, whose three
answers were all detractors, tells that the one answer of a segment was a detractor). That
is the one disclosure the audit tolerates; it follows from the figures that must be
published, not from the tables' suppression. A cell that is exact even then is never chosen as a complement (it would
protect nothing); it can only come along with a linked cell, and then it is harmless, for its
value follows from published figures anyway. A cell that is 0 whatever is withheld (a
segment's answer 7 where nobody answered 7) is empty: no unit's answer to protect, no error.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import highspy
import numpy as np

Cell = Hashable
K = TypeVar("K", bound=Hashable)
EPS = 1e-6  # an interval narrower than this is a point


@dataclass(frozen=True)
class Relation:
    """``total`` is the sum of ``parts`` (each a cell; a part may repeat)."""

    total: Cell
    parts: tuple[Cell, ...]

    @property
    def cells(self) -> tuple[Cell, ...]:
        return (self.total, *self.parts)


class SuppressionError(ValueError):
    """A withheld cell is exact from the published figures whatever else is withheld."""


def intervals(
    values: Mapping[Any, float | None],
    relations: Sequence[Relation],
    withheld: Iterable[Cell],
    cells: Iterable[Cell] | None = None,
    enough: Mapping[Any, float] | None = None,
) -> dict[Cell, tuple[float, float]]:
    """The feasible interval ``(lo, hi)`` of each withheld cell (of ``cells`` only, if
    given) from the published cells and the relations, the withheld cells being at least 0
    (``hi`` is ``inf`` when nothing bounds it). The LP relaxation: see the module.

    With ``enough``, a cell whose values seen in the solutions found so far already span
    ``enough[cell]`` gets that span instead (a part of its interval, wide enough for the
    question asked): fewer programmes to solve."""
    hidden = set(withheld)
    wanted = hidden if cells is None else hidden & set(cells)
    out: dict[Cell, tuple[float, float]] = {c: (0.0, np.inf) for c in wanted}
    unknowns, a, b = _equations(values, relations, hidden)
    if not len(b):
        return out
    column = {cell: j for j, cell in enumerate(unknowns)}
    # the unknowns fall apart into independent blocks (the tables of unrelated KPIs)
    block = _blocks(a)
    seen_lo = np.full(len(unknowns), np.inf)
    seen_hi = np.full(len(unknowns), -np.inf)
    solvers: dict[int, _Block] = {}
    for cell in sorted(wanted & column.keys(), key=column.__getitem__):
        j = column[cell]
        if block[j] not in solvers:
            solvers[block[j]] = _Block(a, b, np.flatnonzero(block == block[j]))
        solver = solvers[block[j]]
        ends = []
        for sign in (-1.0, 1.0):
            if enough is not None and seen_hi[j] - seen_lo[j] >= enough.get(cell, np.inf):
                break
            value, x = solver.extreme(j, sign)
            ends.append(value)
            if x is not None:
                seen_lo[solver.cols] = np.minimum(seen_lo[solver.cols], x)
                seen_hi[solver.cols] = np.maximum(seen_hi[solver.cols], x)
        if len(ends) == 2:
            out[cell] = (ends[0], ends[1])
        else:
            out[cell] = (float(seen_lo[j]), float(seen_hi[j]))
    return out


def _equations(
    values: Mapping[Any, float | None], relations: Sequence[Relation], hidden: set[Cell]
) -> tuple[list[Cell], np.ndarray, np.ndarray]:
    """The unknowns (the withheld cells in some relation) and the relations as equations
    ``a x = b`` in them (published cells are known numbers; an equation without an unknown
    is left out)."""
    unknowns = list(dict.fromkeys(c for r in relations for c in r.cells if c in hidden))
    column = {cell: j for j, cell in enumerate(unknowns)}
    rows, rhs = [], []
    for relation in relations:
        row = np.zeros(len(unknowns))
        known = 0.0
        for part in relation.parts:
            if part in column:
                row[column[part]] += 1.0
            else:
                known += float(values[part] or 0)
        if relation.total in column:
            row[column[relation.total]] -= 1.0
        else:
            known -= float(values[relation.total] or 0)
        if row.any():
            rows.append(row)
            rhs.append(-known)
    a = np.array(rows) if rows else np.zeros((0, len(unknowns)))
    return unknowns, a, np.array(rhs)


def _determined(relations: Sequence[Relation], hidden: set[Cell]) -> list[Cell]:
    """The withheld cells that the equations alone determine (without the bounds): a cell
    ``x_j`` is determined when every solution of the homogeneous system has ``x_j = 0``."""
    unknowns, a, _ = _equations(
        dict.fromkeys(c for r in relations for c in r.cells), relations, hidden
    )
    if not len(a):
        return []
    _, singular, vt = np.linalg.svd(a)
    tol = max(a.shape) * np.finfo(float).eps * (singular.max() if singular.size else 0.0)
    null = vt[int((singular > tol).sum()) :]
    return [c for j, c in enumerate(unknowns) if not np.any(np.abs(null[:, j]) > 1e-9)]


def _blocks(a: np.ndarray) -> np.ndarray:
    """A block number per column: columns sharing a row are in one block."""
    parent = list(range(a.shape[1]))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for row in a:
        cols = np.flatnonzero(row)
        for c in cols[1:]:
            parent[find(int(c))] = find(int(cols[0]))
    return np.array([find(i) for i in range(a.shape[1])])


class _Block:
    """One block of unknowns as one HiGHS model (``a x = b``, ``x >= 0``), solved again for
    each cell's minimum and maximum with only the objective changed (warm started)."""

    def __init__(self, a: np.ndarray, b: np.ndarray, cols: np.ndarray) -> None:
        self.cols = cols
        rows = np.flatnonzero(np.abs(a[:, cols]).sum(axis=1) > 0)
        matrix = a[np.ix_(rows, cols)]
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(cols), len(rows)
        lp.col_cost_ = np.zeros(len(cols))
        lp.col_lower_ = np.zeros(len(cols))
        lp.col_upper_ = np.full(len(cols), highspy.kHighsInf)
        lp.row_lower_ = lp.row_upper_ = b[rows]
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        nonzero = [np.flatnonzero(matrix[:, k]) for k in range(len(cols))]
        lp.a_matrix_.start_ = np.cumsum([0, *(len(n) for n in nonzero)])
        lp.a_matrix_.index_ = np.concatenate(nonzero) if nonzero else np.zeros(0, int)
        lp.a_matrix_.value_ = (
            np.concatenate([matrix[n, k] for k, n in enumerate(nonzero)])
            if nonzero
            else np.zeros(0)
        )
        # the plain solver (exported by highspy): its Python subclass routes HiGHS's log to
        # stdout through a callback and prints a banner when it is made, which would land
        # in `resultatrapport kpis --json`
        self.highs = highspy._Highs()  # type: ignore[attr-defined]
        self.highs.setOptionValue("output_flag", False)
        self.highs.passModel(lp)
        self.position = {int(c): k for k, c in enumerate(cols)}
        self.index = np.arange(len(cols), dtype=np.int32)

    def extreme(self, column: int, sign: float) -> tuple[float, np.ndarray | None]:
        """The minimum (``sign`` -1) or maximum (+1) of the unknown ``column``, and a
        solution (None when there is no maximum)."""
        cost = np.zeros(len(self.cols))
        cost[self.position[column]] = 1.0
        self.highs.changeColsCost(len(self.cols), self.index, cost)
        sense = highspy.ObjSense.kMaximize if sign > 0 else highspy.ObjSense.kMinimize
        self.highs.changeObjectiveSense(sense)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnbounded):
            self.highs.clearSolver()  # a warm start can end undecided: solve afresh
            self.highs.run()
            status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kUnbounded:
            return np.inf, None
        if status != highspy.HighsModelStatus.kOptimal:
            raise ValueError(
                "the published figures are inconsistent: " + self.highs.modelStatusToString(status)
            )
        value = float(self.highs.getInfo().objective_function_value)
        return value + 0.0, np.asarray(self.highs.getSolution().col_value)


def width(interval: tuple[float, float]) -> float:
    return interval[1] - interval[0]


def protect(
    values: Mapping[K, float | None],
    relations: Sequence[Relation],
    primary: Iterable[K],
    *,
    fixed: Iterable[K] = (),
    linked: Iterable[Iterable[K]] = (),
    level: float = 0.0,
) -> set[K]:
    """The cells to withhold: ``primary`` (with the cells linked to them) and the
    complementary cells the rule adds, so that every primary cell's feasible interval is at
    least ``level`` wide (or as wide as it can be) and no withheld cell is exact.

    ``values`` holds every cell of the relations with its value (the order of its keys
    breaks ties); a withheld cell's value may be None (a figure never published).
    ``fixed`` cells stay published unless primary (e.g. a number of answers that is always
    printed); ``linked`` are groups of cells withheld together. Raises
    :class:`SuppressionError` when a primary cell cannot be protected (see the module).
    """
    first = list(primary)
    state = _Protection(values, relations, set(fixed), _groups(linked), set(first), level)
    for cell in first:
        state.withhold(cell)
    state.bound()
    while True:
        state.two_or_none()
        exposed = state.exposed()
        if not exposed:
            state.release()
            return cast(set[K], state.withheld)
        state.withhold(state.complement(*exposed[0]))


def _groups(linked: Iterable[Iterable[Cell]]) -> dict[Cell, set[Cell]]:
    """Each linked cell's group: every cell withheld with it (itself included)."""
    group: dict[Cell, set[Cell]] = {}
    for cells in linked:
        members = set(cells)
        for cell in members:
            group[cell] = group.get(cell, {cell}) | members
    return group


class _Protection:
    """The working state of :func:`protect`: the cells withheld so far, those that may
    still be withheld (``allowed``), those no withholding can protect (``hopeless``) and
    the width each withheld cell needs (``need``)."""

    def __init__(
        self,
        values: Mapping[Any, float | None],  # Mapping[K, ...]: its keys are cells
        relations: Sequence[Relation],
        keep: set[Cell],
        group: dict[Cell, set[Cell]],
        sensitive: set[Cell],
        level: float,
    ) -> None:
        self.value: dict[Cell, float | None] = {c: v for c, v in values.items()}
        self.order = {cell: i for i, cell in enumerate(self.value)}
        unknown = [c for r in relations for c in r.cells if c not in self.order]
        if unknown:
            raise ValueError(f"cells in relations without a value: {unknown[:5]}")
        self.relations, self.keep, self.group = relations, keep, group
        self.sensitive, self.level = sensitive, level
        self.withheld: set[Cell] = set()
        self.allowed: set[Cell] = set()
        self.hopeless: set[Cell] = set()
        self.need: dict[Cell, float] = {}
        self.determined_anyway: set[Cell] = set()

    def linked(self, cell: Cell) -> set[Cell]:
        return self.group.get(cell, {cell})

    def withhold(self, cell: Cell) -> None:
        self.withheld.update(self.linked(cell))

    def bound(self) -> None:
        """With the primary cells withheld: what withholding can achieve at most, every
        cell that may go withheld. A cell still exact then ("hopeless") is pointless to
        withhold as a complement, and a primary one cannot be protected at all; a primary
        cell needs the protection level, or its widest interval where that is narrower."""
        missing = [c for c, v in self.value.items() if v is None and c not in self.withheld]
        if missing:
            raise ValueError(f"cells without a value must be withheld: {missing[:5]}")
        self.allowed = {
            c for c in self.value if c not in self.withheld and not self.linked(c) & self.keep
        }
        enough = {
            c: max(self.level, 2 * EPS) if c in self.sensitive else 2 * EPS for c in self.value
        }
        widest = intervals(self.value, self.relations, self.withheld | self.allowed, None, enough)
        self.hopeless = {c for c, i in widest.items() if width(i) <= EPS}
        # exact whatever is withheld: an error where the equations alone give the cell
        # away; where only the bounds do (0 whatever is withheld: an empty cell; or pinned
        # by figures that must stay published, see the module) it is left withheld
        self.determined_anyway = set(_determined(self.relations, self.withheld | self.allowed))
        lost = [c for c in self.value if c in self.withheld and c in self.determined_anyway]
        if lost:
            raise SuppressionError(
                f"{lost[0]!r} follows from the published figures whatever else is withheld"
            )
        # a cell exact by its bounds whatever is withheld still hides others from the
        # equations alone; one the equations determine anyway hides nothing
        self.allowed -= self.determined_anyway
        self.need = {
            c: min(self.level, width(i)) if c in self.sensitive else 0.0 for c, i in widest.items()
        }

    def short(self, cell: Cell, interval: tuple[float, float]) -> bool:
        """Whether a withheld primary cell's interval is narrower than it needs."""
        return width(interval) <= EPS or width(interval) < self.need.get(cell, 0.0) - EPS

    def exposed(self) -> list[tuple[Cell, bool]]:
        """The withheld cells not yet protected, each with whether its bounds are the
        matter (else the equations alone determine it)."""
        sensitive = (self.withheld & self.sensitive) - self.hopeless
        enough = {c: max(self.need[c], 2 * EPS) for c in sensitive}
        found = intervals(self.value, self.relations, self.withheld, sensitive, enough)
        short = sorted(
            (c for c, i in found.items() if self.short(c, i)), key=self.order.__getitem__
        )
        if short:
            return [(c, True) for c in short]
        determined = _determined(self.relations, self.withheld)
        return [(c, False) for c in determined if c not in self.determined_anyway]

    def release(self) -> None:
        """Publish again the complements that the equations determine (with all their
        linked cells): they protect nothing, and publishing a figure that follows from the
        published ones changes no interval and determines nothing else."""
        exact = set(_determined(self.relations, self.withheld)) - self.sensitive
        for cell in sorted(exact, key=self.order.__getitem__):
            if self.linked(cell) <= exact and self.linked(cell) <= self.withheld:
                self.withheld -= self.linked(cell)

    def size(self, cell: Cell) -> float:
        v = self.value[cell]
        return abs(float(v)) if v is not None else float("inf")

    def cost(self, cell: Cell) -> tuple[bool, float, int]:
        """The smallest first (0 included), but a cell exact by its bounds whatever is
        withheld last (it widens no interval): a linked cell costs all it takes along."""
        total = sum(self.size(c) for c in self.linked(cell) if c not in self.withheld)
        return (cell in self.hopeless, total, self.order[cell])

    def may_add(self, cells: Iterable[Cell]) -> list[Cell]:
        return sorted(
            {c for c in cells if c in self.allowed and c not in self.withheld}, key=self.cost
        )

    def two_or_none(self) -> None:
        """Rule 1 to its fixed point (a hopeless withheld cell counts as published)."""
        changed = True
        while changed:
            changed = False
            for relation in self.relations:
                hidden = {
                    c for c in relation.cells if c in self.withheld and c not in self.hopeless
                }
                if len(hidden) == 1 and (options := self.may_add(relation.cells)):
                    self.withhold(options[0])
                    changed = True

    def complement(self, target: Cell, bounds: bool = True) -> Cell:
        """The cell to withhold for the exposed cell ``target``: one more cell of a sum
        holding it (the smallest that protects it, else the smallest that widens its
        interval, else the smallest); else of a sum holding any withheld cell; else any.
        With every allowed cell withheld nothing is exposed, so :func:`protect`'s loop
        ends. Without ``bounds`` the target is one the equations alone determine: the
        smallest that leaves it undetermined, else the smallest."""
        relations = self.relations
        options = (
            self.may_add(c for r in relations if target in r.cells for c in r.cells)
            or self.may_add(
                c for r in relations if self.withheld.intersection(r.cells) for c in r.cells
            )
            or self.may_add(self.allowed)
        )
        if not bounds:
            return next(
                (
                    c
                    for c in options
                    if target not in _determined(relations, self.withheld | self.linked(c))
                ),
                options[0],
            )
        now = width(intervals(self.value, relations, self.withheld, [target])[target])
        enough = {target: max(self.need.get(target, 0.0), 2 * EPS)}
        wider = None
        for c in options:
            hidden = self.withheld | self.linked(c)
            interval = intervals(self.value, relations, hidden, [target], enough)[target]
            if not self.short(target, interval):
                return c
            if wider is None and width(interval) > now + EPS:
                wider = c
        return wider if wider is not None else options[0]
