"""A simulated production week: the project's definitions on the real components, started from a realistic state
and left to the schedules, sensors and automation conditions a production deployment turns on for 8 days of a
simulated clock, with one day's download log file corrupt for two and a half days, then mended."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import time_machine
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from pypi_platform.definitions import defs as load_definitions
from pypi_platform.defs.datasets.schedules import download_stats_schedule
from pypi_platform.defs.downloads.assets import daily_partitions, recent_downloads
from pypi_platform.defs.downloads.sensors import build_retry_sensor
from pypi_platform.lib.downloads.schema import FILE_DOWNLOADS
from pypi_platform_tests.defs.simulated_daemon import SimulatedDaemon, runs_by_hand

START = datetime(2027, 1, 26, 0, 0, tzinfo=UTC)  # a Tuesday: the week ahead crosses a month end and a Monday
DOWNLOADS_START = date(2027, 1, 1)
PROJECTS = {"alpha": "1.0", "beta": "2.0", "gamma": "0.3"}


def _row(moment: datetime, project: str) -> dict:
    return {
        "timestamp": moment,
        "country_code": "DE",
        "url": f"/packages/aa/bb/{'c' * 60}/{project}-1.0.tar.gz",
        "project": project,
        "file": {"filename": f"{project}-1.0.tar.gz", "project": project, "version": "1.0", "type": "sdist"},
        "details": {
            "installer": {"name": "pip", "version": "24"},
            "python": "3.12.1",
            "implementation": {"name": "CPython", "version": "3.12.1"},
            "system": {"name": "Linux", "release": "6"},
            "cpu": "x86_64",
            "ci": None,
        },
        "tls_protocol": "TLSv1.3",
        "tls_cipher": "TLS_AES_128_GCM_SHA256",
    }


def write_arrivals(directory: Path, day: date) -> Path:
    """The log rows that arrived on ``day``: that day's downloads, and a few late ones of the day before."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    rows = [_row(noon, name) for name in PROJECTS for _ in range(10 + len(name))]
    rows += [_row(noon - timedelta(days=1), "alpha") for _ in range(2)]
    path = directory / f"file_downloads-{day.isoformat()}.parquet"
    pl.DataFrame(rows, schema=FILE_DOWNLOADS).write_parquet(path)
    return path


@pytest.fixture
def production(fake_index, platform_environment, tmp_path):
    for name, version in PROJECTS.items():
        fake_index.add_release(name, version, requires=["alpha>=1.0"] if name == "beta" else [])
    logs = tmp_path / "logs"
    logs.mkdir()
    platform_environment(
        PYPI_PLATFORM_UPSTREAM_URL=fake_index.url,
        PYPI_PLATFORM_DOWNLOADS_SOURCE=str(logs),
        PYPI_PLATFORM_DOWNLOADS_START=DOWNLOADS_START.isoformat(),
        PYPI_PLATFORM_SCAN_WORKERS="1",
        PYPI_PLATFORM_CORPUS_SHARD_CAPACITY="4",
        PYPI_PLATFORM_CORPUS_BATCH="2",
    )
    return fake_index, logs


# What a production deployment turns on (README's cadence table); downloads_today_schedule stays off (each run
# rescans the day so far in BigQuery), automation_sensor and run_failure_sensor run by default.
SCHEDULES = [
    "mirror_sync_schedule",
    "datasets_hourly_schedule",
    "daily_downloads_schedule",
    "download_stats_schedule",
    "global_scan_schedule",
]
SENSORS = ["scan_sensor", "corpus_sensor", "daily_downloads_retry_sensor"]
HOURLY = {"mirror_sync_schedule", "datasets_hourly_schedule"}
# The hourly schedules run their latest tick once a day, at 23:00, the last wake-up before each day's
# assertions: every hourly tick would cost about 4 s of runs, 13 minutes a week.
HOURLY_AT = 23
CORRUPT_ARRIVAL = date(2027, 1, 28)  # fails the loads of Jan 27 and Jan 28, which read it
MENDED_AT = datetime(2027, 1, 30, 12, tzinfo=UTC)  # after the last 01:00 run that loads Jan 27
NEW_RELEASE_AT = datetime(2027, 1, 27, 10, tzinfo=UTC)
BACKFILLED = [(date(2027, 1, 15), date(2027, 1, 18)), (date(2027, 1, 21), date(2027, 1, 25))]
DAILY_DOWNLOADS = dg.AssetKey("daily_downloads")


