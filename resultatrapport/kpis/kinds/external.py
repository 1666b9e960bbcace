"""Kind ``external``: a goal set outside the material the project has."""

from __future__ import annotations

import duckdb

from resultatrapport.contract_base import KindContract, KindKpi, NonEmpty, Strict
from resultatrapport.kpis.kinds.base import Kind, Measure


class ExternalParams(Strict):
    """A goal set outside the material the project has: never measurable, with the reason."""

    reason: NonEmpty


def measure(
    con: duckdb.DuckDBPyConnection, contract: KindContract, kpi: KindKpi[ExternalParams], year: int
) -> Measure:
    return Measure(None, remark=kpi.params.reason)


KIND = Kind(
    name="external",
    params=ExternalParams,
    measure=measure,
    sources=frozenset(),
    any_source=True,  # whatever the outside goal rests on
    unit=None,  # whatever the outside goal is measured in
    description=ExternalParams.__doc__ or "",
)
