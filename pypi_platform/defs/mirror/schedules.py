"""The hourly sync job and its schedule."""

import dagster as dg

mirror_sync_job = dg.define_asset_job(
    "mirror_sync_job",
    selection=dg.AssetSelection.groups("mirror").materializable(),
    description="Sync the mirror with its upstream index and check what it published.",
)

# Stopped until an operator turns it on: without an allowlist it mirrors the whole index.
mirror_sync_schedule = dg.ScheduleDefinition(
    name="mirror_sync_schedule",
    description="Every hour on the hour: sync the mirror with the upstream index (stopped by default: "
    "without an allowlist it mirrors the whole index).",
    job=mirror_sync_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[mirror_sync_job], schedules=[mirror_sync_schedule])
