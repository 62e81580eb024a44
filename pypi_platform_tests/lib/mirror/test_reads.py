"""What the rest of the platform reads of the mirror's state, after real syncs from the local index."""

from datetime import UTC, datetime, timedelta

import psycopg

from pypi_platform.lib.mirror.reads import (
    failing_projects,
    healthy_project_names,
    live_files_without_blob,
    mirrored_projects,
    projects_published_between,
    release_files,
    release_fingerprints,
)
from pypi_platform_tests.lib.mirror.helpers import sync


def test_latest_version_falls_back_to_the_newest_mirrored_file(fake_index, local_store, database, tmp_path):
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("alpha", "1.10")
    sync(fake_index.url, local_store, database, tmp_path)
    with psycopg.connect(database) as conn:
        conn.execute(
            "UPDATE mirror.projects SET latest_version = NULL"
        )  # as synced before the column existed
        projects = mirrored_projects(conn)
    assert projects.select("name", "latest_version").rows() == [("alpha", "1.10")]


def test_release_files_and_their_fingerprint_follow_the_live_files(
    fake_index, local_store, database, tmp_path
):
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("beta", "2.0")
    sync(fake_index.url, local_store, database, tmp_path)
    with psycopg.connect(database) as conn:
        files = release_files(conn, [("alpha", "1.0"), ("beta", "2.0"), ("beta", None)])
        assert sorted(files) == ["alpha", "beta"]
        assert {f.version for f in files["alpha"]} == {"1.0"}
        assert all(len(f.sha256) == 64 and f.object_key for f in files["alpha"])
        before = release_fingerprints(conn, [("alpha", "1.0"), ("beta", "2.0")])

        fake_index.add_file("alpha", "alpha-1.0.zip", b"another file of the release", version="1.0")
        sync(fake_index.url, local_store, database, tmp_path)
        after = release_fingerprints(conn, [("alpha", "1.0"), ("beta", "2.0")])
    assert after["beta"] == before["beta"]
    assert after["alpha"] != before["alpha"], "a file added to the release changes its fingerprint"


def test_projects_published_in_a_span_and_the_healthy_ones(fake_index, local_store, database, tmp_path):
    start = datetime.now(UTC) - timedelta(seconds=1)
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("beta", "1.0")
    sync(fake_index.url, local_store, database, tmp_path)
    with psycopg.connect(database) as conn:
        now = datetime.now(UTC) + timedelta(seconds=1)
        assert projects_published_between(conn, start, now) == ["alpha", "beta"]
        assert projects_published_between(conn, now, now + timedelta(hours=1)) == []
        assert healthy_project_names(conn) == ["alpha", "beta"]
        assert failing_projects(conn) == []


def test_a_missing_blob_and_a_failing_project_are_what_the_checks_see(
    fake_index, local_store, database, tmp_path
):
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("beta", "1.0")
    sync(fake_index.url, local_store, database, tmp_path)
    with psycopg.connect(database) as conn:
        assert live_files_without_blob(conn) == []
        key, filename = conn.execute(
            "SELECT object_key, filename FROM mirror.files WHERE project = 'alpha' ORDER BY filename LIMIT 1"
        ).fetchone()
        conn.execute("DELETE FROM mirror.blobs WHERE object_key = %s", (key,))
        conn.execute(
            "UPDATE mirror.projects SET status = 'failed', failures = 3, error = 'x' WHERE name = 'beta'"
        )
        assert live_files_without_blob(conn) == [("alpha", filename)]
        assert failing_projects(conn) == [("beta", 3, "x")]
        assert healthy_project_names(conn) == ["alpha"]
