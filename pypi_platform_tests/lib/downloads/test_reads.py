"""The one reader of the downloads tables: "the last complete day" and the 30-day counts built on it."""

from datetime import date, timedelta

import polars as pl
import psycopg

from pypi_platform.lib.datasets.download_stats import download_stats
from pypi_platform.lib.downloads.reads import last_complete_day_now, top_window, window_totals
from pypi_platform.lib.downloads.schema import DAILY_FRAME
from pypi_platform.lib.downloads.tables import LoadInfo, replace_day

INFO = LoadInfo(source="test", semantics="corrected")
TODAY = date(2024, 3, 10)


def _overall(**without_mirrors: int) -> pl.DataFrame:
    rows = [("overall", package, "without_mirrors", n) for package, n in without_mirrors.items()]
    rows += [("overall", package, "with_mirrors", n + 1) for package, n in without_mirrors.items()]
    return pl.DataFrame(rows, schema=DAILY_FRAME, orient="row")


def test_the_last_complete_day_is_the_newest_loaded_day_before_today(database):
    with psycopg.connect(database) as conn:
        assert last_complete_day_now(conn, TODAY) is None
        replace_day(conn, TODAY, _overall(six=5), INFO)
        assert last_complete_day_now(conn, TODAY) is None  # today's partition is still filling
        replace_day(conn, TODAY - timedelta(days=3), _overall(six=1), INFO)
        assert last_complete_day_now(conn, TODAY) == TODAY - timedelta(days=3)
        assert last_complete_day_now(conn, TODAY + timedelta(days=1)) == TODAY


def test_thirty_day_counts_end_on_the_last_complete_day_and_leave_today_out(database):
    with psycopg.connect(database) as conn:
        replace_day(conn, TODAY, _overall(six=1000, idna=1000), INFO)
        replace_day(conn, TODAY - timedelta(days=1), _overall(six=3, idna=4), INFO)
        replace_day(conn, TODAY - timedelta(days=31), _overall(six=100), INFO)  # one day before the window
        replace_day(conn, TODAY - timedelta(days=30), _overall(six=2, quiet=0), INFO)  # its first day

        frame, end = download_stats(conn, today=TODAY)
        assert end == TODAY - timedelta(days=1)
        assert frame.select("package_name", "downloads").rows() == [("six", 5), ("idna", 4)]
        assert set(frame["window_start"]) == {TODAY - timedelta(days=30)}
        assert window_totals(conn, TODAY, TODAY) == [("idna", 1000), ("six", 1000)]  # ties by name


def test_a_top_window_ends_on_the_last_complete_day_or_is_today():
    last = TODAY - timedelta(days=1)
    assert top_window("week", last, TODAY) == (last - timedelta(days=6), last)
    assert top_window("day", last, TODAY) == (last, last)
    assert top_window("today", None, TODAY) == (TODAY, TODAY)
    assert top_window("month", None, TODAY) is None
