"""A hatch build hook for the wheel.

Every build (the editable one of ``make setup`` too) stamps the git revision of the checkout
as ``resultatrapport/_build_info.txt``, so an installed wheel or a container image without
``.git`` still names the revision it was built from (``resultatrapport.version``).

The standard wheel also carries the Dagster layer, the top-level folders of the checkout
(``pipelines/ assets/ resources/ commands/``, README: Layout), under one package of its own,
``resultatrapport_dagster``: an installed wheel claims no generic top-level name in
site-packages. The layer's imports of itself are rewritten to that package (located with
``ast``, rewritten where the import names the module), the console script points into it,
so does the module that the wheel's ``dagster.yaml`` (package data) names for the instance,
and the checkout is left as it is: an editable install (``make setup``) puts the repository
on the path and imports the folders from the top, as ever. The hook's settings (the layer's
folders, the package) are under ``[tool.hatch.build.targets.wheel.hooks.custom]``.
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import shutil
import subprocess
import tempfile
import tokenize
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

INIT = '''"""The Dagster layer of resultatrapport as an installed wheel carries it.

In the repository these are the top-level folders ``pipelines/``, ``assets/``, ``resources/``
and ``commands/`` (README: Layout); the wheel's build (``hatch_build.py``) puts them under
this package, with their imports of each other rewritten to it, so that an installed wheel
claims no generic top-level name. The code location: ``{package}.pipelines.definitions``.
"""
'''


def rewrite_imports(source: str, layer: tuple[str, ...], package: str, where: str = "") -> str:
    """``source`` with every absolute import of a ``layer`` module moved under ``package``:
    ``from assets.x import y`` → ``from <package>.assets.x import y``, ``import commands.cli
    as cli`` → ``import <package>.commands.cli as cli``, ``import assets`` → ``import
    <package>.assets as assets``. A relative import needs nothing; ``import pipelines.jobs``
    without ``as`` binds ``pipelines``, which no rewrite keeps, so it is refused."""
    tree = ast.parse(source)
    names = _name_tokens(source)
    lines = io.StringIO(source).readlines()  # as ast and tokenize count lines
    edits: list[tuple[int, int, int, str]] = []  # line (1-based), start col, end col, text
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in layer:
                line, col = _module_of(names, node)
                edits.append((line, col, col, f"{package}."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in layer:
                    continue
                if alias.asname is None and "." in alias.name:
                    raise ValueError(
                        f"{where}:{alias.lineno}: `import {alias.name}` binds "
                        f"`{alias.name.split('.')[0]}`, which {package} cannot keep; "
                        f"write `from {alias.name.rpartition('.')[0]} import "
                        f"{alias.name.rpartition('.')[2]}`"
                    )
                assert alias.end_col_offset is not None
                if alias.asname is None:  # `import assets` → `import <package>.assets as assets`
                    text = f"{package}.{alias.name} as {alias.name}"
                    edits.append((alias.lineno, alias.col_offset, alias.end_col_offset, text))
                else:  # the `as` part stays as written
                    edits.append((alias.lineno, alias.col_offset, alias.col_offset, f"{package}."))
    for line, start, end, text in sorted(edits, reverse=True):
        # ast's columns count UTF-8 bytes
        raw = lines[line - 1].encode("utf-8")
        lines[line - 1] = (raw[:start] + text.encode("utf-8") + raw[end:]).decode("utf-8")
    return "".join(lines)


DAGSTER_YAML = "resultatrapport/_data/dagster.yaml"


def rewrite_modules(config: str, layer: tuple[str, ...], package: str) -> str:
    """A Dagster instance configuration (``dagster.yaml``) with every ``module:`` of a
    ``layer`` module moved under ``package``: ``module: pipelines.instance_storage`` →
    ``module: <package>.pipelines.instance_storage``."""
    names = "|".join(re.escape(top) for top in layer)
    return re.sub(rf"^(\s*module:\s*)((?:{names})\.)", rf"\g<1>{package}.\g<2>", config, flags=re.M)


def _name_tokens(source: str) -> list[tuple[tuple[int, int], str]]:
    """The NAME tokens of ``source`` by position (line, UTF-8 byte column, as ast counts)."""
    found = []
    lines = io.StringIO(source).readlines()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME:
            row, col = token.start
            byte_col = len(lines[row - 1][:col].encode("utf-8"))
            found.append(((row, byte_col), token.string))
    return found


def _module_of(names: list[tuple[tuple[int, int], str]], node: ast.ImportFrom) -> tuple[int, int]:
    """Where the module name of a ``from module import …`` starts: the name after ``from``."""
    at = bisect.bisect_left(names, ((node.lineno, node.col_offset), ""))
    (position, keyword), (module_at, first) = names[at], names[at + 1]
    assert keyword == "from" and position == (node.lineno, node.col_offset), (node.lineno, keyword)
    assert node.module is not None and node.module.startswith(first), (node.lineno, first)
    return module_at


class BuildInfoHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self._scratch = Path(tempfile.mkdtemp(prefix="resultatrapport-build-"))
        stamp = self._scratch / "_build_info.txt"
        stamp.write_text(self._revision() + "\n", "utf-8")
        build_data["force_include"][str(stamp)] = "resultatrapport/_build_info.txt"
        self._scripts: dict[str, str] | None = None
        config = (Path(self.root) / "dagster.yaml").read_text("utf-8")
        if self.target_name == "wheel" and version == "standard":
            self._package_the_layer(build_data)
            config = rewrite_modules(config, tuple(self.config["layer"]), self.config["package"])
        # the instance's configuration as package data, with the module it names for the
        # instance (instance_class) where the wheel keeps it
        (self._scratch / "dagster.yaml").write_text(config, "utf-8")
        build_data["force_include"][str(self._scratch / "dagster.yaml")] = DAGSTER_YAML

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self._scripts is not None:  # the checkout's scripts again, for any later build
            scripts = self.metadata.core.scripts
            scripts.clear()
            scripts.update(self._scripts)
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _revision(self) -> str:
        try:
            return subprocess.run(
                ["git", "describe", "--always", "--dirty", "--abbrev=12"],
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""  # built from a source tree without git: the version says so

    def _package_the_layer(self, build_data: dict[str, Any]) -> None:
        layer = tuple(self.config["layer"])
        package = self.config["package"]
        root = Path(self.root)
        target = self._scratch / package
        target.mkdir()
        (target / "__init__.py").write_text(INIT.format(package=package), "utf-8")
        for folder in layer:
            for path in sorted((root / folder).rglob("*")):
                relative = path.relative_to(root)
                if not path.is_file() or "__pycache__" in relative.parts:
                    continue
                copy = target / relative
                copy.parent.mkdir(parents=True, exist_ok=True)
                if path.suffix == ".py":
                    source = path.read_text("utf-8")
                    copy.write_text(rewrite_imports(source, layer, package, str(relative)), "utf-8")
                else:
                    shutil.copyfile(path, copy)
        build_data["force_include"][str(target)] = package
        # the console scripts name the layer's modules as the checkout has them; in the wheel
        # they are under the package (hatchling writes entry_points.txt from these)
        scripts = self.metadata.core.scripts
        self._scripts = dict(scripts)
        for name, reference in scripts.items():
            if reference.split(".")[0].split(":")[0] in layer:
                scripts[name] = f"{package}.{reference}"
