"""Global security scans: the latest release of every mirrored project, one weekly scan in 64 name buckets.

``global_scan`` is partitioned by scan date (weekly) times name bucket, so a scan is 64 independent runs that a
backfill spreads over workers. Its product is the bucket's findings table (``lib/scans/dataset.py`` says what a
row is), stored by the Parquet IO manager; its records also go to PostgreSQL (schema ``scans``), which is the
scan's state: the per-file result cache and the history. ``scan_dataset`` takes every bucket's table of its date,
publishes it as ``findings.parquet`` and writes the rest of Aura's layout (``dataset.zst``, the joblog, the
package lists) from the records in PostgreSQL, under ``scans/<date>/<version>/``.
"""

import json
import socket
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import zstandard

from pypi_platform.defs.metadata import byte_count
from pypi_platform.defs.resources import ObjectStoreResource, PostgresResource, ScannerResource
from pypi_platform.lib.config import current_settings
from pypi_platform.lib.publish import new_version, publish, read_file
from pypi_platform.lib.release_cache import ReleaseFileCache
from pypi_platform.lib.scans.bucket import FAILED_STATUSES, WorkerLimits, scan_bucket
from pypi_platform.lib.scans.dataset import findings_frame, scan_files, unmatched_packages
from pypi_platform.lib.scans.findings import RULESET_VERSION
from pypi_platform.lib.scans.state import (
    BUCKETS,
    PostgresResultCache,
    bucket_of,
    date_progress,
    finished_buckets,
    latest_releases,
    save_bucket,
    scan_outcomes,
)
from pypi_platform.lib.scans.typosquat import PopularNames
from pypi_platform.lib.storage import ObjectNotFound, ObjectStore

BUCKET_KEYS = [f"{bucket:02d}" for bucket in range(BUCKETS)]
SCANS_ROOT = "scans"
SCANS_INDEX = f"{SCANS_ROOT}/latest.json"
COMMON = {"group_name": "scans", "owners": ["team:scans"]}


def scan_dates(start: date) -> dg.WeeklyPartitionsDefinition:
    # Weeks start on Mondays (day_offset=1); end_offset=1 makes the current week a partition, so Monday's
    # scheduled scan can run for it.
    return dg.WeeklyPartitionsDefinition(
        start_date=start.isoformat(), timezone="UTC", day_offset=1, end_offset=1
    )


def popular_names(stats: pl.DataFrame | None, min_downloads: int) -> PopularNames:
    """The projects typosquats imitate, from download_stats_30d (none when it was never published)."""
    if stats is None:
        return PopularNames.from_downloads(None)
    return PopularNames.from_downloads(stats.select("package_name", "downloads").iter_rows(), min_downloads)


