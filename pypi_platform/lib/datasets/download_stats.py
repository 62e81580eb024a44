"""Downloads of every package over the last 30 loaded days, without mirrors, from the ``downloads`` tables."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import psycopg

from pypi_platform.lib.datasets.schema import DOWNLOAD_STATS

WINDOW_DAYS = 30


def download_stats(conn: psycopg.Connection, days: int = WINDOW_DAYS) -> tuple[pl.DataFrame, date | None]:
    """``DOWNLOAD_STATS`` rows for the ``days`` days ending on the newest loaded day, most downloaded first
    (ties by name, so the order is stable); the window's end, or None when no day is loaded yet."""
    row = conn.execute("SELECT max(date) FROM downloads.loaded_days").fetchone()
    end = row[0] if row else None
    if end is None:
        return pl.DataFrame(schema=DOWNLOAD_STATS), None
    start = end - timedelta(days=days - 1)
    rows = conn.execute(
        """
        SELECT package, sum(downloads)::bigint AS downloads FROM downloads.overall
        WHERE category = 'without_mirrors' AND package <> '__all__' AND date BETWEEN %s AND %s
        GROUP BY package HAVING sum(downloads) > 0
        ORDER BY downloads DESC, package
        """,
        (start, end),
    ).fetchall()
    frame = pl.DataFrame(rows, schema={"package_name": pl.String, "downloads": pl.Int64}, orient="row")
    return frame.with_columns(window_start=pl.lit(start), window_end=pl.lit(end)).cast(DOWNLOAD_STATS), end
