"""Output files and the sign-off record: names, versions, and writing that never half-writes.

Layout (``shared/formats/submissions.md``)::

    <out>/<contract-id>/<YYYY>/aarsrapport_<id>_<YYYY>_udkast.pdf   latest draft (replaced)
    <out>/<contract-id>/<YYYY>/aarsrapport_<id>_<YYYY>_v<N>.pdf      signed version N (once)
    <out>/<contract-id>/<YYYY>/resultatopfyldelse_<id>_<YYYY>_v<N>.csv
    <out>/<contract-id>/<YYYY>/kommunefordeling_<id>_<YYYY>_v<N>.csv

A draft is replaced atomically (temporary file + rename). A signed version's files are
each written in full and hard-linked into place, which fails rather than replace an
existing file; the sign-off is recorded in the warehouse only after all its files are in
place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from resultatrapport.report.files import write_atomically

SIGNOFFS_DDL = """
CREATE TABLE IF NOT EXISTS report.signoffs (
    contract VARCHAR NOT NULL, year INTEGER NOT NULL, version INTEGER NOT NULL,
    signed_by VARCHAR NOT NULL, signed_at TIMESTAMP NOT NULL, data_hash VARCHAR NOT NULL,
    draft_sha256 VARCHAR NOT NULL, files JSON NOT NULL, run_id VARCHAR,
    PRIMARY KEY (contract, year, version)
)"""
DRAFTS_DDL = """
CREATE TABLE IF NOT EXISTS report.drafts (
    contract VARCHAR NOT NULL, year INTEGER NOT NULL, data_hash VARCHAR NOT NULL,
    pdf_sha256 VARCHAR NOT NULL, pages INTEGER NOT NULL, path VARCHAR NOT NULL,
    blocking_failures JSON NOT NULL, rendered_at TIMESTAMP NOT NULL, run_id VARCHAR,
    PRIMARY KEY (contract, year)
)"""


class SignOffRefused(Exception):
    """A sign-off that must not happen; the message says why, in Danish."""


def ensure_report_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS report")
    con.execute(SIGNOFFS_DDL)
    con.execute(DRAFTS_DDL)


def year_dir(out: Path, contract_id: str, year: int) -> Path:
    return out / contract_id / str(year)


def draft_name(contract_id: str, year: int) -> str:
    return f"aarsrapport_{contract_id}_{year}_udkast.pdf"


def version_names(contract_id: str, year: int, version: int) -> dict[str, str]:
    return {
        "report": f"aarsrapport_{contract_id}_{year}_v{version}.pdf",
        "resultatopfyldelse": f"resultatopfyldelse_{contract_id}_{year}_v{version}.csv",
        "kommunefordeling": f"kommunefordeling_{contract_id}_{year}_v{version}.csv",
    }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def publish_once(directory: Path, files: dict[str, bytes]) -> None:
    """Put new files into ``directory``; refuse (and write nothing) if any exists already.

    Each file is written in full and linked to its name, which never replaces an existing
    file: a signed version is written once and never changed. If one file cannot be
    written, the ones already in place are taken back, so a version is whole or absent."""
    directory.mkdir(parents=True, exist_ok=True)
    clash = [name for name in files if (directory / name).exists()]
    if clash:
        raise FileExistsError(f"findes allerede og erstattes aldrig: {', '.join(clash)}")
    written: list[Path] = []
    try:
        for name, data in files.items():
            write_atomically(directory / name, data, replace=False)
            written.append(directory / name)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def existing_versions(directory: Path, contract_id: str, year: int) -> set[int]:
    """Versions with any file on disk (a sign-off cut off before it was recorded included)."""
    pattern = re.compile(rf"_{re.escape(contract_id)}_{year}_v(\d+)\.(pdf|csv)$")
    if not directory.is_dir():
        return set()
    return {int(m.group(1)) for p in directory.iterdir() if (m := pattern.search(p.name))}


@dataclass(frozen=True)
class SignOff:
    version: int
    signed_by: str
    signed_at: dt.datetime
    data_hash: str
    draft_sha256: str
    files: dict[str, str]  # file name -> sha256


def latest_signoff(con: duckdb.DuckDBPyConnection, contract_id: str, year: int) -> SignOff | None:
    row = con.execute(
        "SELECT version, signed_by, signed_at, data_hash, draft_sha256, files FROM "
        "report.signoffs WHERE contract = $c AND year = $y ORDER BY version DESC LIMIT 1",
        {"c": contract_id, "y": year},
    ).fetchone()
    if row is None:
        return None
    return SignOff(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))


def latest_draft(con: duckdb.DuckDBPyConnection, contract_id: str, year: int) -> dict[str, Any]:
    cursor = con.execute(
        "SELECT * FROM report.drafts WHERE contract = $c AND year = $y",
        {"c": contract_id, "y": year},
    )
    row = cursor.fetchone()
    if row is None:
        return {}
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def record_draft(
    con: duckdb.DuckDBPyConnection,
    contract_id: str,
    year: int,
    data_hash: str,
    pdf: bytes,
    pages: int,
    path: Path,
    failures: list[str],
    run_id: str | None,
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO report.drafts VALUES ($c, $y, $h, $s, $p, $path, $f, "
        "now()::TIMESTAMP, $r)",
        {
            "c": contract_id,
            "y": year,
            "h": data_hash,
            "s": sha256(pdf),
            "p": pages,
            "path": str(path),
            "f": json.dumps(failures, ensure_ascii=False),
            "r": run_id,
        },
    )


def record_signoff(
    con: duckdb.DuckDBPyConnection,
    contract_id: str,
    year: int,
    signoff: SignOff,
    run_id: str | None,
) -> None:
    con.execute(
        "INSERT INTO report.signoffs VALUES ($c, $y, $v, $by, $at, $h, $d, $f, $r)",
        {
            "c": contract_id,
            "y": year,
            "v": signoff.version,
            "by": signoff.signed_by,
            "at": signoff.signed_at,
            "h": signoff.data_hash,
            "d": signoff.draft_sha256,
            "f": json.dumps(signoff.files),
            "r": run_id,
        },
    )
