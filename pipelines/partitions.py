"""The year partitions, defined in the assets layer (:mod:`assets.partitions`) from the
vocabulary's first year and time zone; named here too for the command line."""

from __future__ import annotations

from assets.partitions import YEARS, year_partitions
from resultatrapport.vocabulary import FIRST_YEAR

__all__ = ["FIRST_YEAR", "YEARS", "year_partitions"]
