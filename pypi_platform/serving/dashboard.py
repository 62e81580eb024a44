"""The dashboard: HTML pages for people, and the JSON their charts draw, read from the ``downloads`` tables.

Pages (server-rendered with Jinja2, every value escaped):

- ``/``: a search box and the freshness of the data; ``/?q=req`` lists the packages that start with ``req``.
- ``/packages/<name>``: downloads over time with and without mirrors, then by Python major and minor version,
  system, country, installer, version and CI, for ``range`` = 30, 90, 180 days or ``all``, as absolute counts or
  ``view=percent`` (each category's share of the day), and today's downloads so far with when they were loaded.
- ``/compare?packages=a,b,c``: several packages' downloads over time on one chart.
- ``/top?period=day|week|month|today&country=XX``: the most downloaded packages.

The charts are drawn by Chart.js, served from ``/static/`` like every other asset. Their data comes from this
module's own endpoints under ``/dashboard-data/``, so the pages depend on the tables only, not on the JSON API.
Handlers are async and read through the app's connection pool (``app.state.pool``, with its statement timeout).
Daily charts end at the last day before today (UTC), whose partition is complete; today's partition, which the
downloads schedule refreshes during the day, is shown apart as "today so far".
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import psycopg
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from pypi_platform.lib.downloads import reads
from pypi_platform.lib.names import ALL_PACKAGES, MAX_NAME_LENGTH, InvalidProjectName, normalize, project_name

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

RANGES: dict[str, int | None] = {"30": 30, "90": 90, "180": 180, "all": None}
DEFAULT_RANGE = "90"
VIEWS = ("absolute", "percent")
MAX_COMPARED = 10
TOP_PERIODS = (reads.TODAY, *reads.PERIODS)
TOP_LIMIT_MAX = 100
ALL_OTHERS = (
    "all others"  # the bucket of the categories beyond a chart's top ones; no real category is named so
)

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


@dataclass(frozen=True)
class Chart:
    dimension: str
    title: str
    top: int | None  # categories drawn; the rest are summed into ALL_OTHERS (None: every category)


CHARTS = (
    Chart("overall", "Downloads with and without mirrors", None),
    Chart("python_major", "By Python major version", None),
    Chart("python_minor", "By Python minor version", 10),
    Chart("system", "By operating system", None),
    Chart("country", "By country", 10),
    Chart("installer", "By installer", 8),
    Chart("version", "By package version", 8),
    Chart("ci", "In continuous integration", None),
)


class PageError(Exception):
    """A request the dashboard refuses: rendered as an error page (or JSON) with this status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def valid_name(name: str) -> str:
    """``name`` normalized, or a 400 if it is not a package name at all: quotes, spaces, slashes and SQL are
    refused before any query runs."""
    if name == ALL_PACKAGES:
        return name
    try:
        return project_name(name)
    except InvalidProjectName as exc:
        raise PageError(400, str(exc)) from None


