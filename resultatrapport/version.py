"""The code version a report's provenance names: the package version from its metadata and
the git revision it was built from.

From a checkout (``.git`` beside the package) the revision is ``git describe`` of it, with
``-dirty`` for uncommitted changes; from a wheel or a container image (no ``.git``) it is the
revision the build stamped into the package (``_build_info.txt``, written by
``hatch_build.py``); where neither is known the version says so instead of passing the
package version off as a revision.
"""

from __future__ import annotations

import hashlib
import subprocess
from functools import cache
from importlib import metadata, resources
from pathlib import Path

from resultatrapport.settings import PROJECT_ROOT, templates_dir

DISTRIBUTION = "resultatrapport"
BUILD_INFO = "_build_info.txt"  # written into the wheel at build (hatch_build.py)


def package_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def git_revision() -> str | None:
    """``git describe`` of the checkout the package runs from; None without one."""
    if not (PROJECT_ROOT / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def stamped_revision() -> str | None:
    """The revision written into the package when it was built; None where none was."""
    stamped = resources.files(DISTRIBUTION).joinpath(BUILD_INFO)
    if not stamped.is_file():
        return None
    return stamped.read_text("utf-8").strip() or None


@cache
def code_version() -> str:
    """``0.1.0 (b8ac4d7e1f2a)``; ``0.1.0 (revision ukendt)`` where it is unknown. The
    report prints it as it is, so it is in Danish and names no internal package."""
    revision = git_revision() or stamped_revision() or "revision ukendt"
    return f"{package_version()} ({revision})"


def _code_files() -> list[tuple[str, Path]]:
    """The files whose content decides what the pipeline reads, computes and draws, each
    with its name under its folder: the library (reference lists included) and the report
    templates in use."""
    package = Path(__file__).resolve().parent
    folders = [package]
    templates = templates_dir().resolve()
    if not templates.is_relative_to(package):
        folders.append(templates)
    return sorted(
        (f"{folder.name}/{p.relative_to(folder).as_posix()}", p)
        for folder in folders
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


@cache
def code_identity() -> str:
    """What the recorded work of an earlier run (a delivery judged, a KPI computed, a draft
    drawn) must have been done by to be kept instead of done again: :func:`code_version`
    and a SHA-256 of the library's files and the templates. The revision alone is not
    enough: a checkout with uncommitted changes keeps the same ``-dirty`` revision through
    every edit, and the templates can be a folder of their own (a few milliseconds, once per
    process)."""
    digest = hashlib.sha256(code_version().encode())
    for name, path in _code_files():
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return f"{code_version()} {digest.hexdigest()[:16]}"
