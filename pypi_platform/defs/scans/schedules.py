"""Monday 02:00 UTC: one run per name bucket of this week's scan; scan_dataset follows when all have finished."""

import dagster as dg

from pypi_platform.defs.executors import fan_out_executor
from pypi_platform.lib.config import current_settings
from pypi_platform.lib.scans.state import BUCKETS

SCAN_JOB = "global_scan_job"


def global_scan_job(executor: dg.ExecutorDefinition | None):
    """The scan job, with the fan-out executor chosen by the settings."""
    return dg.define_asset_job(
        SCAN_JOB,
        selection=dg.AssetSelection.assets("global_scan"),
        description="Scan one name bucket of one scan date (launch a backfill to scan them all).",
        executor_def=executor,
    )


scan_dataset_job = dg.define_asset_job(
    "scan_dataset_job",
    selection=dg.AssetSelection.assets("scan_dataset"),
    description="Publish a scan date whose buckets have all finished.",
)


@dg.schedule(
    job_name=SCAN_JOB,
    cron_schedule="0 2 * * 1",
    execution_timezone="UTC",
    description="Monday 02:00 UTC: the 64 bucket runs of this week's scan; scan_dataset follows once all "
    "have finished.",
)
def global_scan_schedule(context: dg.ScheduleEvaluationContext):
    """The week's 64 bucket runs; the run queue and the ``scanner`` pool decide how many run at once."""
    week = context.scheduled_execution_time.date().isoformat()
    for bucket in range(BUCKETS):
        key = dg.MultiPartitionKey({"date": week, "bucket": f"{bucket:02d}"})
        yield dg.RunRequest(run_key=f"global-scan-{week}-{bucket:02d}", partition_key=key)


@dg.definitions
def defs() -> dg.Definitions:
    executor = fan_out_executor(current_settings().executor)
    return dg.Definitions(
        jobs=[global_scan_job(executor), scan_dataset_job], schedules=[global_scan_schedule]
    )
