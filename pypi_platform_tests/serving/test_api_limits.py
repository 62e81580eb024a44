"""Rate limiting per client IP, caching headers (ETag from the data's last load, 304), and the API's settings."""

from __future__ import annotations

import time
import uuid
from datetime import date

import httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from pypi_platform.lib.config import ConfigError, ServingSettings, load_settings
from pypi_platform.lib.downloads.reads import recent_totals
from pypi_platform.lib.downloads.tables import RECENT_TABLE
from pypi_platform.lib.frames import replace_rows
from pypi_platform.lib.serving.ratelimit import TokenBuckets
from pypi_platform.serving.app import create_app
from pypi_platform_tests.fixtures.components import with_dbname
from pypi_platform_tests.serving.conftest import generate_stats, load_stats


def test_a_client_over_its_bucket_gets_429_with_retry_after(stats_database, serve_app):
    app = create_app(stats_database, ServingSettings(rate_per_second=2, burst=3))
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        remaining = []
        for _ in range(3):
            response = client.get("/api/packages/six/recent")
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Limit"] == "3"
            remaining.append(response.headers["X-RateLimit-Remaining"])
        assert remaining == ["2", "1", "0"]

        limited = client.get("/api/packages/six/overall")
        assert limited.status_code == 429
        assert limited.json()["error"] == "rate_limited"
        assert "retry in 1 s" in limited.json()["message"]
        assert limited.headers["Retry-After"] == "1"
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        # Refused requests reach neither the handler nor the database, and 404s count like the rest.
        assert client.get("/api/packages/no-such/overall").status_code == 429

        # Another client (named by a trusted proxy on 127.0.0.1) has its own bucket.
        other = client.get("/api/packages/six/recent", headers={"X-Forwarded-For": "192.0.2.7"})
        assert other.status_code == 200
        assert other.headers["X-RateLimit-Remaining"] == "2"

        # The dashboard's chart data reads PostgreSQL too and shares the bucket; its pages and assets do not.
        assert client.get("/dashboard-data/packages/six").status_code == 429
        assert "X-RateLimit-Limit" not in client.get("/").headers

        time.sleep(float(limited.headers["Retry-After"]))
        assert client.get("/api/packages/six/recent").status_code == 200


def test_rate_limiting_can_be_turned_off(stats_database, serve_app):
    app = create_app(stats_database, ServingSettings(rate_per_second=0, burst=1))
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(5):
            response = client.get("/api/packages/six/recent")
            assert response.status_code == 200
            assert "X-RateLimit-Limit" not in response.headers


def test_token_buckets_refill_at_their_rate_and_forget_idle_clients():
    now = [0.0]
    buckets = TokenBuckets(rate=0.5, burst=2, max_clients=3, clock=lambda: now[0])
    assert [buckets.take("a").allowed for _ in range(3)] == [True, True, False]
    assert buckets.take("a").retry_after == 2  # half a token a second: two seconds for one
    now[0] = 1.0
    assert not buckets.take("a").allowed
    now[0] = 2.0
    decision = buckets.take("a")
    assert (decision.allowed, decision.remaining) == (True, 0)

    for client in ("b", "c"):
        buckets.take(client)
    assert len(buckets) == 3
    now[0] = 10.0  # everyone's bucket is full again: they are forgotten when a new client comes
    buckets.take("d")
    assert len(buckets) == 1
    with pytest.raises(ValueError):
        TokenBuckets(rate=0, burst=1)


def test_answers_carry_cache_control_and_an_etag_that_if_none_match_turns_into_304(stats_server):
    with httpx.Client(base_url=stats_server, timeout=10) as client:
        first = client.get("/api/packages/six/overall?mirrors=true")
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"] == "public, max-age=300"
        assert etag.startswith('"') and etag.endswith('"')

        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            cached = client.get("/api/packages/six/overall?mirrors=true", headers={"If-None-Match": header})
            assert cached.status_code == 304
            assert cached.content == b""
            assert cached.headers["ETag"] == etag
        assert client.get("/api/packages/six/overall?mirrors=true", headers={"If-None-Match": '"x"'}).json()

        # The same request spelt as the pypistats client spells it has the same tag; another request another.
        assert client.get("/api/packages/Six/overall?&mirrors=true").headers["ETag"] == etag
        assert client.get("/api/packages/six/overall?mirrors=false").headers["ETag"] != etag
        assert client.get("/api/packages/six/recent").headers["ETag"] != etag


