"""The corpus follows the mirror: while mirrored files wait to be packed, a run of the open shard; and once a day
while none wait, a run of the last shard that finds nothing to pack and says so."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from pypi_platform.defs.corpus.assets import SHARDS
from pypi_platform.defs.corpus.schedules import SHARD_JOB
from pypi_platform.defs.resources import PostgresResource
from pypi_platform.lib.corpus.state import next_shard_number, pending_count, shard_name, shards

# The corpus' freshness policy warns after a day without a run: a mirror that stopped growing leaves nothing to
# pack, and a run that finds nothing is what tells the corpus is up to date rather than stalled.
IDLE_RUN_AFTER = timedelta(days=1)
CORPUS_SHARD = dg.AssetKey("corpus_shard")


@dg.sensor(
    name="corpus_sensor",
    job_name=SHARD_JOB,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="While mirrored files wait for the corpus, appends them to the open shard (opening the next "
    "shard when the last is full); once a day while none wait, runs the last shard to record that it is current.",
)
def corpus_sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource) -> dg.SensorResult:
    with postgres.connect() as conn:
        pending = pending_count(conn)
        known = shards(conn)
    if pending == 0:
        return dg.SensorResult(run_requests=_idle_run(context.instance, known[-1] if known else None))
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


def _idle_run(instance: dg.DagsterInstance, last) -> list[dg.RunRequest]:
    """A run of the last shard when nothing waits and the corpus has not run for IDLE_RUN_AFTER (none before
    the first shard exists: the first mirrored files open it)."""
    if last is None:
        return []
    event = instance.get_latest_materialization_event(CORPUS_SHARD)
    now = datetime.now(UTC)
    if event is not None and now - datetime.fromtimestamp(event.timestamp, UTC) < IDLE_RUN_AFTER:
        return []
    return [
        dg.RunRequest(run_key=f"corpus:{last.name}:{last.files}:idle:{now:%Y-%m-%d}", partition_key=last.name)
    ]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[corpus_sensor])
