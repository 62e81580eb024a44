"""The corpus jobs; the corpus sensor (sensors.py beside this module) runs corpus_shard_job as the mirror grows."""

import dagster as dg

from pypi_platform.defs.executors import fan_out_executor

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


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[corpus_shard_job, corpus_stats_job])
