"""The mirror drives what follows it: a scan of each name bucket holding newly mirrored releases, and corpus
appends while mirrored files wait to be packed."""

import json
from datetime import UTC, datetime

import dagster as dg

from pypi_platform.defs.corpus import assets as corpus_assets
from pypi_platform.defs.corpus.schedules import corpus_shard_job
from pypi_platform.defs.resources import PostgresResource
from pypi_platform.defs.scans import assets as scan_assets
from pypi_platform.defs.scans.schedules import global_scan_job
from pypi_platform.lib.config import load_settings
from pypi_platform.lib.corpus.state import next_shard_number, pending_count, shard_name, shards
from pypi_platform.lib.index.reads import projects_published_between
from pypi_platform.lib.scanner.state import bucket_of

MIRROR = dg.AssetKey("mirror")


def build_mirror_sensor(scan_dates: dg.WeeklyPartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="mirror_sensor",
        jobs=[global_scan_job, corpus_shard_job],
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            "After each mirror sync, scans the name buckets of the projects it published, for this week's scan "
            "date; while mirrored files wait for the corpus, appends them to the open shard."
        ),
    )
    def mirror_sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource) -> dg.SensorResult:
        # The cursor is the time of the last mirror materialization handed on: every project that sync
        # published has an earlier synced_at and was committed before it, so none is missed or seen twice.
        handled = datetime.fromisoformat(json.loads(context.cursor)["mirror"]) if context.cursor else None
        latest = context.instance.get_latest_materialization_event(MIRROR)
        synced = datetime.fromtimestamp(latest.timestamp, UTC) if latest is not None else None
        requests: list[dg.RunRequest] = []
        added: list[str] = []
        with postgres.connect() as conn:
            if handled is not None and synced is not None and synced > handled:
                changed = projects_published_between(conn, handled, synced)
                requests += _scan_requests(changed, scan_dates, synced)
                context.log.info(f"{len(changed)} projects published by the sync at {synced.isoformat()}")
            corpus_request, added = _corpus_append(context.instance, conn)
        if corpus_request is not None:
            requests.append(corpus_request)
        # A new sensor starts from the latest sync rather than rescanning everything mirrored before it.
        cursor = json.dumps({"mirror": (synced or handled or datetime.now(UTC)).isoformat()})
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[corpus_assets.SHARDS.build_add_request(added)] if added else [],
            cursor=cursor,
        )

    return mirror_sensor


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
            job_name=global_scan_job.name,
            run_key=f"scan:{week}:{bucket:02d}:{synced.isoformat()}",
            partition_key=dg.MultiPartitionKey({"date": week, "bucket": scan_assets.BUCKET_KEYS[bucket]}),
            tags={"pypi_platform/trigger": "mirror_sensor"},
        )
        for bucket in buckets
    ]


def _corpus_append(instance: dg.DagsterInstance, conn) -> tuple[dg.RunRequest | None, list[str]]:
    """While mirrored files wait, a run of the open shard (opening the next partition when the last is full)."""
    pending = pending_count(conn)
    if pending == 0:
        return None, []
    known = shards(conn)
    last = known[-1] if known else None
    number = next_shard_number(known)
    name = shard_name(number)
    added = [] if instance.has_dynamic_partition(corpus_assets.SHARDS.name, name) else [name]
    # One request per state of the shard: a run that appended nothing new is not asked for twice.
    files = last.files if last is not None and last.number == number else 0
    request = dg.RunRequest(
        job_name=corpus_shard_job.name, run_key=f"corpus:{name}:{files}:{pending}", partition_key=name
    )
    return request, added


@dg.definitions
def defs() -> dg.Definitions:
    dates = scan_assets.scan_dates(load_settings().scans.start_date)
    return dg.Definitions(sensors=[build_mirror_sensor(dates)])
