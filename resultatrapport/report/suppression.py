"""Complementary (secondary) suppression: withhold enough further figures that no withheld
figure can be worked out from the published ones by adding and subtracting.

Primary suppression withholds a figure that rests on too few units. It protects nothing on
its own when the figure is also part of a sum that is published: a distribution's cells add
up to its published number of answers, so one withheld cell is the total minus the others;
the answers of all respondents are those of one segment plus those of the other, so a
segment's withheld cell is the all-respondents cell minus the other segment's.

The tables are described, not hard-coded: a *cell* is any published figure (a count, a row
total, a KPI's number of answers), named by any hashable key; a :class:`Relation` says that
one cell is the sum of others. A cell can be in several relations (a score's count of all
respondents is the total of the segments' counts and a part of the group of scores it
belongs to). Totals are cells like the others: a published total is a published figure.

The rule (:func:`protect`)
--------------------------
1. *Two or none.* In every relation either no cell is withheld or at least two are. A
   relation that holds exactly one withheld cell gives it away, for one unknown in a linear
   equation is determined. So where a relation holds exactly one, one more of its cells is
   withheld: the smallest non-zero cell that may be withheld (a zero cell only when no
   non-zero one is left; a linked cell weighs all it takes along; ties in the order the
   cells were given), and with it the cells
   linked to it (figures that are published or withheld together, such as the group totals
   that a KPI's published value and interval reveal). A newly withheld cell can leave
   another relation with exactly one withheld cell, so the step repeats until nothing
   changes (a fixed point: each round withholds a cell, and there are finitely many).

2. *None determined.* Two unknowns in one equation are not determined, as long as no other
   published equation pins them. That is why rule 1 suffices for a single sum and for sums
   that share no withheld cell. Its known limit is overlapping relations: in a table with
   row and column totals, a withheld cell that joins two otherwise separate blocks of
   withheld cells equals a difference of published totals, though every row and column
   holds two withheld cells. So after rule 1 the whole system is tested exactly: the
   withheld cells are the unknowns, each relation an equation in them (published cells are
   known numbers); a withheld cell ``x_j`` is determined exactly when the unit vector
   ``e_j`` lies in the row space of the equations' coefficients, i.e. when every solution
   of the homogeneous system has ``x_j = 0`` (a rank test by singular value decomposition).
   For a determined cell, one more cell of a relation holding it is withheld (the smallest
   that leaves it undetermined, else the smallest), and rule 1 runs again.

What it does not do
-------------------
- It protects exact values against linear derivation, not intervals. Withheld counts are
  whole and not negative, and a primary cell is known to lie below the threshold, so two
  withheld cells that add up to 2 and are known to be non-zero are 1 each. Protection
  intervals need linear programming over bounds (τ-ARGUS's protection levels); not done.
- It is greedy (smallest cell first), not the fewest or smallest cells in total. A linked
  cell costs the sum of the cells it takes along (a KPI's value goes only when no single
  cell will do).
- It knows only the relations it is told. A published figure that is a sum of others, or a
  linear combination of them (a KPI's value), must be declared by the caller, as cells and
  relations or as linked cells.

:func:`protect` raises :class:`SuppressionError` when a primary cell stays determined even
with every cell that may be withheld withheld (the relations and the cells that must stay
published pin it): no withholding can protect it, and publishing it is not an option. A
cell that is determined even then is never chosen as a complement (it would protect
nothing); it can only come along with a linked cell, and then it is harmless, for its value
follows from published figures anyway. Every other withheld cell is left undetermined.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np

Cell = Hashable
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Relation:
    """``total`` is the sum of ``parts`` (each a cell; a part may repeat)."""

    total: Cell
    parts: tuple[Cell, ...]

    @property
    def cells(self) -> tuple[Cell, ...]:
        return (self.total, *self.parts)


class SuppressionError(ValueError):
    """A withheld cell is determined by the published figures whatever else is withheld."""


def determined(relations: Sequence[Relation], withheld: Iterable[Cell]) -> list[Cell]:
    """The withheld cells whose value follows from the relations and the published cells.

    The unknowns are the withheld cells that occur in some relation (a withheld cell in no
    relation is in no equation and so never determined); the result keeps their order.
    """
    hidden = set(withheld)
    unknowns = list(dict.fromkeys(c for r in relations for c in r.cells if c in hidden))
    if not unknowns:
        return []
    column = {cell: j for j, cell in enumerate(unknowns)}
    rows = []
    for relation in relations:
        row = np.zeros(len(unknowns))
        for part in relation.parts:
            if part in column:
                row[column[part]] += 1.0
        if relation.total in column:
            row[column[relation.total]] -= 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return []
    matrix = np.array(rows)
    _, singular, vt = np.linalg.svd(matrix)
    tol = max(matrix.shape) * np.finfo(float).eps * (singular.max() if singular.size else 0.0)
    rank = int((singular > tol).sum())
    null = vt[rank:]  # a basis of the solutions of the homogeneous system
    return [cell for cell, j in column.items() if not np.any(np.abs(null[:, j]) > 1e-9)]


def protect(
    values: Mapping[K, float | None],
    relations: Sequence[Relation],
    primary: Iterable[K],
    *,
    fixed: Iterable[K] = (),
    linked: Iterable[Iterable[K]] = (),
) -> set[K]:
    """The cells to withhold: ``primary`` (with the cells linked to them) and the
    complementary cells the rule adds.

    ``values`` holds every cell of the relations with its value (the order of its keys
    breaks ties); a withheld cell's value may be None (a figure never published).
    ``fixed`` cells stay published unless primary (e.g. a number of answers that is always
    printed); ``linked`` are groups of cells withheld together. Raises
    :class:`SuppressionError` when a primary cell cannot be protected (see the module).
    """
    state = _Protection(values, relations, set(fixed), _groups(linked))
    for first in primary:
        state.withhold(first)
    state.bound()
    while True:
        state.two_or_none()
        exposed = [c for c in determined(relations, state.withheld) if c not in state.hopeless]
        if not exposed:
            return cast(set[K], state.withheld)
        state.withhold(state.complement(exposed[0]))


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
    still be withheld (``allowed``) and those no withholding can protect (``hopeless``)."""

    def __init__(
        self,
        values: Mapping[Any, float | None],  # Mapping[K, ...]: its keys are cells
        relations: Sequence[Relation],
        keep: set[Cell],
        group: dict[Cell, set[Cell]],
    ) -> None:
        self.value: dict[Cell, float | None] = {c: v for c, v in values.items()}
        self.order = {cell: i for i, cell in enumerate(self.value)}
        unknown = [c for r in relations for c in r.cells if c not in self.order]
        if unknown:
            raise ValueError(f"cells in relations without a value: {unknown[:5]}")
        self.relations, self.keep, self.group = relations, keep, group
        self.withheld: set[Cell] = set()
        self.allowed: set[Cell] = set()
        self.hopeless: set[Cell] = set()

    def linked(self, cell: Cell) -> set[Cell]:
        return self.group.get(cell, {cell})

    def withhold(self, cell: Cell) -> None:
        self.withheld.update(self.linked(cell))

    def bound(self) -> None:
        """With the primary cells withheld: what withholding can achieve at most, every
        cell that may go withheld. A cell still determined then ("hopeless") is pointless to
        withhold as a complement, and a primary one cannot be protected at all."""
        missing = [c for c, v in self.value.items() if v is None and c not in self.withheld]
        if missing:
            raise ValueError(f"cells without a value must be withheld: {missing[:5]}")
        self.allowed = {
            c for c in self.value if c not in self.withheld and not self.linked(c) & self.keep
        }
        self.hopeless = set(determined(self.relations, self.withheld | self.allowed))
        if lost := [c for c in self.value if c in self.withheld and c in self.hopeless]:
            raise SuppressionError(
                f"{lost[0]!r} follows from the published figures whatever else is withheld"
            )
        self.allowed -= self.hopeless

    def size(self, cell: Cell) -> float:
        v = self.value[cell]
        return abs(float(v)) if v is not None else float("inf")

    def cost(self, cell: Cell) -> tuple[bool, float, int]:
        """Non-zero before zero, then the smallest: a linked cell costs all it takes along."""
        total = sum(self.size(c) for c in self.linked(cell) if c not in self.withheld)
        return (self.size(cell) == 0, total, self.order[cell])

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

    def complement(self, target: Cell) -> Cell:
        """The cell to withhold for the exposed cell ``target``: one more cell of a sum
        holding it (the smallest that protects it, else the smallest); else of a sum holding
        any withheld cell; else any. With every allowed cell withheld nothing is exposed, so
        :func:`protect`'s loop ends."""
        relations = self.relations
        options = (
            self.may_add(c for r in relations if target in r.cells for c in r.cells)
            or self.may_add(
                c for r in relations if self.withheld.intersection(r.cells) for c in r.cells
            )
            or self.may_add(self.allowed)
        )
        return next(
            (
                c
                for c in options
                if target not in determined(relations, self.withheld | self.linked(c))
            ),
            options[0],
        )
