"""Bad input gets a clear 4xx with a JSON message, and never reaches SQL as text."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import httpx
import psycopg
import pytest

SERIES = ("overall", "python_major", "python_minor", "system", "installer", "country", "version", "ci")


@pytest.fixture
def client(stats_server: str):
    with httpx.Client(base_url=stats_server, timeout=10) as client:
        yield client


def _error(response: httpx.Response, status: int, *fragments: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "message", "status"}
    assert body["status"] == status
    for fragment in fragments:
        assert fragment in body["message"]
    assert "ETag" not in response.headers
    return body["message"]


@pytest.mark.parametrize("endpoint", ["recent", *SERIES])
def test_unknown_package_is_404_on_every_endpoint(client, endpoint):
    response = client.get(f"/api/packages/no-such-package/{endpoint}")
    assert _error(response, 404, "no-such-package") == "no download statistics for package 'no-such-package'"
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("endpoint", ["recent", "overall", "system"])
def test_unknown_package_is_404_whatever_its_filter(client, endpoint):
    params = {"recent": "period=day", "overall": "mirrors=false", "system": "os=linux"}[endpoint]
    _error(client.get(f"/api/packages/no_such.package/{endpoint}?{params}"), 404, "no-such-package")


@pytest.mark.parametrize(
    "value", ["2024-13-01", "2024-02-30", "yesterday", "2024/01/01", "20240101", "2024-1-1"]
)
def test_invalid_dates_are_400(client, value):
    _error(client.get(f"/api/packages/six/overall?start_date={value}"), 400, "start_date", value)
    _error(client.get(f"/api/packages/six/system?end_date={value}"), 400, "end_date", value)


def test_start_after_end_is_400(client):
    _error(client.get("/api/packages/six/overall?start_date=2024-02-02&end_date=2024-02-01"), 400, "after")


def test_oversized_range_is_400_and_the_largest_allowed_range_is_served(client, stats_data):
    end = stats_data.last_day
    start = end - timedelta(days=399)
    assert client.get(f"/api/packages/six/overall?start_date={start}&end_date={end}").status_code == 200
    too_long = f"/api/packages/six/python_minor?start_date={start - timedelta(days=1)}&end_date={end}"
    _error(client.get(too_long), 400, "401 days", "at most 400")


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/api/packages/six/system?os=plan9", "os must be Windows or Linux or Darwin or other or null"),
        ("/api/packages/six/python_major?version=three", "version must be a major version"),
        ("/api/packages/six/python_minor?version=3", "version must be a minor version"),
        ("/api/packages/six/overall?mirrors=maybe", "mirrors must be true or false"),
        ("/api/packages/six/ci?ci=sometimes", "ci must be true or false or null"),
        ("/api/packages/six/country?country=DEU", "country must be a two-letter country code"),
        ("/api/packages/six/installer?installer=p%20i%20p", "installer must be an installer name"),
        ("/api/packages/six/version?version=..", "version must be a release version"),
        ("/api/packages/six/recent?period=year", "period must be day, week or month"),
        ("/api/top?period=year", "period must be day, week or month"),
        ("/api/top?country=Germany", "country must be a two-letter country code"),
        ("/api/top?limit=0", "limit must be a whole number from 1 to 1000"),
        ("/api/top?limit=1001", "limit must be a whole number from 1 to 1000"),
        ("/api/top?limit=ten", "limit must be a whole number from 1 to 1000"),
    ],
)
def test_unknown_categories_periods_and_limits_are_400(client, path, fragment):
    _error(client.get(path), 400, fragment)


def test_unknown_and_repeated_query_parameters_are_400(client):
    _error(
        client.get("/api/packages/six/overall?mirror=true"),
        400,
        "unknown query parameter 'mirror'",
        "mirrors",
    )
    _error(client.get("/api/packages/six/recent?start_date=2024-01-01"), 400, "unknown query parameter")
    _error(client.get("/api/packages/six/overall?mirrors=true&mirrors=false"), 400, "more than once")


def test_unknown_endpoints_and_methods_are_json_errors(client):
    _error(client.get("/api/packages/six/planets"), 404, "no endpoint 'planets'")
    _error(client.get("/api/packages/six"), 404, "no endpoint")
    _error(client.get("/api/nothing/here"), 404, "no endpoint")
    _error(client.post("/api/packages/six/overall"), 405, "Method Not Allowed")


@pytest.mark.parametrize(
    "segment",
    [
        quote("x'; DROP TABLE downloads.overall; --", safe=""),
        quote("six' OR '1'='1", safe=""),
        quote('six"; SELECT pg_sleep(10); --', safe=""),
        "six%00",  # a NUL byte once decoded
        "six%2500",  # the text "six%00"
        "%2E%2E",
        quote("s\u00efx", safe=""),
        "-six",
        "six-",
        quote("$(reboot)", safe=""),
        "six%2F..%2F..%2Fetc",  # decodes to slashes: no longer one path segment
    ],
)
def test_injection_attempts_in_names_are_4xx_and_change_nothing(client, stats_database, stats_data, segment):
    response = client.get(f"/api/packages/{segment}/overall")
    if "%2F" in segment:
        _error(response, 404, "no endpoint")
    else:
        _error(response, 400, "is not a valid package name")
    with psycopg.connect(stats_database) as conn:
        rows = conn.execute("SELECT count(*) FROM downloads.overall").fetchone()[0]
    assert rows == sum(
        frame.filter(frame["dimension"] == "overall").height for frame in stats_data.frames.values()
    )


def test_injection_attempts_in_parameters_are_400(client):
    for path in (
        "/api/packages/six/system?os=Linux' OR '1'='1",
        "/api/packages/six/installer?installer=pip';DROP TABLE downloads.installer;--",
        "/api/packages/six/version?version=1.0.0%00",
        "/api/top?country=DE'--",
        "/api/top?limit=10;DROP TABLE downloads.recent",
    ):
        assert client.get(path).status_code == 400, path
    assert client.get("/api/packages/six/installer").status_code == 200
    assert client.get("/api/top").json()["data"]


@pytest.mark.parametrize("length", [129, 1_000, 20_000])
def test_very_long_names_are_400(client, length):
    _error(client.get(f"/api/packages/{'a' * length}/overall"), 400, "at most 128 characters", str(length))


def test_a_name_of_128_characters_is_merely_unknown(client):
    _error(client.get(f"/api/packages/{'a' * 128}/recent"), 404, "no download statistics")