def build_global_scan(partitions: dg.MultiPartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="global_scan",
        **COMMON,
        partitions_def=partitions,
        deps=["mirror"],
        # The latest published counts, or None before the first publication: the scan then skips typosquatting.
        ins={"download_stats_30d": dg.AssetIn(metadata={"allow_missing": True})},
        io_manager_key="parquet_io_manager",
        kinds={"python", "postgres", "parquet"},
        pool="scanner",
        tags={"dagster/max_runtime": "21600"},
        # Weekly: Monday's buckets, plus the mirror sensor's runs for newly mirrored releases in between.
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(days=8)),
    )
    def global_scan(
        context: dg.AssetExecutionContext,
        object_store: ObjectStoreResource,
        postgres: PostgresResource,
        scanner: ScannerResource,
        download_stats_30d: pl.DataFrame | None,
    ) -> dg.Output[pl.DataFrame]:
        """The findings of one name bucket's projects, the latest release of each scanned (a row per finding)."""
        keys = context.partition_key.keys_by_dimension
        scan_date, bucket = date.fromisoformat(keys["date"]), int(keys["bucket"])
        store = object_store.get_store()
        popular = popular_names(download_stats_30d, scanner.popular_downloads)
        if not popular.names:
            context.log.warning(f"typosquatting is not checked: {popular.basis}")
        files = ReleaseFileCache(Path(scanner.cache_dir), store)
        limits = WorkerLimits(scanner.workers, scanner.timeout_seconds, scanner.memory_bytes)
        with postgres.connect() as conn:
            releases = latest_releases(conn, bucket)
            outcomes = scan_bucket(
                releases, files, limits, cache=PostgresResultCache(conn), top_names=popular
            )
            save_bucket(conn, scan_date, bucket, [r.name for r in releases], outcomes)
            # A bucket's run is what the UI shows as "the latest": it also says where the whole date stands.
            progress = date_progress(conn, scan_date)
        files.trim(scanner.cache_max_bytes)
        failed = {o.name: f"{o.status}: {o.error}"[:200] for o in outcomes if o.status in FAILED_STATUSES}
        for name, reason in failed.items():
            context.log.warning(f"{name}: {reason}")
        summary = _summary(outcomes, [r.name for r in releases], top=10)
        findings = findings_frame(outcomes)
        return dg.Output(
            findings,
            metadata={
                "dagster/row_count": findings.height,
                "dagster/column_schema": _column_schema(findings),
                "packages": len(outcomes),
                "statuses": dg.MetadataValue.json(summary["statuses"]),
                "failed": dg.MetadataValue.json(failed),
                "top_scores": dg.MetadataValue.json(summary["top_scores"]),
                "files_fetched": files.stats.fetched,
                "files_from_local_cache": files.stats.hits,
                **byte_count("bytes_fetched", files.stats.fetched_bytes),
                "ruleset_version": RULESET_VERSION,
                "scan_date": scan_date.isoformat(),
                "scan_date_so_far": progress.summary(),
                "scan_date_buckets_finished": progress.buckets_finished,
                "scan_date_statuses": dg.MetadataValue.json(progress.statuses),
            },
        )

    return global_scan


def build_scan_dataset(dates: dg.WeeklyPartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="scan_dataset",
        **COMMON,
        partitions_def=dates,
        # Every bucket of the date: on_missing waits until none of them is missing.
        ins={
            "global_scan": dg.AssetIn(
                partition_mapping=dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")
            )
        },
        kinds={"s3", "parquet"},
        automation_condition=dg.AutomationCondition.on_missing(),
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(days=8)),
        check_specs=[
            dg.AssetCheckSpec(
                "one_record_per_input",
                asset="scan_dataset",
                description="The published dataset has exactly one record per input package.",
            ),
            dg.AssetCheckSpec(
                "failed_share",
                asset="scan_dataset",
                description="The share of packages whose scan failed stays under the configured limit.",
            ),
        ],
    )
    def scan_dataset(
        context: dg.AssetExecutionContext,
        global_scan: pl.DataFrame,
        object_store: ObjectStoreResource,
        postgres: PostgresResource,
        scanner: ScannerResource,
    ):
        """Publish a finished scan date: dataset.zst, joblog, package lists, findings.parquet, checksums."""
        scan_date = date.fromisoformat(context.partition_key)
        with postgres.connect() as conn:
            buckets = finished_buckets(conn, scan_date)
            missing = [b for b in range(BUCKETS) if b not in buckets]
            if missing:
                raise dg.Failure(
                    f"{len(missing)} of {BUCKETS} buckets of {scan_date} have not finished",
                    metadata={"missing_buckets": dg.MetadataValue.json(missing)},
                )
            outcomes = scan_outcomes(conn, scan_date)
        # The published table is the buckets' stored frames, row for row; the records beside it come from
        # PostgreSQL, so a bucket whose two disagree (saved by different runs) must be scanned again.
        stale = sorted({bucket_of(name) for name in unmatched_packages(global_scan, outcomes)})
        if stale:
            raise dg.Failure(
                f"the findings of {len(stale)} buckets of {scan_date} differ from their records in PostgreSQL; "
                f"materialize global_scan again for bucket {', '.join(f'{b:02d}' for b in stale)}",
                metadata={"stale_buckets": dg.MetadataValue.json(stale)},
            )
        inputs = sorted({name for names in buckets.values() for name in names})
        store = object_store.get_store()
        findings = global_scan.sort("name", maintain_order=True)
        files = scan_files(scan_date, outcomes, inputs, host=socket.gethostname(), findings=findings)
        version = new_version(datetime.now(UTC), context.run.run_id)
        summary = _summary(outcomes, inputs)
        manifest = publish(store, scan_date.isoformat(), version, files, summary, root=SCANS_ROOT)
        _point_index(store, manifest)
        yield dg.MaterializeResult(
            metadata={
                "scan_id": f"{scan_date.isoformat()}/{version}",
                "dagster/row_count": len(outcomes),
                "files": dg.MetadataValue.json(manifest["files"]),
                "input_packages": summary["input_packages"],
                "statuses": dg.MetadataValue.json(summary["statuses"]),
                "top_scores": dg.MetadataValue.json(summary["top_scores"]),
                "ruleset_version": RULESET_VERSION,
            }
        )
        yield from _checks(store, manifest, scanner.max_failed_share)

    return scan_dataset


