"""The real ``pypistats`` client, pointed at the app on 127.0.0.1, reads the numbers in the test's PostgreSQL.

The client reads its module attribute ``BASE_URL`` at call time, so setting it to our ``/api/`` root is all a
user changes. Its per-day cache goes to a temporary directory, so every call really reaches the app.
"""

from __future__ import annotations

import json
import sys

import pypistats
import pypistats._cache
import pypistats.cli
import pytest
import urllib3

from pypi_platform_tests.serving.conftest import StatsData


@pytest.fixture(autouse=True)
def client_at_app(stats_server: str, tmp_path, monkeypatch):
    monkeypatch.setattr(pypistats, "BASE_URL", f"{stats_server}/api/")
    monkeypatch.setattr(pypistats._cache, "CACHE_DIR", tmp_path / "pypistats-cache")
    return stats_server


def _daily(text: str) -> list[dict]:
    return json.loads(text)["data"]


def _totals(rows: list[dict]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["category"]] = totals.get(row["category"], 0) + row["downloads"]
    return totals


def test_recent_all_periods_and_each_one(stats_data: StatsData):
    expected = stats_data.recent("six")
    assert json.loads(pypistats.recent("six", format="json")) == {
        "data": expected,
        "package": "six",
        "type": "recent_downloads",
    }
    for period in ("day", "week", "month"):
        body = json.loads(pypistats.recent("six", period=period, format="json"))
        assert body["data"] == {f"last_{period}": expected[f"last_{period}"]}


@pytest.mark.parametrize("mirrors", [None, True, False])
def test_overall_daily_rows_with_and_without_mirrors(stats_data: StatsData, mirrors):
    rows = _daily(pypistats.overall("Python_Dateutil", mirrors=mirrors, total="daily", format="json"))

    expected = stats_data.rows("overall", "python-dateutil")
    if mirrors is not None:
        expected = [
            r for r in expected if r["category"] == ("with_mirrors" if mirrors else "without_mirrors")
        ]
    assert rows == expected


def test_overall_totals_as_the_client_sums_them(stats_data: StatsData):
    rows = json.loads(pypistats.overall("six", format="json"))["data"]  # total="all": one row per category
    assert {row["category"]: row["downloads"] for row in rows} == _totals(stats_data.rows("overall", "six"))


@pytest.mark.parametrize(
    ("function", "dimension", "package", "filter_value", "category"),
    [
        (pypistats.python_major, "python_major", "legacy", "2", "2"),
        (pypistats.python_major, "python_major", "six", 3, "3"),
        (pypistats.python_minor, "python_minor", "zope.interface", "3.12", "3.12"),
        (pypistats.python_minor, "python_minor", "legacy", "2.7", "2.7"),
        (pypistats.system, "system", "typing_extensions", "linux", "Linux"),
        (pypistats.system, "system", "six", "darwin", "Darwin"),
    ],
)
def test_breakdowns_daily_all_and_filtered(stats_data: StatsData, function, dimension, package, filter_value,
                                           category):  # fmt: skip
    from packaging.utils import canonicalize_name

    expected = stats_data.rows(dimension, canonicalize_name(package))
    assert _daily(function(package, total="daily", format="json")) == expected

    filtered = _daily(function(package, filter_value, total="daily", format="json"))
    assert filtered == [r for r in expected if r["category"] == category]
    assert filtered


def test_client_side_date_range_and_monthly_totals(stats_data: StatsData):
    start, end = stats_data.days[5].isoformat(), stats_data.days[12].isoformat()
    rows = _daily(pypistats.system("six", start_date=start, end_date=end, total="daily", format="json"))
    assert rows == [r for r in stats_data.rows("system", "six") if start <= r["date"] <= end]

    monthly = _daily(pypistats.python_minor("six", total="monthly", format="json"))
    expected: dict[tuple[str, str], int] = {}
    for row in stats_data.rows("python_minor", "six"):
        key = (row["category"], row["date"][:7])
        expected[key] = expected.get(key, 0) + row["downloads"]
    assert {(r["category"], r["date"]): r["downloads"] for r in monthly} == expected


def test_tables_the_client_prints_carry_the_totals(stats_data: StatsData):
    table = pypistats.python_major("legacy", format="tsv", color="no")
    totals = _totals(stats_data.rows("python_major", "legacy"))
    for category, downloads in totals.items():
        assert f"{category}\t" in table
        assert f"{downloads:,}" in table


def test_the_command_line_client(stats_data: StatsData, monkeypatch, capsys):
    monkeypatch.setattr(
        sys, "argv", ["pypistats", "overall", "six", "--mirrors", "without", "--daily", "--json"]
    )
    pypistats.cli.main()
    rows = json.loads(capsys.readouterr().out)["data"]
    assert rows == [r for r in stats_data.rows("overall", "six") if r["category"] == "without_mirrors"]


@pytest.mark.parametrize("function", [pypistats.recent, pypistats.overall, pypistats.python_major,
                                      pypistats.python_minor, pypistats.system])  # fmt: skip
def test_an_unknown_package_is_an_http_error_in_the_client(function):
    with pytest.raises(urllib3.exceptions.HTTPError, match="HTTP Error 404"):
        function("no-such-package", format="json")
