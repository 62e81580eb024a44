"""Serving with several processes: one listening socket, ``workers`` app processes accepting on it, one table of
rate-limit buckets they share (``lib/serving/shared_buckets.py``).

One Python process is CPU-bound at a few thousand requests a second; more processes use more cores. They are
started with ``spawn`` and each runs uvicorn over the inherited socket. If one of them ends, the others are
stopped and ``serve`` returns 1, so that whatever runs the server (systemd, Kubernetes) restarts it whole rather
than serving on with fewer processes than asked for. SIGTERM and Ctrl-C stop them all.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from multiprocessing.connection import wait
from pathlib import Path

import uvicorn

from pypi_platform.lib.config import ServingSettings
from pypi_platform.lib.serving.shared_buckets import SharedTokenBuckets
from pypi_platform.serving.app import create_app

_STOP_SECONDS = 10.0  # for a process to finish its requests once told to stop


def serve(
    dsn: str,
    settings: ServingSettings,
    *,
    host: str,
    port: int,
    workers: int = 1,
    forwarded_allow_ips: str = "127.0.0.1",
    log_level: str = "info",
) -> int:
    """Serve the app on host:port with `workers` processes until stopped; the exit status."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if workers == 1:
        uvicorn.run(create_app(dsn, settings), host=host, port=port,
                    forwarded_allow_ips=forwarded_allow_ips, log_level=log_level)  # fmt: skip
        return 0
    listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                    backlog=2048)  # fmt: skip
    buckets = (
        SharedTokenBuckets.create(settings.rate_per_second, settings.burst)
        if settings.rate_per_second > 0
        else None
    )
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_serve_one,
            args=(listener, dsn, settings, buckets.path if buckets else None, forwarded_allow_ips, log_level),
            name=f"pypi-platform-api-{number}",
        )
        for number in range(workers)
    ]
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    status = 1
    try:
        for process in processes:
            process.start()
        wait([process.sentinel for process in processes])  # returns when the first one ends
    except KeyboardInterrupt:
        status = 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        for process in processes:
            if process.is_alive():
                process.terminate()  # uvicorn finishes the requests in flight on SIGTERM
        for process in processes:
            process.join(_STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        listener.close()
        if buckets is not None:
            buckets.close(remove=True)
    return status


def _serve_one(
    listener: socket.socket,
    dsn: str,
    settings: ServingSettings,
    buckets: Path | None,
    forwarded_allow_ips: str,
    log_level: str,
) -> None:
    app = create_app(dsn, settings, shared_buckets=buckets)
    config = uvicorn.Config(app, forwarded_allow_ips=forwarded_allow_ips, log_level=log_level)
    uvicorn.Server(config).run(sockets=[listener])


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