def _one_of(request: Request, key: str, allowed: tuple[str, ...] | dict[str, Any], default: str) -> str:
    value = request.query_params.get(key, default)
    if value not in allowed:
        raise PageError(400, f"{key} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _today() -> date:
    return datetime.now(UTC).date()


# --- database reads ------------------------------------------------------------------------------------------


def _connect(request: Request):
    """A connection from the app's pool (opened by its lifespan; autocommit, with a statement timeout)."""
    return request.app.state.pool.connection()


async def _window(
    conn: psycopg.AsyncConnection, packages: list[str], range_key: str, today: date
) -> tuple[date, date] | None:
    end = await reads.last_complete_day(conn, today)
    if end is None:
        return None
    days = RANGES[range_key]
    if days is None:
        start = await reads.first_day(conn, packages) or end
        start = min(start, end)
    else:
        start = end - timedelta(days=days - 1)
    return start, end


def _dates(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _series(values: dict[date, int], dates: list[date], present: set[date]) -> list[int | None]:
    return [values.get(day, 0) if day in present or day in values else None for day in dates]


async def package_charts(
    conn: psycopg.AsyncConnection, package: str, start: date, end: date
) -> dict[str, Any]:
    """Every chart of the package page for [start, end]: one series per category, a value per day."""
    dates = _dates(start, end)
    present = await reads.present_days(conn, start, end)
    charts = []
    for chart in CHARTS:
        by_category: dict[str, dict[date, int]] = defaultdict(dict)
        for day, _package, category, downloads in await reads.category_rows(
            conn, chart.dimension, [package], start, end
        ):
            by_category[category][day] = downloads
        if chart.dimension == "overall":
            order = [c for c in ("with_mirrors", "without_mirrors") if c in by_category]
        else:
            order = sorted(by_category, key=lambda c: (-sum(by_category[c].values()), c))
        if chart.top is not None and len(order) > chart.top + 1:
            rest: dict[date, int] = defaultdict(int)
            for category in order[chart.top :]:
                for day, downloads in by_category[category].items():
                    rest[day] += downloads
            by_category[ALL_OTHERS] = dict(rest)
            order = [*order[: chart.top], ALL_OTHERS]
        charts.append(
            {
                "dimension": chart.dimension,
                "title": chart.title,
                "series": [{"category": c, "data": _series(by_category[c], dates, present)} for c in order],
            }
        )
    return {
        "package": package,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "dates": [d.isoformat() for d in dates],
        "charts": charts,
    }


async def compare_series(
    conn: psycopg.AsyncConnection, packages: list[str], category: str, start: date, end: date
) -> dict[str, Any]:
    dates = _dates(start, end)
    present = await reads.present_days(conn, start, end)
    by_package: dict[str, dict[date, int]] = {package: {} for package in packages}
    for day, package, row_category, downloads in await reads.category_rows(
        conn, "overall", packages, start, end
    ):
        if row_category == category:
            by_package[package][day] = downloads
    return {
        "packages": packages,
        "category": category,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "dates": [d.isoformat() for d in dates],
        "series": [{"package": p, "data": _series(by_package[p], dates, present)} for p in packages],
    }


async def _totals(conn: psycopg.AsyncConnection, package: str) -> dict[str, int]:
    """Downloads without mirrors in the last complete day, week and month: the API's ``recent``."""
    found = await reads.recent(conn, package)
    return reads.last_periods(found)


async def today_so_far(conn: psycopg.AsyncConnection, package: str, today: date) -> dict[str, Any]:
    """Today's rows for ``package`` (its partition fills during the day) and when that day was last loaded."""
    counts = await reads.day_counts(conn, package, today)
    loaded = await reads.loaded_at(conn, today)
    latest = await reads.latest_load(conn)
    return {
        "date": today,
        "loaded_at": loaded,
        "with_mirrors": counts.get("with_mirrors", 0 if loaded else None),
        "without_mirrors": counts.get("without_mirrors", 0 if loaded else None),
        "latest_day": latest[0] if latest else None,
        "latest_loaded_at": latest[1] if latest else None,
    }


# The top lists sum a window of a whole table; they change at most once an hour, so they are kept a few minutes.
_TOP_TTL = 300.0
_top_cache: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}


async def top_packages(
    conn: psycopg.AsyncConnection, dsn: str, period: str, country: str | None, limit: int, today: date
) -> dict[str, Any]:
    """The most downloaded packages of the period: without mirrors overall, every download per country."""
    key = (dsn, period, country, limit, today)
    now = time.monotonic()
    cached = _top_cache.get(key)
    if cached and now - cached[0] < _TOP_TTL:
        return cached[1]
    top = await reads.top(conn, period, country, limit, today)
    if top.start is None or top.end is None:
        return {"start": None, "end": None, "total": 0, "rows": [], "countries": []}
    result = {
        "start": top.start,
        "end": top.end,
        "total": await reads.total(conn, country, top.start, top.end),
        "rows": top.rows,
        "countries": [c for c in await reads.countries(conn, top.start, top.end) if _COUNTRY.match(c)],
    }
    _top_cache[key] = (now, result)
    for stale in [k for k, (t, _) in _top_cache.items() if now - t >= _TOP_TTL]:
        del _top_cache[stale]
    return result


async def search_packages(
    conn: psycopg.AsyncConnection, query: str, limit: int = 20
) -> list[tuple[str, int]]:
    """Packages whose normalized name starts with the normalized ``query``, most downloaded last month first."""
    prefix = normalize(query.strip())
    if not prefix:
        return []
    found = await reads.search(conn, prefix, limit)
    if prefix not in {p for p, _ in found} and await reads.known(conn, prefix):
        found.insert(0, (prefix, 0))
    return found


# --- pages -----------------------------------------------------------------------------------------------------

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
)
templates.env.filters["thousands"] = lambda n: "\u2013" if n is None else f"{n:,}"


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _error_page(request: Request, error: PageError) -> Response:
    titles = {400: "Bad request", 404: "Not found"}
    return _render(
        request,
        "error.html",
        {"title": titles.get(error.status, "Error"), "status": error.status, "message": error.message},
        error.status,
    )


