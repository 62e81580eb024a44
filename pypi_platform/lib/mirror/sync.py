"""One mirror sync: find what changed upstream, bring each changed project in, publish, then clean up.

Change detection, cheapest first: the root's own serial header, unchanged since a run that checked every
project (nothing read but the failed projects); a serial from the PEP 691 root (no request for an unchanged
project); else one conditional request for the project page, judged by 304, the ``X-PyPI-Last-Serial`` header or
the page's content hash. Files are downloaded concurrently across every project, each verified before any page links it.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path

from pypi_platform.lib import collector
from pypi_platform.lib.config import MirrorFilters
from pypi_platform.lib.mirror import pages
from pypi_platform.lib.mirror.http import HttpClient, UpstreamError
from pypi_platform.lib.mirror.project import ProjectFailed, ProjectPublisher, Transfer
from pypi_platform.lib.mirror.state import MirrorState, StoredProject
from pypi_platform.lib.mirror.upstream import PageError, PageResponse, RootIndex, Upstream
from pypi_platform.lib.storage import ObjectStore, StoreUnavailable

log = logging.getLogger(__name__)

# Allowlists up to this size are checked project by project: cheaper than the whole root (43 MB on PyPI).
ROOT_THRESHOLD = 1000
STALE_RETRIES = 3
# A root that drops more than half of a mirror's projects at once is taken for a glitch, not for deletions.
MAX_ROOT_SHRINK = 0.5
MIN_PROJECTS_FOR_SHRINK_GUARD = 10
# Above this many projects to check, reading every stored project is cheaper than naming each in the query.
READ_ALL_ABOVE = 50_000
DELETE_BATCH = 1000  # keys per delete call: what one S3 DeleteObjects request takes


class SyncAlreadyRunning(RuntimeError):
    """Two syncs of one mirror would race on its pages; the second refuses to start."""


class Outcome(Enum):
    UNCHANGED = "unchanged"
    PUBLISHED = "published"
    FAILED = "failed"
    REMOVED = "removed"
    MISSING = "missing"  # asked for by the allowlist, never mirrored, not upstream


@dataclass(frozen=True)
class SyncOptions:
    filters: MirrorFilters
    work_dir: Path
    workers: int = 10
    delete_grace: timedelta = timedelta(hours=24)
    # Where no serial says which projects changed, at most this many known projects are checked per run,
    # least recently checked first; 0 checks them all. New and failed projects are always checked.
    check_budget: int = 0
    # Where progress goes: Dagster passes its run logger so progress shows in the run's log.
    logger: logging.Logger | logging.LoggerAdapter = log


@dataclass
class SyncReport:
    projects_checked: int = 0
    projects_changed: int = 0
    projects_failed: int = 0
    projects_removed: int = 0
    projects_deferred: int = 0
    files_fetched: int = 0
    bytes_fetched: int = 0
    blobs_deleted: int = 0
    duration_seconds: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "projects_checked": self.projects_checked,
            "projects_changed": self.projects_changed,
            "projects_failed": self.projects_failed,
            "projects_removed": self.projects_removed,
            "files_fetched": self.files_fetched,
            "bytes_fetched": self.bytes_fetched,
        }


class MirrorSync:
    def __init__(
        self,
        upstream: Upstream,
        client: HttpClient,
        store: ObjectStore,
        state: MirrorState,
        options: SyncOptions,
    ) -> None:
        self.upstream, self.client, self.store = upstream, client, store
        self.state, self.options = state, options
        self.filters = options.filters
        self.fingerprint = self.filters.fingerprint()
        # Every filter, the project lists too: what a run that brought every project up to date ran under.
        self.filters_digest = self.filters.digest()
        self.log = options.logger
        self._traceback_logged = False
        self._store_down: str | None = None  # why the object store stopped answering, once it has
        # The root serial of which this run checked every project; None until it has.
        self._complete_at: int | None = None
        # Something this run left undone that the state does not say: removals withheld (the root shrank too
        # much at once to be believed), or a failure that could not be recorded.
        self._incomplete = False

    def _record_failure(self, name: str, reason: str) -> None:
        try:
            self.state.record_failure(name, name, reason, datetime.now(UTC))
        except Exception as exc:  # the project's failure is in the report; the run's row will say the rest
            self._incomplete = True  # the state does not know to try it again
            self.log.warning("project %s: its failure could not be recorded: %s", name, exc)

    def run(self) -> SyncReport:
        started = datetime.now(UTC)
        if not self.state.try_lock():
            raise SyncAlreadyRunning(
                "another mirror sync holds the lock on this database; not starting a second"
            )
        report = SyncReport()
        try:
            self._run(report)
        except Exception as exc:
            # A run cut short (the store or the upstream gone) still leaves its row, marked failed with why.
            error = f"{type(exc).__name__}: {exc}"
            if report.failures:
                error += f" ({len(report.failures)} projects failed before it)"
            try:
                self.state.record_run(
                    self.upstream.simple_url, started, datetime.now(UTC), report.counts(), error=error
                )
            except Exception as unrecorded:  # PostgreSQL itself may be what went away
                self.log.error(
                    "the failed sync run could not be recorded in mirror.sync_runs: %s", unrecorded
                )
            raise
        complete_at = (self._complete_at, self.filters_digest) if self._complete_at is not None else None
        self.state.record_run(
            self.upstream.simple_url, started, datetime.now(UTC), report.counts(), complete_at=complete_at
        )
        return report

    def _run(self, report: SyncReport) -> None:
        clock = time.monotonic()
        from_root = not self._allowlist_checked_alone()
        # (root serial, projects checked) of the last run, if it checked every project of that root under these
        # filters: then every project is current but those that failed, which the state names.
        known = (
            self.state.complete_serial(self.upstream.simple_url, self.filters_digest) if from_root else None
        )
        # The maps of the root and of the state hold ~930k entries and no cycle; collections while they
        # were built walked all of them, which tripled the time to read the full root on Python 3.13.
        with collector.paused():
            root = self.upstream.fetch_root(unless_serial=known[0] if known else None) if from_root else None
            if known is not None and (root is None or root.serial == known[0]):
                # Nothing changed upstream since: neither the root's body nor the state's serials are read, and
                # only the projects that failed are tried again.
                serial, checked = known
                self.log.info("upstream serial %d is the one the last sync checked in full", serial)
                pending, root_serials, gone = self.state.failed_projects(), {}, []
                unchanged = checked - len(pending)
            else:
                serial = root.serial if root is not None else None
                candidates, root_serials = self._candidates(root)
                # A full mirror compares ~930k root serials with the state's: only the pairs that differ (and
                # the projects never published) are read in full.
                live = self.state.live_serials(self.fingerprint)
                gone = self._no_longer_listed(live, candidates, from_root)
                pending = [
                    name
                    for name in candidates
                    if (s := root_serials.get(name)) is None or live.get(name) != s
                ]
                unchanged = len(candidates) - len(pending)
                del live
        stored = self.state.projects(None if len(pending) > READ_ALL_ABOVE else pending)
        self.options.work_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.options.work_dir.glob(".download-*"):  # from a sync that was killed
            leftover.unlink(missing_ok=True)
        transfer = Transfer()
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="mirror-file") as downloads:
            publisher = ProjectPublisher(
                self.upstream, self.client, self.store, self.state, self.filters, downloads,
                self.options.work_dir, transfer,
            )  # fmt: skip
            to_check = self._within_budget(pending, stored, root_serials)
            report.projects_deferred = len(pending) - len(to_check)
            outcomes = self._check_all(to_check, stored, root_serials, publisher, report, transfer)
        gone += [name for name, outcome in outcomes.items() if outcome is Outcome.REMOVED]
        report.projects_checked = unchanged + len(outcomes)
        report.projects_failed = len(report.failures)
        if self._store_down is not None:
            # Every project after the store went away failed for the same reason: do not write pages over it.
            raise StoreUnavailable(
                f"{self._store_down}; {len(report.failures)} projects failed, the rest are left for the next run"
            )
        report.projects_changed = sum(o is Outcome.PUBLISHED for o in outcomes.values())
        report.projects_failed = len(report.failures)
        report.projects_removed = len(gone)
        report.files_fetched, report.bytes_fetched = transfer.files, transfer.bytes
        report.warnings = transfer.warnings

        now = datetime.now(UTC)
        self._publish_removals_and_root(gone, changed=report.projects_changed > 0, now=now)
        report.blobs_deleted = self._collect_garbage(now)
        report.duration_seconds = time.monotonic() - clock
        # Checked in full: every project of the root is now current, or failed and named so in the state.
        if serial is not None and not report.projects_deferred and not self._incomplete:
            self._complete_at = serial

    def _no_longer_listed(
        self, live_projects: Collection[str], candidates: Collection[str], from_root: bool
    ) -> list[str]:
        """Mirrored projects the upstream (or the filters) no longer offer."""
        gone = [name for name in live_projects if name not in candidates]
        live = len(live_projects)
        if from_root and live >= MIN_PROJECTS_FOR_SHRINK_GUARD and len(gone) > live * MAX_ROOT_SHRINK:
            # An upstream glitch (an empty or truncated root) must not empty the mirror.
            self.log.warning(
                "the upstream root no longer lists %d of %d mirrored projects; not removing any this run",
                len(gone), live,
            )  # fmt: skip
            self._incomplete = True
            return []
        return gone

    def _publish_removals_and_root(self, gone: list[str], *, changed: bool, now: datetime) -> None:
        self.state.remove_projects(gone, now)
        if changed or gone or not self.store.exists(f"{pages.WEB}/simple/index.html"):
            self._write_root()
        # Only once the root no longer links them do the pages of removed projects go.
        self._delete(key for name in gone for key in (*pages.page_keys(name), *pages.json_keys(name)))

    def _allowlist_checked_alone(self) -> bool:
        """A short allowlist is checked name by name, without the root."""
        allowlist = self.filters.allowlist
        return allowlist is not None and len(allowlist) <= ROOT_THRESHOLD

    def _candidates(self, root: RootIndex | None) -> tuple[Collection[str], dict[str, int | None]]:
        """The projects to check and their root serials: from `root`, or the allowlist where there is none."""
        if root is None:
            allowlist = self.filters.allowlist or ()
            return {name for name in allowlist if self.filters.wants_project(name)}, {}
        self.log.info("upstream root lists %d projects (serial %s)", len(root.projects), root.serial)
        if self.filters.allowlist is None and not self.filters.blocklist:
            return root.projects.keys(), root.projects  # a full mirror: no copy of ~930k names
        return {name for name in root.projects if self.filters.wants_project(name)}, root.projects

    def _within_budget(
        self, candidates: list[str], stored: dict[str, StoredProject], root_serials: dict[str, int | None]
    ) -> list[str]:
        """The projects to check this run: all of them, unless the check budget defers some to later runs."""
        budget = self.options.check_budget
        routine = [
            n for n in candidates if root_serials.get(n) is None and n in stored and stored[n].status == "ok"
        ]
        if not budget or len(routine) <= budget:
            return sorted(candidates)
        oldest_first = sorted(
            routine, key=lambda n: (stored[n].checked_at or datetime.min.replace(tzinfo=UTC), n)
        )
        deferred = set(oldest_first[budget:])
        self.log.info("checking %d of %d known projects this run (check budget)", budget, len(routine))
        return sorted(name for name in candidates if name not in deferred)

    def _check_all(
        self,
        names: list[str],
        stored: dict[str, StoredProject],
        root_serials: dict[str, int | None],
        publisher: ProjectPublisher,
        report: SyncReport,
        transfer: Transfer,
    ) -> dict[str, Outcome]:
        """Check each project in `names` (none known unchanged by its root serial) and bring it up to date."""
        outcomes: dict[str, Outcome] = {}
        progress = _Progress(len(names), transfer, self.log)
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="mirror-project") as pool:
            futures = {
                pool.submit(self._check, name, stored.get(name), root_serials.get(name), publisher): name
                for name in names
            }
            for future in as_completed(futures):
                name = futures[future]
                if future.cancelled():
                    continue
                try:
                    outcomes[name] = future.result()
                except Exception as exc:  # one project's failure, whatever it is, never stops the others
                    reason = str(exc) if isinstance(exc, ProjectFailed) else f"{type(exc).__name__}: {exc}"
                    outcomes[name] = Outcome.FAILED
                    report.failures[name] = reason
                    self._record_failure(name, reason)
                    # One line per project; the traceback once (the first unexpected one), later ones at debug.
                    unexpected = not isinstance(exc, ProjectFailed)
                    first = unexpected and not self._traceback_logged
                    self._traceback_logged |= first
                    self.log.warning("project %s failed: %s", name, reason, exc_info=exc if first else None)
                    if unexpected and not first:
                        self.log.debug("project %s failed", name, exc_info=exc)
                    if isinstance(exc, StoreUnavailable) and self._store_down is None:
                        # The store is gone: projects not started yet would each wait out its timeouts in vain.
                        self._store_down = str(exc)
                        self.log.error(
                            "the object store went away; projects not started yet are left for the next run"
                        )
                        for waiting in futures:
                            waiting.cancel()
                else:
                    if outcomes[name] is Outcome.MISSING:
                        transfer.warn(f"{name} is not on the upstream index")
                progress.tick()
        return outcomes

    def _current(self, stored: StoredProject | None) -> bool:
        """Published, not failing, and filtered as the filters of this run would filter it."""
        return stored is not None and stored.status == "ok" and stored.filter_fingerprint == self.fingerprint

    def _check(
        self, name: str, stored: StoredProject | None, expected: int | None, publisher: ProjectPublisher
    ) -> Outcome:
        current = self._current(stored)
        page = self._fetch_page(name, stored if current else None)
        if page.status == 404:
            return Outcome.REMOVED if stored is not None and stored.status != "removed" else Outcome.MISSING
        if current and _unchanged(stored, page):
            self.state.record_unchanged(name, datetime.now(UTC))
            return Outcome.UNCHANGED
        for attempt in range(STALE_RETRIES):
            if expected is None or page.serial is None or page.serial >= expected:
                break
            # The CDN can serve a page older than the root that announced the change.
            time.sleep(self.client.retry.delay(attempt + 1))
            page = self._fetch_page(name, None)
        else:
            if expected is not None and page.serial is not None and page.serial < expected:
                raise ProjectFailed(f"stale page: upstream serial {page.serial} is older than {expected}")
        publisher.publish(name, page, expected, stored.serial if stored is not None else None)
        return Outcome.PUBLISHED

    def _fetch_page(self, name: str, stored: StoredProject | None) -> PageResponse:
        try:
            if stored is None:
                return self.upstream.fetch_page(name)
            return self.upstream.fetch_page(name, etag=stored.etag, last_modified=stored.last_modified)
        except (PageError, UpstreamError) as exc:
            raise ProjectFailed(str(exc)) from exc

    def _write_root(self) -> None:
        projects = self.state.live_projects()
        html = pages.render_root_html([name for name, _ in projects])
        self.store.put_bytes(f"{pages.WEB}/simple/index.html", html, content_type="text/html; charset=utf-8")
        self.store.put_bytes(
            f"{pages.WEB}/simple/index.v1_html", html, content_type="text/html; charset=utf-8"
        )
        self.store.put_bytes(
            f"{pages.WEB}/simple/index.v1_json",
            pages.render_root_json(projects),
            content_type="application/vnd.pypi.simple.v1+json",
        )

    def _delete(self, keys: Iterable[str]) -> None:
        """Delete from the store in batches, several at once: on S3 a batch is one request, and a disk answers
        several unlinks at once sooner than one after another (50,000 removed projects have 250,000 pages)."""
        batches = list(itertools.batched(keys, DELETE_BATCH))
        if len(batches) <= 1:
            for batch in batches:
                self.store.delete(batch)
            return
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="mirror-delete") as pool:
            for _ in pool.map(self.store.delete, batches):  # the first failure, if any, is raised here
                pass

    def _collect_garbage(self, now: datetime) -> int:
        expired = self.state.expired_blobs(now, self.options.delete_grace)
        if expired:
            self._delete(expired)
            self.state.forget_blobs(expired)
            log.info(
                "deleted %d files no longer published (grace %s)", len(expired), self.options.delete_grace
            )
        return len(expired)


def _unchanged(stored: StoredProject, page: PageResponse) -> bool:
    if page.status == 304:
        return True
    if page.serial is not None and stored.serial is not None:
        return page.serial == stored.serial
    return stored.page_sha256 is not None and stored.page_sha256 == page.sha256


class _Progress:
    """Logs how far the sync is, at most every few seconds, so a long run shows it is alive."""

    def __init__(self, total: int, transfer: Transfer, logger, every_seconds: float = 5.0) -> None:
        self.total, self.transfer, self.every, self.log = total, transfer, every_seconds, logger
        self.done, self.last = 0, time.monotonic()

    def tick(self) -> None:
        self.done += 1
        now = time.monotonic()
        if self.done == self.total or now - self.last >= self.every:
            self.last = now
            self.log.info(
                "checked %d/%d projects, fetched %d files (%.1f MB)",
                self.done, self.total, self.transfer.files, self.transfer.bytes / 1e6,
            )  # fmt: skip
