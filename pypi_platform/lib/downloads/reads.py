"""Every read of the ``downloads`` tables. The JSON API, the dashboard, the ``recent_downloads`` asset and the
download-count dataset ask here, so one question has one answer wherever it is asked.

- **The last complete day** is the newest loaded day before today (UTC). Today's partition fills during the
  day, so it is shown apart ("today so far") and never ends a daily window, a top list or a 30-day count.
- **Recent downloads** (last day, week, month) are the ``recent`` table: ``recent_totals`` sums ``overall``
  without mirrors for the windows ending on the last complete day, and ``recent_downloads`` stores them there.
- **A package's overall series** is read from ``overall_series`` (a few month rows, kept equal to ``overall`` by
  its owner, ``tables.py``) rather than from every day's partition; ``overall_rows`` turns months into rows.
- **Top lists** without a country are that same table; with a country (or for today) they sum the daily table
  over the period's days ending on the last complete day (or today). Ties go by name in byte order.

Readers come in two kinds: the web apps hold async connections, the assets plain ones; the statements are
shared, so both kinds get the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

import polars as pl
import psycopg
from psycopg import AsyncConnection, sql

from pypi_platform.lib.downloads.schema import DAILY_FRAME, DIMENSIONS
from pypi_platform.lib.downloads.tables import OVERALL_CATEGORIES, RECENT_WINDOWS, SCHEMA
from pypi_platform.lib.frames import read_rows
from pypi_platform.lib.names import ALL_PACKAGES

PERIODS = RECENT_WINDOWS  # day, week, month: the last 1, 7 and 30 complete days
TODAY = "today"  # a top list of today's partition, loaded so far

LAST_COMPLETE_DAY_SQL = "SELECT max(date) FROM downloads.loaded_days WHERE date < %s"
LATEST_LOAD_SQL = "SELECT date, loaded_at FROM downloads.loaded_days ORDER BY date DESC LIMIT 1"
LOADED_AT_SQL = "SELECT loaded_at FROM downloads.loaded_days WHERE date = %s"
# overall_series has a row for a package and month exactly when overall has one of its rows in that month.
KNOWN_SQL = "SELECT EXISTS (SELECT 1 FROM downloads.overall_series WHERE package = %s)"
RECENT_SQL = "SELECT category, downloads FROM downloads.recent WHERE package = %s"
TOP_RECENT_SQL = """
    SELECT package, downloads FROM downloads.recent
    WHERE category = %s AND package <> %s
    ORDER BY downloads DESC, package COLLATE "C" LIMIT %s
"""
_TOP_DAYS_SQL = """
    SELECT package, sum(downloads)::bigint AS n FROM {table}
    WHERE category = %s AND date BETWEEN %s AND %s AND package <> %s
    GROUP BY package ORDER BY n DESC, package COLLATE "C" LIMIT %s
"""
_TOTAL_SQL = """
    SELECT coalesce(sum(downloads), 0)::bigint FROM {table}
    WHERE category = %s AND date BETWEEN %s AND %s AND package = %s
"""
COUNTRIES_SQL = """
    SELECT category, sum(downloads) AS n FROM downloads.country
    WHERE package = %s AND date BETWEEN %s AND %s
    GROUP BY category ORDER BY n DESC, category
"""
SEARCH_SQL = """
    SELECT package, downloads FROM downloads.recent
    WHERE category = 'month' AND package LIKE %s AND package <> %s
    ORDER BY downloads DESC, package COLLATE "C" LIMIT %s
"""
FIRST_DAY_SQL = "SELECT min(date) FROM downloads.overall WHERE package = ANY(%s)"
# Days that were loaded: a package with no row on such a day had no downloads; other days are gaps.
PRESENT_DAYS_SQL = """
    SELECT date FROM downloads.loaded_days WHERE date BETWEEN %(start)s AND %(end)s
    UNION SELECT DISTINCT date FROM downloads.overall
    WHERE package = %(all)s AND date BETWEEN %(start)s AND %(end)s
