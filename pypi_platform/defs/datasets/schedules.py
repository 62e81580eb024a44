"""Jobs and schedules of the published datasets: hourly after the mirror, download counts every three days."""

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
# 04:00 UTC every third day of the month, after the 01:00 download load.
download_stats_schedule = dg.ScheduleDefinition(
    name="download_stats_schedule",
    job=download_stats_job,
    cron_schedule="0 4 */3 * *",
    execution_timezone="UTC",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        jobs=[datasets_hourly_job, download_stats_job],
        schedules=[datasets_hourly_schedule, download_stats_schedule],
    )
