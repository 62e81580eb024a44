"""Failed days of daily_downloads are loaded again until they succeed.

The 01:00 schedule reloads yesterday and the two days before it, and the daemon retries a failed run once, at
once: a day whose source stays broken longer (a corrupt log file mended days later) would stay failed for good.
Every six hours this sensor loads again, in one run, the days of the last two weeks whose last load failed; days
that were never loaded are gaps an operator backfills, not failures, and are left alone.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from pypi_platform.defs.downloads.assets import daily_partitions
from pypi_platform.defs.downloads.schedules import daily_downloads_job
from pypi_platform.lib.config import current_settings

RETRY_DAYS = 14  # older failures are an operator's backfill: BigQuery bills each retry
RETRY_EVERY = timedelta(hours=6)
DAILY_DOWNLOADS = dg.AssetKey("daily_downloads")


def failed_days(
    instance: dg.DagsterInstance, partitions: dg.DailyPartitionsDefinition, now: datetime
) -> list[str]:
    """The complete days of the last RETRY_DAYS whose latest load failed, oldest first."""
    today = now.astimezone(UTC).date()
    candidates = [
        key
        for key in partitions.get_partition_keys(current_time=now)
        if today - timedelta(days=RETRY_DAYS) <= datetime.fromisoformat(key).date() < today
    ]
    statuses = instance.get_status_by_partition(DAILY_DOWNLOADS, candidates, partitions) or {}
    return [key for key in candidates if statuses.get(key) == dg.AssetPartitionStatus.FAILED]


def build_retry_sensor(partitions: dg.DailyPartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="daily_downloads_retry_sensor",
        job_name=daily_downloads_job.name,
        minimum_interval_seconds=int(RETRY_EVERY.total_seconds()),
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Every 6 hours, loads again each day of the last 14 whose last load of daily_downloads "
        "failed (a broken log file mended later); days never loaded are left to an operator's backfill.",
    )
    def daily_downloads_retry_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        now = datetime.now(UTC)
        # One attempt per day and six-hour slot: a restarted daemon does not ask for the same retry twice.
        slot = int(now.timestamp() // RETRY_EVERY.total_seconds())
        days = failed_days(context.instance, partitions, now)
        if not days:
            return dg.SensorResult(run_requests=[], cursor=now.isoformat())
        context.log.info(f"retrying failed days {', '.join(days)}")
        # One run for them all, as the 01:00 schedule loads its three days: the days between two failed ones
        # are loaded again too, which replaces them with the same counts.
        first, last = days[0], days[-1]
        request = dg.RunRequest(
            run_key=f"downloads-retry:{first}..{last}:{slot}",
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
        )
        return dg.SensorResult(run_requests=[request], cursor=now.isoformat())

    return daily_downloads_retry_sensor


@dg.definitions
def defs() -> dg.Definitions:
    partitions = daily_partitions(current_settings().downloads.start_date)
    return dg.Definitions(sensors=[build_retry_sensor(partitions)])