@pytest.fixture
def loaded_database(postgres_dsn):
    name = f"stats_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = with_dbname(postgres_dsn, name)
    from pypi_platform.lib import postgres

    postgres.apply_migrations(dsn)
    data = generate_stats(date(2024, 3, 1), days=10)
    load_stats(dsn, data)
    yield dsn, data
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_the_etag_changes_when_a_day_is_reloaded_or_recent_is_rebuilt(loaded_database, serve_app):
    dsn, data = loaded_database
    app = create_app(dsn, ServingSettings(version_ttl=0))
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        before = client.get("/api/packages/six/overall")
        recent_before = client.get("/api/packages/six/recent")

        changed = generate_stats(data.last_day, days=1, seed=99)  # the last day again, other numbers
        load_stats(dsn, changed)

        after = client.get("/api/packages/six/overall", headers={"If-None-Match": before.headers["ETag"]})
        assert after.status_code == 200
        assert after.headers["ETag"] != before.headers["ETag"]
        assert (
            after.json()["data"][len(data.days) - 1]["downloads"]
            == changed.rows("overall", "six")[0]["downloads"]
        )

        tag = client.get("/api/packages/six/recent").headers["ETag"]
        assert tag != recent_before.headers["ETag"]
        with psycopg.connect(dsn) as conn:
            replace_rows(
                conn, RECENT_TABLE, recent_totals(conn, data.last_day)
            )  # recent alone rebuilt, no day loaded
        assert client.get("/api/packages/six/recent", headers={"If-None-Match": tag}).status_code == 200


def test_errors_carry_no_caching_headers(stats_server):
    response = httpx.get(f"{stats_server}/api/packages/six/overall?mirrors=perhaps")
    assert response.status_code == 400
    assert "ETag" not in response.headers
    assert "Cache-Control" not in response.headers


def test_a_database_that_goes_away_is_503(loaded_database, postgres_dsn, serve_app):
    dsn, _ = loaded_database
    with serve_app(create_app(dsn)) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/api/packages/six/recent").status_code == 200
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (conninfo_to_dict(dsn)["dbname"],),
            )
        # An answer the app kept for the current data version needs no database.
        assert client.get("/api/packages/six/recent").status_code == 200
        response = client.get("/api/packages/typing-extensions/recent")
        assert response.status_code == 503
        assert response.json()["error"] == "unavailable"
        assert response.headers["Retry-After"] == "5"
        # The pool drops the broken connection and opens a new one: the next request is answered.
        assert client.get("/api/packages/python-dateutil/recent").status_code == 200


def test_settings_come_from_the_environment_and_bad_values_name_their_variable():
    assert load_settings({}).serving == ServingSettings()
    settings = load_settings(
        {"PYPI_PLATFORM_API_RATE": "0.5", "PYPI_PLATFORM_API_BURST": "10", "PYPI_PLATFORM_API_MAX_AGE": "0",
         "PYPI_PLATFORM_API_POOL_SIZE": "4"}
    ).serving  # fmt: skip
    assert (settings.rate_per_second, settings.burst, settings.max_age, settings.pool_size) == (0.5, 10, 0, 4)
    for name, value in [
        ("PYPI_PLATFORM_API_RATE", "fast"),
        ("PYPI_PLATFORM_API_RATE", "-1"),
        ("PYPI_PLATFORM_API_RATE", "nan"),
        ("PYPI_PLATFORM_API_BURST", "0"),
        ("PYPI_PLATFORM_API_BURST", "2.5"),
        ("PYPI_PLATFORM_API_POOL_SIZE", "0"),
    ]:
        with pytest.raises(ConfigError, match=name):
            load_settings({name: value})
