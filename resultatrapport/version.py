"""The code version a report's provenance names: the package version from its metadata and
the git revision it was built from.

From a checkout (``.git`` beside the package) the revision is ``git describe`` of it, with
``-dirty`` for uncommitted changes; from a wheel or a container image (no ``.git``) it is the
revision the build stamped into the package (``_build_info.txt``, written by
``hatch_build.py``); where neither is known the version says so instead of passing the
package version off as a revision.
"""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata, resources

from resultatrapport.settings import PROJECT_ROOT

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
