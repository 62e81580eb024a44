"""One bucket of a global scan: the latest release of each of its projects, fetched, scanned, one outcome each.

Files are fetched into the local cache by a few threads ahead of the workers (fetching is I/O, scanning is CPU),
so the workers rarely wait. A project whose files cannot be fetched, or which has no files in the mirror, gets a
record with that status; nothing in one project stops the others.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from pypi_platform.lib.release_cache import FetchError, ReleaseFileCache
from pypi_platform.lib.scans.batch import (
    LocalFile,
    PackageInput,
    PackageOutcome,
    ResultCache,
    failure_record,
    scan_packages,
)
from pypi_platform.lib.scans.state import LatestRelease
from pypi_platform.lib.scans.typosquat import PopularNames

FAILED_STATUSES = ("error", "timeout", "oom", "crash", "fetch-error")


@dataclass(frozen=True)
class WorkerLimits:
    workers: int = 2
    timeout: float = 300.0
    memory_bytes: int = 2 * 2**30
    prefetch_threads: int = 4


def scan_bucket(
    releases: Iterable[LatestRelease],
    files: ReleaseFileCache,
    settings: WorkerLimits,
    *,
    cache: ResultCache | None = None,
    top_names: Iterable[str] | PopularNames = (),
) -> list[PackageOutcome]:
    fetch_failures: list[PackageOutcome] = []
    with ThreadPoolExecutor(settings.prefetch_threads, thread_name_prefix="scan-fetch") as threads:
        fetched = _prefetched(
            releases, files, threads, window=4 * settings.workers + settings.prefetch_threads
        )

        def inputs() -> Iterator[PackageInput]:
            for result in fetched:
                if isinstance(result, PackageInput):
                    yield result
                else:
                    fetch_failures.append(result)

        outcomes = list(
            scan_packages(
                inputs(),
                workers=settings.workers,
                timeout=settings.timeout,
                memory_bytes=settings.memory_bytes,
                cache=cache,
                top_names=top_names,
            )
        )
    return outcomes + fetch_failures


def _prefetched(
    releases: Iterable[LatestRelease], files: ReleaseFileCache, threads: ThreadPoolExecutor, window: int
) -> Iterator[PackageInput | PackageOutcome]:
    """Releases with their files on local disk, fetched up to `window` releases ahead of the consumer."""
    pending: deque[Future] = deque()
    for release in releases:
        pending.append(threads.submit(_fetch_release, release, files))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _fetch_release(release: LatestRelease, files: ReleaseFileCache) -> PackageInput | PackageOutcome:
    started = time.time()
    local = []
    try:
        for f in release.files:
            path = files.path_for(f.object_key, f.sha256, f.size)
            local.append(LocalFile(f.filename, str(path), f.sha256, f.size, f.packagetype))
    except FetchError as exc:
        package = _as_input(release, _unfetched(release))
        record = failure_record(package, "fetch-error", str(exc))
        duration = time.time() - started
        return PackageOutcome(
            package.name, package.version, "fetch-error", started, duration, record, str(exc)
        )
    return _as_input(release, tuple(local))


def _as_input(release: LatestRelease, files: tuple[LocalFile, ...]) -> PackageInput:
    return PackageInput(release.name, release.version or "", files)


def _unfetched(release: LatestRelease) -> tuple[LocalFile, ...]:
    return tuple(LocalFile(f.filename, "", f.sha256, f.size, f.packagetype) for f in release.files)
