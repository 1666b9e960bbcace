"""The reporting deadline as an alert: check ``report/<contract>/signed:deadline``.

Per report year (one evaluation per partition) it judges the year's earliest deadline
(:func:`resultatrapport.report.deadlines.judge`) on the day of the ``clock`` resource:
skipped (no result: the UI shows "skipped") while the deadline is more than
``settings.deadline_warning_days`` away and nothing is signed; WARN from then on while the
year has no signed final version; ERROR after the deadline, and then the check's run fails
(the check is blocking), which is what an instance's run-failure alerting sees; passed once
the year is signed. It is evaluated by its own job ``deadline_<contract>``, a run without a
partition that judges every contract year, which the daily schedule of the same name
launches (``pipelines/automation.py``); not by the contract's job: a report run for an old
year must not fail because the year was never signed.
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    Output,
    TimeWindowPartitionsDefinition,
    multi_asset_check,
)

from assets.common import WAREHOUSE_POOL
from assets.report import report_key
from resources import Clock, Warehouse
from resultatrapport.contracts import Contract
from resultatrapport.report import deadlines

CHECK = "deadline"


def build_deadline_check(
    contract: Contract, partitions: TimeWindowPartitionsDefinition
) -> AssetChecksDefinition:
    signed_key = report_key(contract, "signed")
    check_key = AssetCheckKey(signed_key, CHECK)
    days = contract.settings.deadline_warning_days

    # may yield no evaluation for a year (can_subset): far from its deadline there is nothing
    # to judge, and the UI shows it as skipped instead of a green "passed"
    @multi_asset_check(
        name=f"signed_deadline_{contract.scope}",
        specs=[
            AssetCheckSpec(
                CHECK,
                asset=signed_key,
                partitions_def=partitions,
                blocking=True,
                description=f"The year's report is signed by its reporting deadline "
                f"(contract file: reporting.deadlines): skipped while the deadline is more than "
                f"{days} days away, warns from then on while the year has no signed final "
                "version, fails after the deadline, passes once signed.",
            )
        ],
        can_subset=True,
        pool=WAREHOUSE_POOL,
    )
    def deadline(
        context: AssetCheckExecutionContext, warehouse: Warehouse, clock: Clock
    ) -> Iterator[Any]:
        today = clock.date()
        years = (
            [int(key) for key in context.partition_keys]
            if context.has_partition_key or context.has_partition_key_range
            else contract.years  # the daily run: every year, each judged on its own
        )
        with warehouse.connect() as con:
            signed = {year: deadlines.final_signed(con, contract, year) for year in years}
        # one evaluation per year, each naming its partition (an AssetCheckResult of a range
        # run would be recorded for no partition); the output once
        output = context.op_execution_context.assets_def.get_output_name_for_asset_check_key
        yield Output(None, output_name=output(check_key))
        for year in years:
            judged = deadlines.judge(contract, year, signed[year], today)
            context.log.info(f"{year}: {judged.message}")
            if judged.level == "far":
                continue
            yield AssetCheckEvaluation(
                asset_key=signed_key,
                check_name=CHECK,
                passed=judged.passed,
                severity=AssetCheckSeverity.ERROR
                if judged.level == "overdue"
                else AssetCheckSeverity.WARN,
                description=judged.message,
                metadata={
                    "deadline": MetadataValue.text(judged.deadline.isoformat()),
                    "warn_from": MetadataValue.text(judged.warn_from.isoformat()),
                    "judged_on": MetadataValue.text(today.isoformat()),
                    "state": judged.level,
                },
                blocking=True,
                partition=str(year),
            )

    return deadline
