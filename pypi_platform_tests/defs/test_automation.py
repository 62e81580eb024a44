"""The sensors that keep the graph moving: the mirror sensor hands new releases on, failures are recorded."""

import json
from datetime import date

import dagster as dg
import psycopg
import pytest

from pypi_platform.defs.corpus.sensors import corpus_sensor
from pypi_platform.defs.mirror.assets import mirror, upstream_index
from pypi_platform.defs.ops.sensors import run_failure_sensor
from pypi_platform.defs.resources import MirrorResource, ObjectStoreResource, PostgresResource
from pypi_platform.defs.scans.assets import scan_dates
from pypi_platform.defs.scans.sensors import build_scan_sensor
from pypi_platform.lib.ops import recent_failures
from pypi_platform.lib.scans.state import bucket_of

DATES = scan_dates(date(2024, 1, 1))


def _sync(instance, fake_index, tmp_path, s3_store, s3_endpoint, database) -> None:
    resources = {
        "mirror_upstream": MirrorResource(upstream_url=fake_index.url, work_dir=str(tmp_path), workers=4),
        "object_store": ObjectStoreResource(url=s3_store.url, endpoint_url=s3_endpoint),
        "postgres": PostgresResource(dsn=database),
    }
    result = dg.materialize(
        [upstream_index, mirror], resources=resources, selection=[mirror.key], instance=instance
    )
    assert result.success


def _evaluate(sensor, instance, database, cursor):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"postgres": PostgresResource(dsn=database)}
    )
    return sensor(context)


def _scans(result) -> list[dg.RunRequest]:
    return list(result.run_requests)


def test_scan_sensor_scans_the_buckets_of_newly_published_projects_once(
    fake_index, tmp_path, s3_store, s3_endpoint, database
):
    sensor = build_scan_sensor(DATES)
    instance = dg.DagsterInstance.ephemeral()
    fake_index.add_release("alpha", "1.0")
    _sync(instance, fake_index, tmp_path, s3_store, s3_endpoint, database)

    first = _evaluate(sensor, instance, database, None)
    assert _scans(first) == [], "a new sensor starts from the latest sync instead of rescanning the mirror"
    cursor = first.cursor

    fake_index.add_release("beta", "2.0")
    fake_index.add_release("gamma", "0.1")
    _sync(instance, fake_index, tmp_path, s3_store, s3_endpoint, database)
    second = _evaluate(sensor, instance, database, cursor)
    scans = _scans(second)
    expected = sorted({bucket_of("beta"), bucket_of("gamma")})
    assert [request.partition_key.keys_by_dimension["bucket"] for request in scans] == [
        f"{bucket:02d}" for bucket in expected
    ], "one run per bucket holding a project the sync published; alpha did not change"
    week = DATES.get_last_partition_key()
    assert {request.partition_key.keys_by_dimension["date"] for request in scans} == {week}
    assert json.loads(second.cursor)["mirror"] > json.loads(cursor)["mirror"]

    again = _evaluate(sensor, instance, database, cursor)
    assert [r.run_key for r in _scans(again)] == [r.run_key for r in scans], "run keys are deterministic"
    assert _scans(_evaluate(sensor, instance, database, second.cursor)) == [], "no new sync, no new scan"


def test_corpus_sensor_appends_waiting_files_to_the_corpus_and_opens_the_first_shard(
    fake_index, tmp_path, s3_store, s3_endpoint, database
):
    sensor = corpus_sensor
    instance = dg.DagsterInstance.ephemeral()
    empty = _evaluate(sensor, instance, database, None)
    assert empty.run_requests == [], "nothing mirrored, nothing to pack"

    fake_index.add_release("alpha", "1.0")
    _sync(instance, fake_index, tmp_path, s3_store, s3_endpoint, database)
    result = _evaluate(sensor, instance, database, empty.cursor)
    (corpus,) = result.run_requests
    assert corpus.partition_key == "pypi-mirror-1"
    assert [request.partition_keys for request in result.dynamic_partitions_requests] == [["pypi-mirror-1"]]
    assert corpus.run_key == _evaluate(sensor, instance, database, empty.cursor).run_requests[-1].run_key


@dg.asset
def breaks_on_bad_input() -> None:
    raise ValueError("row 7 is malformed: expected 4 fields, got 3")


def _failed_run(instance: dg.DagsterInstance):
    result = dg.materialize(
        [breaks_on_bad_input], instance=instance, raise_on_error=False, partition_key=None
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    (failure,) = [
        record.event_log_entry.dagster_event
        for record in instance.get_records_for_run(result.run_id).records
        if record.event_log_entry.dagster_event is not None
        and record.event_log_entry.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE
    ]
    return run, failure


def _sense_failure(instance: dg.DagsterInstance, run, failure, database: str) -> None:
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_sensor",
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
        resources={"postgres": PostgresResource(dsn=database)},
    ).for_run_failure()
    run_failure_sensor(context)


def test_run_failure_sensor_records_the_failed_run_once_with_its_step_and_error(database):
    instance = dg.DagsterInstance.ephemeral()
    run, failure = _failed_run(instance)

    for _ in range(2):  # a restarted daemon may see the same failure again
        _sense_failure(instance, run, failure, database)

    with psycopg.connect(database) as conn:
        (recorded,) = recent_failures(conn)
    assert recorded.run_id == run.run_id
    assert recorded.job_name == run.job_name
    assert recorded.failed_steps == ("breaks_on_bad_input",)
    assert "row 7 is malformed" in recorded.message
    assert recorded.partition_key is None


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"dagster/partition": "2026-11-20"}, "2026-11-20"),
        (
            {
                "dagster/asset_partition_range_start": "2026-11-18",
                "dagster/asset_partition_range_end": "2026-11-20",
            },
            "2026-11-18...2026-11-20",
        ),
    ],
)
def test_run_failure_sensor_records_the_partition_or_range_of_the_run(database, tags, expected):
    instance = dg.DagsterInstance.ephemeral()
    run, failure = _failed_run(instance)
    run = run.with_tags({**run.tags, **tags})
    _sense_failure(instance, run, failure, database)
    with psycopg.connect(database) as conn:
        (recorded,) = recent_failures(conn)
    assert recorded.partition_key == expected
