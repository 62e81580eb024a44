"""Where one day's aggregate comes from: BigQuery (dry run, byte cap) or local Parquet in the same schema."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from pypi_platform.lib.downloads.aggregate import DailyResult, add_all_rows, aggregate_day, split_counts
from pypi_platform.lib.downloads.bigquery_sql import render_daily_sql
from pypi_platform.lib.downloads.sample import FILE_PREFIX, write_sample
from pypi_platform.lib.downloads.source import SourceFileError, find_corrupt_file, scan_window, source_files


class CostCapExceeded(RuntimeError):
    """The dry run says the query would scan more than the configured cap; nothing was billed."""


@dataclass(frozen=True)
class DayAggregate:
    day: date
    result: DailyResult
    frame: pl.DataFrame  # DAILY_FRAME with the __all__ rows, ready to load
    source: str
    bytes_estimated: int | None = None
    bytes_billed: int | None = None
    cache_hit: bool | None = None


class DownloadLogs(Protocol):
    name: str

    def aggregate(self, day: date) -> DayAggregate: ...


def day_window(day: date) -> tuple[datetime, datetime]:
    """The half-open UTC window [day, day + 1): an inclusive 23:59:59 bound would lose the last second."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


class ParquetLogs:
    """Local Parquet files in the BigQuery table's schema, aggregated with polars."""

    def __init__(self, location: str | Path, semantics: str) -> None:
        self.location, self.semantics = location, semantics
        self.name = f"parquet:{location}"

    def aggregate(self, day: date) -> DayAggregate:
        """Aggregate ``day``; a bad file raises ``SourceFileError`` naming it and why the day reads it."""
        start, end = day_window(day)
        files = source_files(self.location, day, day)
        try:
            try:
                result = aggregate_day(scan_window(files, start, end), start, end, self.semantics)
            except (pl.exceptions.PolarsError, OSError) as exc:
                # polars names no file when a page cannot be decoded: find it, or let the original error stand.
                corrupt = find_corrupt_file(files)
                if corrupt is None:
                    raise
                raise corrupt from exc
        except SourceFileError as exc:
            raise exc.for_day(day) from exc.__cause__
        return DayAggregate(day, result, add_all_rows(result.frame), self.name)


class SampleLogs(ParquetLogs):
    """The embedded default: a generated sample over the given projects, written the first time a day is asked for.

    A day's rows live in the files of its arrival day and the next (late data), so both are made if missing. Each
    file is written aside and renamed into place, so a killed run never leaves a half-written file behind.
    """

    def __init__(
        self, directory: Path, projects: Sequence[str], semantics: str, rows_per_day: int = 50_000
    ) -> None:
        super().__init__(directory, semantics)
        self.directory, self.projects, self.rows_per_day = directory, list(projects), rows_per_day
        self.name = f"sample:{directory}"

    def aggregate(self, day: date) -> DayAggregate:
        for arrival in (day, day + timedelta(days=1)):
            target = self.directory / f"{FILE_PREFIX}{arrival.isoformat()}.parquet"
            if not target.exists():
                with tempfile.TemporaryDirectory(dir=self.directory.parent, prefix=".sample-") as scratch:
                    (written,) = write_sample(
                        Path(scratch),
                        arrival,
                        arrival,
                        projects=self.projects,
                        rows_per_day=self.rows_per_day,
                    )
                    self.directory.mkdir(parents=True, exist_ok=True)
                    os.replace(written, target)
        return super().aggregate(day)


class BigQueryLogs:
    """The BigQuery table of download logs: a dry run, then the query under ``maximum_bytes_billed``."""

    def __init__(self, client: Any, table: str, semantics: str, max_bytes: int) -> None:
        self.client, self.table, self.semantics, self.max_bytes = client, table, semantics, max_bytes
        self.sql = render_daily_sql(table, semantics)
        self.name = f"bigquery:{table}"

    def aggregate(self, day: date) -> DayAggregate:
        from google.cloud import bigquery  # the BigQuery client is only imported where it is used

        start, end = day_window(day)
        parameters = [
            bigquery.ScalarQueryParameter("start", "TIMESTAMP", start),
            bigquery.ScalarQueryParameter("end", "TIMESTAMP", end),
        ]
        dry = self.client.query(
            self.sql,
            job_config=bigquery.QueryJobConfig(
                dry_run=True, use_query_cache=False, query_parameters=parameters
            ),
        )
        estimated = int(dry.total_bytes_processed or 0)
        check_cost(day, estimated, self.max_bytes)
        job = self.client.query(
            self.sql,
            job_config=bigquery.QueryJobConfig(
                query_parameters=parameters,
                maximum_bytes_billed=self.max_bytes,
                labels={"app": "pypi-platform", "asset": "daily_downloads"},
            ),
        )
        raw = pl.from_arrow(job.result().to_arrow())
        result = split_counts(raw)
        return DayAggregate(
            day,
            result,
            add_all_rows(result.frame),
            self.name,
            estimated,
            job.total_bytes_billed,
            job.cache_hit,
        )


def check_cost(day: date, estimated: int, cap: int) -> None:
    if estimated > cap:
        raise CostCapExceeded(
            f"the query for {day.isoformat()} would scan {estimated:,} bytes, over the cap of {cap:,} bytes "
            "(PYPI_PLATFORM_BIGQUERY_MAX_BYTES); nothing was run or billed"
        )
