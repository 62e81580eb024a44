"""The downloads tables: a day replaced atomically and idempotently, recent windows, retention by partition."""

from datetime import date

import polars as pl
import psycopg
import pytest

from pypi_platform.lib.downloads.reads import recent_totals
from pypi_platform.lib.downloads.schema import DAILY_FRAME
from pypi_platform.lib.downloads.tables import (
    RECENT_TABLE,
    LoadInfo,
    drop_days_before,
    read_dimension,
    replace_day,
)
from pypi_platform.lib.frames import replace_rows

INFO = LoadInfo(source="test", semantics="corrected")


def _day(rows: list[tuple[str, str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=DAILY_FRAME, orient="row")


def _overall(package: str, with_mirrors: int, without_mirrors: int) -> list[tuple[str, str, str, int]]:
    return [
        ("overall", package, "with_mirrors", with_mirrors),
        ("overall", package, "without_mirrors", without_mirrors),
    ]


def test_replacing_a_day_is_idempotent_and_leaves_other_days_alone(database):
    first = _day([*_overall("six", 10, 8), ("system", "six", "Linux", 8), ("ci", "six", "true", 3)])
    with psycopg.connect(database) as conn:
        replace_day(conn, date(2024, 1, 1), first, INFO)
        replace_day(conn, date(2024, 1, 2), _day(_overall("six", 5, 5)), INFO)
        replace_day(conn, date(2024, 1, 1), first, INFO)
        once = read_dimension(conn, "overall", date(2024, 1, 1), date(2024, 1, 2))
        replace_day(conn, date(2024, 1, 1), first, INFO)
        assert read_dimension(conn, "overall", date(2024, 1, 1), date(2024, 1, 2)).equals(once)
        assert once.height == 4

        replace_day(conn, date(2024, 1, 1), _day(_overall("idna", 2, 1)), INFO)

        overall = read_dimension(conn, "overall", date(2024, 1, 1), date(2024, 1, 2))
        assert overall.rows() == [
            (date(2024, 1, 1), "idna", "with_mirrors", 2),
            (date(2024, 1, 1), "idna", "without_mirrors", 1),
            (date(2024, 1, 2), "six", "with_mirrors", 5),
            (date(2024, 1, 2), "six", "without_mirrors", 5),
        ]
        assert read_dimension(conn, "system", date(2024, 1, 1), date(2024, 1, 1)).is_empty()


def test_a_frame_of_the_wrong_shape_is_refused_and_changes_nothing(database):
    with psycopg.connect(database) as conn:
        replace_day(conn, date(2024, 1, 1), _day(_overall("six", 10, 8)), INFO)
        with pytest.raises(ValueError, match="unknown dimensions"):
            replace_day(conn, date(2024, 1, 1), _day([("planet", "six", "mars", 1)]), INFO)
        with pytest.raises(ValueError, match="expected a frame"):
            replace_day(conn, date(2024, 1, 1), pl.DataFrame({"package": ["six"]}), INFO)
        assert read_dimension(conn, "overall", date(2024, 1, 1), date(2024, 1, 1)).height == 2


def test_recent_sums_the_last_day_week_and_month_without_mirrors(database):
    with psycopg.connect(database) as conn:
        for day, count in [(date(2024, 1, 31), 1), (date(2024, 1, 25), 10), (date(2024, 1, 20), 100)]:
            replace_day(conn, day, _day(_overall("six", count * 2, count)), INFO)
        replace_day(conn, date(2023, 12, 1), _day(_overall("old", 7, 7)), INFO)

        replace_rows(conn, RECENT_TABLE, recent_totals(conn, date(2024, 1, 31)))

        recent = dict(
            ((package, category), downloads)
            for package, category, downloads in conn.execute(
                "SELECT package, category, downloads FROM downloads.recent"
            )
        )
    assert recent == {("six", "day"): 1, ("six", "week"): 11, ("six", "month"): 111}


def test_retention_drops_whole_days_older_than_the_cutoff(database):
    with psycopg.connect(database) as conn:
        for day in (date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)):
            replace_day(conn, day, _day([*_overall("six", 1, 1), ("country", "six", "DE", 1)]), INFO)

        dropped = drop_days_before(conn, date(2024, 1, 3))

        assert dropped == [date(2024, 1, 1), date(2024, 1, 2)]
        assert read_dimension(conn, "country", date(2024, 1, 1), date(2024, 1, 3))["date"].to_list() == [
            date(2024, 1, 3)
        ]
        assert conn.execute("SELECT array_agg(date) FROM downloads.loaded_days").fetchone()[0] == [
            date(2024, 1, 3)
        ]
