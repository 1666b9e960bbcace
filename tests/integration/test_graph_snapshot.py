"""A snapshot of the asset graph: keys, dependencies, groups, partitions, checks, jobs,
schedules and sensors, as the code location builds them from the repository's contracts.

An unintended change of the graph fails here; an intended one is made by regenerating the
snapshot and is then reviewed in the diff of ``tests/snapshots/asset_graph.json``::

    RESULTATRAPPORT_UPDATE_SNAPSHOT=1 uv run pytest tests/integration/test_graph_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dagster import TimeWindowPartitionsDefinition

from pipelines.definitions import build_definitions

SNAPSHOT = Path(__file__).with_name("snapshots") / "asset_graph.json"


def _partitions(pd: Any) -> str | None:
    """A partitioning by what defines it, not by today's keys (a year opens on 1 January)."""
    if pd is None:
        return None
    if isinstance(pd, TimeWindowPartitionsDefinition):
        end = pd.end.date().isoformat() if pd.end else "open"
        return f"time window {pd.cron_schedule!r} from {pd.start.date().isoformat()} to {end}"
    return f"{type(pd).__name__}: {', '.join(pd.get_partition_keys())}"


def graph_snapshot() -> dict[str, Any]:
    repo = build_definitions(automation_running=False).get_repository_def()
    graph = repo.asset_graph
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "partitions": _partitions(node.partitions_def),
            "checks": sorted(c.name for c in node.check_keys),
        }
    jobs = {
        job.name: sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys)
        for job in sorted(repo.get_all_jobs(), key=lambda j: j.name)
        if not job.name.startswith("__")  # Dagster's implicit asset jobs
    }
    schedules = {
        s.name: {"cron": s.cron_schedule, "job": s.job_name, "timezone": s.execution_timezone}
        for s in sorted(repo.schedule_defs, key=lambda s: s.name)
    }
    sensors = {
        s.name: sorted(t.job_name for t in s.targets)
        for s in sorted(repo.sensor_defs, key=lambda s: s.name)
    }
    return {"assets": assets, "jobs": jobs, "schedules": schedules, "sensors": sensors}


def test_the_asset_graph_is_the_reviewed_one():
    current = graph_snapshot()
    text = json.dumps(current, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("RESULTATRAPPORT_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot: run with RESULTATRAPPORT_UPDATE_SNAPSHOT=1"
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    # compare part by part so a failure names what changed
    for part in ("assets", "jobs", "schedules", "sensors"):
        added = sorted(set(current[part]) - set(expected[part]))
        removed = sorted(set(expected[part]) - set(current[part]))
        assert not added and not removed, f"{part}: added {added}, removed {removed}"
        changed = [k for k in current[part] if current[part][k] != expected[part][k]]
        assert not changed, f"{part} changed: " + "; ".join(
            f"{k}: {expected[part][k]} -> {current[part][k]}" for k in changed[:5]
        )