def _summary(outcomes, inputs: list[str], top: int = 20) -> dict:
    """Counts by status and the highest scores, of a bucket's outcomes or of a whole scan's stored records."""
    ranked = sorted((o for o in outcomes if o.status == "ok"), key=lambda o: -o.record["score"])
    return {
        "input_packages": len(inputs),
        "statuses": dict(Counter(o.status for o in outcomes)),
        "ruleset_version": RULESET_VERSION,
        "top_scores": [
            {"name": o.name, "version": o.version, "score": o.record["score"]} for o in ranked[:top]
        ],
    }


def _column_schema(frame: pl.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()])


def _point_index(store: ObjectStore, manifest: dict) -> None:
    """Move ``scans/latest.json`` to this scan unless a newer scan date is already published."""
    try:
        current = json.loads(store.get_bytes(SCANS_INDEX))
    except ObjectNotFound:
        current = None
    if current is None or current["dataset"] <= manifest["dataset"]:
        store.put_bytes(SCANS_INDEX, json.dumps(manifest, indent=2, sort_keys=True).encode())


def _checks(store: ObjectStore, manifest: dict, max_failed_share: float):
    """Both checks read the published files back, so they vouch for what readers get."""
    inputs = read_file(store, manifest, "input_packages.txt").decode().split()
    lines = zstandard.ZstdDecompressor().decompressobj().decompress(read_file(store, manifest, "dataset.zst"))
    records = [json.loads(line) for line in lines.splitlines()]
    names = Counter(record["name"] for record in records)
    duplicates = sorted(name for name, count in names.items() if count > 1)
    unrecorded = sorted(set(inputs) - set(names))
    yield dg.AssetCheckResult(
        check_name="one_record_per_input",
        passed=not duplicates and not unrecorded and len(records) == len(inputs),
        metadata={
            "inputs": len(inputs),
            "records": len(records),
            "duplicates": dg.MetadataValue.json(duplicates[:50]),
            "without_record": dg.MetadataValue.json(unrecorded[:50]),
        },
    )
    failed = [record["name"] for record in records if record["status"] in FAILED_STATUSES]
    share = len(failed) / len(records) if records else 0.0
    yield dg.AssetCheckResult(
        check_name="failed_share",
        passed=share <= max_failed_share,
        metadata={
            "failed": len(failed),
            "share": share,
            "limit": max_failed_share,
            "names": dg.MetadataValue.json(failed[:50]),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    # The first scan date is configuration, so the assets are built when definitions load, not at import.
    dates = scan_dates(current_settings().scans.start_date)
    partitions = dg.MultiPartitionsDefinition(
        {"date": dates, "bucket": dg.StaticPartitionsDefinition(BUCKET_KEYS)}
    )
    return dg.Definitions(assets=[build_global_scan(partitions), build_scan_dataset(dates)])
