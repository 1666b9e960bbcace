"""The KPI kinds: one module per kind, each declaring its parameters, the sources it reads
and how many years back, its unit and value range, its computation, its detail table and its
charts (:class:`~resultatrapport.kpis.kinds.base.Kind`).

:data:`KINDS` is the one list of them: the contract schema, the computation, the asset
lineage, the report and the benchmark all ask it. A new kind is a new module here and one
line below.
"""

from __future__ import annotations

from resultatrapport.kpis.kinds import (
    activity,
    count,
    effect,
    external,
    fte,
    nps,
    share,
    spread,
    weighted_share,
    young_firms,
)
from resultatrapport.kpis.kinds.base import Kind, Measure

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        count.KIND,
        young_firms.KIND,
        share.KIND,
        weighted_share.KIND,
        nps.KIND,
        fte.KIND,
        effect.KIND,
        spread.KIND,
        activity.KIND,
        external.KIND,
    )
}

__all__ = ["KINDS", "Kind", "Measure"]
