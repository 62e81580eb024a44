"""The dashboard's pages and chart data over HTTP, from the app running on 127.0.0.1 over a loaded database."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import httpx
import polars as pl
import psycopg
import pytest

from pypi_platform.serving.app import create_app
from pypi_platform.serving.dashboard import ALL_OTHERS
from pypi_platform_tests.serving.conftest import StatsData, generate_stats, load_stats

DIMENSIONS = ("overall", "python_major", "python_minor", "system", "country", "installer", "version", "ci")


def expected(
    data: StatsData, dimension: str, package: str, start: date, end: date
) -> dict[str, dict[str, int]]:
    """category -> ISO date -> downloads, for the rows of one package and dimension in [start, end]."""
    found: dict[str, dict[str, int]] = {}
    for row in data.rows(dimension, package):
        if start.isoformat() <= row["date"] <= end.isoformat():
            found.setdefault(row["category"], {})[row["date"]] = row["downloads"]
    return found


def yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


@pytest.fixture
def client(stats_server: str):
    with httpx.Client(base_url=stats_server, timeout=30, follow_redirects=False) as http:
        yield http


def test_dashboard_package_data_matches_the_tables(client: httpx.Client, stats_data: StatsData) -> None:
    response = client.get("/dashboard-data/packages/legacy", params={"range": "30"})
    assert response.status_code == 200
    body = response.json()
    end = yesterday()
    start = end - timedelta(days=29)
    dates = [(start + timedelta(days=i)).isoformat() for i in range(30)]
    assert body["package"] == "legacy"
    assert (body["start"], body["end"], body["dates"]) == (start.isoformat(), end.isoformat(), dates)
    assert [chart["dimension"] for chart in body["charts"]] == list(DIMENSIONS)
    for chart in body["charts"]:
        want = expected(stats_data, chart["dimension"], "legacy", start, end)
        got = {s["category"]: s["data"] for s in chart["series"]}
        assert set(got) == set(want), chart["dimension"]
        for category, values in got.items():
            # A loaded day with no row for the category is a day without downloads: 0, never a gap.
            assert values == [want[category].get(day, 0) for day in dates], (chart["dimension"], category)
    overall = body["charts"][0]["series"]
    assert [s["category"] for s in overall] == ["with_mirrors", "without_mirrors"]
    python_major = {s["category"] for s in body["charts"][1]["series"]}
    assert "2" in python_major  # legacy is the one package with Python 2 downloads


def test_dashboard_ranges_end_before_today(client: httpx.Client, stats_data: StatsData) -> None:
    end = yesterday()
    for range_key, days in (("90", 90), ("180", 180)):
        body = client.get("/dashboard-data/packages/six", params={"range": range_key}).json()
        assert len(body["dates"]) == days and body["end"] == end.isoformat()
        with_mirrors = body["charts"][0]["series"][0]["data"]
        first = stats_data.days[0]
        gap = (first - (end - timedelta(days=days - 1))).days
        # Days before the first loaded one are gaps (null), not zeros.
        assert with_mirrors[:gap] == [None] * gap
        assert None not in with_mirrors[gap:]
    everything = client.get("/dashboard-data/packages/six", params={"range": "all"}).json()
    assert everything["start"] == stats_data.days[0].isoformat()
    assert len(everything["dates"]) == len(stats_data.days) - 1  # every day but today
    # "quiet" stopped being downloaded: its series run on as zeros up to the last day.
    quiet = client.get("/dashboard-data/packages/quiet", params={"range": "all"}).json()
    without = quiet["charts"][0]["series"][1]["data"]
    assert without[0] > 0 and without[-1] == 0


def test_dashboard_package_page_shows_totals_and_today(client: httpx.Client, stats_data: StatsData) -> None:
    response = client.get("/packages/typing-extensions")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    end = yesterday()
    overall = expected(stats_data, "overall", "typing-extensions", end - timedelta(days=29), end)
    without = overall["without_mirrors"]
    day = without[end.isoformat()]
    week = sum(n for d, n in without.items() if d > (end - timedelta(days=7)).isoformat())
    month = sum(without.values())
    assert f'id="last-day">{day:,}<' in html
    assert f'id="last-week">{week:,}<' in html
    assert f'id="last-month">{month:,}<' in html
    today = datetime.now(UTC).date().isoformat()
    now = expected(
        stats_data, "overall", "typing-extensions", date.fromisoformat(today), date.fromisoformat(today)
    )
    assert f'id="today-without">{now["without_mirrors"][today]:,}<' in html
    assert f'id="today-with">{now["with_mirrors"][today]:,}<' in html
    assert 'id="today-loaded"' in html
    for dimension in DIMENSIONS:
        assert f'id="chart-{dimension}"' in html
    # Every asset is the app's own.
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith(("/", "?")) for s in sources), sources
    assert '<script src="/static/chart.umd.min.js">' in html


def test_dashboard_today_not_loaded_says_so(database: str, serve_app) -> None:
    """A database whose newest day is yesterday: the page says today's partition is not loaded and which day is."""
    data = generate_stats(yesterday(), days=3)
    load_stats(database, data)
    with serve_app(create_app(database)) as url:
        html = httpx.get(f"{url}/packages/six", timeout=30).text
    assert 'id="today-missing"' in html
    assert f"Latest day loaded: {yesterday().isoformat()}" in html


