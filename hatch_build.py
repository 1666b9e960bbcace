"""A hatch build hook: stamps the git revision of the checkout into the wheel as
``resultatrapport/_build_info.txt``, so an installed wheel or a container image without
``.git`` still names the revision it was built from (``resultatrapport.version``)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class BuildInfoHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        try:
            revision = subprocess.run(
                ["git", "describe", "--always", "--dirty", "--abbrev=12"],
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            revision = ""  # built from a source tree without git: the version says so
        stamp = Path(tempfile.mkdtemp(prefix="resultatrapport-build-")) / "_build_info.txt"
        stamp.write_text(revision + "\n", "utf-8")
        build_data["force_include"][str(stamp)] = "resultatrapport/_build_info.txt"
