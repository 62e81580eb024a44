"""Operations sensors: every failed run recorded in PostgreSQL (``ops.run_failures``), beside the data it failed
to produce, and the evaluation of the assets' automation conditions."""

from datetime import UTC, datetime

import dagster as dg

from pypi_platform.defs.resources import PostgresResource
from pypi_platform.lib.ops import RunFailure, record_run_failure


@dg.run_failure_sensor(
    name="run_failure_sensor",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records each failed run (job, partition, failed steps, error) in ops.run_failures.",
)
def run_failure_sensor(context: dg.RunFailureSensorContext, postgres: PostgresResource) -> None:
    run = context.dagster_run
    tags = run.tags
    partition = tags.get("dagster/partition") or (
        f"{tags['dagster/asset_partition_range_start']}...{tags['dagster/asset_partition_range_end']}"
        if "dagster/asset_partition_range_start" in tags
        else None
    )
    steps = tuple(sorted({event.step_key for event in context.get_step_failure_events() if event.step_key}))
    errors = [event.event_specific_data.error for event in context.get_step_failure_events()]
    message = "\n\n".join(error.to_string() for error in errors if error is not None) or (
        context.failure_event.message or "the run failed"
    )
    failure = RunFailure(
        run_id=run.run_id,
        job_name=run.job_name,
        partition_key=partition,
        failed_at=_ended_at(context.instance, run.run_id),
        failed_steps=steps,
        message=message,
    )
    with postgres.connect() as conn:
        new = record_run_failure(conn, failure)
    context.log.info(f"{'recorded' if new else 'already recorded'} failed run {run.run_id} of {run.job_name}")


def _ended_at(instance: dg.DagsterInstance, run_id: str) -> datetime:
    record = instance.get_run_record_by_id(run_id)
    ended = record.end_time if record is not None else None
    return datetime.fromtimestamp(ended, UTC) if ended else datetime.now(UTC)


# Declarative automation (recent_downloads after each load, scan_dataset once a week's buckets are done,
# corpus_stats on its cron) is evaluated by this sensor; it runs by default, unlike the schedules, because the
# conditions only follow what an operator or a schedule has already materialized.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    description="Evaluates every asset's automation condition each minute and launches what they request "
    "(recent_downloads after a load, scan_dataset once a date's buckets are done, corpus_stats weekly).",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[run_failure_sensor, automation_sensor])
