"""Every third-party package the shipped code imports is a declared dependency of its own,
not one that happens to arrive with another (``psycopg2`` came only through
``dagster-postgres`` once): the imports of the code the wheel installs (the library and the
Dagster layer), read from their source, held against ``[project] dependencies`` through the
installed distributions."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
WHEEL = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]
# the library, and the Dagster layer's folders that hatch_build.py puts into the wheel
SHIPPED = [*WHEEL["packages"], *WHEEL["hooks"]["custom"]["layer"]]


def _declared() -> set[str]:
    names = PYPROJECT["project"]["dependencies"]
    return {re.split(r"[\s<>=!~\[;]", n, maxsplit=1)[0].lower().replace("_", "-") for n in names}


def _imported_top_levels() -> dict[str, str]:
    """Top-level module name → the first file importing it, over the shipped packages."""
    found: dict[str, str] = {}
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_imported_third_party_package_is_declared():
    first_party = {p.split("/")[0] for p in SHIPPED}
    owners = metadata.packages_distributions()
    declared = _declared()
    undeclared = []
    for module, where in sorted(_imported_top_levels().items()):
        if module in sys.stdlib_module_names or module in first_party or module == "__future__":
            continue
        distributions = {d.lower().replace("_", "-") for d in owners.get(module, [])}
        assert distributions, f"{module} (imported in {where}) is installed by no distribution"
        if not distributions & declared:
            undeclared.append(f"{module} ({where}) from {sorted(distributions)}")
    assert not undeclared, "imported but not declared in pyproject.toml: " + "; ".join(undeclared)