def _page(handler):
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except PageError as error:
            return _error_page(request, error)

    endpoint.__name__ = handler.__name__
    return endpoint


def _data(handler):
    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await handler(request), headers={"Cache-Control": "public, max-age=300"})
        except PageError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)

    endpoint.__name__ = handler.__name__
    return endpoint


def _canonical(request: Request, path: str) -> Response | None:
    """A redirect to ``path`` with the same query if the request used a non-normalized spelling."""
    if request.url.path == path:
        return None
    target = path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(target, status_code=301)


def _package_path(package: str) -> str:
    return "/packages/" + quote(package, safe="")


@_page
async def home(request: Request) -> Response:
    query = request.query_params.get("q", "").strip()
    if len(query) > MAX_NAME_LENGTH:
        raise PageError(400, f"the search is at most {MAX_NAME_LENGTH} characters")
    async with _connect(request) as conn:
        results = await search_packages(conn, query) if query else []
        latest = await reads.latest_load(conn)
    if query and len(results) == 1 and results[0][0] == normalize(query):
        return RedirectResponse(_package_path(results[0][0]), status_code=303)
    return _render(
        request,
        "home.html",
        {
            "title": "Download statistics",
            "query": query,
            "results": [(p, n, _package_path(p)) for p, n in results],
            "latest": latest,
        },
    )


@_page
async def package_page(request: Request) -> Response:
    given = request.path_params["name"]
    package = valid_name(given)
    if redirect := _canonical(request, _package_path(package)):
        return redirect
    range_key = _one_of(request, "range", RANGES, DEFAULT_RANGE)
    view = _one_of(request, "view", VIEWS, "absolute")
    today = _today()
    async with _connect(request) as conn:
        if not await reads.known(conn, package):
            raise PageError(404, f"no downloads of {package!r} are recorded")
        window = await _window(conn, [package], range_key, today)
        totals = await _totals(conn, package) if window else None
        today_info = await today_so_far(conn, package, today)
    links = {
        "ranges": [(key, f"?{urlencode({'range': key, 'view': view})}") for key in RANGES],
        "views": [(key, f"?{urlencode({'range': range_key, 'view': key})}") for key in VIEWS],
    }
    config = {
        "kind": "package",
        "view": view,
        "data_url": "/dashboard-data" + _package_path(package) + "?" + urlencode({"range": range_key}),
    }
    return _render(
        request,
        "package.html",
        {
            "title": package,
            "package": package,
            "range": range_key,
            "view": view,
            "window": window,
            "totals": totals,
            "today": today_info,
            "links": links,
            "charts": CHARTS,
            "config": config,
        },
    )


@_data
async def package_data(request: Request) -> dict[str, Any]:
    package = valid_name(request.path_params["name"])
    range_key = _one_of(request, "range", RANGES, DEFAULT_RANGE)
    async with _connect(request) as conn:
        if not await reads.known(conn, package):
            raise PageError(404, f"no downloads of {package!r} are recorded")
        window = await _window(conn, [package], range_key, _today())
        if window is None:
            return {"package": package, "start": None, "end": None, "dates": [], "charts": []}
        return await package_charts(conn, package, *window)


def _compared(request: Request) -> list[str]:
    raw = request.query_params.get("packages", "")
    names = [name.strip() for name in raw.split(",") if name.strip()]
    packages = list(dict.fromkeys(valid_name(name) for name in names))
    if len(packages) > MAX_COMPARED:
        raise PageError(400, f"compare at most {MAX_COMPARED} packages, not {len(packages)}")
    return packages


