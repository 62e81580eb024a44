"""A file whose index gives no upload time is dated by when the mirror first saw it, never 1970.

A PEP 503 index without a JSON API (the fake index's "html" flavour) gives no upload times; the mirror records
the time it first saw each file (``mirror.files.first_seen_at``, migration 007) and the corpus commits the file
at that time. The same mirror state gives the same commits; a later sync does not move the time; and the
migration fills the column for files mirrored before it existed.
"""

import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from pypi_platform.lib import postgres
from pypi_platform.lib.corpus.build import append_batch
from pypi_platform.lib.corpus.state import open_shard, shard_path
from pypi_platform.lib.release_cache import ReleaseFileCache
from pypi_platform_testkit.dists import build_sdist, build_wheel
from pypi_platform_tests.fixtures.components import with_dbname
from pypi_platform_tests.lib.mirror.helpers import sync


def _pack(conn, store, home: Path) -> list[tuple[int, str]]:
    """Pack every pending file into shard 1 under `home`; its commits' (author time, subject), oldest first."""
    shard = open_shard(conn, 1, capacity=100)
    report = append_batch(conn, store, ReleaseFileCache(home / "cache", store), home, shard, limit=100)
    assert report.committed == 2 and not report.failed
    log = subprocess.run(
        ["git", "log", "--reverse", "--format=%at %s"],
        cwd=shard_path(home, 1),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [(int(line.split(" ", 1)[0]), line.split(" ", 1)[1]) for line in log.splitlines()]


def test_a_file_without_an_upload_time_is_committed_at_its_first_seen_time_never_1970(
    fake_index_factory, s3_store, database, tmp_path
):
    index = fake_index_factory("html", json_api=False)  # HTML pages only: no upload time anywhere
    index.add_file("alpha", *build_wheel("alpha", "1.0"))
    index.add_file("beta", *build_sdist("beta", "2.0"))
    before = datetime.now(UTC)
    sync(index.url, s3_store, database, tmp_path / "work", package_types=frozenset({"wheel", "sdist"}))
    after = datetime.now(UTC)
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT filename, upload_time, first_seen_at FROM mirror.files ORDER BY 1"
        ).fetchall()
        assert [upload for _, upload, _ in rows] == [None, None]
        seen = {filename: first_seen for filename, _, first_seen in rows}
        assert all(before <= when <= after for when in seen.values())

        commits = _pack(conn, s3_store, tmp_path / "first")
        subjects = {
            "alpha-1.0-py3-none-any.whl": "alpha 1.0: alpha-1.0-py3-none-any.whl",
            "beta-2.0.tar.gz": "beta 2.0: beta-2.0.tar.gz",
        }
        # In first-seen order (standing in for upload order), each at its first-seen time in whole seconds.
        assert commits == [
            (int(seen[filename].timestamp()), subjects[filename])
            for filename in sorted(seen, key=lambda filename: seen[filename])
        ]
        assert all(datetime.fromtimestamp(at, UTC).year > 1970 for at, _ in commits)
        first_heads = conn.execute("SELECT filename, commit_id FROM corpus.files ORDER BY 1").fetchall()

    # A later sync that sees the files again leaves their first-seen time alone...
    index.add_file("beta", *build_wheel("beta", "2.0"))
    sync(index.url, s3_store, database, tmp_path / "work", package_types=frozenset({"wheel", "sdist"}))
    with psycopg.connect(database) as conn:
        again = dict(conn.execute("SELECT filename, first_seen_at FROM mirror.files").fetchall())
        assert {name: again[name] for name in seen} == seen
        assert again["beta-2.0-py3-none-any.whl"] > max(seen.values())

        # ...so packing the same files again from scratch gives the same commits.
        conn.execute("DELETE FROM corpus.files")
        conn.execute("DELETE FROM corpus.shards")
        conn.execute(
            "UPDATE mirror.files SET removed_at = now() WHERE filename = 'beta-2.0-py3-none-any.whl'"
        )  # the same mirror state as the first pack
        conn.commit()
        assert _pack(conn, s3_store, tmp_path / "second") == commits
        assert (
            conn.execute("SELECT filename, commit_id FROM corpus.files ORDER BY 1").fetchall() == first_heads
        )


def test_the_migration_fills_first_seen_for_files_mirrored_before_it(postgres_dsn, tmp_path):
    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = with_dbname(postgres_dsn, name)
    try:
        earlier = tmp_path / "migrations"
        earlier.mkdir()
        for path in postgres.migration_files():
            if path.name < "007":
                (earlier / path.name).write_text(path.read_text())
        postgres.apply_migrations(dsn, earlier)
        stored = datetime(2025, 3, 1, 12, tzinfo=UTC)
        synced = stored + timedelta(days=30)
        with psycopg.connect(dsn) as conn:
            conn.execute(
                "INSERT INTO mirror.projects (name, display_name, status, synced_at)"
                " VALUES ('alpha', 'alpha', 'ok', %s)",
                (synced,),
            )
            for filename, key in (
                ("alpha-1.0.tar.gz", "ab/alpha-1.0.tar.gz"),
                ("alpha-1.1.tar.gz", "cd/lost"),
            ):
                conn.execute(
                    "INSERT INTO mirror.files (project, filename, size, sha256, object_key)"
                    " VALUES ('alpha', %s, 1, 'x', %s)",
                    (filename, key),
                )
            conn.execute(
                "INSERT INTO mirror.blobs (object_key, sha256, size, stored_at)"
                " VALUES ('ab/alpha-1.0.tar.gz', 'x', 1, %s)",
                (stored,),
            )

        assert "007_mirror_first_seen.sql" in postgres.apply_migrations(dsn)

        with psycopg.connect(dsn) as conn:
            filled = dict(conn.execute("SELECT filename, first_seen_at FROM mirror.files").fetchall())
            # The blob's first verification where the store has it; else the project's last publication.
            assert filled == {"alpha-1.0.tar.gz": stored, "alpha-1.1.tar.gz": synced}
            nullable = conn.execute(
                "SELECT is_nullable FROM information_schema.columns"
                " WHERE table_schema = 'mirror' AND table_name = 'files' AND column_name = 'first_seen_at'"
            ).fetchone()
            assert nullable == ("NO",)
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
