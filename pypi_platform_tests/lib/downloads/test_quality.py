"""The quality rules fire on bad data written straight into the tables, and stay quiet on good data."""

from datetime import date, timedelta

import polars as pl
import psycopg

from pypi_platform.lib.downloads.quality import (
    all_row_mismatches,
    empty_days,
    low_days,
    mirror_excess,
    negative_counts,
)
from pypi_platform.lib.downloads.schema import DAILY_FRAME
from pypi_platform.lib.downloads.tables import LoadInfo, replace_day

DAY = date(2024, 3, 10)


def _load(conn, day: date, six: int, idna: int, *, without_six: int | None = None) -> None:
    without = six if without_six is None else without_six
    rows = [
        ("overall", "six", "with_mirrors", six),
        ("overall", "six", "without_mirrors", without),
        ("overall", "idna", "with_mirrors", idna),
        ("overall", "idna", "without_mirrors", idna),
        ("overall", "__all__", "with_mirrors", six + idna),
        ("overall", "__all__", "without_mirrors", without + idna),
        ("system", "six", "Linux", without),
        ("system", "__all__", "Linux", without),
    ]
    replace_day(
        conn, day, pl.DataFrame(rows, schema=DAILY_FRAME, orient="row"), LoadInfo("test", "corrected")
    )


def test_rules_hold_on_good_data(database):
    with psycopg.connect(database) as conn:
        for offset in range(-2, 3):
            _load(conn, DAY + timedelta(days=offset), 100, 50)
        days = [DAY]
        assert empty_days(conn, days) == []
        assert all_row_mismatches(conn, days) == []
        assert mirror_excess(conn, days) == []
        assert negative_counts(conn, days) == []
        assert low_days(conn, days) == []


def test_a_missing_day_is_reported_empty(database):
    with psycopg.connect(database) as conn:
        _load(conn, DAY, 100, 50)
        assert empty_days(conn, [DAY, DAY + timedelta(days=1)]) == ["2024-03-11 has no downloads"]


def test_an_all_row_that_does_not_add_up_is_reported(database):
    with psycopg.connect(database) as conn:
        _load(conn, DAY, 100, 50)
        conn.execute("UPDATE downloads.system SET downloads = 7 WHERE package = '__all__'")
        assert all_row_mismatches(conn, [DAY]) == [
            "system 2024-03-10 Linux: __all__ 7 but packages sum to 100"
        ]


def test_more_downloads_without_mirrors_than_with_is_reported(database):
    with psycopg.connect(database) as conn:
        _load(conn, DAY, 100, 50, without_six=120)
        assert mirror_excess(conn, [DAY]) == [
            "2024-03-10 __all__: 170 without mirrors > 150 with mirrors",
            "2024-03-10 six: 120 without mirrors > 100 with mirrors",
        ]


def test_negative_counts_cannot_even_be_stored(database):
    with psycopg.connect(database) as conn:
        _load(conn, DAY, 100, 50)
        try:
            conn.execute("UPDATE downloads.overall SET downloads = -1 WHERE package = 'six'")
        except psycopg.errors.CheckViolation:
            conn.rollback()
        assert negative_counts(conn, [DAY]) == []


def test_a_day_far_below_its_neighbours_is_flagged(database):
    with psycopg.connect(database) as conn:
        for offset in (-2, -1, 1, 2):
            _load(conn, DAY + timedelta(days=offset), 100, 50)
        _load(conn, DAY, 10, 5)
        assert low_days(conn, [DAY]) == ["2024-03-10: 15 downloads against a median of 150"]
