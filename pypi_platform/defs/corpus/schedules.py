"""The corpus grows by itself: a sensor appends new mirror files to the open shard and opens the next one."""

import dagster as dg

from pypi_platform.defs.corpus.assets import SHARDS
from pypi_platform.defs.executors import fan_out_executor
from pypi_platform.defs.resources import PostgresResource
from pypi_platform.lib.corpus.state import pending_count, shard_name, shards

corpus_shard_job = dg.define_asset_job(
    "corpus_shard_job",
    selection=dg.AssetSelection.assets("corpus_shard", "corpus_index"),
    description="Append the next batch of mirrored files to one shard, then re-index it.",
    executor_def=fan_out_executor(),
)
corpus_stats_job = dg.define_asset_job(
    "corpus_stats_job",
    selection=dg.AssetSelection.assets("corpus_stats"),
    description="Parse new unique Python blobs and publish the language statistics.",
    executor_def=fan_out_executor(),
)


@dg.sensor(job=corpus_shard_job, minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.STOPPED)
def corpus_shard_sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource):
    """While mirrored files wait, run the open shard; when it is full, open the next partition and run that."""
    with postgres.connect() as conn:
        known = shards(conn)
        pending = pending_count(conn)
    if pending == 0:
        return dg.SkipReason("every mirrored file is in the corpus")
    last = known[-1] if known else None
    number = 1 if last is None else last.number + 1 if last.closed else last.number
    name = shard_name(number)
    added = [] if context.instance.has_dynamic_partition(SHARDS.name, name) else [name]
    # One request per state of the shard: a run that appended nothing new is not asked for twice.
    run_key = f"{name}:{last.files if last and last.number == number else 0}:{pending}"
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=run_key, partition_key=name)],
        dynamic_partitions_requests=[SHARDS.build_add_request(added)] if added else [],
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[corpus_shard_job, corpus_stats_job], sensors=[corpus_shard_sensor])
