"""Knowledge the code states once (issue 27): the results table is read and written in
``resultatrapport/kpis/results_table.py`` only, and SQL identifiers and literals are quoted
by ``resultatrapport/sql.py`` only (the results table was read in four modules, and the
quoting written twice)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("resultatrapport", "assets", "pipelines", "commands", "resources")


def _lines(pattern: str, allowed: str) -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.relative_to(ROOT).as_posix() == allowed:
                continue
            for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                if re.search(pattern, line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    return found


def test_the_results_table_is_read_and_written_in_one_module():
    sql = r"(FROM|INTO|UPDATE|TABLE)\s+kpi\.results\b"
    assert _lines(sql, "resultatrapport/kpis/results_table.py") == []


def test_sql_quoting_is_written_once():
    doubled = r"""replace\(\s*(['"])(['"]|\\")\1\s*,\s*(['"])(['"]|\\"){2}\3\s*\)"""
    assert _lines(doubled, "resultatrapport/sql.py") == []