@pytest.mark.timeout(600)  # about 2 minutes here; the default 300 s leaves little room on a loaded machine
def test_a_production_week_never_stalls(production):
    fake_index, logs = production
    with time_machine.travel(START - timedelta(hours=3), tick=True) as clock:
        definitions = load_definitions()
        instance = dg.DagsterInstance.get()
        _initial_state(definitions, instance, logs)
        daemon = SimulatedDaemon(definitions, instance, SCHEDULES, SENSORS, hourly=HOURLY)
        # automation_sensor runs by default, so it saw the initial state: what it asks next is relative to it.
        daemon.tick(datetime.now(UTC), datetime.now(UTC))
        clock.move_to(START)
        previous = START
        for day in range(8):
            midnight = START + timedelta(days=day)
            _arrive(logs, midnight.date())
            # The daemon wakes at each tick of the daily and weekly schedules, and at HOURLY_AT.
            hourly_at = midnight + timedelta(hours=HOURLY_AT)
            for moment in sorted({*daemon.schedule_ticks(midnight, hourly_at), hourly_at}):
                if previous < NEW_RELEASE_AT <= moment:
                    fake_index.add_release("beta", "2.1", requires=["alpha>=1.0"])
                if previous < MENDED_AT <= moment:
                    write_arrivals(logs, CORRUPT_ARRIVAL)
                clock.move_to(moment)
                daemon.tick(previous, moment, hourly=moment == hourly_at)
                previous = moment
            clock.move_to(midnight + timedelta(days=1))
            _assert_healthy(definitions, instance, datetime.now(UTC))
        _assert_healthy(definitions, instance, datetime.now(UTC), final=True)
        assert not runs_by_hand(instance, START), "after the initial state, only the daemon launches runs"
    published = [launch.at.date() for launch in daemon.launches if launch.origin == "download_stats_schedule"]
    assert [(later - earlier).days for earlier, later in pairwise(published)] == [3, 3], published
    skipped = {moment.date() for moment, name, _ in daemon.skipped if name == "download_stats_schedule"}
    assert len(skipped) == 8 - len(published) and not skipped & set(published), "it says why on other days"
    failed = [launch for launch in daemon.launches if not launch.success]
    assert failed, "the corrupt log file failed loads"
    statuses = instance.get_status_by_partition(
        DAILY_DOWNLOADS,
        ["2027-01-27", "2027-01-28"],
        definitions.resolve_assets_def("daily_downloads").partitions_def,
    )
    assert set(statuses.values()) == {dg.AssetPartitionStatus.MATERIALIZED}, "the failed days were retried"
    # Jan 27 was out of the 01:00 schedule's reach once its file was mended: the retry sensor loaded it.
    assert _loaded_by(instance, DAILY_DOWNLOADS, "2027-01-27") == "daily_downloads_retry_sensor"
    never_loaded = instance.get_status_by_partition(
        DAILY_DOWNLOADS,
        ["2027-01-02", "2027-01-19"],
        definitions.resolve_assets_def("daily_downloads").partitions_def,
    )
    assert not any(never_loaded.values()), "old gaps stay gaps: only failed days are retried"
    # recent_downloads followed every daily load by automation, old gaps notwithstanding.
    recent = instance.fetch_materializations(dg.AssetKey("recent_downloads"), limit=100).records
    launched_by = [
        _launcher(instance, record.run_id) for record in recent if record.timestamp > START.timestamp()
    ]
    assert len(launched_by) >= 8 and set(launched_by) == {"automation_sensor"}, launched_by


def _launcher(instance: dg.DagsterInstance, run_id: str) -> str | None:
    tags = instance.get_run_by_id(run_id).tags
    return tags.get("dagster/sensor_name") or tags.get("dagster/schedule_name")


