"""The ASGI application: the API's routes and the dashboard's, over one PostgreSQL database.

``app.state.dsn`` is the database; ``app.state.pool`` a psycopg ``AsyncConnectionPool`` over it, open while the
app runs (its lifespan opens and closes it); ``app.state.serving`` the API's settings; ``app.state.answers``
the API's answers kept for the current data version.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from pypi_platform.lib.config import ServingSettings
from pypi_platform.lib.serving.answers import AnswerCache
from pypi_platform.serving import api, dashboard

STATEMENT_TIMEOUT = "10s"  # no request holds a connection longer


def create_app(
    dsn: str, settings: ServingSettings | None = None, *, shared_buckets: Path | None = None
) -> Starlette:
    """The app over the database at `dsn` (migrated already); routes read it through ``app.state``.
    `shared_buckets`: the rate-limit buckets' file, when several processes serve the app (else its own)."""
    settings = settings or ServingSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = AsyncConnectionPool(
            dsn,
            min_size=1,
            max_size=settings.pool_size,
            kwargs={"autocommit": True, "options": f"-c statement_timeout={STATEMENT_TIMEOUT}"},
            timeout=10.0,
            open=False,
            name="pypi-platform-api",
        )
        await pool.open(wait=True, timeout=30.0)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = Starlette(
        routes=[*api.routes(), *dashboard.routes()],
        middleware=[
            Middleware(
                api.RateLimit, rate=settings.rate_per_second, burst=settings.burst, shared=shared_buckets
            )
        ],
        exception_handlers={
            HTTPException: _http_error,
            psycopg.OperationalError: _database_unavailable,
            PoolTimeout: _database_unavailable,
        },
        lifespan=lifespan,
    )
    app.state.dsn = dsn
    app.state.serving = settings
    app.state.answers = AnswerCache()
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    """JSON under /api/ (a 405, a 404 no route matched); Starlette's plain text elsewhere."""
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(api.API_PREFIX):
        return api.error_response(exc.status_code, "http_error", exc.detail, dict(exc.headers or {}))
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    return api.error_response(503, "unavailable", "the database is not reachable; try again shortly",
                              {"Retry-After": "5"})  # fmt: skip
