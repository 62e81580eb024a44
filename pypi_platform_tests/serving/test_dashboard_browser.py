"""The dashboard in headless Chromium (Debian's, driven by Playwright; no browser is ever downloaded): the package
and comparison pages draw their charts with the series in the test's PostgreSQL, and screenshots are saved to
``$PYPI_PLATFORM_TEST_ARTIFACTS`` (default ``<repo>/test-artifacts/``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from pypi_platform_tests.fixtures.browser import CHROMIUM_ARGS

LABELS = {"with_mirrors": "with mirrors", "without_mirrors": "without mirrors"}


# Every drawn chart: its canvas id, the labels and data of its datasets, and whether Chart.js laid it out.
CHARTS_JS = """
() => Array.from(document.querySelectorAll("canvas")).map(canvas => {
  const chart = Chart.getChart(canvas);
  return {
    id: canvas.id,
    labels: chart.data.labels,
    datasets: chart.data.datasets.map(d => ({label: d.label, data: d.data})),
    drawn: chart.chartArea.width > 100 && chart.chartArea.height > 100,
    stacked: Boolean(chart.options.scales.y.stacked),
  };
})
"""


def artifacts_dir() -> Path:
    configured = os.environ.get("PYPI_PLATFORM_TEST_ARTIFACTS")
    path = Path(configured) if configured else Path(__file__).resolve().parents[2] / "test-artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, stats_server: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=stats_server)
    # Nothing but the app on 127.0.0.1 may be asked for anything.
    outside: list[str] = []

    def guard(route):
        if route.request.url.startswith(stats_server + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A page may be an error page on purpose; every asset and data request must succeed.
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    yield page
    context.close()
    assert not outside, f"requests beyond the app: {outside}"
    assert not errors, f"errors in the page: {errors}"


def _open(page, path: str) -> list[dict]:
    page.goto(path)
    page.wait_for_selector("body[data-charts]", timeout=20_000)
    assert page.get_attribute("body", "data-charts") == "ready", page.inner_text("#status")
    return page.evaluate(CHARTS_JS)


def _table(
    dsn: str, dimension: str, packages: list[str], start, end
) -> dict[tuple[str, str], dict[str, int]]:
    """(package, category) -> ISO date -> downloads, read straight from the test's PostgreSQL."""
    found: dict[tuple[str, str], dict[str, int]] = {}
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT package, category, date, downloads FROM downloads.{dimension}"
            " WHERE package = ANY(%s) AND date BETWEEN %s AND %s",
            (packages, start, end),
        ).fetchall()
    for package, category, day, downloads in rows:
        found.setdefault((package, category), {})[day.isoformat()] = downloads
    return found


def test_dashboard_browser_package_page(page, stats_database: str) -> None:
    charts = _open(page, "/packages/legacy?range=30")
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=29)
    dates = [(start + timedelta(days=i)).isoformat() for i in range(30)]
    assert [c["id"] for c in charts] == [
        f"chart-{d}"
        for d in (
            "overall",
            "python_major",
            "python_minor",
            "system",
            "country",
            "installer",
            "version",
            "ci",
        )
    ]
    for chart in charts:
        dimension = chart["id"].removeprefix("chart-")
        table = _table(stats_database, dimension, ["legacy"], start, end)
        want = {LABELS.get(category, category): values for (_, category), values in table.items()}
        assert chart["drawn"], dimension
        assert chart["labels"] == dates
        assert {d["label"] for d in chart["datasets"]} == set(want), dimension
        for dataset in chart["datasets"]:
            assert len(dataset["data"]) == 30
            assert dataset["data"] == [want[dataset["label"]].get(day, 0) for day in dates], dimension
    labels = {c["id"]: [d["label"] for d in c["datasets"]] for c in charts}
    assert labels["chart-overall"] == ["with mirrors", "without mirrors"]
    assert "2.7" in labels["chart-python_minor"] and "2" in labels["chart-python_major"]
    page.screenshot(path=str(artifacts_dir() / "dashboard-package.png"), full_page=True)


def test_dashboard_browser_percent_view(page) -> None:
    charts = _open(page, "/packages/six?range=90&view=percent")
    by_id = {c["id"]: c for c in charts}
    for dimension in ("python_minor", "system", "country", "installer"):
        chart = by_id[f"chart-{dimension}"]
        assert chart["stacked"], dimension
        for day in range(len(chart["labels"])):
            values = [d["data"][day] for d in chart["datasets"]]
            if values[0] is None:  # a day before the first loaded one
                assert all(v is None for v in values)
                continue
            assert sum(values) == pytest.approx(100.0), (dimension, day)
    # The overall chart stays in downloads: without mirrors is a part of with mirrors, not a share beside it.
    assert not by_id["chart-overall"]["stacked"]
    assert max(v for v in by_id["chart-overall"]["datasets"][0]["data"] if v is not None) > 100
    page.screenshot(path=str(artifacts_dir() / "dashboard-package-percent.png"), full_page=True)


def test_dashboard_browser_compare_page(page, stats_database: str) -> None:
    charts = _open(page, "/compare?packages=six,zope.interface,python-dateutil&range=all")
    assert [c["id"] for c in charts] == ["chart-compare"]
    chart = charts[0]
    assert chart["drawn"]
    packages = ["six", "zope-interface", "python-dateutil"]
    assert [d["label"] for d in chart["datasets"]] == packages
    table = _table(stats_database, "overall", packages, chart["labels"][0], chart["labels"][-1])
    assert chart["labels"][-1] == (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    for dataset in chart["datasets"]:
        values = table[(dataset["label"], "without_mirrors")]
        assert len(dataset["data"]) == len(chart["labels"]) == len(values)
        assert dataset["data"] == [values[day] for day in chart["labels"]]
    page.screenshot(path=str(artifacts_dir() / "dashboard-compare.png"), full_page=True)


def test_dashboard_browser_top_and_error_pages(page) -> None:
    page.goto("/top?period=week")
    assert page.locator("#top-table tbody tr").count() == 5  # "quiet" had no downloads this week
    page.select_option("select[name=country]", "DE")
    page.wait_for_url("**country=DE**")
    assert page.locator("h1").inner_text() == "Top packages in DE"
    page.screenshot(path=str(artifacts_dir() / "dashboard-top.png"), full_page=True)
    page.goto("/")
    page.fill(".big-search input[name=q]", "typing")
    page.press(".big-search input[name=q]", "Enter")
    page.wait_for_selector("#results")
    page.click("#results a")
    page.wait_for_selector("body[data-charts=ready]")
    assert page.locator("h1").inner_text() == "typing-extensions"
    response = page.goto("/packages/no-such-package")
    assert response is not None and response.status == 404
    page.screenshot(path=str(artifacts_dir() / "dashboard-404.png"))
