"""Fixtures of the serving tests: a database holding a known, generated set of download rows, and the app
running over it with uvicorn on 127.0.0.1.

- ``stats_data``: the rows (a :class:`StatsData`), generated from a fixed seed over the ``DAYS`` days that end
  today (UTC), so the current day's partition exists ("today so far") and the month window is full.
- ``stats_database``: the DSN of a session-wide database loaded with them through the real loader
  (``replace_day`` for every day, then ``recent`` rebuilt as of yesterday, the last complete day). Tests must
  not write to it.
- ``stats_server``: the base URL (``http://127.0.0.1:<port>``, no trailing slash) of the app over it.
- ``serve_app``: a context manager running any ASGI app on 127.0.0.1, for tests that need other settings.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl
import psycopg
import pytest
import uvicorn
from psycopg import sql

from pypi_platform.lib.downloads.reads import recent_totals
from pypi_platform.lib.downloads.schema import DAILY_FRAME
from pypi_platform.lib.downloads.tables import RECENT_TABLE, LoadInfo, replace_day
from pypi_platform.lib.frames import replace_rows
from pypi_platform_tests.fixtures.components import with_dbname

DAYS = 40
# Normalized names, as the loader stores them. "quiet" has downloads only in its first days (none in the last
# month, so `recent` holds no row for it); "legacy" is the only one with Python 2 downloads.
PACKAGES = ("six", "python-dateutil", "typing-extensions", "zope-interface", "legacy", "quiet")
PYTHON_MINORS = ("3.10", "3.11", "3.12", "3.13", "null")
SYSTEMS = ("Linux", "Windows", "Darwin", "other", "null")
INSTALLERS = ("pip", "uv", "poetry", "bandersnatch", "null")
COUNTRIES = ("US", "DE", "CN", "FR", "null")
CI = ("false", "true", "null")
ALL = "__all__"


@dataclass(frozen=True)
class StatsData:
    """The generated rows: ``frames[day]`` is that day's DAILY_FRAME, ``__all__`` rows included."""

    frames: dict[date, pl.DataFrame]

    @property
    def days(self) -> list[date]:
        return sorted(self.frames)

    @property
    def last_day(self) -> date:
        return max(self.frames)

    @property
    def last_complete_day(self) -> date:
        """The day before the last: the last day is today, whose partition is still filling."""
        return self.last_day - timedelta(days=1)

    def frame(self) -> pl.DataFrame:
        """Every row, with its date."""
        return pl.concat([f.with_columns(date=pl.lit(day)) for day, f in sorted(self.frames.items())])

    def rows(self, dimension: str, package: str) -> list[dict]:
        """The API's list rows for one package and dimension: category, date (ISO text), downloads, sorted by
        category then date."""
        selected = self.frame().filter((pl.col("dimension") == dimension) & (pl.col("package") == package))
        rows = [
            {"category": r["category"], "date": r["date"].isoformat(), "downloads": r["downloads"]}
            for r in selected.iter_rows(named=True)
        ]
        return sorted(rows, key=lambda r: (r["category"], r["date"]))

    def recent(self, package: str) -> dict[str, int]:
        """last_day, last_week, last_month without mirrors, as ``recent_totals`` sums them for the windows
        ending on the last complete day."""
        overall = self.frame().filter(
            (pl.col("dimension") == "overall")
            & (pl.col("package") == package)
            & (pl.col("category") == "without_mirrors")
        )
        totals = {}
        for key, days in (("last_day", 1), ("last_week", 7), ("last_month", 30)):
            window = overall.filter(
                (pl.col("date") > self.last_complete_day - timedelta(days=days))
                & (pl.col("date") <= self.last_complete_day)
            )
            totals[key] = int(window["downloads"].sum())
        return totals


def _split(total: int, categories: tuple[str, ...], rng: random.Random) -> dict[str, int]:
    """``total`` spread over ``categories`` by random weights; categories that get nothing have no row."""
    weights = [rng.random() for _ in categories]
    parts = [int(total * w / sum(weights)) for w in weights]
    parts[0] += total - sum(parts)
    return {c: n for c, n in zip(categories, parts, strict=True) if n > 0}


