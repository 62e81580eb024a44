"""The API's requests, validated, and their answers.

A request is parsed into a frozen query object (:class:`SeriesQuery`, :class:`RecentQuery`, :class:`TopQuery`)
or refused with a :class:`RequestError` that carries the HTTP status and a message for the client. Only then is
the database asked, through ``lib/downloads/reads.py`` (the dashboard asks the same functions): every value
travels as a psycopg placeholder, and the only identifiers ever written into SQL are the downloads tables.

Names are PEP 503-normalized (runs of ``-``, ``_`` and ``.`` become one ``-``, lowercased), as the loader stores
them; only ``__all__``, the sum over packages, is taken literally. A package is *known* when ``overall`` holds a
row for it on any retained day; every endpoint answers 404 for an unknown package, and 200 with empty data for a
known package whose filter matches nothing.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from psycopg import AsyncConnection

from pypi_platform.lib.downloads import reads
from pypi_platform.lib.downloads.reads import PERIODS
from pypi_platform.lib.names import ALL_PACKAGES, InvalidProjectName, project_name

MAX_RANGE_DAYS = 400  # an explicit start_date .. end_date may cover at most this many days
TOP_DEFAULT_LIMIT = 20
TOP_MAX_LIMIT = 1000

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER = re.compile(r"\d{1,9}")


class RequestError(ValueError):
    """A request we refuse: ``status`` is the HTTP status (4xx), ``code`` a short word, ``message`` for people."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str) -> RequestError:
    return RequestError(400, "bad_request", message)


def not_found(package: str) -> RequestError:
    return RequestError(404, "not_found", f"no download statistics for package {package!r}")


@dataclass(frozen=True)
class Filter:
    """A dimension's optional category filter: its query parameter, the values it accepts and how it reads them."""

    param: str
    pattern: re.Pattern[str]
    expected: str  # for the error message
    choices: dict[str, str] | None = None  # lowercased value -> stored category, for closed sets


@dataclass(frozen=True)
class Dimension:
    table: str  # a table of the downloads schema: the whitelist of identifiers
    type: str  # the response's "type"
    filter: Filter


def _closed(param: str, *values: str) -> Filter:
    choices = {value.lower(): value for value in values}
    return Filter(param, re.compile("|".join(map(re.escape, choices)), re.I), " or ".join(values), choices)


SERIES: dict[str, Dimension] = {
    "overall": Dimension(
        "overall",
        "overall_downloads",
        Filter(
            "mirrors",
            re.compile("true|false", re.I),
            "true or false",
            {"true": "with_mirrors", "false": "without_mirrors"},
        ),
    ),
    "python_major": Dimension(
        "python_major",
        "python_major_downloads",
        Filter("version", re.compile(r"\d{1,2}|null", re.I), "a major version such as 3, or null"),
    ),
    "python_minor": Dimension(
        "python_minor",
        "python_minor_downloads",
        Filter(
            "version", re.compile(r"\d{1,2}\.\d{1,3}|null", re.I), "a minor version such as 3.12, or null"
        ),
    ),
    "system": Dimension(
        "system", "system_downloads", _closed("os", "Windows", "Linux", "Darwin", "other", "null")
    ),
    "installer": Dimension(
        "installer",
        "installer_downloads",
        Filter("installer", re.compile(r"[A-Z0-9][A-Z0-9._+-]{0,63}", re.I), "an installer name such as pip"),
    ),
    "country": Dimension(
        "country",
        "country_downloads",
        Filter(
            "country", re.compile(r"[A-Z]{2}|null", re.I), "a two-letter country code such as DE, or null"
        ),
    ),
    "version": Dimension(
        "version",
        "version_downloads",
        Filter(
            "version", re.compile(r"[A-Z0-9][A-Z0-9.+!_-]{0,63}", re.I), "a release version such as 1.2.0"
        ),
    ),
    "ci": Dimension("ci", "ci_downloads", _closed("ci", "true", "false", "null")),
}


@dataclass(frozen=True)
class SeriesQuery:
    """Daily downloads of one package in one dimension, optionally one category and a date range."""

    endpoint: str
    package: str
    category: str | None = None
    start: date | None = None
    end: date | None = None

    @property
    def dimension(self) -> Dimension:
        return SERIES[self.endpoint]


@dataclass(frozen=True)
class RecentQuery:
    package: str
    period: str | None = None  # day, week, month; None for all three


@dataclass(frozen=True)
class TopQuery:
    period: str = "month"
    limit: int = TOP_DEFAULT_LIMIT
    country: str | None = None


