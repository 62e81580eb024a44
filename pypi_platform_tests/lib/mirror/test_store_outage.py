"""The object store going away during a sync: a line per failed project (one traceback in all), projects not
started yet left for the next run, and the run recorded as failed in ``mirror.sync_runs`` with its error."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import boto3
import psycopg
import pytest

from pypi_platform.lib.config import S3Timeouts
from pypi_platform.lib.storage import ObjectStore, StoreUnavailable, open_store
from pypi_platform_tests.lib.mirror.helpers import sync

PROJECTS = [f"project-{n}" for n in range(8)]


@pytest.fixture
def own_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, ObjectStore]]:
    """A moto server of this test's own on 127.0.0.1 (the test stops it) and a store in a bucket there."""
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.session.Session().client("s3", endpoint_url=endpoint).create_bucket(Bucket="mirror")
    try:
        yield (
            server,
            open_store(
                "s3://mirror/prefix", endpoint_url=endpoint, timeouts=S3Timeouts(seconds=2, max_attempts=2)
            ),
        )
    finally:
        server.stop()  # a second stop of a stopped server is harmless


def _runs(dsn: str) -> list[tuple[str, str | None, int | None]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT status, error, projects_failed FROM mirror.sync_runs ORDER BY id"
        ).fetchall()


def test_s3_outage_mid_sync_logs_a_line_per_project_and_records_the_failed_run(
    fake_index, own_s3, database, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    server, store = own_s3
    for name in PROJECTS:
        fake_index.add_release(name, "1.0")
    sync(fake_index.url, store, database, tmp_path)
    assert _runs(database) == [("succeeded", None, 0)]

    for name in PROJECTS:  # new files everywhere, so that every project must write to the store
        fake_index.add_release(name, "2.0")
    server.stop()
    caplog.set_level(logging.INFO, logger="pypi_platform.lib.mirror")

    with pytest.raises(
        StoreUnavailable, match=r"s3://mirror/prefix at http://127\.0\.0\.1:\d+ did not answer"
    ):
        sync(fake_index.url, store, database, tmp_path)

    failed = [r for r in caplog.records if r.levelno == logging.WARNING and " failed: " in r.getMessage()]
    assert failed, "each project that failed says so"
    assert all("\n" not in r.getMessage() for r in failed), "one line per project"
    assert all("did not answer" in r.getMessage() for r in failed), "each line says why"
    assert len({r.getMessage().split()[1] for r in failed}) == len(failed) <= len(PROJECTS)
    assert sum(r.exc_info is not None for r in caplog.records if r.levelno >= logging.INFO) == 1, (
        "the traceback is logged once, not once per project"
    )

    (first, (status, error, projects_failed)) = _runs(database)
    assert first[0] == "succeeded"
    assert status == "failed" and projects_failed == len(failed)
    assert "StoreUnavailable" in error and "did not answer" in error
    assert f"{len(failed)} projects failed" in error
