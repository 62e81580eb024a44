"""The corpus jobs, built when definitions load with the configured executor; the corpus sensor (sensors.py
beside this module) runs corpus_shard_job as the mirror grows."""

import dagster as dg

from pypi_platform.defs.executors import fan_out_executor
from pypi_platform.lib.config import current_settings

SHARD_JOB = "corpus_shard_job"


def corpus_jobs(executor: dg.ExecutorDefinition | None) -> list:
    """The corpus jobs, with the fan-out executor chosen by the settings."""
    return [
        dg.define_asset_job(
            SHARD_JOB,
            selection=dg.AssetSelection.assets("corpus_shard", "corpus_index"),
            description="Append the next batch of mirrored files to one shard, then re-index it.",
            executor_def=executor,
        ),
        dg.define_asset_job(
            "corpus_stats_job",
            selection=dg.AssetSelection.assets("corpus_stats"),
            description="Parse new unique Python blobs and publish the language statistics.",
            executor_def=executor,
        ),
    ]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=corpus_jobs(fan_out_executor(current_settings().executor)))
