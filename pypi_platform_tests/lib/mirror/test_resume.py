"""A sync killed midway: nothing half-done is visible, and the next run fetches only what is still missing."""

import json
import os
import signal
import subprocess
import sys
import time

import psycopg

from pypi_platform_tests.lib.mirror.helpers import assert_every_link_present, published_filenames, sync

_CHILD = """
import json, sys
from pathlib import Path
from pypi_platform.lib.config import MirrorFilters
from pypi_platform.lib.mirror.runner import run_mirror_sync
from pypi_platform.lib.storage import open_store
args = json.loads(sys.argv[1])
run_mirror_sync(upstream_url=args["url"], store=open_store(args["store"]), dsn=args["dsn"],
                filters=MirrorFilters(), work_dir=Path(args["work"]), workers=4)
"""


def _verified(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {row[0].rsplit("/", 1)[-1] for row in conn.execute("SELECT object_key FROM mirror.blobs")}


def test_sync_killed_midway_resumes_without_refetching_verified_files(
    fake_index, local_store, database, tmp_path
):
    quick = fake_index.add_release("quick", "1.0")
    slow_sdist, slow_wheel = sorted(
        fake_index.add_release("slow", "1.0"), key=lambda f: f.filename.endswith(".whl")
    )
    fake_index.faults.hang(slow_wheel.path, seconds=60, times=None)
    args = {"url": fake_index.url, "store": local_store.url, "dsn": database, "work": str(tmp_path / "work")}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(args)], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while slow_sdist.filename not in _verified(database) or not local_store.exists(
            "mirror/web/simple/quick/index.html"
        ):
            assert child.poll() is None, "the sync ended before it could be killed"
            assert time.monotonic() < deadline, "the sync never verified the first file"
            time.sleep(0.05)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()

    assert_every_link_present(local_store)
    assert not local_store.exists("mirror/web/simple/slow/index.html"), "slow's wheel was never verified"

    fake_index.faults.clear()
    fake_index.reset_requests()
    report = sync(fake_index.url, local_store, database, tmp_path / "work")

    assert report.failures == {}
    fetched = {r.path.rsplit("/", 1)[-1] for r in fake_index.requests if r.path.startswith("/packages/")}
    assert slow_sdist.filename not in fetched
    assert slow_wheel.filename in fetched
    assert not fetched & {f.filename for f in quick}
    assert published_filenames(local_store, "slow") == {slow_sdist.filename, slow_wheel.filename}
    assert_every_link_present(local_store)
