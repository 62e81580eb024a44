"""The corpus follows the mirror: while mirrored files wait to be packed, a run of the open shard."""

import dagster as dg

from pypi_platform.defs.corpus.assets import SHARDS
from pypi_platform.defs.corpus.schedules import SHARD_JOB
from pypi_platform.defs.resources import PostgresResource
from pypi_platform.lib.corpus.state import next_shard_number, pending_count, shard_name, shards


@dg.sensor(
    name="corpus_sensor",
    job_name=SHARD_JOB,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="While mirrored files wait for the corpus, appends them to the open shard (opening the next "
    "shard when the last is full).",
)
def corpus_sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource) -> dg.SensorResult:
    with postgres.connect() as conn:
        pending = pending_count(conn)
        if pending == 0:
            return dg.SensorResult(run_requests=[])
        known = shards(conn)
    last = known[-1] if known else None
    number = next_shard_number(known)
    name = shard_name(number)
    added = [] if context.instance.has_dynamic_partition(SHARDS.name, name) else [name]
    # One request per state of the shard: a run that appended nothing new is not asked for twice.
    files = last.files if last is not None and last.number == number else 0
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"corpus:{name}:{files}:{pending}", partition_key=name)],
        dynamic_partitions_requests=[SHARDS.build_add_request(added)] if added else [],
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[corpus_sensor])