"""
TODAY_SQL = "SELECT category, downloads FROM downloads.overall WHERE date = %s AND package = %s"
WINDOW_TOTALS_SQL = """
    SELECT package, sum(downloads)::bigint AS downloads FROM downloads.overall
    WHERE category = 'without_mirrors' AND package <> %s AND date BETWEEN %s AND %s
    GROUP BY package HAVING sum(downloads) > 0
    ORDER BY downloads DESC, package COLLATE "C"
"""
# What the data looks like now. It changes whenever a day is loaded or reloaded (loaded_at), retention drops
# days (count, min), or ``recent`` is rebuilt: its IO manager rewrites every row in one transaction, so the
# transaction id (xmin) of its ``__all__`` row changes each time.
VERSION_SQL = """
    SELECT max(loaded_at), count(*), min(date), max(date),
           (SELECT xmin::text FROM downloads.recent WHERE package = '__all__' AND category = 'day')
    FROM downloads.loaded_days
"""


@dataclass(frozen=True)
class TopList:
    """The most downloaded packages of a period: its first and last day (None when nothing is loaded)."""

    start: date | None
    end: date | None
    rows: list[tuple[str, int]]


def _table(dimension: str) -> sql.Composable:
    if dimension not in DIMENSIONS:
        raise ValueError(f"{dimension!r} is not a downloads table")
    return sql.Identifier(SCHEMA, dimension)


@cache
def series_sql(dimension: str, category: bool, start: bool, end: bool) -> str:
    """One package's daily rows of a table; placeholders in order: package, [category], [start], [end]."""
    conditions = [sql.SQL("package = %s")]
    if category:
        conditions.append(sql.SQL("lower(category) = lower(%s)"))
    if start:
        conditions.append(sql.SQL("date >= %s"))
    if end:
        conditions.append(sql.SQL("date <= %s"))
    statement = sql.SQL(
        'SELECT category, date, downloads FROM {} WHERE {} ORDER BY category COLLATE "C", date'
    ).format(_table(dimension), sql.SQL(" AND ").join(conditions))
    return statement.as_string()


@cache
def overall_months_sql(start: bool, end: bool) -> str:
    """One package's months of ``overall_series``; placeholders in order: package, [start], [end]."""
    conditions = ["package = %s", *(["month >= date_trunc('month', %s::date)"] if start else []),
                  *(["month <= %s"] if end else [])]  # fmt: skip
    return (
        "SELECT month, with_mirrors, without_mirrors FROM downloads.overall_series"
        f" WHERE {' AND '.join(conditions)} ORDER BY month"
    )


# A month of one package's overall counts: its first day, then the counts with and without mirrors, position i
# holding day i + 1 (None where that day has no row).
Month = tuple[date, list[int | None], list[int | None]]


def overall_rows(
    months: list[Month], category: str | None = None, start: date | None = None, end: date | None = None
) -> list[tuple[str, date, int]]:
    """``overall_months`` as ``series`` gives ``overall``'s rows: (category, date, downloads), by category
    then date, optionally one category and the days in [start, end]."""
    rows = []
    for index, name in enumerate(OVERALL_CATEGORIES, start=1):
        if category is not None and category.lower() != name:
            continue
        for month in months:
            for position, downloads in enumerate(month[index]):
                if downloads is None:
                    continue
                day = month[0] + timedelta(days=position)
                if (start is None or day >= start) and (end is None or day <= end):
                    rows.append((name, day, downloads))
    return rows


async def _one(conn: AsyncConnection, query, params=None):
    cursor = await conn.execute(query, params)
    return await cursor.fetchone()


async def _all(conn: AsyncConnection, query, params=None) -> list:
    cursor = await conn.execute(query, params)
    return await cursor.fetchall()


# --- for the web apps (async connections) ------------------------------------------------------------------


async def last_complete_day(conn: AsyncConnection, today: date) -> date | None:
    row = await _one(conn, LAST_COMPLETE_DAY_SQL, (today,))
    return row[0] if row else None


