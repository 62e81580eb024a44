"""The ``downloads`` tables in PostgreSQL: one per dimension, partitioned by day.

Replacing a day truncates and refills that day's partition of every table inside one transaction, so a reader sees
the old day or the new one, never a mix, and a load run any number of times leaves identical tables. Retention
drops whole partitions.

``overall_series`` holds ``overall`` again, a row per package and month (migration 009 says how), so that the API
reads a package's series from a few rows instead of every day's partition. It is refreshed in the same
transactions as ``overall`` (a day replaced, days dropped), so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl
import psycopg
from psycopg import sql

from pypi_platform.lib.downloads.schema import DAILY_FRAME, DIMENSIONS
from pypi_platform.lib.frames import copy_in

SCHEMA = "downloads"
RECENT_WINDOWS = {"day": 1, "week": 7, "month": 30}
RECENT_TABLE = f"{SCHEMA}.recent"  # written by recent_downloads through the PostgreSQL IO manager
SERIES_TABLE = f"{SCHEMA}.overall_series"
OVERALL_CATEGORIES = ("with_mirrors", "without_mirrors")  # the two overall_series keeps


@dataclass(frozen=True)
class LoadInfo:
    """What the load of one day saw, kept in ``downloads.loaded_days``."""

    source: str
    semantics: str
    rows_in_window: int | None = None
    dropped_python: int | None = None
    dropped_package: int | None = None
    bytes_scanned: int | None = None


def partition_name(dimension: str, day: date) -> str:
    return f"{dimension}_{day:%Y%m%d}"


def replace_day(conn: psycopg.Connection, day: date, frame: pl.DataFrame, info: LoadInfo) -> dict[str, int]:
    """Replace ``day`` in every dimension table with ``frame`` (DAILY_FRAME, ``__all__`` rows included)."""
    if frame.schema != DAILY_FRAME:
        raise ValueError(f"expected a frame with schema {dict(DAILY_FRAME)}, got {dict(frame.schema)}")
    unknown = set(frame["dimension"].unique()) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown dimensions {sorted(unknown)}")
    overall = frame.filter(pl.col("dimension") == "overall")["category"].unique()
    strange = set(overall) - set(OVERALL_CATEGORIES)
    if strange:
        raise ValueError(f"overall holds only {' and '.join(OVERALL_CATEGORIES)}, not {sorted(strange)}")
    rows: dict[str, int] = {}
    with conn.transaction():
        for dimension in DIMENSIONS:
            partition = sql.Identifier(SCHEMA, partition_name(dimension, day))
            conn.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                    partition,
                    sql.Identifier(SCHEMA, dimension),
                    sql.Literal(day),
                    sql.Literal(day + timedelta(days=1)),
                )
            )
            conn.execute(sql.SQL("TRUNCATE {}").format(partition))
            part = frame.filter(pl.col("dimension") == dimension).select(
                pl.lit(day).alias("date"), "package", "category", "downloads"
            )
            copy_in(conn, partition, part)
            rows[dimension] = part.height
        # Last, so that the rewritten month partition is locked only from here to the commit.
        conn.execute("SELECT downloads.overall_series_set_day(%s)", (day,))
        conn.execute(
            """
            INSERT INTO downloads.loaded_days AS d (date, loaded_at, source, semantics, rows_in_window,
                dropped_python, dropped_package, bytes_scanned)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (date) DO UPDATE SET loaded_at = EXCLUDED.loaded_at, source = EXCLUDED.source,
                semantics = EXCLUDED.semantics, rows_in_window = EXCLUDED.rows_in_window,
                dropped_python = EXCLUDED.dropped_python, dropped_package = EXCLUDED.dropped_package,
                bytes_scanned = EXCLUDED.bytes_scanned
            """,
            (day, datetime.now(UTC), info.source, info.semantics, info.rows_in_window, info.dropped_python,
             info.dropped_package, info.bytes_scanned),
        )  # fmt: skip
    return rows


def drop_days_before(conn: psycopg.Connection, cutoff: date) -> list[date]:
    """Retention: drop every day's partitions older than ``cutoff``; returns the days dropped."""
    dropped: set[date] = set()
    with conn.transaction():
        for partition in _partitions(conn):
            day = datetime.strptime(partition.rsplit("_", 1)[1], "%Y%m%d").date()
            if day < cutoff:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(SCHEMA, partition)))
                dropped.add(day)
        if dropped:
            conn.execute("SELECT downloads.overall_series_drop_before(%s)", (cutoff,))
        conn.execute("DELETE FROM downloads.loaded_days WHERE date < %s", (cutoff,))
    return sorted(dropped)


def _partitions(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        """
        SELECT child.relname FROM pg_inherits
        JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        JOIN pg_namespace ns ON ns.oid = parent.relnamespace
        WHERE ns.nspname = %s AND parent.relname = ANY(%s)
        """,
        (SCHEMA, list(DIMENSIONS)),
    ).fetchall()
    return [row[0] for row in rows]


def read_dimension(conn: psycopg.Connection, dimension: str, start: date, end: date) -> pl.DataFrame:
    """Rows of one dimension table for dates in [start, end], sorted, for checks and tests."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    rows = conn.execute(
        sql.SQL(
            "SELECT date, package, category, downloads FROM {} WHERE date >= %s AND date <= %s"
            " ORDER BY date, package, category"
        ).format(sql.Identifier(SCHEMA, dimension)),
        (start, end),
    ).fetchall()
    return pl.DataFrame(
        rows,
        schema={"date": pl.Date, "package": pl.String, "category": pl.String, "downloads": pl.Int64},
        orient="row",
    )
