"""Scans follow the mirror: after each sync, a run of each name bucket holding a project it published."""

import json
from datetime import UTC, datetime

import dagster as dg

from pypi_platform.defs.resources import PostgresResource
from pypi_platform.defs.scans import assets as scan_assets
from pypi_platform.defs.scans.schedules import SCAN_JOB
from pypi_platform.lib.config import current_settings
from pypi_platform.lib.mirror.reads import projects_published_between
from pypi_platform.lib.scans.state import bucket_of

MIRROR = dg.AssetKey("mirror")


def build_scan_sensor(scan_dates: dg.WeeklyPartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="scan_sensor",
        job_name=SCAN_JOB,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="After each mirror sync, scans the name buckets of the projects it published, for this "
        "week's scan date.",
    )
    def scan_sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource) -> dg.SensorResult:
        # The cursor is the time of the last mirror materialization handed on: every project that sync
        # published has an earlier synced_at and was committed before it, so none is missed or seen twice.
        handled = datetime.fromisoformat(json.loads(context.cursor)["mirror"]) if context.cursor else None
        latest = context.instance.get_latest_materialization_event(MIRROR)
        synced = datetime.fromtimestamp(latest.timestamp, UTC) if latest is not None else None
        requests: list[dg.RunRequest] = []
        if handled is not None and synced is not None and synced > handled:
            with postgres.connect() as conn:
                changed = projects_published_between(conn, handled, synced)
            requests = _scan_requests(changed, scan_dates, synced)
            context.log.info(f"{len(changed)} projects published by the sync at {synced.isoformat()}")
        # A new sensor starts from the latest sync rather than rescanning everything mirrored before it.
        cursor = json.dumps({"mirror": (synced or handled or datetime.now(UTC)).isoformat()})
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return scan_sensor


def _scan_requests(
    projects: list[str], scan_dates: dg.WeeklyPartitionsDefinition, synced: datetime
) -> list[dg.RunRequest]:
    """One run per name bucket holding a changed project, on the current week's scan date (the bucket's run
    rescans only the releases its cache has not seen); its run key names the sync, so a sync is asked once."""
    weeks = scan_dates.get_partition_keys(current_time=synced)  # up to the week holding the sync, included
    if not weeks or not projects:
        return []
    week = weeks[-1]
    buckets = sorted({bucket_of(name) for name in projects})
    return [
        dg.RunRequest(
            run_key=f"scan:{week}:{bucket:02d}:{synced.isoformat()}",
            partition_key=dg.MultiPartitionKey({"date": week, "bucket": scan_assets.BUCKET_KEYS[bucket]}),
            tags={"pypi_platform/trigger": "scan_sensor"},
        )
        for bucket in buckets
    ]


@dg.definitions
def defs() -> dg.Definitions:
    dates = scan_assets.scan_dates(current_settings().scans.start_date)
    return dg.Definitions(sensors=[build_scan_sensor(dates)])
