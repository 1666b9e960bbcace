"""What the folder resources (the inbox, the received submissions) share."""

from __future__ import annotations

from pathlib import Path

from dagster import Failure


def must_exist(root: Path, missing: str) -> Path:
    """``root``, or a step failure (no retry) saying ``missing`` where it is no folder: a
    wrong folder must never read as every file in it missing."""
    if not root.is_dir():
        raise Failure(description=missing, allow_retries=False)
    return root