def _loaded_by(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> str | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    return _launcher(instance, records[0].run_id) if records else None


def _initial_state(definitions: dg.Definitions, instance: dg.DagsterInstance, logs: Path) -> None:
    """By hand, as operators start: a mirror, two backfills of downloads with gaps, the datasets, a week's
    scan, and the first shard half full."""

    def run(job: str, partition_key: str | None = None, tags: dict | None = None) -> None:
        result = definitions.resolve_job_def(job).execute_in_process(
            instance=instance, partition_key=partition_key, tags=tags, raise_on_error=False
        )
        assert result.success, f"{job} {partition_key or ''} failed"

    first_arrival = BACKFILLED[0][0] - timedelta(days=1)
    for offset in range((START.date() - first_arrival).days):
        write_arrivals(logs, first_arrival + timedelta(days=offset))
    run("mirror_sync_job")
    for first, last in BACKFILLED:
        range_tags = {
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        }
        run("daily_downloads_job", tags=range_tags)
    run("recent_downloads_job")
    run("datasets_hourly_job")
    run("download_stats_job")
    week = "2027-01-25"
    for bucket in range(64):
        run("global_scan_job", dg.MultiPartitionKey({"date": week, "bucket": f"{bucket:02d}"}))
    run("scan_dataset_job", week)
    instance.add_dynamic_partitions("corpus_shards", ["pypi-mirror-1"])
    run("corpus_shard_job", "pypi-mirror-1")
    run("corpus_stats_job")


def _arrive(logs: Path, day: date) -> None:
    """At midnight the day's log file starts arriving; the one of CORRUPT_ARRIVAL arrives corrupt."""
    if day == CORRUPT_ARRIVAL:
        (logs / f"file_downloads-{day.isoformat()}.parquet").write_bytes(b"PAR1 not a parquet file")
    else:
        write_arrivals(logs, day)


def _assert_healthy(
    definitions: dg.Definitions, instance: dg.DagsterInstance, now: datetime, final: bool = False
) -> None:
    late = {}
    for spec in definitions.resolve_all_asset_specs():
        if spec.freshness_policy is None:
            continue
        event = instance.get_latest_materialization_event(spec.key)
        age = now - datetime.fromtimestamp(event.timestamp, UTC) if event else None
        if age is None or age > spec.freshness_policy.fail_window.to_timedelta():
            late[spec.key.to_user_string()] = str(age)
    assert not late, f"{now}: late past their freshness policy: {late}"
    failing = {}
    for key in definitions.resolve_asset_graph().asset_check_keys:
        evaluation = _latest_evaluation(instance, key)
        name = f"{key.asset_key.to_user_string()}:{key.name}"
        if evaluation is None:
            failing[name] = "never evaluated"
        elif not evaluation.passed and (final or _explanation(key, evaluation) is None):
            failing[name] = evaluation.description or "failed"
    assert not failing, f"{now}: failing checks: {failing}"


def _latest_evaluation(instance: dg.DagsterInstance, key: dg.AssetCheckKey):
    """The check's latest evaluation; a check planned in a run that failed before it ran did not evaluate."""
    done = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=1, status=done)
    return records[0].event.dagster_event.event_specific_data if records else None


def _explanation(key: dg.AssetCheckKey, evaluation) -> str | None:
    """Why a check may fail on a day of the week, or None when nothing explains it."""
    days = evaluation.metadata.get("days")
    if key.asset_key == DAILY_DOWNLOADS and days is not None and days.value == 0:
        # The last load was the retry of the broken days alone, and loaded none of them: the quality rules
        # had no day to look at. They pass again with the next load of any day, and must by the end.
        return "a load in which every day failed checks no day"
    return None


