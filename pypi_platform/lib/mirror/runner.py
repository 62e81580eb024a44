"""The one call that runs a sync, for the Dagster asset, the demo and the benchmark alike."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from pypi_platform.lib.config import MirrorFilters
from pypi_platform.lib.mirror.http import HttpClient, RetryPolicy
from pypi_platform.lib.mirror.state import MirrorState
from pypi_platform.lib.mirror.sync import MirrorSync, SyncOptions, SyncReport
from pypi_platform.lib.mirror.upstream import Upstream
from pypi_platform.lib.storage import ObjectStore


def run_mirror_sync(
    *,
    upstream_url: str,
    store: ObjectStore,
    dsn: str,
    filters: MirrorFilters,
    work_dir: Path,
    workers: int = 10,
    delete_grace: timedelta = timedelta(hours=24),
    check_budget: int = 0,
    retry: RetryPolicy | None = None,
    timeout_seconds: float = 30.0,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
) -> SyncReport:
    # Page checks and file downloads each get `workers` threads, and each thread keeps its own connection.
    with HttpClient(retry=retry, timeout_seconds=timeout_seconds) as client:
        state = MirrorState(dsn)
        try:
            options = SyncOptions(
                filters=filters,
                work_dir=work_dir,
                workers=workers,
                delete_grace=delete_grace,
                check_budget=check_budget,
                **({"logger": logger} if logger is not None else {}),
            )
            return MirrorSync(Upstream(upstream_url, client), client, store, state, options).run()
        finally:
            state.close()
