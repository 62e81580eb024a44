"""Every resource key, provided once, chosen from the environment (the ``PYPI_PLATFORM_*`` settings)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import dagster as dg
import psycopg
from pydantic import PrivateAttr

from pypi_platform.lib import postgres
from pypi_platform.lib.config import (
    CorpusSettings,
    DownloadSettings,
    MirrorFilters,
    S3Timeouts,
    ScanSettings,
    Settings,
    current_settings,
)
from pypi_platform.lib.downloads.logs import BigQueryLogs, DownloadLogs, ParquetLogs, SampleLogs
from pypi_platform.lib.mirror.runner import run_mirror_sync
from pypi_platform.lib.mirror.sync import SyncReport
from pypi_platform.lib.storage import ObjectStore, open_store


class ObjectStoreResource(dg.ConfigurableResource):
    """The object store: a local directory (file:///...) or S3 and S3-compatible stores (s3://bucket/prefix)."""

    url: str
    endpoint_url: str | None = None
    # How long an S3 request waits to connect and for each read, per attempt, and how many attempts it makes.
    timeout_seconds: float = S3Timeouts.seconds
    max_attempts: int = S3Timeouts.max_attempts
    _store: ObjectStore | None = PrivateAttr(default=None)

    def get_store(self) -> ObjectStore:
        if self._store is None:
            timeouts = S3Timeouts(seconds=self.timeout_seconds, max_attempts=self.max_attempts)
            self._store = open_store(self.url, endpoint_url=self.endpoint_url, timeouts=timeouts)
        return self._store


class PostgresResource(dg.ConfigurableResource):
    """PostgreSQL by DSN, or an embedded server under ``embedded_dir``; migrations applied once per process."""

    dsn: str | None = None
    embedded_dir: str | None = None

    def get_dsn(self) -> str:
        return postgres.ensure_database(self.dsn, self.embedded_dir)

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(self.get_dsn()) as conn:
            yield conn


class MirrorResource(dg.ConfigurableResource):
    """The upstream index to mirror and the filters that decide which projects, releases and files to keep."""

    upstream_url: str
    work_dir: str
    # MirrorFilters' fields, as configuration (lists for its sets); filters() turns them back into MirrorFilters.
    allowlist: list[str] | None = None
    blocklist: list[str] = []
    keep_releases: int = MirrorFilters.keep_releases
    prereleases: bool = MirrorFilters.prereleases
    package_types: list[str] | None = None
    exclude_platforms: list[str] = []
    max_file_size: int | None = None
    workers: int = Settings.mirror_workers
    delete_grace_hours: float = Settings.mirror_delete_grace_hours
    check_budget: int = Settings.mirror_check_budget

    def filters(self) -> MirrorFilters:
        return MirrorFilters.from_plain(self.model_dump())

    def sync(self, store: ObjectStore, dsn: str, logger=None) -> SyncReport:
        return run_mirror_sync(
            upstream_url=self.upstream_url,
            store=store,
            dsn=dsn,
            filters=self.filters(),
            work_dir=Path(self.work_dir),
            workers=self.workers,
            delete_grace=timedelta(hours=self.delete_grace_hours),
            check_budget=self.check_budget,
            logger=logger,
        )


class DownloadLogsResource(dg.ConfigurableResource):
    """Where download logs come from: BigQuery through dagster-gcp, local Parquet, or a generated sample."""

    source: str | None = None  # "bigquery", a path or glob of Parquet files; None: the generated sample
    sample_dir: str
    semantics: str = DownloadSettings.semantics
    bigquery_project: str | None = None
    bigquery_table: str = DownloadSettings.bigquery_table
    bigquery_max_bytes: int = DownloadSettings.bigquery_max_bytes
    retention_days: int = DownloadSettings.retention_days

    @contextmanager
    def open(self, sample_projects: Callable[[], list[str]]) -> Iterator[DownloadLogs]:
        if self.source == "bigquery":
            from dagster_gcp import BigQueryResource  # heavy; only a BigQuery deployment pays for it

            with BigQueryResource(project=self.bigquery_project).get_client() as client:
                yield BigQueryLogs(client, self.bigquery_table, self.semantics, self.bigquery_max_bytes)
        elif self.source:
            yield ParquetLogs(self.source, self.semantics)
        else:
            yield SampleLogs(Path(self.sample_dir), sample_projects(), self.semantics)


class ScannerResource(dg.ConfigurableResource):
    """How global_scan scans: worker processes, per-package limits, and the local cache of release files."""

    cache_dir: str
    workers: int = ScanSettings.workers
    timeout_seconds: float = ScanSettings.timeout_seconds
    memory_bytes: int = ScanSettings.memory_bytes
    cache_max_bytes: int = ScanSettings.cache_max_bytes
    max_failed_share: float = ScanSettings.max_failed_share
    popular_downloads: int = ScanSettings.popular_downloads


class CorpusResource(dg.ConfigurableResource):
    """Where the corpus shards live and how they grow: capacity, files per run, parse workers."""

    shards_dir: str
    cache_dir: str
    shard_capacity: int = CorpusSettings.shard_capacity
    batch_files: int = CorpusSettings.batch_files
    workers: int = CorpusSettings.workers


def build_resources(settings: Settings) -> dict[str, object]:
    store = ObjectStoreResource(
        url=settings.storage_url,
        endpoint_url=settings.s3_endpoint_url,
        timeout_seconds=settings.s3_timeouts.seconds,
        max_attempts=settings.s3_timeouts.max_attempts,
    )
    database = PostgresResource(
        dsn=settings.database_url,
        embedded_dir=None if settings.database_url else str(settings.embedded_postgres_dir),
    )
    filters = settings.filters
    mirror = MirrorResource(
        upstream_url=settings.upstream_url,
        work_dir=str(settings.home / "tmp" / "mirror"),
        **filters.as_plain(),
        workers=settings.mirror_workers,
        delete_grace_hours=settings.mirror_delete_grace_hours,
        check_budget=settings.mirror_check_budget,
    )
    downloads = settings.downloads
    download_logs = DownloadLogsResource(
        source=downloads.source,
        sample_dir=str(settings.home / "downloads-sample"),
        semantics=downloads.semantics,
        bigquery_project=downloads.bigquery_project,
        bigquery_table=downloads.bigquery_table,
        bigquery_max_bytes=downloads.bigquery_max_bytes,
        retention_days=downloads.retention_days,
    )
    scans = settings.scans
    scanner = ScannerResource(
        cache_dir=str(settings.home / "cache" / "release-files"),
        workers=scans.workers,
        timeout_seconds=scans.timeout_seconds,
        memory_bytes=scans.memory_bytes,
        cache_max_bytes=scans.cache_max_bytes,
        max_failed_share=scans.max_failed_share,
        popular_downloads=scans.popular_downloads,
    )
    corpus = CorpusResource(
        shards_dir=str(settings.home / "corpus"),
        cache_dir=str(settings.home / "cache" / "release-files"),
        shard_capacity=settings.corpus.shard_capacity,
        batch_files=settings.corpus.batch_files,
        workers=settings.corpus.workers,
    )
    return {
        "object_store": store,
        "postgres": database,
        "mirror_upstream": mirror,
        "download_logs": download_logs,
        "scanner": scanner,
        "corpus": corpus,
    }


@dg.definitions
def defs() -> dg.Definitions:
    # Reading the environment here, not at import, lets a bad value fail the code location with its name.
    return dg.Definitions(resources=build_resources(current_settings()))