def package_name(raw: str) -> str:
    """The stored form of a package name from a URL, or a 400 that says what is wrong with it."""
    if raw == ALL_PACKAGES:
        return raw
    try:
        return project_name(raw)
    except InvalidProjectName as exc:
        raise bad_request(str(exc)) from None


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _params(items: Iterable[tuple[str, str]], allowed: Sequence[str]) -> dict[str, str]:
    """The query parameters as a dict; unknown or repeated names are refused, empty values count as absent
    (the pypistats client leaves out empty ones, and sends ``?&name=value``)."""
    found: dict[str, str] = {}
    for name, value in items:
        if name not in allowed:
            known = ", ".join(allowed) if allowed else "none"
            raise bad_request(f"unknown query parameter {_shorten(name)!r}; this endpoint takes: {known}")
        if name in found:
            raise bad_request(f"query parameter {name!r} is given more than once")
        if value != "":
            found[name] = value
    return found


def _date(name: str, raw: str) -> date:
    if not _ISO_DATE.fullmatch(raw):
        raise bad_request(f"{name} must be a date as YYYY-MM-DD, got {_shorten(raw)!r}")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"{name} {raw!r} is not a date of the calendar") from None


def parse_series(endpoint: str, raw_package: str, items: Iterable[tuple[str, str]]) -> SeriesQuery:
    dimension = SERIES.get(endpoint)
    if dimension is None:
        raise RequestError(404, "not_found", f"no endpoint {endpoint!r}")
    package = package_name(raw_package)
    spec = dimension.filter
    params = _params(items, (spec.param, "start_date", "end_date"))
    category = None
    if spec.param in params:
        raw = params[spec.param]
        if not spec.pattern.fullmatch(raw):
            raise bad_request(f"{spec.param} must be {spec.expected}, got {_shorten(raw)!r}")
        category = spec.choices[raw.lower()] if spec.choices else raw
    start = _date("start_date", params["start_date"]) if "start_date" in params else None
    end = _date("end_date", params["end_date"]) if "end_date" in params else None
    if start and end:
        if start > end:
            raise bad_request(f"start_date {start} is after end_date {end}")
        days = (end - start).days + 1
        if days > MAX_RANGE_DAYS:
            raise bad_request(
                f"the range {start} .. {end} covers {days} days; at most {MAX_RANGE_DAYS} are served"
            )
    return SeriesQuery(endpoint, package, category, start, end)


def parse_recent(raw_package: str, items: Iterable[tuple[str, str]]) -> RecentQuery:
    package = package_name(raw_package)
    params = _params(items, ("period",))
    period = params.get("period")
    if period is not None:
        period = period.lower()
        if period not in PERIODS:
            raise bad_request(f"period must be day, week or month, got {_shorten(params['period'])!r}")
    return RecentQuery(package, period)


def parse_top(items: Iterable[tuple[str, str]]) -> TopQuery:
    params = _params(items, ("period", "limit", "country"))
    period = params.get("period", "month").lower()
    if period not in PERIODS:
        raise bad_request(f"period must be day, week or month, got {_shorten(params['period'])!r}")
    limit = TOP_DEFAULT_LIMIT
    if "limit" in params:
        raw = params["limit"]
        if not _INTEGER.fullmatch(raw) or not 1 <= int(raw) <= TOP_MAX_LIMIT:
            raise bad_request(
                f"limit must be a whole number from 1 to {TOP_MAX_LIMIT}, got {_shorten(raw)!r}"
            )
        limit = int(raw)
    country = params.get("country")
    if country is not None:
        spec = SERIES["country"].filter
        if not spec.pattern.fullmatch(country):
            raise bad_request(f"country must be {spec.expected}, got {_shorten(country)!r}")
        country = "null" if country.lower() == "null" else country.upper()
    return TopQuery(period, limit, country)


# --- reads (the statements are lib/downloads/reads.py's) ----------------------------------------------------


async def series(conn: AsyncConnection, query: SeriesQuery) -> list[tuple[str, date, int]]:
    """The rows of the daily table, ordered by category then date; raises a 404 for an unknown package."""
    rows = await reads.series(
        conn, query.dimension.table, query.package, query.category, query.start, query.end
    )
    # Rows prove the package known; only an empty answer costs the second query.
    if not rows and not await reads.known(conn, query.package):
        raise not_found(query.package)
    return rows


async def series_text(conn: AsyncConnection, query: SeriesQuery) -> str:
    """The answer to ``query`` as JSON text (``series_json`` of ``series``); raises a 404 for an unknown
    package. ``overall``, the endpoint clients ask most, is written straight from its months' counts."""
    if query.endpoint == "overall":
        return overall_json(query, await _overall_months(conn, query))
    return series_json(query, await series(conn, query))


