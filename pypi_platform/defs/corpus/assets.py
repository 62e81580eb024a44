"""The source-code corpus: shards of release contents in git, their Parquet indexes, and language statistics.

``corpus_shard`` is partitioned by shard (``pypi-mirror-N``, dynamic): a run appends the next batch of mirrored
files to the open shard, one commit per distribution file. ``corpus_index`` merges the shard's per-run index
fragments into one frame, which the Parquet IO manager stores at ``corpus/shards/pypi-mirror-N/index.parquet``.
``corpus_stats`` takes every shard's index as its input, parses every unique Python blob once and publishes
feature adoption by month under ``corpus/stats/``.
"""

import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from pypi_platform.defs.metadata import byte_count
from pypi_platform.defs.resources import CorpusResource, ObjectStoreResource, PostgresResource
from pypi_platform.lib.corpus import index as index_
from pypi_platform.lib.corpus import stats as stats_
from pypi_platform.lib.corpus.build import append_batch
from pypi_platform.lib.corpus.features import PARSER
from pypi_platform.lib.corpus.members import RULES_VERSION
from pypi_platform.lib.corpus.state import (
    get_shard,
    open_shard,
    pending_count,
    shard_number,
    shard_path,
)
from pypi_platform.lib.release_cache import ReleaseFileCache

SHARDS = dg.DynamicPartitionsDefinition(name="corpus_shards")
STATS_ROOT = f"{index_.CORPUS_ROOT}/stats"
COMMON = {"group_name": "corpus", "owners": ["team:corpus"]}
GROWS_WITH_THE_MIRROR = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(days=3), warn_window=timedelta(days=1)
)


@dg.asset(
    **COMMON,
    partitions_def=SHARDS,
    deps=["mirror"],
    kinds={"git", "postgres"},
    pool="corpus_writer",
    # The mirror sensor appends whenever the mirror grows, which a full mirror does every hour.
    freshness_policy=GROWS_WITH_THE_MIRROR,
)
def corpus_shard(
    context: dg.AssetExecutionContext,
    object_store: ObjectStoreResource,
    postgres: PostgresResource,
    corpus: CorpusResource,
) -> dg.MaterializeResult:
    """Append the oldest mirrored files not yet in the corpus to this shard, one commit per distribution file."""
    number = shard_number(context.partition_key)
    store = object_store.get_store()
    files = ReleaseFileCache(Path(corpus.cache_dir), store)
    shards_dir = Path(corpus.shards_dir)
    with postgres.connect() as conn:
        try:
            shard = open_shard(conn, number, corpus.shard_capacity)
        except ValueError as error:
            raise dg.Failure(str(error)) from error
        report = append_batch(conn, store, files, shards_dir, shard, corpus.batch_files, log=context.log.info)
        pending = pending_count(conn)
    for filename, reason in report.failed.items():
        context.log.warning(f"{filename}: {reason}")
    shard = report.shard
    repository = shard_path(shards_dir, shard.number)
    return dg.MaterializeResult(
        metadata={
            "files_committed": report.committed,
            "files_skipped": dg.MetadataValue.json(report.skipped),
            "files_failed": dg.MetadataValue.json(report.failed),
            "members": report.members,
            "members_committed": report.members_committed,
            **byte_count("bytes_committed", report.bytes_committed),
            "member_skip_reasons": dg.MetadataValue.json(dict(report.skip_reasons.most_common())),
            "shard_files": shard.files,
            "shard_capacity": shard.capacity,
            "shard_closed": shard.closed,
            "head": shard.head or "",
            "pending_files": pending,
            "repository": dg.MetadataValue.path(str(repository)),
            **byte_count("repository_bytes", _disk_usage(repository)),
            "rules_version": RULES_VERSION,
        }
    )


