"""Published ecosystem datasets: package list, dependencies, reverse dependencies, 30-day downloads.

Each asset builds its frame with an engine in ``lib/datasets``, stages the Aura-format file (a side output) in a
new version under ``datasets/<name>/<version>/`` and returns the frame; the dataset IO manager
(``io_manager.py``) writes it as the version's Parquet twin and moves ``latest.json`` last. The IO manager is
also how the datasets read each other, so an asset materialized on its own reads what is published.
"""

from datetime import timedelta

import dagster as dg
import polars as pl

from pypi_platform.defs.datasets.io_manager import publication_metadata
from pypi_platform.defs.resources import ObjectStoreResource, PostgresResource
from pypi_platform.lib.datasets import build
from pypi_platform.lib.datasets.download_stats import WINDOW_DAYS, download_stats
from pypi_platform.lib.datasets.metadata import release_dependencies
from pypi_platform.lib.datasets.mirror_state import dependency_list as stored_dependencies
from pypi_platform.lib.datasets.mirror_state import refresh_dependencies
from pypi_platform.lib.datasets.schema import AURA_FILES
from pypi_platform.lib.mirror.reads import mirrored_projects
from pypi_platform.lib.publish import DatasetFile, read_latest

HOURLY = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2))
EVERY_THREE_DAYS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(days=6), warn_window=timedelta(days=3)
)
SHRINK_LIMIT = 0.05  # a package list more than 5 % shorter than the last one is held back
COMMON = {"group_name": "datasets", "owners": ["team:datasets"]}
PUBLISHED = {**COMMON, "io_manager_key": "dataset_io_manager"}  # a frame, stored as a published version


def aura_file(dataset: str, text: bytes, rows: int) -> DatasetFile:
    """The dataset in Aura's format, gzipped: the side output each dataset stages beside its Parquet twin."""
    return DatasetFile(AURA_FILES[dataset], build.gzip_bytes(text), rows)


@dg.asset(
    **PUBLISHED,
    kinds={"polars", "s3"},
    deps=["mirror"],
    freshness_policy=HOURLY,
    check_specs=[
        dg.AssetCheckSpec(
            "not_empty",
            asset="package_list",
            description="The package list has at least one project.",
            blocking=True,
        ),
        dg.AssetCheckSpec(
            "not_shrinking",
            asset="package_list",
            description="The list is not more than 5 % shorter than the last one; if it is, latest.json stays put.",
            blocking=True,
        ),
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
    side = aura_file("package_list", build.package_list_text(packages), packages.height)
    publication = publication_metadata(
        context, store, [side], {"previous_rows": previous_rows}, held_back=shrinking or packages.height == 0
    )
    yield dg.Output(packages, metadata=publication)
    yield dg.AssetCheckResult(check_name="not_empty", passed=packages.height > 0)
    yield dg.AssetCheckResult(
        check_name="not_shrinking",
        passed=not shrinking,
        description=(
            f"{packages.height} projects against {previous_rows} in the last version; latest.json not moved"
            if shrinking
            else None
        ),
        metadata={"rows": packages.height, "previous_rows": previous_rows or 0},
    )


@dg.asset(
    **PUBLISHED,
    kinds={"polars", "postgres", "s3"},
    deps=["mirror"],
    freshness_policy=HOURLY,
    check_specs=[
        dg.AssetCheckSpec(
            "not_empty",
            asset="dependency_list",
            description="At least one requirement was read.",
            blocking=True,
        )
    ],
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
    side = aura_file("dependency_list", build.dependency_list_jsonl(rows), rows.height)
    publication = publication_metadata(
        context, store, [side], {"releases": report.releases, "problems": dict(kinds.iter_rows())}
    )
    edges = build.dependency_edges(rows)
    mutual = build.mutual_dependencies(edges)
    yield dg.Output(
        rows,
        metadata={
            **publication,
            "releases": report.releases,
            "releases_read": report.read,
            "edges": edges.height,
            "problems": dg.MetadataValue.md(_problem_table(problems)),
            # Cycles are kept as ordinary edges; the two-project ones are listed so they can be looked at.
            "mutual_dependencies": mutual.height,
            "mutual_dependency_pairs": dg.MetadataValue.json([list(pair) for pair in mutual.head(50).rows()]),
        },
    )
    yield dg.AssetCheckResult(check_name="not_empty", passed=rows.height > 0)


@dg.asset(
    **PUBLISHED,
    kinds={"polars", "s3"},
    freshness_policy=HOURLY,
    check_specs=[
        dg.AssetCheckSpec(
            "not_empty",
            asset="reverse_dependencies",
            description="At least one project is listed.",
            blocking=True,
        )
    ],
)
def reverse_dependencies(
    context: dg.AssetExecutionContext,
    object_store: ObjectStoreResource,
    postgres: PostgresResource,
    dependency_list: pl.DataFrame,
):
    """For every project, mirrored or depended upon, the projects whose latest release depends on it."""
    with postgres.connect() as conn:
        projects = mirrored_projects(conn)["name"]
    reverse = build.reverse_dependencies(dependency_list, projects)
    side = aura_file("reverse_dependencies", build.reverse_dependencies_json(reverse), reverse.height)
    publication = publication_metadata(context, object_store.get_store(), [side])
    yield dg.Output(reverse, metadata=publication)
    yield dg.AssetCheckResult(check_name="not_empty", passed=reverse.height > 0)


@dg.asset(
    **PUBLISHED,
    kinds={"polars", "postgres", "s3"},
    deps=["recent_downloads"],
    freshness_policy=EVERY_THREE_DAYS,
    check_specs=[
        dg.AssetCheckSpec(
            "not_empty",
            asset="download_stats_30d",
            description="At least one package has downloads in the 30-day window.",
            blocking=True,
        )
    ],
)
def download_stats_30d(
    context: dg.AssetExecutionContext, object_store: ObjectStoreResource, postgres: PostgresResource
):
    """Downloads of each package over the last 30 loaded days without mirrors, most downloaded first."""
    with postgres.connect() as conn:
        stats, end = download_stats(conn)
    window = {"window_days": WINDOW_DAYS, "window_end": end.isoformat() if end else None}
    side = aura_file("download_stats_30d", build.download_stats_jsonl(stats), stats.height)
    publication = publication_metadata(
        context, object_store.get_store(), [side], window, held_back=stats.height == 0
    )
    yield dg.Output(stats, metadata={**publication, **window})
    yield dg.AssetCheckResult(
        check_name="not_empty",
        passed=stats.height > 0,
        description=None if stats.height else "no download statistics loaded yet: run daily_downloads first",
    )


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
