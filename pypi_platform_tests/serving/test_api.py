"""The API's endpoints over the generated rows: pypistats.org's shapes, our extra dimensions and /api/top."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from pypi_platform_tests.serving.conftest import PACKAGES, StatsData

SERIES_TYPES = {
    "overall": "overall_downloads",
    "python_major": "python_major_downloads",
    "python_minor": "python_minor_downloads",
    "system": "system_downloads",
    "installer": "installer_downloads",
    "country": "country_downloads",
    "version": "version_downloads",
    "ci": "ci_downloads",
}


@pytest.fixture
def client(stats_server: str):
    with httpx.Client(base_url=stats_server, timeout=10) as client:
        yield client


@pytest.mark.parametrize("endpoint", sorted(SERIES_TYPES))
def test_each_series_endpoint_returns_every_row_of_its_table_in_pypistats_shape(client, stats_data, endpoint):
    response = client.get(f"/api/packages/six/{endpoint}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert list(response.json()) == ["data", "package", "type"]
    assert response.json() == {
        "data": stats_data.rows(endpoint, "six"),
        "package": "six",
        "type": SERIES_TYPES[endpoint],
    }
    rows = response.json()["data"]
    assert rows and all(list(row) == ["category", "date", "downloads"] for row in rows)
    # Keys sorted and compact, as Flask's jsonify writes them.
    assert response.text.startswith('{"data":[{"category":')


def test_overall_with_and_without_mirrors_as_the_pypistats_client_sends_it(client, stats_data):
    everything = stats_data.rows("overall", "python-dateutil")
    with_mirrors = client.get("/api/packages/python-dateutil/overall?&mirrors=true").json()["data"]
    without = client.get("/api/packages/python-dateutil/overall?&mirrors=false").json()["data"]

    assert with_mirrors == [row for row in everything if row["category"] == "with_mirrors"]
    assert without == [row for row in everything if row["category"] == "without_mirrors"]
    assert len(with_mirrors) == len(stats_data.days)
    assert with_mirrors + without == everything  # ordered by category, then date


def test_names_are_pep_503_normalized_and_the_answer_names_the_stored_package(client, stats_data):
    expected = stats_data.rows("overall", "typing-extensions")
    for spelling in ("typing_extensions", "Typing.Extensions", "TYPING-_.extensions", "typing-extensions"):
        body = client.get(f"/api/packages/{spelling}/overall").json()
        assert body["package"] == "typing-extensions"
        assert body["data"] == expected


def test_all_packages_is_served_literally(client, stats_data):
    body = client.get("/api/packages/__all__/overall?mirrors=false").json()
    assert body["package"] == "__all__"
    assert body["data"] == [
        r for r in stats_data.rows("overall", "__all__") if r["category"] == "without_mirrors"
    ]


@pytest.mark.parametrize(
    ("endpoint", "param", "value", "category"),
    [
        ("python_major", "version", "3", "3"),
        ("python_minor", "version", "3.12", "3.12"),
        ("python_minor", "version", "null", "null"),
        ("system", "os", "linux", "Linux"),
        ("system", "os", "Darwin", "Darwin"),
        ("system", "os", "other", "other"),
        ("installer", "installer", "UV", "uv"),
        ("installer", "installer", "bandersnatch", "bandersnatch"),
        ("country", "country", "de", "DE"),
        ("version", "version", "1.1.0", "1.1.0"),
        ("ci", "ci", "true", "true"),
    ],
)
def test_category_filters_match_case_insensitively(client, stats_data, endpoint, param, value, category):
    response = client.get(f"/api/packages/zope.interface/{endpoint}?&{param}={value}")

    assert response.status_code == 200
    expected = [row for row in stats_data.rows(endpoint, "zope-interface") if row["category"] == category]
    assert expected
    assert response.json()["data"] == expected


def test_a_known_package_whose_filter_matches_nothing_gets_empty_data(client):
    response = client.get("/api/packages/six/python_major?version=2")
    assert response.status_code == 200
    assert response.json() == {"data": [], "package": "six", "type": "python_major_downloads"}
    assert client.get("/api/packages/legacy/python_major?version=2").json()["data"]


def test_start_and_end_date_bound_the_series(client, stats_data):
    start, end = stats_data.days[3], stats_data.days[9]
    response = client.get(f"/api/packages/six/system?start_date={start}&end_date={end}&os=windows")

    expected = [
        row
        for row in stats_data.rows("system", "six")
        if row["category"] == "Windows" and start.isoformat() <= row["date"] <= end.isoformat()
    ]
    assert len(expected) == 7
    assert response.json()["data"] == expected
    only_start = client.get(f"/api/packages/six/overall?start_date={stats_data.days[-2]}").json()["data"]
    assert {row["date"] for row in only_start} == {d.isoformat() for d in stats_data.days[-2:]}
    only_end = client.get(f"/api/packages/six/overall?end_date={stats_data.days[0]}").json()["data"]
    assert [row["date"] for row in only_end] == [stats_data.days[0].isoformat()] * 2


def test_a_range_outside_the_data_is_empty_for_a_known_package(client, stats_data):
    before = stats_data.days[0] - timedelta(days=100)
    response = client.get(
        f"/api/packages/six/overall?start_date={before}&end_date={before + timedelta(days=5)}"
    )
    assert response.status_code == 200
    assert response.json()["data"] == []


def test_recent_returns_the_last_day_week_and_month_without_mirrors(client, stats_data):
    body = client.get("/api/packages/Python_Dateutil/recent").json()

    assert body == {"data": stats_data.recent("python-dateutil"), "package": "python-dateutil",
                    "type": "recent_downloads"}  # fmt: skip
    assert list(body["data"]) == ["last_day", "last_month", "last_week"]
    assert body["data"]["last_day"] < body["data"]["last_week"] < body["data"]["last_month"]
    for period in ("day", "week", "month"):
        one = client.get(f"/api/packages/python-dateutil/recent?&period={period}").json()
        assert one["data"] == {f"last_{period}": body["data"][f"last_{period}"]}


def test_recent_of_a_known_package_without_recent_downloads_is_zero(client):
    response = client.get("/api/packages/quiet/recent")
    assert response.status_code == 200
    assert response.json()["data"] == {"last_day": 0, "last_month": 0, "last_week": 0}


def _top(data: StatsData, days: int, country: str | None = None) -> list[tuple[str, int]]:
    end = data.last_complete_day
    window = [d for d in data.days if end - timedelta(days=days) < d <= end]
    totals: dict[str, int] = {}
    for day in window:
        frame = data.frames[day]
        for row in frame.iter_rows(named=True):
            if row["package"] == "__all__":
                continue
            if country is None and (row["dimension"], row["category"]) == ("overall", "without_mirrors"):
                totals[row["package"]] = totals.get(row["package"], 0) + row["downloads"]
            if country is not None and (row["dimension"], row["category"]) == ("country", country):
                totals[row["package"]] = totals.get(row["package"], 0) + row["downloads"]
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


@pytest.mark.parametrize(("period", "days"), [("day", 1), ("week", 7), ("month", 30)])
def test_top_ranks_packages_of_the_period_without_all(client, stats_data, period, days):
    body = client.get(f"/api/top?period={period}&limit=3").json()

    expected = _top(stats_data, days)[:3]
    assert body == {
        "country": None,
        "data": [{"downloads": n, "package": p, "rank": i} for i, (p, n) in enumerate(expected, start=1)],
        "limit": 3,
        "period": period,
        "type": "top_packages",
    }


def test_top_per_country_and_its_default_period_and_limit(client, stats_data):
    body = client.get("/api/top?country=de").json()

    expected = _top(stats_data, 30, "DE")
    assert (body["period"], body["limit"], body["country"]) == ("month", 20, "DE")
    assert [(row["package"], row["downloads"]) for row in body["data"]] == expected
    assert len(expected) == len(PACKAGES) - 1  # "quiet" has no downloads in the month
    assert client.get("/api/top?country=ZZ").json()["data"] == []


def test_series_json_text_is_what_json_dumps_writes_for_the_body():
    import json
    from datetime import date

    from pypi_platform.lib.serving.queries import SeriesQuery, series_body, series_json

    rows = [
        ('we"ird\\', date(2024, 1, 1), 3),
        ("null", date(2024, 1, 2), 2**40),
        ("\u00e9t\u00e9", date(2024, 1, 3), 0),
    ]
    for query, selected in ((SeriesQuery("installer", "six"), rows), (SeriesQuery("ci", "__all__"), [])):
        expected = json.dumps(series_body(query, selected), sort_keys=True, separators=(",", ":"))
        assert series_json(query, selected) == expected
