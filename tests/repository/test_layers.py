"""The layers of the repository, enforced on every import of every module.

commands/ → pipelines/ → assets/ → resources/ → resultatrapport/ (README: Layout): a module
imports only from its own layer or those below it; the domain library imports no Dagster;
first-party modules form no import cycle; and no first-party import hides inside a function
(where it would dodge a cycle) outside ``commands/``, whose commands import the Dagster
stack only when they run, so `resultatrapport --help` answers at once.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from importlib.metadata import Distribution
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["resultatrapport", "resources", "assets", "pipelines", "commands"]  # bottom first
DAGSTER = ("dagster", "dagster_duckdb", "dagster_postgres", "dagster_k8s", "dagster_dg_core")
LAZY_ALLOWED = {"commands"}


def modules() -> Iterator[tuple[str, Path]]:
    for top in LAYERS:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            yield ".".join(parts), path


def imports(module: str, path: Path) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    in_function.add(id(sub))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in in_function
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target, node.lineno, id(node) in in_function
            for alias in node.names:  # `from pkg import module`
                yield f"{target}.{alias.name}", node.lineno, id(node) in in_function


def layer(module: str) -> int | None:
    top = module.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


ALL = dict(modules())


def first_party(name: str) -> str | None:
    """The first-party module an import names (a `from m import f` of a function: m)."""
    while name:
        if name in ALL:
            return name
        name = name.rpartition(".")[0]
    return None


def test_every_layer_imports_only_the_layers_below():
    wrong = []
    for module, path in ALL.items():
        for target, line, _ in imports(module, path):
            own, theirs = layer(module), layer(target)
            if theirs is not None and own is not None and theirs > own:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "an import against the layers:\n" + "\n".join(wrong)


def test_the_domain_library_imports_no_dagster():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for module, path in ALL.items()
        if module.startswith("resultatrapport")
        for target, line, _ in imports(module, path)
        if target.split(".")[0] in DAGSTER
    ]
    assert not wrong, "\n".join(wrong)


def test_no_first_party_import_hides_in_a_function():
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target} inside a function"
        for module, path in ALL.items()
        if module.split(".")[0] not in LAZY_ALLOWED
        for target, line, inside in imports(module, path)
        if inside and first_party(target)
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    # a package importing its own submodules (its __init__) is no cycle
    cycles = [sorted(c) for c in _strongly_connected(_import_graph()) if len(c) > 1]
    assert not cycles, "import cycles: " + "; ".join(" ↔ ".join(c) for c in cycles)


def _import_graph() -> dict[str, set[str]]:
    """Each first-party module and the first-party modules it imports at module level."""
    graph: dict[str, set[str]] = {m: set() for m in ALL}
    for module, path in ALL.items():
        for target, _, inside in imports(module, path):
            dep = first_party(target)
            if dep and dep != module and not inside:
                graph[module].add(dep)
    return graph


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            components.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return components


def top_level_names(dist: Distribution) -> set[str]:
    """The top-level names a distribution puts into site-packages: its ``top_level.txt``,
    which only setuptools writes, or else what its ``RECORD`` lists (hatchling, flit, poetry
    and uv write no ``top_level.txt``): each folder at the top, each module file there."""
    declared = dist.read_text("top_level.txt")
    if declared is not None:
        return set(declared.split())
    names = set()
    for file in dist.files or []:
        top = file.parts[0]
        if top == ".." or top.endswith((".dist-info", ".data", ".egg-info")):
            continue  # scripts, its metadata, data outside site-packages
        if len(file.parts) > 1:
            names.add(top)
        elif file.suffix in {".py", ".so", ".pyd"}:
            names.add(top.split(".")[0])
    return names


NAMES = [
    "pipelines",
    "assets",
    "resources",
    "commands",
    "resultatrapport",
    "resultatrapport_dagster",
]


@pytest.mark.parametrize("name", NAMES)
def test_no_installed_distribution_claims_a_top_level_name(name: str):
    """The package names the project imports (the Dagster layer's from the checkout's top,
    README: Layout) are ours alone in the environment."""
    from importlib.metadata import distributions

    claimed = {dist.metadata["Name"] for dist in distributions() if name in top_level_names(dist)}
    assert claimed <= {"resultatrapport"}, f"{name} is also installed by {claimed}"


def test_a_claim_is_seen_without_top_level_txt(tmp_path: Path):
    """A distribution built by hatchling has no ``top_level.txt``: its claim is in RECORD."""
    info = tmp_path / "generic-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.4\nName: generic\nVersion: 1.0\n")
    (info / "RECORD").write_text(
        "assets/__init__.py,,\nhelper.py,,\n_generic.pth,,\n../../../bin/generic,,\n"
        "generic-1.0.dist-info/METADATA,,\ngeneric-1.0.dist-info/RECORD,,\n"
    )
    assert top_level_names(Distribution.at(info)) == {"assets", "helper"}


def test_no_string_names_a_module_of_the_layer():
    """A module name written as a string (``python -m commands.cli``, an ``import_module``)
    is the checkout's: an installed wheel has the layer under ``resultatrapport_dagster``
    (hatch_build.py rewrites the imports, not strings). Derive it from ``__package__``."""
    wrong = []
    for module, path in ALL.items():
        if module.split(".")[0] == "resultatrapport":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and "." in node.value
                and node.value.split(":")[0] in ALL
                and node.value.split(".")[0] != "resultatrapport"  # the same in a wheel
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} names {node.value!r}")
    assert not wrong, "\n".join(wrong)
