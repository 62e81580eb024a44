"""The embedded PostgreSQL server and the migrations, against real servers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest

from pypi_platform.lib import postgres


def _migrations(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def _applied(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM public.schema_migrations ORDER BY name")]


def test_migrations_apply_in_name_order_once(database: str, tmp_path: Path) -> None:
    directory = _migrations(
        tmp_path / "migrations",
        {
            "002_rows.sql": "INSERT INTO demo.items VALUES (1), (2);",
            "001_table.sql": "CREATE SCHEMA demo; CREATE TABLE demo.items (id integer PRIMARY KEY);",
        },
    )

    assert postgres.apply_migrations(database, directory) == ["001_table.sql", "002_rows.sql"]
    assert postgres.apply_migrations(database, directory) == []

    _migrations(directory, {"003_more.sql": "INSERT INTO demo.items VALUES (3);"})
    assert postgres.apply_migrations(database, directory) == ["003_more.sql"]
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM demo.items").fetchone() == (3,)
    assert {"001_table.sql", "002_rows.sql", "003_more.sql"} <= set(_applied(database))


def test_racing_processes_apply_each_migration_once(database: str, tmp_path: Path) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DROP TABLE public.schema_migrations")  # race on creating the bookkeeping table too
    # Each file fails if applied twice; the sleep widens the window in which a second runner could slip in.
    directory = _migrations(
        tmp_path / "migrations",
        {
            f"00{n}_t{n}.sql": f"CREATE TABLE race_{n} (x integer); SELECT pg_sleep(0.05);"
            for n in range(1, 4)
        },
    )
    barrier = threading.Barrier(4)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(postgres.apply_migrations(database, directory))
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(name for names in results for name in names) == ["001_t1.sql", "002_t2.sql", "003_t3.sql"]
    assert _applied(database) == ["001_t1.sql", "002_t2.sql", "003_t3.sql"]


def test_a_failed_migration_leaves_nothing_of_itself(database: str, tmp_path: Path) -> None:
    directory = _migrations(
        tmp_path / "migrations",
        {
            "001_good.sql": "CREATE TABLE good (x integer);",
            "002_bad.sql": "CREATE TABLE half (x integer); SELECT no_such_function();",
            "003_later.sql": "CREATE TABLE later (x integer);",
        },
    )

    with pytest.raises(postgres.MigrationError, match=r"002_bad\.sql.*no_such_function"):
        postgres.apply_migrations(database, directory)

    applied = _applied(database)
    assert "001_good.sql" in applied and "002_bad.sql" not in applied and "003_later.sql" not in applied
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT to_regclass('half'), to_regclass('later')").fetchone() == (None, None)


def test_ensure_database_migrates_a_configured_dsn(database: str) -> None:
    assert postgres.ensure_database(database, None) == database
    assert "001_mirror.sql" in _applied(database)


def test_ensure_database_needs_a_dsn_or_a_directory() -> None:
    with pytest.raises(ValueError, match="no PostgreSQL DSN"):
        postgres.ensure_database(None, None)


def test_embedded_server_is_shared_with_other_processes() -> None:
    root = Path(tempfile.mkdtemp(prefix="pgt"))
    pgdata = root / "data"
    try:
        dsn = postgres.start_embedded_server(pgdata, cleanup=True)
        assert postgres.start_embedded_server(pgdata, cleanup=True) == dsn  # cached for the process

        # Another process (the UI, the daemon, a run worker) joins the running server instead of starting one,
        # and leaves it running when it exits.
        joined = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pypi_platform.lib import postgres as p;"
                "print(p.ensure_database(None, sys.argv[1]))",
                str(pgdata),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        assert joined == dsn
        with psycopg.connect(dsn) as conn:
            assert "001_mirror.sql" in [row[0] for row in conn.execute("SELECT name FROM schema_migrations")]
    finally:
        postgres.release_embedded_server(pgdata)

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2).close()
    shutil.rmtree(root, ignore_errors=True)
