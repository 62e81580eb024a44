"""The downloads tables as an IO manager: ``daily_downloads``' days become the day partitions of the PostgreSQL
tables (one per dimension), each day replaced in one transaction by COPY.

The asset returns a frame (usually lazy, over the days it spooled to local Parquet) with a ``date`` column beside
the daily aggregation's, and hands over what each day's load saw (source, rows read, bytes billed) as
``load_info`` metadata, which ``downloads.loaded_days`` keeps. Loading (``Definitions.load_asset_value`` with a
day, or a downstream input) reads the partition's days back from every dimension table.

Should PostgreSQL go away part-way, the error (``DatabaseWentAway``) says so and names the days written before:
each of them is complete, the day being written is rolled back, and the rest keep their previous data.
"""

# No ``from __future__ import annotations`` here: Dagster must see dg.ResourceDependency[...] as a real type.
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import dagster as dg
import polars as pl
import psycopg

from pypi_platform.defs.resources import PostgresResource, build_resources
from pypi_platform.lib.config import current_settings
from pypi_platform.lib.downloads.reads import daily_rows
from pypi_platform.lib.downloads.tables import LoadInfo, replace_day

LOAD_INFO = "load_info"  # Output metadata: {"YYYY-MM-DD": LoadInfo fields} for every day of the output


def load_info_metadata(infos: dict[date, LoadInfo]) -> dict[str, Any]:
    """The Output metadata that hands each day's ``LoadInfo`` to ``DownloadsTablesIOManager``."""
    return {LOAD_INFO: dg.MetadataValue.json({day.isoformat(): asdict(info) for day, info in infos.items()})}


class DatabaseWentAway(ConnectionError):
    """PostgreSQL stopped answering while days were being written; ``written`` holds the days written before."""

    def __init__(self, message: str, written: dict[date, dict[str, int]]) -> None:
        super().__init__(message)
        self.written = written


def write_days(
    postgres: PostgresResource, frame: pl.DataFrame | pl.LazyFrame, infos: dict[date, LoadInfo]
) -> dict[date, dict[str, int]]:
    """Replace each day of ``infos`` with its rows of ``frame``, in date order and a transaction per day.

    The rows written per day and table; ``DatabaseWentAway`` (naming the days written) if PostgreSQL goes away.
    """
    lazy = frame.lazy()
    outside = lazy.filter(~pl.col("date").is_in(list(infos))).select(pl.len()).collect().item()
    if outside:  # each day below is written from its own rows: rows of other days would be lost silently
        raise ValueError(f"{outside} rows lie outside the days being loaded ({', '.join(map(str, infos))})")
    written: dict[date, dict[str, int]] = {}
    current: date | None = None
    try:
        with postgres.connect() as conn:
            for day in sorted(infos):
                current = day
                # One day at a time, so that the days written before a failure are known, and a lazy frame
                # over a long backfill is read a day at a time.
                rows = lazy.filter(pl.col("date") == day).drop("date").collect()
                written[day] = replace_day(conn, day, rows, infos[day])
            current = None
    except psycopg.OperationalError as exc:
        raise DatabaseWentAway(
            went_away_message(sorted(infos), list(written), current, exc), written
        ) from exc
    return written


def went_away_message(
    days: list[date],
    written: list[date],
    current: date | None,
    exc: BaseException | None,
    stage: str = "writing",
) -> str:
    """What an operator needs when PostgreSQL goes away mid-run: which days are written and what to rerun."""
    cause = " ".join(str(exc).split()) if exc is not None else ""
    parts = [
        f"PostgreSQL went away while daily_downloads was {stage} {len(days)} days"
        + (f" ({cause})" if cause else "")
    ]
    parts.append("days written before it did (complete): " + (", ".join(map(str, written)) or "none"))
    if current is not None:
        parts.append(
            f"{current} was being written: rolled back, unless its commit had already reached the server"
        )
    rest = [day for day in days if day not in written and day != current]
    if rest:
        parts.append("not written (they keep their previous data): " + ", ".join(map(str, rest)))
    parts.append(
        "materialize the days not written again once the database answers"
        if len(written) < len(days)
        else "their checks did not run: materialize them again, or run the checks, once the database answers"
    )
    return "; ".join(parts)


class DownloadsTablesIOManager(dg.ConfigurableIOManager):
    """Days of download counts as the day partitions of the ``downloads`` tables."""

    postgres: dg.ResourceDependency[PostgresResource]

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | pl.LazyFrame) -> None:
        days = _days(context)
        handed = context.output_metadata.get(LOAD_INFO)
        infos = {
            date.fromisoformat(day): LoadInfo(**fields)
            for day, fields in (handed.value if handed else {}).items()
        }
        if sorted(infos) != days:
            raise ValueError(
                f"daily_downloads returned days {[str(d) for d in sorted(infos)]} for partitions "
                f"{[str(d) for d in days]}; every day of the output needs its load_info"
            )
        rows = write_days(self.postgres, obj, infos)
        per_day = {day.isoformat(): sum(counts.values()) for day, counts in rows.items()}
        tables = {
            table: sum(counts[table] for counts in rows.values()) for table in next(iter(rows.values()))
        }
        metadata: dict[str, Any] = {
            "rows_per_day": dg.MetadataValue.json(per_day),
            "rows_per_table": dg.MetadataValue.json(tables),
            "dagster/table_name": "downloads.overall",
        }
        if len(per_day) == 1:  # a range's metadata is shared by all its partitions: no per-day count there
            metadata["dagster/partition_row_count"] = next(iter(per_day.values()))
        context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        days = _days(context)
        with self.postgres.connect() as conn:
            return daily_rows(conn, days[0], days[-1])


def _days(context: dg.InputContext | dg.OutputContext) -> list[date]:
    window = context.asset_partitions_time_window
    first, end = window.start.date(), window.end.date()
    return [first + timedelta(days=n) for n in range((end - first).days)]


@dg.definitions
def defs() -> dg.Definitions:
    # The same PostgreSQL resource object as resources.py, passed as a nested dependency (see io_managers.py).
    resources = build_resources(current_settings())
    return dg.Definitions(
        resources={"downloads_io_manager": DownloadsTablesIOManager(postgres=resources["postgres"])}
    )
