"""A KPI kind is named in its own module only: what the rest of the code needs to know of a
kind (its interval and how its coverage is measured, whether its answers are protected
cells, whether its detail is per municipality) the kind declares, and the report, the
coverage table, the suppression and the KPI computation ask the declaration. Before, the
kind names were tested in coverage.py, report/view.py, report/content.py,
report/confidential.py and kpis/compute.py, so that a new kind with an interval got none."""

from __future__ import annotations

import ast
from pathlib import Path

from resultatrapport.kpis.kinds import KINDS

ROOT = Path(__file__).resolve().parents[3]
KIND_NAMES = set(KINDS)


def _names_a_kind(node: ast.Compare) -> bool:
    """``x.kind == "nps"``, ``kind in ("share", ...)`` and the like."""
    sides = [node.left, *node.comparators]
    mentions_kind = any(
        (isinstance(s, ast.Attribute) and s.attr == "kind")
        or (isinstance(s, ast.Name) and s.id == "kind")
        for s in sides
    )
    constants = [
        e.value
        for s in sides
        for e in ([s] if isinstance(s, ast.Constant) else getattr(s, "elts", []))
        if isinstance(e, ast.Constant)
    ]
    return mentions_kind and any(c in KIND_NAMES for c in constants)


def test_no_module_outside_the_kinds_tests_a_kind_by_name():
    kinds_dir = ROOT / "resultatrapport" / "kpis" / "kinds"
    found = []
    for package in ("resultatrapport", "assets", "pipelines", "commands", "resources"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if kinds_dir in path.parents:
                continue
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Compare) and _names_a_kind(node):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == [], found


def test_every_kind_with_an_interval_says_how_its_coverage_is_measured():
    for name, kind in KINDS.items():
        assert bool(kind.interval) == (kind.coverage is not None), name
        assert (kind.coverage == "answers") == (kind.coverage_at is not None), name
