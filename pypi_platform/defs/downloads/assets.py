"""Daily download statistics: one aggregation per UTC day from the logs, loaded into the ``downloads`` tables."""

import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import psycopg

from pypi_platform.defs.downloads.io_manager import (
    DatabaseWentAway,
    load_info_metadata,
    went_away_message,
    write_days,
)
from pypi_platform.defs.metadata import byte_count, plain
from pypi_platform.defs.resources import DownloadLogsResource, PostgresResource
from pypi_platform.lib.config import current_settings
from pypi_platform.lib.downloads import quality
from pypi_platform.lib.downloads.logs import DayAggregate
from pypi_platform.lib.downloads.reads import last_complete_day_now, recent_totals
from pypi_platform.lib.downloads.tables import RECENT_TABLE, LoadInfo, drop_days_before
from pypi_platform.lib.mirror.reads import healthy_project_names

# name: (rule over the loaded days, severity, what it holds)
CHECKS = {
    "not_empty": (quality.empty_days, dg.AssetCheckSeverity.ERROR, "Every loaded day has downloads."),
    "all_equals_sum": (
        quality.all_row_mismatches,
        dg.AssetCheckSeverity.ERROR,
        "In every table, the __all__ row of a day and category is the sum over packages.",
    ),
    "without_mirrors_within_with": (
        quality.mirror_excess,
        dg.AssetCheckSeverity.ERROR,
        "No package has more downloads without mirrors than with them.",
    ),
    "no_negative_counts": (quality.negative_counts, dg.AssetCheckSeverity.ERROR, "No count is negative."),
    "not_far_below_neighbours": (
        quality.low_days,
        dg.AssetCheckSeverity.WARN,
        "No loaded day is far below the days around it (a warning: a partial source looks like this).",
    ),
}


def daily_partitions(start: date) -> dg.DailyPartitionsDefinition:
    # end_offset=1: today's partition exists too, so "today so far" can be loaded (hourly, by its schedule).
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC", end_offset=1)


def build_daily_downloads(partitions: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name="daily_downloads",
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="downloads",
        kinds={"postgres", "polars", "bigquery"},
        owners=["team:downloads"],
        pool="bigquery",
        io_manager_key="downloads_io_manager",
        output_required=False,
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26)),
        check_specs=[
            dg.AssetCheckSpec(name, asset="daily_downloads", description=description)
            for name, (_, _, description) in CHECKS.items()
        ],
    )
    def daily_downloads(
        context: dg.AssetExecutionContext, download_logs: DownloadLogsResource, postgres: PostgresResource
    ) -> Iterator[dg.Output | dg.AssetMaterialization | dg.AssetCheckResult]:
        """Downloads per UTC day, package and category, in one PostgreSQL table per dimension."""
        window = context.partition_time_window
        days = [window.start.date() + timedelta(days=n) for n in range((window.end - window.start).days)]
        infos, details, failures = {}, {}, {}
        went_away: str | None = None  # what PostgreSQL's going away left written, if it went away
        # Each aggregated day waits on local disk, so a long backfill holds one day in memory at a time. No
        # connection is held while days aggregate (for hours, in a backfill): each write opens its own.
        with (
            tempfile.TemporaryDirectory(prefix="daily_downloads-") as spool,
            download_logs.open(lambda: _project_names(postgres)) as logs,
        ):
            for day in days:
                try:
                    aggregate = logs.aggregate(day)
                # One day's failure leaves that day's previous data, and the other days, alone.
                except Exception as exc:
                    failures[day.isoformat()] = f"{type(exc).__name__}: {exc}"
                    context.log.error(f"{day}: {failures[day.isoformat()]}")
                    continue
                aggregate.frame.with_columns(date=pl.lit(day)).write_parquet(Path(spool) / f"{day}.parquet")
                infos[day] = _load_info(aggregate, download_logs.semantics)
                details[day] = _day_metadata(aggregate)
                context.log.info(f"{day}: {aggregate.result.rows_in_window:,} log rows aggregated")
            loaded = sorted(infos)
            frame = pl.scan_parquet([Path(spool) / f"{day}.parquet" for day in loaded]) if loaded else None
            if not failures:
                yield dg.Output(frame, metadata={**load_info_metadata(infos), **_run_metadata(details)})
            elif loaded:
                # Dagster cannot mark one partition of a single-run output as failed, so an output would record
                # the failed days as materialized: the days that loaded are written by the same writer as the
                # IO manager's and reported one by one, and the run fails naming the others.
                try:
                    rows = write_days(postgres, frame, infos)
                except DatabaseWentAway as exc:
                    rows, went_away = exc.written, str(exc)
                for day in sorted(rows):
                    yield dg.AssetMaterialization(
                        asset_key=context.asset_key,
                        partition=day.isoformat(),
                        metadata={
                            **details[day],
                            "dagster/partition_row_count": sum(rows[day].values()),
                            "rows_per_table": dg.MetadataValue.json(rows[day]),
                        },
                    )
            if went_away is None:
                try:
                    with postgres.connect() as conn:
                        yield from _check_results(conn, loaded)
                except psycopg.OperationalError as exc:
                    # Every loaded day was written (by the IO manager, or above); only the checks are lost.
                    went_away = went_away_message(loaded, loaded, None, exc, stage="checking")
        if failures or went_away:
            summary = [went_away] if went_away else []
            if failures:
                summary.append(
                    f"{len(failures)} of {len(days)} days failed and keep their previous data: "
                    + "; ".join(f"{day}: {reason}" for day, reason in failures.items())
                )
            raise dg.Failure(
                description=". ".join(summary),
                metadata={"failures": dg.MetadataValue.json(failures), "database_went_away": bool(went_away)},
            )

    return daily_downloads


