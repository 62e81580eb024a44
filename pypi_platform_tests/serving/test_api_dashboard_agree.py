"""The JSON API and the dashboard read the downloads tables through one module: asked the same question over
the same database, they give the same numbers."""

from __future__ import annotations

import re

import httpx
import pytest

PACKAGES = ("six", "typing-extensions", "python-dateutil", "quiet")


@pytest.fixture
def client(stats_server: str):
    with httpx.Client(base_url=stats_server, timeout=30) as http:
        yield http


def _dashboard_totals(html: str) -> dict[str, int]:
    found = dict(re.findall(r'id="last-(day|week|month)">([\d,]+)<', html))
    return {f"last_{period}": int(value.replace(",", "")) for period, value in found.items()}


def _dashboard_top(html: str) -> list[tuple[str, int]]:
    rows = re.findall(r'<td><a href="/packages/([^"]+)">[^<]+</a></td><td class="num">([\d,]+)</td>', html)
    return [(package, int(n.replace(",", ""))) for package, n in rows]


@pytest.mark.parametrize("package", PACKAGES)
def test_recent_downloads_of_a_package_are_the_same_in_the_api_and_the_dashboard(client, package):
    api = client.get(f"/api/packages/{package}/recent").json()["data"]
    page = client.get(f"/packages/{package}")
    assert page.status_code == 200
    assert _dashboard_totals(page.text) == api


@pytest.mark.parametrize(
    ("period", "country"), [("day", None), ("week", None), ("month", None), ("week", "DE"), ("month", "US")]
)
def test_top_lists_are_the_same_in_the_api_and_the_dashboard(client, period, country):
    params = {"period": period, "limit": "20", **({"country": country} if country else {})}
    api = client.get("/api/top", params=params).json()["data"]
    page = client.get("/top", params=params)
    assert page.status_code == 200
    shown = _dashboard_top(page.text)
    assert shown, "the dashboard lists packages"
    assert shown == [(row["package"], row["downloads"]) for row in api]
