"""/overall read from overall_series answers exactly what the daily partitions answered, and answers kept by the
app are the database's answers for the data version they were read at."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date, timedelta

import httpx
import psycopg
import pytest

from pypi_platform.lib.config import ServingSettings
from pypi_platform.lib.downloads import reads
from pypi_platform.lib.serving.answers import AnswerCache
from pypi_platform.lib.serving.queries import (
    RequestError,
    SeriesQuery,
    overall_json,
    series_json,
    series_text,
)
from pypi_platform.serving.app import create_app
from pypi_platform_tests.serving.conftest import ALL, PACKAGES, StatsData, generate_stats, load_stats


def _ranges(data: StatsData) -> list[tuple[date | None, date | None]]:
    first, last = data.days[0], data.last_day
    edges = [None, first - timedelta(days=3), first, first + timedelta(days=7), last.replace(day=1),
             last - timedelta(days=1), last, last + timedelta(days=5)]  # fmt: skip
    return [(s, e) for s, e in itertools.product(edges, edges) if s is None or e is None or s <= e]


def test_overall_from_the_series_is_byte_for_byte_the_answer_of_the_daily_tables(stats_database, stats_data):
    async def compare() -> int:
        compared = 0
        async with await psycopg.AsyncConnection.connect(stats_database) as conn:
            for package, category, (start, end) in itertools.product(
                (*PACKAGES, ALL), (None, "with_mirrors", "without_mirrors"), _ranges(stats_data)
            ):
                query = SeriesQuery("overall", package, category, start, end)
                # The statement that answered before overall_series: every day's partition.
                old = await reads.series(conn, "overall", package, category, start, end)
                assert await series_text(conn, query) == series_json(query, old), query
                compared += bool(old)
        return compared

    assert asyncio.run(compare()) > 100  # most combinations have rows


def test_overall_of_an_unknown_package_is_still_a_404(stats_database):
    async def ask() -> None:
        async with await psycopg.AsyncConnection.connect(stats_database) as conn:
            await series_text(conn, SeriesQuery("overall", "no-such-package"))

    with pytest.raises(RequestError) as raised:
        asyncio.run(ask())
    assert raised.value.status == 404


def test_overall_json_writes_what_json_dumps_would():
    import json

    months = [
        (date(2024, 2, 1), [None] * 28 + [2**40, None, None], [None] * 31),
        (date(2024, 3, 1), [1, None, 0] + [None] * 28, [1] + [None] * 30),
        # Months with a count every day (the common case) are written by one formatting each.
        (date(2024, 4, 1), list(range(30)), [7 * day for day in range(30)]),
        (date(2024, 5, 1), [2**40] * 12, [0] * 12),  # the month loaded so far
    ]
    for query in (
        SeriesQuery("overall", 'we"ird'),
        SeriesQuery("overall", "six", "without_mirrors"),
        SeriesQuery("overall", "six", None, date(2024, 3, 2), date(2024, 3, 3)),
        SeriesQuery("overall", "six", None, date(2024, 2, 29), date(2024, 3, 1)),
        SeriesQuery("overall", "six", None, date(2024, 4, 3), date(2024, 4, 10)),
        SeriesQuery("overall", "six", "with_mirrors", date(2024, 4, 30), date(2024, 5, 20)),
        SeriesQuery("overall", "six", None, date(2024, 5, 13), None),
    ):
        rows = reads.overall_rows(months, query.category, query.start, query.end)
        assert json.loads(overall_json(query, months))["data"] == [
            {"category": c, "date": d.isoformat(), "downloads": n} for c, d, n in rows
        ]
        assert overall_json(query, months) == series_json(query, rows)


def test_the_answer_cache_keeps_one_version_and_drops_the_least_recently_used():
    cache = AnswerCache(max_bytes=10)
    cache.put("v1", "a", "aaaa")
    cache.put("v1", "b", "bbbb")
    assert cache.get("v1", "a") == "aaaa"  # now the most recently used
    cache.put("v1", "c", "cccc")  # 12 bytes: b goes
    assert (cache.get("v1", "a"), cache.get("v1", "b"), cache.get("v1", "c")) == ("aaaa", None, "cccc")
    assert cache.get("v2", "a") is None  # another version never sees these answers
    cache.put("v2", "a", "new")
    assert (len(cache), cache.size, cache.get("v2", "a"), cache.get("v1", "c")) == (1, 3, "new", None)
    cache.put("v2", "big", "x" * 11)  # larger than the whole cache: not kept
    assert cache.get("v2", "big") is None
    assert len(AnswerCache(max_bytes=0)) == 0


def test_a_negative_answer_cache_size_is_refused():
    with pytest.raises(ValueError, match="max_bytes must be 0 or more, got -1"):
        AnswerCache(max_bytes=-1)


@pytest.fixture
def reloadable_database(database):
    data = generate_stats(date(2024, 3, 1), days=10)
    load_stats(database, data)
    return database, data


def test_a_kept_answer_is_replaced_once_a_day_is_reloaded(reloadable_database, serve_app):
    dsn, data = reloadable_database
    app = create_app(dsn, ServingSettings(version_ttl=0))
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        for path in ("/api/packages/six/overall", "/api/packages/six/recent", "/api/top"):
            assert client.get(path).text == client.get(path).text  # the second from the app's cache
        assert len(app.state.answers) == 3

        changed = generate_stats(data.last_day, days=1, seed=99)  # the last day again, other numbers
        load_stats(dsn, changed)

        after = client.get("/api/packages/six/overall").json()["data"]
        last = [row for row in after if row["date"] == data.last_day.isoformat()]
        assert last == changed.rows("overall", "six")
        with psycopg.connect(dsn) as conn:
            recent = conn.execute("SELECT category, downloads FROM downloads.recent WHERE package = 'six'")
            expected = reads.last_periods(dict(recent.fetchall()))
        assert client.get("/api/packages/six/recent").json()["data"] == expected
