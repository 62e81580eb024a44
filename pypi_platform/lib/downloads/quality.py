"""Quality rules of the downloads tables, read back from PostgreSQL for the days just loaded.

Each rule returns its violations (empty when it holds), so the asset's checks and the tests share one definition.
"""

from __future__ import annotations

import statistics
from datetime import date, timedelta

import psycopg
from psycopg import sql

from pypi_platform.lib.downloads.schema import DIMENSIONS
from pypi_platform.lib.downloads.tables import SCHEMA

# A day whose total is below this share of its neighbours' median is flagged (a partial load, an outage upstream).
LOW_DAY_RATIO = 0.5
NEIGHBOUR_DAYS = 3


def empty_days(conn: psycopg.Connection, days: list[date]) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT date FROM downloads.overall WHERE date = ANY(%s) AND package = '__all__'", (days,)
    ).fetchall()
    present = {row[0] for row in rows}
    return [f"{day.isoformat()} has no downloads" for day in days if day not in present]


def all_row_mismatches(conn: psycopg.Connection, days: list[date]) -> list[str]:
    """``__all__`` must equal the sum over the packages, in every table, date and category."""
    problems = []
    for dimension in DIMENSIONS:
        rows = conn.execute(
            sql.SQL(
                """
                SELECT date, category,
                       sum(downloads) FILTER (WHERE package = '__all__') AS total,
                       coalesce(sum(downloads) FILTER (WHERE package <> '__all__'), 0) AS summed
                FROM {} WHERE date = ANY(%s) GROUP BY date, category
                HAVING sum(downloads) FILTER (WHERE package = '__all__')
                       IS DISTINCT FROM coalesce(sum(downloads) FILTER (WHERE package <> '__all__'), 0)
                ORDER BY date, category LIMIT 20
                """
            ).format(sql.Identifier(SCHEMA, dimension)),
            (days,),
        ).fetchall()
        problems += [f"{dimension} {day} {category}: __all__ {total} but packages sum to {summed}"
                     for day, category, total, summed in rows]  # fmt: skip
    return problems


def mirror_excess(conn: psycopg.Connection, days: list[date]) -> list[str]:
    """Downloads without mirrors are a subset of downloads with them."""
    rows = conn.execute(
        """
        SELECT date, package, sum(downloads) FILTER (WHERE category = 'without_mirrors'),
               coalesce(sum(downloads) FILTER (WHERE category = 'with_mirrors'), 0)
        FROM downloads.overall WHERE date = ANY(%s) GROUP BY date, package
        HAVING sum(downloads) FILTER (WHERE category = 'without_mirrors')
               > coalesce(sum(downloads) FILTER (WHERE category = 'with_mirrors'), 0)
        ORDER BY date, package LIMIT 20
        """,
        (days,),
    ).fetchall()
    return [
        f"{day} {package}: {without} without mirrors > {with_} with mirrors"
        for day, package, without, with_ in rows
    ]


def negative_counts(conn: psycopg.Connection, days: list[date]) -> list[str]:
    problems = []
    for dimension in DIMENSIONS:
        rows = conn.execute(
            sql.SQL("SELECT date, package, category, downloads FROM {} WHERE date = ANY(%s) AND downloads < 0 LIMIT 20")
            .format(sql.Identifier(SCHEMA, dimension)),
            (days,),
        ).fetchall()  # fmt: skip
        problems += [
            f"{dimension} {day} {package} {category}: {count}" for day, package, category, count in rows
        ]
    return problems


def low_days(conn: psycopg.Connection, days: list[date]) -> list[str]:
    """Days whose total (with mirrors) falls far below the median of the days around them."""
    if not days:
        return []
    rows = conn.execute(
        """
        SELECT date, downloads FROM downloads.overall
        WHERE package = '__all__' AND category = 'with_mirrors' AND date BETWEEN %s AND %s
        """,
        (min(days) - timedelta(days=NEIGHBOUR_DAYS), max(days) + timedelta(days=NEIGHBOUR_DAYS)),
    ).fetchall()
    totals = dict(rows)
    problems = []
    for day in days:
        if day not in totals:
            continue
        neighbours = [
            totals[other]
            for offset in range(-NEIGHBOUR_DAYS, NEIGHBOUR_DAYS + 1)
            if offset and (other := day + timedelta(days=offset)) in totals
        ]
        if len(neighbours) >= 2 and totals[day] < LOW_DAY_RATIO * statistics.median(neighbours):
            problems.append(
                f"{day}: {totals[day]:,} downloads against a median of {statistics.median(neighbours):,.0f}"
            )
    return problems
