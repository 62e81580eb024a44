"""The JSON API under ``/api/``, in pypistats.org's paths, parameters and shapes.

Handlers are async over a psycopg ``AsyncConnectionPool`` (``app.state.pool``, opened by the app's lifespan):
a request spends nearly all its time waiting on PostgreSQL, and an awaiting coroutine costs no thread, so the
number of requests in flight is bounded by the pool's connections rather than by a thread pool in front of it,
and a burst of clients queues on the pool instead of on threads blocked in libpq. The CPU work (validation,
JSON of at most a few thousand rows) is small enough to run on the event loop.

Every successful answer carries ``Cache-Control: public, max-age=N`` and an ETag derived from the data's
version (``reads.data_version``) and the parsed request; ``If-None-Match`` with it answers 304 without running
the query. Answers are kept for their data version (``app.state.answers``, a ``lib/serving/answers.py``
cache), so a request asked again before the data changes costs no query either. Errors are JSON:
``{"error": <code>, "message": <text>, "status": <status>}``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from psycopg import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pypi_platform.lib.downloads import reads
from pypi_platform.lib.serving import queries
from pypi_platform.lib.serving.queries import RequestError
from pypi_platform.lib.serving.ratelimit import TokenBuckets
from pypi_platform.lib.serving.shared_buckets import SharedTokenBuckets

API_PREFIX = "/api/"
# Paths whose answers come from PostgreSQL: the API's, and the JSON the dashboard's charts load.
LIMITED_PREFIXES = (API_PREFIX, "/dashboard-data/")


def routes() -> list[BaseRoute]:
    return [
        Route("/api/packages/{package}/recent", recent),
        Route("/api/packages/{package}/{endpoint}", series),
        Route("/api/top", top),
        Route("/api/{rest:path}", no_such_endpoint),
    ]


def json_text(body: object) -> str:
    # Keys sorted, compact: what Flask's jsonify gives pypistats.org's clients.
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_text(body), status, headers=headers, media_type="application/json")


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": code, "message": message, "status": status}, status, headers)


async def recent(request: Request) -> Response:
    async def run(conn: AsyncConnection, query: queries.RecentQuery) -> str:
        return json_text(queries.recent_body(query, await queries.recent(conn, query)))

    params = request.query_params.multi_items()
    return await _answer(request, lambda: queries.parse_recent(request.path_params["package"], params), run)


async def series(request: Request) -> Response:
    async def run(conn: AsyncConnection, query: queries.SeriesQuery) -> str:
        return await queries.series_text(conn, query)

    path, params = request.path_params, request.query_params.multi_items()
    return await _answer(
        request, lambda: queries.parse_series(path["endpoint"], path["package"], params), run
    )


async def top(request: Request) -> Response:
    async def run(conn: AsyncConnection, query: queries.TopQuery) -> str:
        return json_text(queries.top_body(query, await queries.top(conn, query)))

    params = request.query_params.multi_items()
    return await _answer(request, lambda: queries.parse_top(params), run)


async def no_such_endpoint(request: Request) -> Response:
    return error_response(404, "not_found", f"no endpoint {request.url.path!r}; see the README's API section")


async def _answer(
    request: Request, parse: Callable[[], object], run: Callable[..., Awaitable[str]]
) -> Response:
    try:
        query = parse()
    except RequestError as exc:
        return error_response(exc.status, exc.code, exc.message)
    state = request.app.state
    version = await _data_version(state)
    # A top list ends on the last complete day, which moves at midnight whether or not anything was loaded.
    key = (query, datetime.now(UTC).date()) if isinstance(query, queries.TopQuery) else query
    digest = hashlib.sha256(f"{version}\n{key!r}".encode()).hexdigest()[:32]
    headers = {"ETag": f'"{digest}"', "Cache-Control": f"public, max-age={state.serving.max_age}"}
    if _matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    text = state.answers.get(version, key)
    if text is None:
        async with state.pool.connection() as conn:
            try:
                text = await run(conn, query)
            except RequestError as exc:
                return error_response(exc.status, exc.code, exc.message)
        state.answers.put(version, key, text)
    return Response(text, headers=headers, media_type="application/json")


async def _data_version(state) -> str:
    """The data's version, read at most every ``version_ttl`` seconds."""
    cached = getattr(state, "data_version", None)
    now = time.monotonic()
    if cached is not None and now - cached[1] < state.serving.version_ttl:
        return cached[0]
    async with state.pool.connection() as conn:
        version = await reads.data_version(conn)
    state.data_version = (version, now)
    return version


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == etag for tag in header.split(","))


class RateLimit:
    """ASGI middleware: a token bucket per client IP over the paths that read PostgreSQL (``LIMITED_PREFIXES``);
    over the limit, 429 with ``Retry-After``. Every answer there carries ``X-RateLimit-Limit`` (the bucket's
    size) and ``X-RateLimit-Remaining``. The client is the connection's peer, or the address uvicorn takes from
    ``X-Forwarded-For`` when the peer is a trusted proxy (``--forwarded-allow-ips``)."""

    def __init__(self, app: ASGIApp, rate: float, burst: int, shared: Path | None = None):
        self.app = app
        # `shared`: the file of buckets every process of the app draws from (``serving/processes.py``).
        self.buckets: TokenBuckets | SharedTokenBuckets | None = None
        if rate > 0:
            self.buckets = SharedTokenBuckets(shared, rate, burst) if shared else TokenBuckets(rate, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.buckets is None or scope["type"] != "http" or not scope["path"].startswith(LIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        decision = self.buckets.take(client[0] if client else "unknown")
        limit_headers = [
            (b"x-ratelimit-limit", str(self.buckets.burst).encode()),
            (b"x-ratelimit-remaining", str(decision.remaining).encode()),
        ]
        if not decision.allowed:
            response = error_response(
                429,
                "rate_limited",
                f"too many requests from this address; retry in {decision.retry_after} s",
                {"Retry-After": str(decision.retry_after)},
            )
            response.raw_headers.extend(limit_headers)
            await response(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *limit_headers]}
            await send(message)

        await self.app(scope, receive, send_with_limits)