@dg.asset(
    deps=["daily_downloads"],
    group_name="downloads",
    kinds={"postgres", "polars"},
    owners=["team:downloads"],
    io_manager_key="postgres_io_manager",
    metadata={"table": RECENT_TABLE},
    # eager() waits while any dep partition is missing, and every day since the partitions' start that was
    # never loaded is missing: without that part it runs after each newly loaded day, whatever the old gaps.
    automation_condition=dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("eager, despite days never loaded"),
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26)),
)
def recent_downloads(
    context: dg.AssetExecutionContext, download_logs: DownloadLogsResource, postgres: PostgresResource
) -> dg.Output[pl.DataFrame]:
    """Downloads of each package in the last day, week and month, and retention of the daily tables."""
    with postgres.connect() as conn:
        # The last complete day: today's partition, loaded so far, is not "the last day" pypistats.org reports.
        today = datetime.now(UTC).date()
        latest = last_complete_day_now(conn, today)
        if latest is None:
            context.log.warning("no complete day is loaded yet; nothing to summarize")
            return dg.Output(recent_totals(conn, today - timedelta(days=1)), metadata={"as_of": "none"})
        # Retention first, so that recent sums exactly what the tables still hold.
        retention = download_logs.retention_days
        dropped = drop_days_before(conn, latest - timedelta(days=retention)) if retention else []
        recent = recent_totals(conn, latest)
    return dg.Output(
        recent,
        metadata={
            "as_of": latest.isoformat(),
            "days_dropped_by_retention": len(dropped),
            "retention_days": retention,
        },
    )


def _project_names(postgres: PostgresResource) -> list[str]:
    with postgres.connect() as conn:
        return healthy_project_names(conn)


def _load_info(aggregate: DayAggregate, semantics: str) -> LoadInfo:
    return LoadInfo(
        source=aggregate.source,
        semantics=semantics,
        rows_in_window=aggregate.result.rows_in_window,
        dropped_python=aggregate.result.dropped_python,
        dropped_package=aggregate.result.dropped_package,
        bytes_scanned=aggregate.bytes_billed
        if aggregate.bytes_billed is not None
        else aggregate.bytes_estimated,
    )


def _day_metadata(aggregate: DayAggregate) -> dict[str, object]:
    """What the aggregation of one day saw: log rows, rows dropped, and BigQuery's bytes when it ran there."""
    metadata: dict[str, object] = {
        "log_rows_in_window": aggregate.result.rows_in_window,
        "dropped_python_version": aggregate.result.dropped_python,
        "dropped_package_name": aggregate.result.dropped_package,
        "source": aggregate.source,
    }
    if aggregate.bytes_estimated is not None:
        metadata.update(byte_count("bigquery_bytes_estimated", aggregate.bytes_estimated))
        metadata.update(byte_count("bigquery_bytes_billed", aggregate.bytes_billed or 0))
        metadata["bigquery_cache_hit"] = bool(aggregate.cache_hit)
    return metadata


def _run_metadata(details: dict[date, dict[str, object]]) -> dict[str, object]:
    """A one-day run shows its day's figures; a range (whose metadata every partition shares) lists them by day."""
    if len(details) == 1:
        return next(iter(details.values()))
    by_day = {
        day.isoformat(): {name: plain(value) for name, value in figures.items()}
        for day, figures in details.items()
    }
    return {"days": dg.MetadataValue.json(by_day)}


def _check_results(conn: psycopg.Connection, days: list[date]) -> Iterator[dg.AssetCheckResult]:
    for name, (rule, severity, _) in CHECKS.items():
        problems = rule(conn, days) if days else ["no day was loaded"]
        yield dg.AssetCheckResult(
            check_name=name,
            passed=not problems,
            severity=severity,
            metadata={"days": len(days), "problems": dg.MetadataValue.json(problems[:20])},
        )


@dg.definitions
def defs() -> dg.Definitions:
    # The partition start is configuration, so the asset is built when definitions load, not at import.
    partitions = daily_partitions(current_settings().downloads.start_date)
    return dg.Definitions(assets=[build_daily_downloads(partitions), recent_downloads])
