"""Polars frames as Parquet in the object store and as rows of PostgreSQL tables, on the real components."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import polars as pl
import psycopg
import pytest
from polars.testing import assert_frame_equal

from pypi_platform.lib import frames
from pypi_platform.lib.slices import OneOf, Window, mask_any, where_any
from pypi_platform.lib.storage import ObjectNotFound, ObjectStore


def _days(*days: int, downloads: int = 1) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [date(2024, 1, day) for day in days],
            "package": [f"pkg{day}" for day in days],
            "downloads": [downloads * day for day in days],
        }
    )


def _window(first: int, last: int) -> Window:
    return Window("date", datetime(2024, 1, first, tzinfo=UTC), datetime(2024, 1, last + 1, tzinfo=UTC))


def test_parquet_round_trip(object_store: ObjectStore) -> None:
    frame = _days(1, 2, 3)
    written = frames.write_parquet(object_store, "assets/daily/2024-01-01.parquet", frame)

    assert written == object_store.size("assets/daily/2024-01-01.parquet")
    assert_frame_equal(frames.read_parquet(object_store, "assets/daily/2024-01-01.parquet"), frame)
    with pytest.raises(ObjectNotFound):
        frames.read_parquet(object_store, "assets/daily/missing.parquet")


def test_parquet_bytes_are_zstd_parquet_at_the_level_asked() -> None:
    frame = pl.DataFrame({"name": [f"project-{i % 50}" for i in range(20_000)], "n": list(range(20_000))})
    default, tighter = frames.parquet_bytes(frame), frames.parquet_bytes(frame, compression_level=19)
    assert default[:4] == b"PAR1" and tighter[:4] == b"PAR1"
    assert_frame_equal(pl.read_parquet(default), frame)
    assert_frame_equal(pl.read_parquet(tighter), frame)
    assert len(tighter) <= len(default)
    assert pl.read_parquet_metadata(default)  # a well-formed footer


def test_table_round_trip_keeps_values_and_types(database: str) -> None:
    frame = pl.DataFrame(
        {
            "text": ["a", "", None, 'quote " comma , newline \n end', r"\N", "ünïcode"],
            "big": [1, None, -(2**62), 4, 5, 6],
            "small": pl.Series([1, 2, 3, 4, 5, None], dtype=pl.Int32),
            "ratio": [1.5, float("nan"), float("inf"), None, -0.0, 2.25],
            "flag": [True, False, None, True, False, True],
            "day": [date(2024, 1, 1), None, date(1999, 12, 31), date(2024, 2, 29), date(2024, 1, 1), None],
            "at": [datetime(2024, 1, 1, 1, 2, 3, 456789), None] + [datetime(2024, 6, 1)] * 4,
            "tags": [["x", "y"], [], None, ["z"], ["a,b"], ['q"r']],
            "kind": pl.Series(["a", "b", "a", None, "b", "a"], dtype=pl.Categorical),
        }
    )
    with psycopg.connect(database) as conn:
        assert frames.replace_rows(conn, "test.everything", frame) == 6
        back = frames.read_rows(conn, "test.everything")

    expected = frame.with_columns(
        pl.col("at").dt.replace_time_zone("UTC"),  # a naive datetime is UTC, and comes back saying so
        pl.Series("tags", ['["x","y"]', "[]", None, '["z"]', '["a,b"]', '["q\\"r"]']),  # nested as JSON text
        pl.col("kind").cast(pl.String),
    )
    assert_frame_equal(back, expected)


def test_replacing_a_window_keeps_the_other_rows(database: str) -> None:
    with psycopg.connect(database) as conn:
        frames.replace_rows(conn, "test.daily", _days(1, 2, 3, 4))
        where, params = where_any([[_window(2, 3)]])
        frames.replace_rows(conn, "test.daily", _days(2, 3, downloads=100), where_sql=where, params=params)
        frames.replace_rows(conn, "test.daily", _days(3, downloads=1000), where_sql=where, params=params)
        rows = frames.read_rows(conn, "test.daily").sort("date")

    assert rows["downloads"].to_list() == [1, 3000, 4]
    assert rows["date"].to_list() == [date(2024, 1, 1), date(2024, 1, 3), date(2024, 1, 4)]


def test_read_rows_selects_a_slice_and_types_an_empty_result(database: str) -> None:
    with psycopg.connect(database) as conn:
        frames.replace_rows(conn, "test.daily", _days(1, 2, 3))
        where, params = where_any([[_window(2, 2)], [OneOf("package", ("pkg3",))]])
        selected = frames.read_rows(conn, "test.daily", where_sql=where, params=params)
        where, params = where_any([[_window(20, 21)]])
        empty = frames.read_rows(conn, "test.daily", where_sql=where, params=params)

    assert sorted(selected["package"].to_list()) == ["pkg2", "pkg3"]
    assert empty.height == 0
    assert empty.schema == pl.Schema({"date": pl.Date, "package": pl.String, "downloads": pl.Int64})


def test_replace_without_a_filter_replaces_the_whole_table(database: str) -> None:
    with psycopg.connect(database) as conn:
        frames.replace_rows(conn, "public.snapshot", _days(1, 2, 3))
        frames.replace_rows(conn, "snapshot", _days(9))
        assert frames.read_rows(conn, "snapshot")["package"].to_list() == ["pkg9"]


def test_new_columns_are_added_and_missing_ones_left_null(database: str) -> None:
    with psycopg.connect(database) as conn:
        for day, frame in [
            (1, _days(1)),
            (2, _days(2).with_columns(pl.lit("new").alias("source"))),
            (3, _days(3).drop("package")),
        ]:
            where, params = where_any([[_window(day, day)]])
            frames.replace_rows(conn, "test.evolving", frame, where_sql=where, params=params)
        rows = frames.read_rows(conn, "test.evolving").sort("date")

    assert rows.columns == ["date", "package", "downloads", "source"]
    assert rows["package"].to_list() == ["pkg1", "pkg2", None]
    assert rows["source"].to_list() == [None, "new", None]


def test_identifiers_are_quoted_not_formatted(database: str) -> None:
    frame = pl.DataFrame({"Odd Column; DROP TABLE x": [1]})
    with psycopg.connect(database) as conn:
        frames.replace_rows(conn, 'weird "schema".Table-Name', frame)
        assert frames.read_rows(conn, 'weird "schema".Table-Name').to_dicts() == [
            {"Odd Column; DROP TABLE x": 1}
        ]
    with pytest.raises(ValueError, match=r"schema\.table"):
        frames.split_table("a.b.c")


def test_concurrent_replacements_of_one_slice_never_duplicate_rows(database: str) -> None:
    where, params = where_any([[_window(1, 1)]])
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def write(downloads: int) -> None:
        try:
            with psycopg.connect(database) as conn:
                barrier.wait()
                frames.replace_rows(
                    conn, "test.contended", _days(1, downloads=downloads), where_sql=where, params=params
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with psycopg.connect(database) as conn:
        assert frames.read_rows(conn, "test.contended").height == 1


def test_a_frame_without_columns_is_refused(database: str) -> None:
    with psycopg.connect(database) as conn, pytest.raises(ValueError, match="without columns"):
        frames.replace_rows(conn, "test.nothing", pl.DataFrame())


def test_masks_select_what_the_sql_selects(database: str) -> None:
    frame = pl.DataFrame(
        {
            "day": [date(2024, 1, d) for d in range(1, 6)],
            "at": [datetime(2024, 1, d, 23, 59, 59, tzinfo=UTC) for d in range(1, 6)],
            "bucket": [1, 2, 3, 1, 2],
        }
    )
    alternatives = [
        [Window("day", datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 4, tzinfo=UTC))],
        [
            Window("at", datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 1, 6, tzinfo=UTC)),
            OneOf("bucket", ("2",)),
        ],
    ]
    with psycopg.connect(database) as conn:
        frames.replace_rows(conn, "test.masks", frame)
        where, params = where_any(alternatives)
        in_sql = frames.read_rows(conn, "test.masks", where_sql=where, params=params)["day"].sort().to_list()

    in_polars = frame.filter(mask_any(alternatives, frame.schema))["day"].to_list()
    assert in_sql == in_polars == [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 5)]


def test_a_time_window_needs_a_time_column() -> None:
    frame = pl.DataFrame({"day": ["2024-01-01"]})
    with pytest.raises(ValueError, match="date or datetime"):
        mask_any(
            [[Window("day", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))]],
            frame.schema,
        )
    with pytest.raises(ValueError, match="no partition column"):
        mask_any([[OneOf("missing", ("x",))]], frame.schema)
