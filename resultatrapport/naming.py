"""The names the orchestration gives things, declared once: asset-key paths and job names.

Plain strings and tuples (the library imports no Dagster); the assets layer turns a path
into an ``AssetKey``, the pipelines layer names its jobs with these. A key part is a name
with ``-`` → ``_`` (a contract's :attr:`~resultatrapport.contracts.Contract.scope`, an
organisation's slug).
"""

from __future__ import annotations

from resultatrapport.contracts import Contract
from resultatrapport.formats import SourceFormat

# the first part of an asset key: the stage (the ingestion stages are also group names)
RAW = "raw"
INGEST = "ingest"
KPI = "kpi"
BUDGET = "budget"
REPORT = "report"
SUBMISSION = "submission"
# the national overview of every hub's submissions (its asset group and job, too)
NATIONAL = "national"

KeyPath = tuple[str, ...]


def key_part(name: str) -> str:
    """A name as a part of an asset key or a job name: ``viborg-ver-2020`` → ``viborg_ver_2020``."""
    return name.replace("-", "_")


# --- asset keys -----------------------------------------------------------------------------


def source_scope(fmt: SourceFormat, org: str | None) -> str:
    """The middle part of a delivery's keys: the organisation, or the register it comes from."""
    if org:
        return key_part(org)
    return "erst" if fmt.path.startswith("erst/") else "register"


def raw_path(fmt: SourceFormat, org: str | None) -> KeyPath:
    return (RAW, source_scope(fmt, org), fmt.name)


def ingest_path(fmt: SourceFormat, org: str | None) -> KeyPath:
    return (INGEST, source_scope(fmt, org), fmt.name)


def texts_path(contract: Contract) -> KeyPath:
    """The report owner's texts: ingested per organisation, one asset per contract."""
    return (INGEST, key_part(contract.organisation.slug), "report_texts", contract.scope)


def kpi_path(contract: Contract, asset_name: str) -> KeyPath:
    return (KPI, contract.scope, asset_name)


def budget_path(contract: Contract) -> KeyPath:
    return (BUDGET, contract.scope, "distribution")


def report_path(contract: Contract, name: str) -> KeyPath:
    return (REPORT, contract.scope, name)


def submission_path(contract: Contract, name: str) -> KeyPath:
    return (SUBMISSION, contract.scope, name)


def national_path(name: str) -> KeyPath:
    return (NATIONAL, name)


# --- jobs -----------------------------------------------------------------------------------

# every ingestion asset, for any year: what the schedules and the inbox sensor launch
INGEST_ALL = "ingest_all"


def job_name(contract_id: str) -> str:
    """A contract's job: its report for a year (KPIs to draft)."""
    return "contract_" + key_part(contract_id)


def ingestion_job_name(contract_id: str) -> str:
    """The ingestion a contract's assets read."""
    return "ingest_" + key_part(contract_id)


def signoff_job_name(contract_id: str) -> str:
    return "signoff_" + key_part(contract_id)


def deadline_job_name(contract_id: str) -> str:
    """The check of a contract's reporting deadline (and its daily schedule)."""
    return "deadline_" + key_part(contract_id)
