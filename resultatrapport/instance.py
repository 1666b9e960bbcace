"""The Dagster instance the CLI and `make dev` use."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from resultatrapport import settings


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME, or var/dagster_home with the repository's dagster.yaml in it."""
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    repo_config = settings.PROJECT_ROOT / "dagster.yaml"
    fresh = not config.exists() or config.read_bytes() != repo_config.read_bytes()
    if "DAGSTER_HOME" not in os.environ and repo_config.exists() and fresh:
        shutil.copyfile(repo_config, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