def test_dashboard_static_assets_are_served(client: httpx.Client) -> None:
    script = client.get("/static/chart.umd.min.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "Chart.js v4" in script.text[:200]
    assert client.get("/static/dashboard.js").status_code == 200
    assert client.get("/static/dashboard.css").status_code == 200


def test_dashboard_non_normalized_name_redirects(client: httpx.Client) -> None:
    response = client.get("/packages/Typing_Extensions", params={"range": "30"})
    assert response.status_code == 301
    assert response.headers["location"] == "/packages/typing-extensions?range=30"


def test_dashboard_unknown_package_is_a_404_page(client: httpx.Client) -> None:
    response = client.get("/packages/no-such-package")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "no downloads of &#39;no-such-package&#39; are recorded" in response.text
    data = client.get("/dashboard-data/packages/no-such-package")
    assert data.status_code == 404
    assert data.json() == {"error": "no downloads of 'no-such-package' are recorded"}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/packages/six?range=7", "range must be one of 30, 90, 180, all, not &#39;7&#39;"),
        ("/packages/six?view=pie", "view must be one of absolute, percent, not &#39;pie&#39;"),
        ("/packages/six%27%20OR%201=1--", "is not a valid package name"),
        ("/packages/" + "a" * 129, "at most 128 characters"),
        ("/compare?packages=six,-bad-", "&#39;-bad-&#39; is not a valid package name"),
        ("/compare?packages=" + ",".join(f"p{i}" for i in range(11)), "compare at most 10 packages, not 11"),
        ("/compare?packages=six&mirrors=maybe", "mirrors must be one of false, true"),
        ("/top?period=year", "period must be one of today, day, week, month"),
        ("/top?country=USA", "country must be a two-letter ISO 3166 code"),
        ("/top?limit=0", "limit must be a whole number from 1 to 100"),
        ("/top?limit=abc", "limit must be a whole number from 1 to 100"),
    ],
)
def test_dashboard_invalid_parameters_are_a_400_page(client: httpx.Client, path: str, message: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text


def test_dashboard_invalid_data_parameters_are_a_400(client: httpx.Client) -> None:
    assert client.get("/dashboard-data/packages/six?range=7").status_code == 400
    response = client.get("/dashboard-data/compare")
    assert response.status_code == 400
    assert response.json() == {"error": "packages must name at least one package"}
    response = client.get("/dashboard-data/compare?packages=six,nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "no downloads are recorded for 'nothing-here'"}


def test_dashboard_user_input_is_escaped(client: httpx.Client) -> None:
    attack = '<script>alert("x")</script>'
    html = client.get("/", params={"q": attack}).text
    assert attack not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    html = client.get("/compare", params={"packages": "six,<img src=x>"}).text
    assert "<img src=x>" not in html and "&lt;img src=x&gt;" in html


def test_dashboard_home_search(client: httpx.Client) -> None:
    home = client.get("/")
    assert home.status_code == 200
    assert 'name="q"' in home.text
    found = client.get("/", params={"q": "py"})
    assert '<a href="/packages/python-dateutil">python-dateutil</a>' in found.text
    exact = client.get("/", params={"q": "Zope.Interface"})
    assert exact.status_code == 303 and exact.headers["location"] == "/packages/zope-interface"
    # "quiet" has no downloads in the last month, so `recent` lacks it; an exact name still finds it.
    assert client.get("/", params={"q": "quiet"}).headers["location"] == "/packages/quiet"
    assert 'id="no-results"' in client.get("/", params={"q": "zzz"}).text
    # LIKE wildcards in the search are plain characters.
    assert 'id="no-results"' in client.get("/", params={"q": "%"}).text


def test_dashboard_compare_data(client: httpx.Client, stats_data: StatsData) -> None:
    page = client.get("/compare", params={"packages": "six,Legacy,six", "range": "30"})
    assert page.status_code == 200
    assert '<a href="/packages/legacy">legacy</a>' in page.text
    assert "?packages=six,legacy&amp;range=30&amp;view=absolute&amp;mirrors=true" in page.text
    end = yesterday()
    start = end - timedelta(days=29)
    for mirrors, category in (("false", "without_mirrors"), ("true", "with_mirrors")):
        body = client.get(
            "/dashboard-data/compare", params={"packages": "six,legacy", "range": "30", "mirrors": mirrors}
        ).json()
        assert body["category"] == category
        assert [s["package"] for s in body["series"]] == ["six", "legacy"]
        for series in body["series"]:
            want = expected(stats_data, "overall", series["package"], start, end)[category]
            assert series["data"] == [want[d] for d in body["dates"]]
    assert client.get("/compare").status_code == 200  # the empty form


def _top_expected(
    data: StatsData, table: str, category: str, start: date, end: date
) -> list[tuple[str, int]]:
    frame = data.frame().filter(
        (pl.col("dimension") == table)
        & (pl.col("category") == category)
        & (pl.col("package") != "__all__")
        & pl.col("date").is_between(start, end)
    )
    sums = (
        frame.group_by("package")
        .agg(pl.col("downloads").sum())
        .sort(["downloads", "package"], descending=[True, False])
    )
    return list(sums.iter_rows())


def _top_rows(html: str) -> list[tuple[str, int]]:
    rows = re.findall(r'<td><a href="/packages/([^"]+)">[^<]+</a></td><td class="num">([\d,]+)</td>', html)
    return [(package, int(n.replace(",", ""))) for package, n in rows]


def test_dashboard_top_packages(client: httpx.Client, stats_data: StatsData) -> None:
    end = yesterday()
    today = end + timedelta(days=1)
    cases = [
        ({"period": "day"}, "overall", "without_mirrors", end, end),
        ({"period": "month"}, "overall", "without_mirrors", end - timedelta(days=29), end),
        ({"period": "week", "country": "de"}, "country", "DE", end - timedelta(days=6), end),
        ({"period": "today"}, "overall", "without_mirrors", today, today),
    ]
    for params, table, category, start, stop in cases:
        response = client.get("/top", params=params)
        assert response.status_code == 200, params
        assert _top_rows(response.text) == _top_expected(stats_data, table, category, start, stop), params
    limited = client.get("/top", params={"period": "week", "limit": "2"})
    assert len(_top_rows(limited.text)) == 2
    nowhere = client.get("/top", params={"country": "ZZ"})
    assert nowhere.status_code == 200 and 'id="top-empty"' in nowhere.text


def test_dashboard_small_categories_are_summed(database: str, serve_app) -> None:
    """Beyond a chart's top categories the rest is one "all others" series, so the day's totals still add up."""
    data = generate_stats(yesterday(), days=2)
    day = yesterday()
    countries = [f"C{chr(65 + i)}" for i in range(14)]
    extra = pl.DataFrame(
        [("country", "wide", c, 100 - i) for i, c in enumerate(countries)]
        + [("overall", "wide", "with_mirrors", 2000), ("overall", "wide", "without_mirrors", 1500)],
        schema={"dimension": pl.String, "package": pl.String, "category": pl.String, "downloads": pl.Int64},
        orient="row",
    )
    frames = dict(data.frames)
    frames[day] = pl.concat([frames[day], extra])
    load_stats(database, StatsData(frames))
    with serve_app(create_app(database)) as url:
        body = httpx.get(f"{url}/dashboard-data/packages/wide", params={"range": "30"}, timeout=30).json()
    country = next(c for c in body["charts"] if c["dimension"] == "country")
    labels = [s["category"] for s in country["series"]]
    assert labels == [*countries[:10], ALL_OTHERS]
    assert country["series"][-1]["data"][-1] == sum(100 - i for i in range(10, 14))
    with psycopg.connect(database) as conn:
        total = conn.execute(
            "SELECT sum(downloads) FROM downloads.country WHERE package = 'wide' AND date = %s", (day,)
        ).fetchone()[0]
    assert sum(s["data"][-1] for s in country["series"]) == total