async def latest_load(conn: AsyncConnection) -> tuple[date, datetime] | None:
    """The newest loaded day (today's partition included) and when it was loaded."""
    row = await _one(conn, LATEST_LOAD_SQL)
    return (row[0], row[1]) if row else None


async def loaded_at(conn: AsyncConnection, day: date) -> datetime | None:
    row = await _one(conn, LOADED_AT_SQL, (day,))
    return row[0] if row else None


async def known(conn: AsyncConnection, package: str) -> bool:
    row = await _one(conn, KNOWN_SQL, (package,))
    return bool(row and row[0])


async def series(
    conn: AsyncConnection,
    dimension: str,
    package: str,
    category: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[tuple[str, date, int]]:
    """One package's rows of a table, by category then date."""
    statement = series_sql(dimension, category is not None, start is not None, end is not None)
    params = [package, *(value for value in (category, start, end) if value is not None)]
    return await _all(conn, statement, params)


async def overall_months(
    conn: AsyncConnection, package: str, start: date | None = None, end: date | None = None
) -> list[Month]:
    """One package's ``overall`` rows as the months of ``overall_series`` that hold any of the days in
    [start, end], by month (days outside the range are left to the caller: see ``overall_rows``)."""
    params = [package, *(value for value in (start, end) if value is not None)]
    return await _all(conn, overall_months_sql(start is not None, end is not None), params)


async def recent(conn: AsyncConnection, package: str) -> dict[str, int]:
    """Downloads without mirrors in the last complete day, week and month (periods absent: none recorded)."""
    return {period: int(downloads) for period, downloads in await _all(conn, RECENT_SQL, (package,))}


def last_periods(found: dict[str, int], periods=tuple(PERIODS)) -> dict[str, int]:
    """``recent``'s counts as ``last_day``/``last_week``/``last_month``, 0 where none was recorded."""
    return {f"last_{period}": found.get(period, 0) for period in periods}


def top_window(period: str, last_complete: date | None, today: date) -> tuple[date, date] | None:
    if period == TODAY:
        return today, today
    if last_complete is None:
        return None
    return last_complete - timedelta(days=PERIODS[period] - 1), last_complete


async def top(conn: AsyncConnection, period: str, country: str | None, limit: int, today: date) -> TopList:
    """The most downloaded packages of ``period`` (a key of PERIODS, or TODAY): without mirrors overall, or
    every download from ``country``."""
    window = top_window(period, await last_complete_day(conn, today), today)
    if window is None:
        return TopList(None, None, [])
    start, end = window
    if country is None and period != TODAY:
        rows = await _all(conn, TOP_RECENT_SQL, (period, ALL_PACKAGES, limit))
    else:
        table, category = _top_source(country)
        rows = await _all(
            conn, sql.SQL(_TOP_DAYS_SQL).format(table=table), (category, start, end, ALL_PACKAGES, limit)
        )
    return TopList(start, end, [(package, int(downloads)) for package, downloads in rows])


async def total(conn: AsyncConnection, country: str | None, start: date, end: date) -> int:
    """Every package's downloads over [start, end], counted as the top list counts them."""
    table, category = _top_source(country)
    row = await _one(conn, sql.SQL(_TOTAL_SQL).format(table=table), (category, start, end, ALL_PACKAGES))
    return int(row[0]) if row else 0


def _top_source(country: str | None) -> tuple[sql.Composable, str]:
    if country is None:
        return _table("overall"), "without_mirrors"
    return _table("country"), country


async def countries(conn: AsyncConnection, start: date, end: date) -> list[str]:
    """The categories of the country table over [start, end] (country codes, and null), most downloads first."""
    return [category for category, _ in await _all(conn, COUNTRIES_SQL, (ALL_PACKAGES, start, end))]


async def search(conn: AsyncConnection, prefix: str, limit: int) -> list[tuple[str, int]]:
    """Packages whose normalized name starts with ``prefix``, most downloaded last month first."""
    like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return [(package, int(n)) for package, n in await _all(conn, SEARCH_SQL, (like, ALL_PACKAGES, limit))]


async def first_day(conn: AsyncConnection, packages: list[str]) -> date | None:
    row = await _one(conn, FIRST_DAY_SQL, (packages,))
    return row[0] if row else None


async def present_days(conn: AsyncConnection, start: date, end: date) -> set[date]:
    rows = await _all(conn, PRESENT_DAYS_SQL, {"start": start, "end": end, "all": ALL_PACKAGES})
    return {row[0] for row in rows}


async def category_rows(
    conn: AsyncConnection, dimension: str, packages: list[str], start: date, end: date
) -> list[tuple[date, str, str, int]]:
    """(date, package, category, downloads) of several packages in one table over [start, end]."""
    query = sql.SQL(
        "SELECT date, package, category, downloads FROM {} WHERE package = ANY(%s) AND date BETWEEN %s AND %s"
    ).format(_table(dimension))
    return await _all(conn, query, (packages, start, end))


async def day_counts(conn: AsyncConnection, package: str, day: date) -> dict[str, int]:
    """A package's overall rows of one day (with_mirrors, without_mirrors)."""
    return dict(await _all(conn, TODAY_SQL, (day, package)))


async def data_version(conn: AsyncConnection) -> str:
    row = await _one(conn, VERSION_SQL)
    return "|".join("" if value is None else str(value) for value in (row or ()))


# --- for the assets (plain connections) ----------------------------------------------------------------------


def last_complete_day_now(conn: psycopg.Connection, today: date) -> date | None:
    """``last_complete_day`` on a plain connection."""
    row = conn.execute(LAST_COMPLETE_DAY_SQL, (today,)).fetchone()
    return row[0] if row else None


def daily_rows(conn: psycopg.Connection, start: date, end: date) -> pl.DataFrame:
    """Every row of every dimension table for the days in [start, end]: ``date`` beside DAILY_FRAME's columns,
    as ``daily_downloads`` loaded them (what a notebook or a downstream input gets for those partitions)."""
    between = sql.SQL("date BETWEEN %s AND %s")
    parts = [
        read_rows(conn, f"{SCHEMA}.{dimension}", where_sql=between, params=(start, end)).select(
            "date", pl.lit(dimension).alias("dimension"), "package", "category", "downloads"
        )
        for dimension in DIMENSIONS
    ]
    return (
        pl.concat(parts)
        .cast({"date": pl.Date, **DAILY_FRAME})
        .sort("date", "dimension", "package", "category")
    )


def recent_totals(conn: psycopg.Connection, as_of: date) -> pl.DataFrame:
    """The rows of ``recent``: each package's downloads without mirrors over the last day, week and month
    ending ``as_of`` (``__all__`` included), as the API's /recent and the top lists read them."""
    windows = sql.SQL(", ").join(
        sql.SQL("({}, {})").format(sql.Literal(category), sql.Literal(days))
        for category, days in PERIODS.items()
    )
    rows = conn.execute(
        sql.SQL(
            """
            SELECT o.package, w.category, sum(o.downloads)::bigint
            FROM downloads.overall o
            JOIN (VALUES {}) AS w(category, days) ON o.date > %s::date - w.days AND o.date <= %s
            WHERE o.category = 'without_mirrors'
            GROUP BY o.package, w.category
            """
        ).format(windows),
        (as_of, as_of),
    ).fetchall()
    return pl.DataFrame(
        rows, schema={"package": pl.String, "category": pl.String, "downloads": pl.Int64}, orient="row"
    )


def window_totals(conn: psycopg.Connection, start: date, end: date) -> list[tuple[str, int]]:
    """Every package's downloads without mirrors over [start, end], most first; packages with none left out."""
    return conn.execute(WINDOW_TOTALS_SQL, (ALL_PACKAGES, start, end)).fetchall()
