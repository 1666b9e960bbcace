"""Sending a hub's signed submissions to the recipients' folder of every hub's submissions:
``<to>/<hub-slug>/resultatopfyldelse_<contract-id>_<YYYY>_v<N>.csv``, the layout the national
overview reads (``docs/formats/national.md``), the hub's folder its organisation's slug.

Only signed versions are sent, as the warehouse records them (``report.signoffs``): each
version's ``resultatopfyldelse`` file in the output folder, checked against the SHA-256 its
sign-off recorded. Every version is sent, not only the newest (the overview counts the highest
and names those it replaced). A file already in the recipients' folder is never replaced: the
same content is left as it is (sent before), other content is refused. Each file is written
to a temporary name and renamed, so a reader of the folder never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from resultatrapport.contracts import Contract
from resultatrapport.report import publish

KIND = "resultatopfyldelse"


@dataclass(frozen=True)
class Sent:
    """One signed version's file in the recipients' folder: ``new`` (sent now) or not
    (the same file was there already)."""

    contract: str
    version: int
    path: Path
    new: bool


class SubmitRefused(Exception):
    """A version that cannot be sent; the message says why in one Danish line."""


def submit(
    con: duckdb.DuckDBPyConnection, out: Path, contract: Contract, year: int, to: Path
) -> list[Sent]:
    """Send every signed version of ``contract``'s ``year`` from the output folder ``out`` to
    ``to/<organisation slug>/``, oldest first; none when nothing is signed.
    :class:`SubmitRefused` for a version whose file is missing or not what its sign-off
    recorded, or when the recipients' folder holds other content under its name (the versions
    before it are sent)."""
    folder = to / contract.organisation.slug
    sent = []
    try:
        signed = publish.signoffs(con, contract.id, year)
    except duckdb.CatalogException:  # a warehouse where nothing was ever signed
        signed = {}
    for version, signoff in signed.items():
        name = publish.version_names(contract.id, year, version)[KIND]
        source = publish.year_dir(out, contract.id, year) / name
        try:
            data = source.read_bytes()
        except OSError:
            raise SubmitRefused(
                f"{name}: den godkendte fil findes ikke i {source.parent}; intet sendt for v{version}"
            ) from None
        if publish.sha256(data) != signoff.files.get(name):
            raise SubmitRefused(
                f"{name}: filen er ændret, siden v{version} blev godkendt; den sendes ikke"
            )
        target = folder / name
        if target.exists():
            if target.read_bytes() != data:
                raise SubmitRefused(
                    f"{target}: modtagerens mappe har en anden fil med samme navn; den "
                    "erstattes ikke"
                )
            sent.append(Sent(contract.id, version, target, new=False))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as written:
                written.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        sent.append(Sent(contract.id, version, target, new=True))
    return sent
