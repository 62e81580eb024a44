"""Downloads of every package over the last 30 complete days, without mirrors, from the ``downloads`` tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import psycopg

from pypi_platform.lib.datasets.schema import DOWNLOAD_STATS
from pypi_platform.lib.downloads.reads import last_complete_day_now, window_totals

WINDOW_DAYS = 30


def download_stats(
    conn: psycopg.Connection, days: int = WINDOW_DAYS, today: date | None = None
) -> tuple[pl.DataFrame, date | None]:
    """``DOWNLOAD_STATS`` rows for the ``days`` days ending on the last complete day (the newest loaded day
    before ``today``, UTC by default), most downloaded first (ties by name, so the order is stable); the window's
    end, or None when no complete day is loaded yet."""
    end = last_complete_day_now(conn, today or datetime.now(UTC).date())
    if end is None:
        return pl.DataFrame(schema=DOWNLOAD_STATS), None
    start = end - timedelta(days=days - 1)
    rows = window_totals(conn, start, end)
    frame = pl.DataFrame(rows, schema={"package_name": pl.String, "downloads": pl.Int64}, orient="row")
    return frame.with_columns(window_start=pl.lit(start), window_end=pl.lit(end)).cast(DOWNLOAD_STATS), end
