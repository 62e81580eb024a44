"""overall_series: the same counts as overall, by package and month, through loads, reloads, backfills of past
days, retention, and the migration that builds it over days loaded before it existed."""

import asyncio
import random
from datetime import date, timedelta

import polars as pl
import psycopg
import pytest

from pypi_platform.lib.downloads import reads
from pypi_platform.lib.downloads.schema import DAILY_FRAME
from pypi_platform.lib.downloads.tables import LoadInfo, drop_days_before, read_dimension, replace_day
from pypi_platform.lib.postgres import MIGRATIONS_DIR

INFO = LoadInfo(source="test", semantics="corrected")
PACKAGES = ("six", "idna", "__all__", "rare")
FIRST, LAST = date(2024, 1, 20), date(2024, 4, 10)  # across the ends of January, a leap February and March


def _random_day(rng: random.Random) -> pl.DataFrame:
    rows = []
    for package in PACKAGES:
        if rng.random() < 0.3:  # no download that day
            continue
        with_mirrors = rng.randint(0, 10**12)
        rows.append(("overall", package, "with_mirrors", with_mirrors))
        if rng.random() < 0.8:  # some days every download came from a mirror: no row without mirrors
            rows.append(("overall", package, "without_mirrors", rng.randint(0, with_mirrors)))
        rows.append(("system", package, "Linux", 1))
    return pl.DataFrame(rows, schema=DAILY_FRAME, orient="row")


async def _series_rows(dsn: str, package: str) -> list[tuple]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        return reads.overall_rows(await reads.overall_months(conn, package))


def _assert_series_is_overall(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        overall = read_dimension(conn, "overall", date(2000, 1, 1), date(2100, 1, 1))
    for package in (*PACKAGES, "never-seen"):
        expected = sorted(
            (category, day, downloads) for day, name, category, downloads in overall.rows() if name == package
        )
        assert [tuple(row) for row in asyncio.run(_series_rows(dsn, package))] == expected, package


def test_the_series_follows_loads_reloads_backfills_and_retention(database):
    rng = random.Random(18)
    # Every third day (the gaps are days never loaded), and the last days of the months.
    days = [FIRST + timedelta(days=n) for n in range(0, (LAST - FIRST).days + 1, 3)]
    days += [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
    with psycopg.connect(database) as conn:
        for day in days:  # the daily loads
            replace_day(conn, day, _random_day(rng), INFO)
        for day in [*rng.sample(days, 8), date(2024, 2, 29), date(2024, 1, 31), date(2024, 3, 1)]:
            replace_day(conn, day, _random_day(rng), INFO)  # reloads, some with packages gone or new
        replace_day(conn, date(2024, 3, 5), _random_day(rng).clear(), INFO)  # a day nobody downloaded
    _assert_series_is_overall(database)

    with psycopg.connect(database) as conn:
        assert drop_days_before(conn, date(2024, 2, 14))  # January's partition goes, February is cut
        months = conn.execute("SELECT DISTINCT month FROM downloads.overall_series ORDER BY month").fetchall()
        assert [row[0] for row in months] == [date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)]
    _assert_series_is_overall(database)

    with psycopg.connect(database) as conn:
        replace_day(conn, date(2024, 1, 3), _random_day(rng), INFO)  # a backfill before the kept days
        _assert_series_is_overall(database)
        drop_days_before(conn, date(2024, 2, 14))  # and retention after it
        assert drop_days_before(conn, date(2024, 2, 14)) == []  # nothing left to drop: nothing changes
    _assert_series_is_overall(database)


def test_a_package_with_no_day_left_in_the_window_is_unknown(database):
    async def known(package: str) -> bool:
        async with await psycopg.AsyncConnection.connect(database) as conn:
            return await reads.known(conn, package)

    with psycopg.connect(database) as conn:
        only_once = pl.DataFrame(
            [("overall", "once", "with_mirrors", 3), ("overall", "six", "with_mirrors", 1)],
            schema=DAILY_FRAME,
            orient="row",
        )
        replace_day(conn, date(2024, 1, 10), only_once, INFO)
        replace_day(conn, date(2024, 1, 11), pl.DataFrame([("overall", "six", "with_mirrors", 1)],
                                                          schema=DAILY_FRAME, orient="row"), INFO)  # fmt: skip
        assert asyncio.run(known("once"))
        drop_days_before(conn, date(2024, 1, 11))
    assert not asyncio.run(known("once"))
    assert asyncio.run(known("six"))


def test_an_overall_category_other_than_with_or_without_mirrors_is_refused(database):
    with psycopg.connect(database) as conn:
        replace_day(conn, date(2024, 1, 1), _random_day(random.Random(1)), INFO)
        before = read_dimension(conn, "overall", date(2024, 1, 1), date(2024, 1, 1))
        strange = pl.DataFrame([("overall", "six", "with_martians", 1)], schema=DAILY_FRAME, orient="row")
        with pytest.raises(ValueError, match="with_martians"):
            replace_day(conn, date(2024, 1, 1), strange, INFO)
        assert read_dimension(conn, "overall", date(2024, 1, 1), date(2024, 1, 1)).equals(before)
    _assert_series_is_overall(database)


def test_the_migration_builds_the_series_of_the_days_loaded_before_it(database):
    rng = random.Random(9)
    with psycopg.connect(database) as conn:
        for offset in range(0, 70, 6):
            replace_day(conn, FIRST + timedelta(days=offset), _random_day(rng), INFO)
        # As before the migration: no series at all. Applying it again must rebuild it from the daily tables.
        conn.execute("DROP TABLE downloads.overall_series")
        conn.execute((MIGRATIONS_DIR / "009_downloads_overall_series.sql").read_text())
        conn.commit()
    _assert_series_is_overall(database)
