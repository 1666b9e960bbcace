"""The national overview of every hub's submissions: ``national/maalopfyldelse``.

One asset, partitioned by the framework agreements' years, in the group ``national``: it reads
the folder of received submissions (the ``submissions`` resource) and writes
``<out>/national/<YYYY>/maalopfyldelse_national_<YYYY>.csv`` and ``.pdf``
(:mod:`resultatrapport.national`; ``shared/formats/national.md``). It reads no warehouse:
the submissions are the other hubs' published files. Two checks:

- ``hubs_received`` (WARN): every hub's submission for the year is in, in valid form, and
  the folder holds nothing unread; else each refused file with its line and column, each
  hub not received and each stray entry.
- ``schema_valid`` (blocking): the written CSV against its shipped table schema.
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.common import Outcome, check_events
from assets.partitions import year_partitions
from resources import Renderer, Submissions
from resultatrapport.naming import NATIONAL, national_path
from resultatrapport.national import output
from resultatrapport.national.framework import Framework
from resultatrapport.national.received import RECEIVED
from resultatrapport.report.files import OutputNotWritable
from resultatrapport.report.submissions import MAALOPFYLDELSE_NATIONAL, validate_csv

RECEIVED_CHECK = "hubs_received"
SCHEMA_CHECK = "schema_valid"
ANALYSTS = "team:national-analysts"


def national_key() -> AssetKey:
    return AssetKey(national_path("maalopfyldelse"))


def national_partitions(frameworks: list[Framework]):
    """A year per framework year, from the first framework's first to the last one's last."""
    first = min(f.period.first for f in frameworks)
    last = max(f.period.last for f in frameworks)
    return year_partitions(first, last + 1)


def _pooled_table(written: output.Written) -> str:
    """The pooled row of each measure, as Markdown for the UI."""
    lines = ["| Mål | Alle erhvervshuse | Mål | Status | Huse |", "|---|---|---|---|---|"]
    for measure in written.overview.framework.measures:
        pooled = written.overview.lines[measure.id][-1]
        target = output.target_text(pooled) or "–"
        lines.append(
            f"| {measure.id} | {output.printed(pooled.value)} | {target} | {pooled.status} "
            f"| {pooled.source or '–'} |"
        )
    return "\n".join(lines)


def build_national_asset(frameworks: list[Framework]) -> AssetsDefinition:
    key = national_key()
    partitions = national_partitions(frameworks)

    @asset(
        key=key,
        partitions_def=partitions,
        group_name=NATIONAL,
        kinds={"csv", "pdf"},
        owners=[ANALYSTS],
        description=(
            "Erhvervshusenes målopfyldelse: every hub's resultatopfyldelse of the year (the "
            "highest version received) and one pooled row per national measure of the "
            "framework agreement (contracts/national/), as a CSV and an accessible PDF in "
            "<out>/national/<YYYY>/. Reads the folder of received submissions, no warehouse."
        ),
        tags={"stage": NATIONAL},
        check_specs=[
            AssetCheckSpec(
                RECEIVED_CHECK,
                asset=key,
                partitions_def=partitions,
                description="Every hub's submission of the year is received in valid form and "
                "the folder holds nothing unread; warns naming each refused file (line and "
                "column), each hub not received and each stray entry.",
            ),
            AssetCheckSpec(
                SCHEMA_CHECK,
                asset=key,
                partitions_def=partitions,
                blocking=True,
                description="The written CSV matches its shipped table schema "
                "(resultatrapport/report/schemas/maalopfyldelse_national.schema.json).",
            ),
        ],
    )
    def maalopfyldelse(
        context: AssetExecutionContext, submissions: Submissions, renderer: Renderer
    ) -> Iterator[Any]:
        year = int(context.partition_key)
        try:
            written = output.write(submissions.existing_root(), year, renderer.root)
        except output.NationalError as refused:
            raise Failure(description=str(refused), allow_retries=False) from None
        except OutputNotWritable as error:  # a full disk is tried again, the others are not
            raise Failure(description=str(error), allow_retries=error.transient) from error
        received = written.received
        problems = received.problems()
        context.log.info(f"Written: {written.csv} and {written.pdf} ({written.pages} pages)")
        yield MaterializeResult(
            metadata={
                "path": MetadataValue.path(str(written.pdf)),
                "csv": MetadataValue.path(str(written.csv)),
                "pages": written.pages,
                "hubs_received": sum(h.state == RECEIVED for h in received.hubs),
                "hubs": MetadataValue.json(
                    {
                        h.name: f"{h.state}: {h.file_name}" if h.file else h.state
                        for h in received.hubs
                    }
                ),
                "pooled": MetadataValue.md(_pooled_table(written)),
                "csv_sha256": written.csv_sha256,
                "pdf_sha256": written.pdf_sha256,
            }
        )
        partition = context.partition_key
        yield from check_events(
            context,
            key,
            RECEIVED_CHECK,
            {
                partition: Outcome(
                    passed=not problems,
                    description="; ".join(problems[:3]) or "Alle huse er modtaget i gyldig form.",
                    metadata={"problems": MetadataValue.json(problems[:50])},
                )
            },
        )
        found = validate_csv(MAALOPFYLDELSE_NATIONAL, written.csv)
        yield from check_events(
            context,
            key,
            SCHEMA_CHECK,
            {
                partition: Outcome(
                    passed=not found,
                    description=found[0] if found else "CSV-filen overholder sit skema.",
                    metadata={"problems": MetadataValue.json(found[:20])},
                    severity=AssetCheckSeverity.ERROR,
                )
            },
            blocking=True,
        )

    return maalopfyldelse
