"""Jobs and schedules of the published datasets: hourly after the mirror, download counts every three days."""

from datetime import date

import dagster as dg

HOURLY_DATASETS = [
    "package_list",
    "dependency_list",
    "reverse_dependencies",
    "dataset_checksums",
    "dataset_bundle",
]

datasets_hourly_job = dg.define_asset_job(
    "datasets_hourly_job",
    selection=dg.AssetSelection.assets(*HOURLY_DATASETS),
    description="Publish the package list, dependencies and reverse dependencies, their checksums and the bundle.",
)

download_stats_job = dg.define_asset_job(
    "download_stats_job",
    selection=dg.AssetSelection.assets("download_stats_30d", "dataset_checksums", "dataset_bundle"),
    description="Publish the 30-day download counts, then the checksums and the bundle again.",
)

# Half past the hour, when the hourly mirror sync has usually finished; stopped by default like the mirror's.
datasets_hourly_schedule = dg.ScheduleDefinition(
    name="datasets_hourly_schedule",
    description="Half past every hour, after the mirror sync: publish the package list, dependencies, "
    "reverse dependencies, checksums and bundle.",
    job=datasets_hourly_job,
    cron_schedule="30 * * * *",
    execution_timezone="UTC",
)
EVERY_THIRD_DAY_FROM = date(1970, 1, 1)  # the days counted from here: a fixed epoch, not each month's 1st


# A cron "*/3" in the day field restarts on each month's 1st (the 31st, then the 1st a day later): a daily tick
# that runs only on every third day counted from a fixed epoch keeps three days between runs across month ends.
@dg.schedule(
    job=download_stats_job,
    cron_schedule="0 4 * * *",
    execution_timezone="UTC",
    description="04:00 UTC every third day (days counted from 1970-01-01, so month ends keep the rhythm), after "
    "the 01:00 download load: publish download_stats_30d, then the checksums and the bundle.",
)
def download_stats_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    day = context.scheduled_execution_time.date()
    if not is_publication_day(day):
        return dg.SkipReason(f"{day} is not a publication day (every third day from {EVERY_THIRD_DAY_FROM})")
    return dg.RunRequest(run_key=f"download-stats-{day.isoformat()}")


def is_publication_day(day: date) -> bool:
    """Every third day counted from the epoch, so the gap is three days whatever the month's length."""
    return (day - EVERY_THIRD_DAY_FROM).days % 3 == 0


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        jobs=[datasets_hourly_job, download_stats_job],
        schedules=[datasets_hourly_schedule, download_stats_schedule],
    )
