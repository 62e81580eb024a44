"""01:00 UTC: load yesterday, and reload the two days before it, which keep filling after midnight; and, hourly,
today so far."""

from datetime import timedelta

import dagster as dg

LATE_DAYS = 2

daily_downloads_job = dg.define_asset_job(
    "daily_downloads_job",
    selection=dg.AssetSelection.assets("daily_downloads"),
    description="Load download statistics for a range of days (one run for the whole range).",
)

recent_downloads_job = dg.define_asset_job(
    "recent_downloads_job",
    selection=dg.AssetSelection.assets("recent_downloads"),
    description="Refresh the last day, week and month per package, and apply retention.",
)


@dg.schedule(
    job=daily_downloads_job,
    cron_schedule="0 1 * * *",
    execution_timezone="UTC",
    description="01:00 UTC: load yesterday and reload the two days before it (late rows), in one run.",
)
def daily_downloads_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    yesterday = context.scheduled_execution_time.date() - timedelta(days=1)
    first = yesterday - timedelta(days=LATE_DAYS)
    # One run for the three days: the asset's single-run backfill policy reads the range from these tags.
    return dg.RunRequest(
        run_key=f"daily-downloads-{yesterday.isoformat()}",
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": yesterday.isoformat(),
        },
    )


@dg.schedule(
    job=daily_downloads_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    description="Hourly at :15: load today so far, for the dashboard's today view (stopped by default: "
    "each run scans the day so far again).",
)
def downloads_today_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Hourly, today's partition so far, for the dashboard's "today" view. With BigQuery each run scans the day
    so far again (about twelve days' worth of bytes a day in all), hence stopped until an operator wants it."""
    now = context.scheduled_execution_time
    return dg.RunRequest(run_key=f"downloads-today-{now:%Y-%m-%dT%H}", partition_key=now.date().isoformat())


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        jobs=[daily_downloads_job, recent_downloads_job],
        schedules=[daily_downloads_schedule, downloads_today_schedule],
    )