def generate_stats(last_day: date, days: int = DAYS, seed: int = 8) -> StatsData:
    """Download rows for ``PACKAGES`` over ``days`` days ending ``last_day``, consistent as the loader's are:
    without mirrors <= with mirrors, python and system split the downloads without mirrors, the extra
    dimensions split every download, and ``__all__`` sums the packages."""
    rng = random.Random(seed)
    frames = {}
    for offset in range(days):
        day = last_day - timedelta(days=days - 1 - offset)
        rows: list[tuple[str, str, str, int]] = []
        for index, package in enumerate(PACKAGES):
            if package == "quiet" and offset >= 5:
                continue
            without = rng.randint(50, 5000) * (index + 1)
            mirrored = rng.randint(0, without // 10)
            total = without + mirrored
            rows += [
                ("overall", package, "with_mirrors", total),
                ("overall", package, "without_mirrors", without),
            ]
            minors = (*PYTHON_MINORS, "2.7") if package == "legacy" else PYTHON_MINORS
            by_minor = _split(without, minors, rng)
            by_major: dict[str, int] = {}
            for minor, n in by_minor.items():
                major = minor.split(".")[0]
                by_major[major] = by_major.get(major, 0) + n
            rows += [("python_minor", package, c, n) for c, n in by_minor.items()]
            rows += [("python_major", package, c, n) for c, n in by_major.items()]
            rows += [("system", package, c, n) for c, n in _split(without, SYSTEMS, rng).items()]
            rows += [("installer", package, c, n) for c, n in _split(total, INSTALLERS, rng).items()]
            rows += [("country", package, c, n) for c, n in _split(total, COUNTRIES, rng).items()]
            versions = ("1.0.0", "1.1.0", f"2.{index}.0")
            rows += [("version", package, c, n) for c, n in _split(total, versions, rng).items()]
            rows += [("ci", package, c, n) for c, n in _split(total, CI, rng).items()]
        frame = pl.DataFrame(rows, schema=DAILY_FRAME, orient="row")
        everything = frame.group_by("dimension", "category").agg(pl.col("downloads").sum())
        frame = pl.concat([frame, everything.select("dimension", package=pl.lit(ALL), category="category",
                                                    downloads="downloads")])  # fmt: skip
        frames[day] = frame.sort("dimension", "package", "category")
    return StatsData(frames)


def load_stats(dsn: str, data: StatsData) -> None:
    """Load ``data`` through the real loader: every day replaced, then ``recent`` as of the last complete day,
    as the ``recent_downloads`` asset does."""
    with psycopg.connect(dsn) as conn:
        for day, frame in sorted(data.frames.items()):
            replace_day(conn, day, frame, LoadInfo(source="test", semantics="corrected"))
        replace_rows(conn, RECENT_TABLE, recent_totals(conn, data.last_complete_day))


@pytest.fixture(scope="session")
def stats_data() -> StatsData:
    return generate_stats(datetime.now(UTC).date())


@pytest.fixture(scope="session")
def stats_database(postgres_dsn: str, stats_data: StatsData) -> Iterator[str]:
    """A session-wide database holding ``stats_data``; read only."""
    name = f"stats_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = with_dbname(postgres_dsn, name)
    try:
        from pypi_platform.lib import postgres

        postgres.apply_migrations(dsn)
        load_stats(dsn, stats_data)
        yield dsn
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def serve(app, *, timeout: float = 20.0) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on 127.0.0.1 (a free port); yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the app did not start on 127.0.0.1")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


@pytest.fixture
def serve_app():
    """``serve_app(app)``: a context manager yielding the base URL of ``app`` running on 127.0.0.1."""
    return serve


@pytest.fixture(scope="session")
def stats_server(stats_database: str) -> Iterator[str]:
    """The base URL of the whole app (API and dashboard) over ``stats_database``."""
    from pypi_platform.serving.app import create_app

    with serve(create_app(stats_database)) as url:
        yield url
