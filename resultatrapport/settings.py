"""Where things live. Resolved when asked (when a resource is built), never at import.

Each location is an environment variable with a default under a ``var/`` folder in the
working directory (``$RESULTATRAPPORT_HOME`` instead, where set): run from the checkout, as the
README's commands are, that is the repository's ignored ``var/``, so a fresh clone works with
no configuration at all; an installed wheel never writes inside site-packages.

The project's own files (the contract files, the report templates, the Dagster instance's
``dagster.yaml``) live at the top of the repository; a wheel carries copies of them as
package data (``resultatrapport/_data/``, see ``pyproject.toml``), used where the checkout's
are not there (an installed wheel, a container image).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

ENV_HOME = "RESULTATRAPPORT_HOME"

ENV_INBOX = "RESULTATRAPPORT_INBOX"
ENV_WAREHOUSE = "RESULTATRAPPORT_WAREHOUSE"
ENV_OUT = "RESULTATRAPPORT_OUT"
# the folder of every hub's received submissions (shared/formats/national.md): the national
# overview's input
ENV_SUBMISSIONS = "RESULTATRAPPORT_SUBMISSIONS"
# work kept to be reused, never published: the report's charts by the hash of their inputs,
# the deliveries' content hashes by their files' stat (resultatrapport/file_hashes.py)
ENV_CACHE = "RESULTATRAPPORT_CACHE"
ENV_MEMORY = "RESULTATRAPPORT_DUCKDB_MEMORY"
ENV_CONTRACTS = "RESULTATRAPPORT_CONTRACTS"
ENV_TEMPLATES = "RESULTATRAPPORT_TEMPLATES"
# whether the schedules and sensors start running by themselves: "running" in production
# (deploy/production.env), "stopped" (the default) on a laptop, where `dg dev` would otherwise
# queue an ingestion run per year of deliveries at once; either way they can be switched on
# and off one by one in the UI (Automation)
ENV_AUTOMATION = "RESULTATRAPPORT_AUTOMATION"
AUTOMATION_STATES = ("running", "stopped")
# whether the generated example contracts (contracts/examples/: the five hubs beside KKR
# Midtjylland, for trying the national overview) are loaded with the real ones: "1" to try
# them; unset (the default, and production) they are not, so no deadline, schedule or asset of
# a made-up contract ever runs beside the real ones
ENV_EXAMPLE_CONTRACTS = "RESULTATRAPPORT_EXAMPLE_CONTRACTS"

# DuckDB's own default is 80 % of the machine's memory; the warehouse is capped so that a run
# at national scale stays within a few GiB beside Python and spills big joins to disk instead
DEFAULT_DUCKDB_MEMORY = "2GB"


def var_dir() -> Path:
    """Where the default locations live: ``$RESULTATRAPPORT_HOME/var``, else ``var/`` in the
    working directory (never beside the code, which an installed wheel keeps in site-packages)."""
    home = os.environ.get(ENV_HOME, "")
    return (Path(home).expanduser() if home else Path.cwd()).resolve() / "var"


def _path(env: str, default: Path, configured: str = "") -> Path:
    value = configured or os.environ.get(env, "")
    return Path(value).expanduser().resolve() if value else default


def inbox_dir(configured: str = "") -> Path:
    return _path(ENV_INBOX, var_dir() / "inbox", configured)


def warehouse_path(configured: str = "") -> Path:
    return _path(ENV_WAREHOUSE, var_dir() / "warehouse.duckdb", configured)


def out_dir(configured: str = "") -> Path:
    return _path(ENV_OUT, var_dir() / "out", configured)


def cache_dir(configured: str = "") -> Path:
    return _path(ENV_CACHE, var_dir() / "cache", configured)


def submissions_dir(configured: str = "") -> Path:
    return _path(ENV_SUBMISSIONS, var_dir() / "submissions", configured)


def project_file(name: str) -> Path:
    """``name`` at the top of the checkout, else the copy the wheel carries as package data."""
    checkout = PROJECT_ROOT / name
    if checkout.exists():
        return checkout
    return Path(str(resources.files("resultatrapport").joinpath("_data", name)))


def contracts_dir(configured: str = "") -> Path:
    """The folder of contract files: ``$RESULTATRAPPORT_CONTRACTS``, else ``contracts/``."""
    return _path(ENV_CONTRACTS, project_file("contracts"), configured)


def example_contracts() -> bool:
    """Whether the contract folder's ``examples/`` are loaded too (``$RESULTATRAPPORT_EXAMPLE_
    CONTRACTS``: ``1`` yes; unset, empty or ``0`` no)."""
    value = os.environ.get(ENV_EXAMPLE_CONTRACTS, "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"${ENV_EXAMPLE_CONTRACTS} is {value!r}; it must be 1 or 0 (or unset)")
    return value == "1"


def templates_dir(configured: str = "") -> Path:
    """The report templates: ``$RESULTATRAPPORT_TEMPLATES``, else ``report_templates/``."""
    return _path(ENV_TEMPLATES, project_file("report_templates"), configured)


def dagster_yaml() -> Path:
    """The Dagster instance configuration a fresh Dagster home gets."""
    return project_file("dagster.yaml")


def dagster_home() -> Path:
    return _path("DAGSTER_HOME", var_dir() / "dagster_home")


def duckdb_config(memory_limit: str = "") -> dict[str, str | bool | int | float | list[str]]:
    """Connection settings every warehouse connection uses (the pipeline's and the
    benchmark's limit alike). DuckDB never fetches or loads an extension by itself: there is
    no network in CI or in production, and the lake's two are loaded from their wheels by path
    (:mod:`resultatrapport.lake`)."""
    return {
        "memory_limit": memory_limit or os.environ.get(ENV_MEMORY, "") or DEFAULT_DUCKDB_MEMORY,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
    }


def automation_running() -> bool:
    """Whether schedules and sensors default to running (read when the definitions are built)."""
    value = os.environ.get(ENV_AUTOMATION, "").strip().lower() or "stopped"
    if value not in AUTOMATION_STATES:
        raise ValueError(
            f"${ENV_AUTOMATION} is {value!r}; it must be one of {', '.join(AUTOMATION_STATES)}"
        )
    return value == "running"
