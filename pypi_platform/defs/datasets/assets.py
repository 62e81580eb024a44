"""Published ecosystem datasets: package list, dependencies, reverse dependencies, 30-day downloads.

Each asset builds its frame with an engine in ``lib/datasets``, then publishes it to the object store under
``datasets/<name>/<version>/`` in Aura's format and as Parquet; ``latest.json`` moves last. The object store is
also how the datasets read each other, so an asset materialized on its own reads what is published.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl

from pypi_platform.defs.resources import ObjectStoreResource, PostgresResource
from pypi_platform.lib.datasets import build
from pypi_platform.lib.datasets.download_stats import WINDOW_DAYS, download_stats
from pypi_platform.lib.datasets.metadata import release_dependencies
from pypi_platform.lib.datasets.mirror_state import dependency_list as stored_dependencies
from pypi_platform.lib.datasets.mirror_state import refresh_dependencies
from pypi_platform.lib.datasets.schema import AURA_FILES
from pypi_platform.lib.frames import parquet_bytes
from pypi_platform.lib.mirror.reads import mirrored_projects
from pypi_platform.lib.publish import (
    DatasetFile,
    new_version,
    prune_versions,
    publish,
    read_frame,
    read_latest,
)

HOURLY = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2))
EVERY_THREE_DAYS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(days=6), warn_window=timedelta(days=3)
)
KEEP_VERSIONS = 48  # two days of hourly versions stay readable for consumers holding an older manifest
SHRINK_LIMIT = 0.05  # a package list more than 5 % shorter than the last one is held back
COMMON = {"group_name": "datasets", "owners": ["team:datasets"]}


def publish_pair(
    context: dg.AssetExecutionContext,
    store,
    dataset: str,
    aura: bytes,
    frame: pl.DataFrame,
    metadata: dict,
    *,
    point_latest: bool = True,
) -> dict:
    """Publish the Aura-format file (gzip) and the Parquet twin of ``frame`` as one version of ``dataset``."""
    version = new_version(datetime.now(UTC), context.run.run_id)
    files = [
        DatasetFile(AURA_FILES[dataset], build.gzip_bytes(aura), frame.height),
        DatasetFile(f"{dataset}.parquet", parquet_bytes(frame), frame.height),
    ]
    manifest = publish(store, dataset, version, files, metadata, point_latest=point_latest)
    pruned = prune_versions(store, dataset, KEEP_VERSIONS)
    if pruned:
        context.log.info(f"{dataset}: removed {len(pruned)} old versions")
    return manifest


def manifest_metadata(manifest: dict) -> dict:
    return {
        "version": manifest["version"],
        "files": dg.MetadataValue.json(manifest["files"]),
        "dagster/row_count": next(iter(manifest["files"].values()))["rows"],
    }


@dg.asset(
    **COMMON,
    kinds={"polars", "s3"},
    deps=["mirror"],
    freshness_policy=HOURLY,
    check_specs=[
        dg.AssetCheckSpec("package_list_not_empty", asset="package_list", blocking=True),
        dg.AssetCheckSpec("package_list_not_shrinking", asset="package_list", blocking=True),
    ],
)
def package_list(
    context: dg.AssetExecutionContext, object_store: ObjectStoreResource, postgres: PostgresResource
):
    """Every project in the mirror with its latest version, serial and last sync, one normalized name a line."""
    store = object_store.get_store()
    with postgres.connect() as conn:
        packages = build.package_list(mirrored_projects(conn))
    previous = read_latest(store, "package_list")
    previous_rows = next(iter(previous["files"].values()))["rows"] if previous else None
    shrinking = bool(previous_rows) and packages.height < previous_rows * (1 - SHRINK_LIMIT)
    manifest = publish_pair(
        context,
        store,
        "package_list",
        build.package_list_text(packages),
        packages,
        {"previous_rows": previous_rows},
        point_latest=not shrinking and packages.height > 0,
    )
    yield dg.MaterializeResult(metadata={**manifest_metadata(manifest), "held_back": shrinking})
    yield dg.AssetCheckResult(check_name="package_list_not_empty", passed=packages.height > 0)
    yield dg.AssetCheckResult(
        check_name="package_list_not_shrinking",
        passed=not shrinking,
        description=(
            f"{packages.height} projects against {previous_rows} in the last version; latest.json not moved"
            if shrinking
            else None
        ),
        metadata={"rows": packages.height, "previous_rows": previous_rows or 0},
    )


@dg.asset(
    **COMMON,
    kinds={"polars", "postgres", "s3"},
    deps=["mirror"],
    freshness_policy=HOURLY,
    check_specs=[dg.AssetCheckSpec("dependency_list_not_empty", asset="dependency_list", blocking=True)],
)
def dependency_list(
    context: dg.AssetExecutionContext, object_store: ObjectStoreResource, postgres: PostgresResource
):
    """Requirements of the latest release of every mirrored project, from its core metadata in the mirror."""
    store = object_store.get_store()

    def read_release(project, version, files):
        return release_dependencies(store, project, version, files)

    with postgres.connect() as conn:
        report = refresh_dependencies(conn, mirrored_projects(conn), read_release)
        rows = stored_dependencies(conn)
    context.log.info(f"read {report.read} of {report.releases} latest releases; forgot {report.forgotten}")
    problems = rows.filter(pl.col("problem").is_not_null())
    kinds = (
        problems.group_by(pl.col("problem").str.extract(r"^([a-z-]+)", 1).alias("kind")).len().sort("kind")
    )
    manifest = publish_pair(
        context,
        store,
        "dependency_list",
        build.dependency_list_jsonl(rows),
        rows,
        {"releases": report.releases, "problems": dict(kinds.iter_rows())},
    )
    edges = build.dependency_edges(rows)
    mutual = build.mutual_dependencies(edges)
    yield dg.MaterializeResult(
        metadata={
            **manifest_metadata(manifest),
            "releases": report.releases,
            "releases_read": report.read,
            "edges": edges.height,
            "problems": dg.MetadataValue.md(_problem_table(problems)),
            # Cycles are kept as ordinary edges; the two-project ones are listed so they can be looked at.
            "mutual_dependencies": mutual.height,
            "mutual_dependency_pairs": dg.MetadataValue.json([list(pair) for pair in mutual.head(50).rows()]),
        }
    )
    yield dg.AssetCheckResult(check_name="dependency_list_not_empty", passed=rows.height > 0)


@dg.asset(
    **COMMON,
    kinds={"polars", "s3"},
    deps=[dependency_list],
    freshness_policy=HOURLY,
    check_specs=[
        dg.AssetCheckSpec("reverse_dependencies_not_empty", asset="reverse_dependencies", blocking=True)
    ],
)
def reverse_dependencies(
    context: dg.AssetExecutionContext, object_store: ObjectStoreResource, postgres: PostgresResource
):
    """For every project, mirrored or depended upon, the projects whose latest release depends on it."""
    store = object_store.get_store()
    dependencies = _latest(store, "dependency_list")
    rows = read_frame(store, dependencies, "dependency_list.parquet")
    with postgres.connect() as conn:
        projects = mirrored_projects(conn)["name"]
    reverse = build.reverse_dependencies(rows, projects)
    manifest = publish_pair(
        context, store, "reverse_dependencies", build.reverse_dependencies_json(reverse), reverse,
        {"dependency_list_version": dependencies["version"]},
    )  # fmt: skip
    yield dg.MaterializeResult(metadata=manifest_metadata(manifest))
    yield dg.AssetCheckResult(check_name="reverse_dependencies_not_empty", passed=reverse.height > 0)


@dg.asset(
    **COMMON,
    kinds={"polars", "postgres", "s3"},
    deps=["recent_downloads"],
    freshness_policy=EVERY_THREE_DAYS,
    check_specs=[
        dg.AssetCheckSpec("download_stats_30d_not_empty", asset="download_stats_30d", blocking=True)
    ],
)
def download_stats_30d(
    context: dg.AssetExecutionContext, object_store: ObjectStoreResource, postgres: PostgresResource
):
    """Downloads of each package over the last 30 loaded days without mirrors, most downloaded first."""
    with postgres.connect() as conn:
        stats, end = download_stats(conn)
    window = {"window_days": WINDOW_DAYS, "window_end": end.isoformat() if end else None}
    manifest = publish_pair(
        context, object_store.get_store(), "download_stats_30d", build.download_stats_jsonl(stats), stats, window,
        point_latest=stats.height > 0,
    )  # fmt: skip
    yield dg.MaterializeResult(metadata={**manifest_metadata(manifest), **window})
    yield dg.AssetCheckResult(
        check_name="download_stats_30d_not_empty",
        passed=stats.height > 0,
        description=None if stats.height else "no download statistics loaded yet: run daily_downloads first",
    )


def _latest(store, dataset: str) -> dict:
    manifest = read_latest(store, dataset)
    if manifest is None:
        raise dg.Failure(f"{dataset} has not been published yet; materialize it first")
    return manifest


def _problem_table(problems: pl.DataFrame, limit: int = 50) -> str:
    if problems.is_empty():
        return "No problems."
    lines = ["| project | version | requirement | problem |", "|---|---|---|---|"]
    for row in problems.head(limit).iter_rows(named=True):
        cells = [row["project"], row["version"] or "", row["requirement"] or "", row["problem"]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    if problems.height > limit:
        lines.append(f"\n{problems.height - limit} more in the dataset (rows whose `problem` is set).")
    return "\n".join(lines)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[package_list, dependency_list, reverse_dependencies, download_stats_30d])