async def _check_known(conn: psycopg.AsyncConnection, packages: list[str]) -> None:
    unknown = [p for p in packages if not await reads.known(conn, p)]
    if unknown:
        raise PageError(404, "no downloads are recorded for " + ", ".join(repr(p) for p in unknown))


@_page
async def compare_page(request: Request) -> Response:
    packages = _compared(request)
    range_key = _one_of(request, "range", RANGES, DEFAULT_RANGE)
    view = _one_of(request, "view", VIEWS, "absolute")
    mirrors = _one_of(request, "mirrors", ("false", "true"), "false")
    if packages:
        async with _connect(request) as conn:
            await _check_known(conn, packages)
    joined = ",".join(packages)

    def link(**change: str) -> str:
        params = {"packages": joined, "range": range_key, "view": view, "mirrors": mirrors, **change}
        return "?" + urlencode(params, safe=",")

    config = {
        "kind": "compare",
        "view": view,
        "data_url": "/dashboard-data/compare?"
        + urlencode({"packages": joined, "range": range_key, "mirrors": mirrors}, safe=","),
    }
    return _render(
        request,
        "compare.html",
        {
            "title": "Compare " + ", ".join(packages) if packages else "Compare packages",
            "packages": [(p, _package_path(p)) for p in packages],
            "joined": joined,
            "range": range_key,
            "view": view,
            "mirrors": mirrors,
            "links": {
                "ranges": [(key, link(range=key)) for key in RANGES],
                "views": [(key, link(view=key)) for key in VIEWS],
                "mirrors": [(key, link(mirrors=key)) for key in ("false", "true")],
            },
            "config": config,
        },
    )


@_data
async def compare_data(request: Request) -> dict[str, Any]:
    packages = _compared(request)
    if not packages:
        raise PageError(400, "packages must name at least one package")
    range_key = _one_of(request, "range", RANGES, DEFAULT_RANGE)
    mirrors = _one_of(request, "mirrors", ("false", "true"), "false")
    category = "with_mirrors" if mirrors == "true" else "without_mirrors"
    async with _connect(request) as conn:
        await _check_known(conn, packages)
        window = await _window(conn, packages, range_key, _today())
        if window is None:
            return {"packages": packages, "category": category, "dates": [], "series": []}
        return await compare_series(conn, packages, category, *window)


@_page
async def top_page(request: Request) -> Response:
    period = _one_of(request, "period", TOP_PERIODS, "day")
    country = request.query_params.get("country", "").strip() or None
    if country is not None:
        if not _COUNTRY.match(country):
            raise PageError(400, f"country must be a two-letter ISO 3166 code, not {country!r}")
        country = country.upper()
    limit_text = request.query_params.get("limit", "20")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= TOP_LIMIT_MAX:
        raise PageError(400, f"limit must be a whole number from 1 to {TOP_LIMIT_MAX}, not {limit_text!r}")
    limit = int(limit_text)
    today = _today()
    async with _connect(request) as conn:
        top = await top_packages(conn, request.app.state.dsn, period, country, limit, today)
        loaded = await reads.loaded_at(conn, today)

    def link(**change: str | None) -> str:
        params = {"period": period, "country": country or "", "limit": str(limit), **change}
        return "?" + urlencode({k: v for k, v in params.items() if v})

    return _render(
        request,
        "top.html",
        {
            "title": "Top packages" + (f" in {country}" if country else ""),
            "period": period,
            "country": country,
            "limit": limit,
            "top": top,
            "rows": [(p, n, _package_path(p)) for p, n in top["rows"]],
            "today_loaded_at": loaded,
            "period_links": [(key, link(period=key)) for key in TOP_PERIODS],
            "all_countries_link": link(country=None),
        },
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/", home, methods=["GET"]),
        Route("/packages/{name}", package_page, methods=["GET"]),
        Route("/compare", compare_page, methods=["GET"]),
        Route("/top", top_page, methods=["GET"]),
        Route("/dashboard-data/packages/{name}", package_data, methods=["GET"]),
        Route("/dashboard-data/compare", compare_data, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
