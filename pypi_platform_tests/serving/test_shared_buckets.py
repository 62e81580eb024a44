"""Rate-limit buckets shared by several app processes: one client, one limit, however many processes serve it."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pypi_platform.lib.serving.shared_buckets import SharedTokenBuckets

ROOT = Path(__file__).resolve().parents[2]


def _take_all(path: str, client: str, count: int) -> int:
    """In another process: open the table by its path and take `count` times; how many were allowed."""
    buckets = SharedTokenBuckets(Path(path), rate=0.001, burst=5)
    try:
        return sum(buckets.take(client).allowed for _ in range(count))
    finally:
        buckets.close()


def test_processes_drawing_from_one_table_share_each_clients_bucket(tmp_path):
    buckets = SharedTokenBuckets.create(rate=0.001, burst=5, directory=tmp_path)
    try:
        with multiprocessing.get_context("spawn").Pool(3) as pool:
            allowed = pool.starmap(_take_all, [(str(buckets.path), "192.0.2.1", 4)] * 3)
            other = pool.apply(_take_all, (str(buckets.path), "192.0.2.2", 4))
        assert sum(allowed) == 5, "twelve requests over three processes, one bucket of five"
        assert other == 4, "another client has a bucket of its own"
        assert not buckets.take("192.0.2.1").allowed
    finally:
        buckets.close(remove=True)
    assert not buckets.path.exists()


def test_shared_buckets_refill_at_their_rate_and_a_full_table_forgets_the_longest_idle(tmp_path):
    now = [0.0]
    buckets = SharedTokenBuckets.create(rate=0.5, burst=2, slots=4, directory=tmp_path, clock=lambda: now[0])
    try:
        assert [buckets.take("a").allowed for _ in range(3)] == [True, True, False]
        assert buckets.take("a").retry_after == 2  # half a token a second: two seconds for one
        now[0] = 2.0
        decision = buckets.take("a")
        assert (decision.allowed, decision.remaining) == (True, 0)

        now[0] = 3.0
        for client in ("b", "c", "d", "e"):  # four more clients than the four slots hold: "a" is the oldest
            buckets.take(client)
        decision = buckets.take("a")
        assert (decision.allowed, decision.remaining) == (True, 1), (
            "forgotten: a full bucket, as a new client"
        )
    finally:
        buckets.close(remove=True)


def test_a_file_that_is_not_a_table_of_buckets_is_refused(tmp_path):
    odd = tmp_path / "odd"
    odd.write_bytes(b"not a table")
    with pytest.raises(ValueError, match="not a table of shared token buckets"):
        SharedTokenBuckets(odd, rate=1, burst=1)
    with pytest.raises(ValueError, match="rate must be positive"):
        SharedTokenBuckets.create(rate=0, burst=1, directory=tmp_path)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_server_with_two_processes_serves_one_limit_per_client(stats_database, tmp_path):
    port = _free_port()
    scratch = tmp_path / "tmp"  # where the server keeps its table of buckets
    scratch.mkdir()
    env = {**os.environ, "PYPI_PLATFORM_DATABASE_URL": stats_database, "PYPI_PLATFORM_HOME": str(tmp_path),
           "PYPI_PLATFORM_API_RATE": "0.001", "PYPI_PLATFORM_API_BURST": "6", "TMPDIR": str(scratch)}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "pypi_platform.serving", "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/", timeout=2)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"the server did not start: {server.stdout.read().decode()}"
                    ) from None
                time.sleep(0.2)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        workers = [pid for pid in children if b"resource_tracker" not in _cmdline(pid)]
        assert len(workers) == 2
        assert len(list(scratch.glob("pypi-platform-buckets-*"))) == 1

        # A new connection per request, so that the kernel hands them to both processes.
        statuses = [httpx.get(f"{url}/api/packages/six/recent", timeout=10).status_code for _ in range(10)]
        assert statuses == [200] * 6 + [429] * 4

        server.terminate()
        assert server.wait(30) == 0, "SIGTERM stops every process and the server exits 0"
        assert all(not Path(f"/proc/{pid}").exists() for pid in workers)
        assert not list(scratch.glob("pypi-platform-buckets-*")), "the table goes with the server"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _cmdline(pid: str) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def test_fewer_than_one_worker_is_refused_before_anything_starts(capsys):
    from pypi_platform.serving.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(["--workers", "0"])
    assert exited.value.code == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