@dg.asset(
    **COMMON,
    partitions_def=SHARDS,
    deps=[corpus_shard],
    kinds={"parquet", "polars", "s3"},
    io_manager_key="parquet_io_manager",
    # Where consumers and the docs expect each shard's index, at the level every index is written with.
    metadata={
        "object_key": index_.index_key("{partition}"),
        "compression_level": index_.COMPRESSION_LEVEL,
    },
    check_specs=[
        dg.AssetCheckSpec(
            "covers_shard",
            asset="corpus_index",
            description="The index lists every release file the shard records, no more and no fewer.",
            blocking=True,
        )
    ],
    freshness_policy=GROWS_WITH_THE_MIRROR,
)
def corpus_index(
    context: dg.AssetExecutionContext, object_store: ObjectStoreResource, postgres: PostgresResource
) -> Iterator[dg.Output[pl.DataFrame] | dg.AssetCheckResult]:
    """Merge the shard's index fragments into one table: a row per archive member, skipped ones included."""
    name = context.partition_key
    merged = index_.merge_fragments(object_store.get_store(), name)
    with postgres.connect() as conn:
        shard = get_shard(conn, shard_number(name))
    releases = merged["project_release"].n_unique()
    reasons = Counter(merged.filter(pl.col("skip_reason") != "")["skip_reason"].to_list())
    yield dg.Output(
        merged,
        metadata={
            "release_files": releases,
            "members_committed": merged.filter(pl.col("skip_reason") == "").height,
            "unique_blobs": merged.filter(pl.col("skip_reason") == "")["hash"].n_unique(),
            **byte_count("member_bytes", int(merged["size"].sum() or 0)),
            "skip_reasons": dg.MetadataValue.json(dict(reasons.most_common())),
            "preview": dg.MetadataValue.md(_markdown(merged.head(10).drop("hash"))),
        },
    )
    recorded = shard.files if shard else 0
    yield dg.AssetCheckResult(
        check_name="covers_shard",
        passed=releases == recorded,
        metadata={"release_files_in_index": releases, "release_files_recorded": recorded},
    )


@dg.asset(
    **COMMON,
    # Every shard's index; a shard opened but not indexed yet is left out rather than failing the week's stats.
    ins={"corpus_index": dg.AssetIn(metadata={"allow_missing_partitions": True})},
    kinds={"python", "parquet"},
    automation_condition=dg.AutomationCondition.on_cron("0 5 * * 1"),
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(days=8)),
)
def corpus_stats(
    context: dg.AssetExecutionContext,
    corpus_index: pl.DataFrame,
    object_store: ObjectStoreResource,
    postgres: PostgresResource,
    corpus: CorpusResource,
) -> dg.MaterializeResult:
    """Parse each unique Python blob once, then publish feature adoption and build files by upload month."""
    store = object_store.get_store()
    shards_dir = Path(corpus.shards_dir)
    # With no shard indexed yet the IO manager has no columns to give; the empty index has them all.
    index = corpus_index if corpus_index.width else index_.frame([])
    blobs = stats_.unique_python_blobs(index)
    with postgres.connect() as conn:
        parsed = stats_.parse_new_blobs(
            conn, blobs, lambda number: shard_path(shards_dir, number), corpus.workers
        )
        features = stats_.blob_features(conn, blobs["hash"].to_list())
    outputs = {
        "features_monthly": stats_.features_monthly(index, features),
        "build_files_monthly": stats_.build_files_monthly(index),
        "parse_statuses": stats_.parse_statuses(features),
    }
    for name, frame in outputs.items():
        store.put_bytes(f"{STATS_ROOT}/{name}.parquet", index_.write_parquet(frame))
    feature_blobs = Counter(feature for row in features["features"].to_list() for feature in row)
    context.log.info(f"parsed {parsed} new blobs of {blobs.height} unique Python blobs")
    return dg.MaterializeResult(
        metadata={
            "shards": index["repository"].n_unique(),
            "unique_python_blobs": blobs.height,
            "blobs_parsed_now": parsed,
            "parser": PARSER,
            "statuses": dg.MetadataValue.json(dict(Counter(features["status"].to_list()))),
            "blobs_by_feature": dg.MetadataValue.json(dict(feature_blobs.most_common())),
            "build_files": dg.MetadataValue.md(_markdown(outputs["build_files_monthly"].tail(12))),
            "keys": dg.MetadataValue.json([f"{STATS_ROOT}/{name}.parquet" for name in outputs]),
        }
    )


def _markdown(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    return header + "".join("| " + " | ".join(str(value) for value in row) + " |\n" for row in frame.rows())


def _disk_usage(path: Path) -> int:
    if not path.exists():
        return 0
    done = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=False)
    return int(done.stdout.split()[0]) if done.returncode == 0 and done.stdout else 0


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[corpus_shard, corpus_index, corpus_stats])