async def _overall_months(conn: AsyncConnection, query: SeriesQuery) -> list[reads.Month]:
    months = await reads.overall_months(conn, query.package, query.start, query.end)
    if not months and not await reads.known(conn, query.package):
        raise not_found(query.package)
    return months


async def recent(conn: AsyncConnection, query: RecentQuery) -> dict[str, int]:
    """last_day, last_week and last_month (or the one asked for); 0 for a known package with none."""
    found = await reads.recent(conn, query.package)
    if not found and not await reads.known(conn, query.package):
        raise not_found(query.package)
    return reads.last_periods(found, (query.period,) if query.period else tuple(PERIODS))


async def top(conn: AsyncConnection, query: TopQuery) -> list[tuple[str, int]]:
    """The most downloaded packages of the period ending on the last complete day (``reads.top``)."""
    return (await reads.top(conn, query.period, query.country, query.limit, datetime.now(UTC).date())).rows


# --- bodies ----------------------------------------------------------------------------------------------------


def series_body(query: SeriesQuery, rows: Sequence[tuple[str, date, int]]) -> dict:
    data = [{"category": c, "date": d.isoformat(), "downloads": n} for c, d, n in rows]
    return {"data": data, "package": query.package, "type": query.dimension.type}


def series_json(query: SeriesQuery, rows: Sequence[tuple[str, date, int]]) -> str:
    """``series_body`` as JSON text, keys sorted and compact, exactly as ``json.dumps(..., sort_keys=True,
    separators=(",", ":"))`` writes it, at a quarter of the cost: this is most of the CPU of a request."""
    heads: dict[str, str] = {}
    parts = []
    for category, day, downloads in rows:
        head = heads.get(category)
        if head is None:
            head = heads[category] = '{"category":' + json.dumps(category) + ',"date":"'
        parts.append(f'{head}{day.isoformat()}","downloads":{int(downloads)}}}')
    package = json.dumps(query.package)
    return f'{{"data":[{",".join(parts)}],"package":{package},"type":"{query.dimension.type}"}}'


_DAY_OF_MONTH = [f"{day:02d}" for day in range(1, 32)]


def overall_json(query: SeriesQuery, months: Sequence[reads.Month]) -> str:
    """What ``series_json`` writes for the rows ``reads.overall_rows`` makes of ``months``, byte for byte,
    without making them: a month's dates share their ``YYYY-MM-``, and only the days with a count are written."""
    start, end = query.start, query.end
    parts: list[str] = []
    for index, category in enumerate(reads.OVERALL_CATEGORIES, start=1):
        if query.category is not None and query.category.lower() != category:
            continue
        for month in months:
            first, counts = month[0], month[index]
            key = (first.year, first.month)
            if (start is not None and (start.year, start.month) > key) or (end is not None and first > end):
                continue  # a month outside [start, end]
            low = start.day - 1 if start is not None and (start.year, start.month) == key else 0
            high = (
                min(len(counts), end.day) if end is not None and (end.year, end.month) == key else len(counts)
            )
            days = counts[low:high]
            prefix = first.isoformat()[:8]
            if None not in days:  # a count every day, nearly always: one formatting of the whole month
                if days:
                    parts.append(_month_template(category, prefix, low, high) % tuple(days))
                continue
            head = f'{{"category":"{category}","date":"{prefix}'
            parts += [
                f'{head}{day}","downloads":{downloads}}}'
                for day, downloads in zip(_DAY_OF_MONTH[low:high], days, strict=False)
                if downloads is not None
            ]
    package = json.dumps(query.package)
    return f'{{"data":[{",".join(parts)}],"package":{package},"type":"{query.dimension.type}"}}'


@functools.lru_cache(maxsize=4096)
def _month_template(category: str, prefix: str, low: int, high: int) -> str:
    """The rows of days low + 1 .. high of the month `prefix` ("YYYY-MM-") with a %d for each count: one
    %-formatting writes them at half the cost of an f-string a day, most of an answer's CPU."""
    return ",".join(
        f'{{"category":"{category}","date":"{prefix}{day}","downloads":%d}}'
        for day in _DAY_OF_MONTH[low:high]
    )


def recent_body(query: RecentQuery, counts: dict[str, int]) -> dict:
    return {"data": counts, "package": query.package, "type": "recent_downloads"}


def top_body(query: TopQuery, rows: Sequence[tuple[str, int]]) -> dict:
    data = [{"downloads": n, "package": p, "rank": rank} for rank, (p, n) in enumerate(rows, start=1)]
    return {"country": query.country, "data": data, "limit": query.limit, "period": query.period,
            "type": "top_packages"}  # fmt: skip