def test_download_stats_schedule_runs_every_third_day_across_month_ends():
    """The old cron (``*/3`` in the day field) ran on the 31st and again on the 1st; this one keeps 3 days."""
    runs = []
    for offset in range(75):  # January to mid-March: a 31-day month, February, and their month ends
        moment = datetime(2027, 1, 1, 4, tzinfo=UTC) + timedelta(days=offset)
        context = dg.build_schedule_context(scheduled_execution_time=moment)
        data = download_stats_schedule.evaluate_tick(context)
        if data.run_requests:
            (request,) = data.run_requests
            assert request.run_key == f"download-stats-{moment.date().isoformat()}"
            runs.append(moment.date())
        else:
            assert "not a publication day" in data.skip_message
    gaps = {(later - earlier).days for earlier, later in pairwise(runs)}
    assert gaps == {3}, runs
    assert {date(2027, 1, 31), date(2027, 2, 1)} - set(runs), "never on both sides of a month end a day apart"
    assert any(day.month == 2 for day in runs) and any(day.month == 3 for day in runs)


def test_recent_downloads_follows_a_newly_loaded_day_despite_days_never_loaded():
    """The issue's stall: eager() waits while any day since the partitions' start is missing, and some always
    are; recent_downloads' own condition asks for a run after each newly loaded day all the same."""
    partitions = daily_partitions(DOWNLOADS_START)
    daily = dg.AssetSpec(DAILY_DOWNLOADS, partitions_def=partitions)
    condition = recent_downloads.automation_conditions_by_key[recent_downloads.key]
    now = datetime(2027, 1, 20, 2, tzinfo=UTC)

    def requested_after_a_new_day(automation: dg.AutomationCondition) -> int:
        recent = dg.AssetSpec("recent_downloads", deps=[DAILY_DOWNLOADS], automation_condition=automation)
        instance = dg.DagsterInstance.ephemeral()
        instance.report_runless_asset_event(dg.AssetMaterialization(DAILY_DOWNLOADS, partition="2027-01-18"))
        instance.report_runless_asset_event(dg.AssetMaterialization("recent_downloads"))
        first = dg.evaluate_automation_conditions(
            defs=[daily, recent], instance=instance, evaluation_time=now
        )
        assert first.total_requested == 0, "nothing new yet"
        instance.report_runless_asset_event(dg.AssetMaterialization(DAILY_DOWNLOADS, partition="2027-01-19"))
        result = dg.evaluate_automation_conditions(
            defs=[daily, recent], instance=instance, evaluation_time=now, cursor=first.cursor
        )
        return result.total_requested

    assert requested_after_a_new_day(dg.AutomationCondition.eager()) == 0, "eager() alone stalls on the gaps"
    assert requested_after_a_new_day(condition) == 1


def test_retry_sensor_loads_again_the_recent_failed_days_only():
    """Failed days of the last two weeks are retried in one run, once per six-hour slot; a day never loaded, a
    day that failed and then loaded, and a failure older than two weeks are not."""
    partitions = daily_partitions(DOWNLOADS_START)
    broken = {"2027-01-05", "2027-01-20", "2027-01-25"}

    @dg.asset(name="daily_downloads", partitions_def=partitions)
    def stand_in(context: dg.AssetExecutionContext) -> None:
        # Only the partitions' statuses on the instance matter to the sensor.
        if context.partition_key in broken:
            raise ValueError(f"{context.partition_key}: corrupt log file")

    instance = dg.DagsterInstance.ephemeral()
    sensor = build_retry_sensor(partitions)
    with time_machine.travel(datetime(2027, 1, 27, 2, tzinfo=UTC), tick=True) as clock:
        for day in ["2027-01-05", "2027-01-20", "2027-01-22", "2027-01-25", "2027-01-26"]:
            dg.materialize([stand_in], instance=instance, partition_key=day, raise_on_error=False)
        broken.discard("2027-01-25")  # mended and loaded since
        dg.materialize([stand_in], instance=instance, partition_key="2027-01-25")
        clock.move_to(datetime(2027, 1, 27, 7, 30, tzinfo=UTC))
        (request,) = sensor(dg.build_sensor_context(instance=instance)).run_requests
        again = sensor(dg.build_sensor_context(instance=instance)).run_requests
        clock.move_to(datetime(2027, 1, 27, 13, tzinfo=UTC))
        later = sensor(dg.build_sensor_context(instance=instance)).run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "2027-01-20"
    assert request.tags["dagster/asset_partition_range_end"] == "2027-01-20"
    assert request.run_key == again[0].run_key, "one attempt per six-hour slot"
    assert later[0].run_key != request.run_key, "and another in the next slot"
