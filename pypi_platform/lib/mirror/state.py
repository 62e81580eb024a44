"""The mirror's state in PostgreSQL schema ``mirror``: projects, the files their pages link, verified blobs."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg_pool import ConnectionPool

from pypi_platform.lib.mirror.pages import PublishedFile


# Slots: a full mirror holds ~930k of these in memory during a sync.
@dataclass(frozen=True, slots=True)
class StoredProject:
    name: str
    serial: int | None
    status: str
    etag: str | None
    last_modified: str | None
    page_sha256: str | None
    filter_fingerprint: str | None
    checked_at: datetime | None = None


@dataclass(frozen=True)
class ProjectUpdate:
    """Everything that changes when a project's pages are published, written in one transaction."""

    name: str
    display_name: str
    serial: int | None
    etag: str | None
    last_modified: str | None
    page_sha256: str | None
    filter_fingerprint: str
    files: list[PublishedFile]
    md5: dict[str, str | None]
    packagetypes: dict[str, str | None]
    latest_version: str | None = None  # the newest release upstream, whether or not the filters kept it


class MirrorState:
    """Mirror state shared by a sync's threads through a small pool of connections.

    Statements are short, so a few connections serve dozens of threads; one connection per thread spent more
    time connecting than querying, and one shared connection made every thread queue behind it.
    """

    def __init__(self, dsn: str, max_connections: int = 4) -> None:
        # The session lock lives on a connection of its own, held for the whole sync.
        self._session = psycopg.connect(dsn, autocommit=True)
        self._pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True},
            open=True,
            name="mirror-state",
        )

    def close(self) -> None:
        self._pool.close()
        self._session.close()

    def try_lock(self) -> bool:
        """Take the mirror's session lock; released when this connection closes, even if the process dies."""
        row = self._session.execute(
            "SELECT pg_try_advisory_lock(hashtext('pypi_platform.mirror_sync'))"
        ).fetchone()
        return bool(row and row[0])

    def projects(self, names: Collection[str] | None = None) -> dict[str, StoredProject]:
        """Every stored project, or those of `names` that are stored."""
        query = (
            "SELECT name, serial, status, etag, last_modified, page_sha256, filter_fingerprint, checked_at"
            " FROM mirror.projects"
        )
        with self._pool.connection() as conn:
            if names is None:
                rows = conn.execute(query).fetchall()
            else:
                rows = conn.execute(query + " WHERE name = ANY(%s)", (list(names),)).fetchall()
            return {row[0]: StoredProject(*row) for row in rows}

    def failed_projects(self) -> list[str]:
        """The projects whose last sync failed, to be tried again."""
        with self._pool.connection() as conn:
            return [
                row[0] for row in conn.execute("SELECT name FROM mirror.projects WHERE status = 'failed'")
            ]

    def live_serials(self, fingerprint: str) -> dict[str, int | None]:
        """Every project not removed, with its serial where it is current (published, not failing, filtered by
        `fingerprint`), else None: all a sync needs to tell, from the root's serials, what did not change."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT name, CASE WHEN status = 'ok' AND filter_fingerprint = %s THEN serial END"
                " FROM mirror.projects WHERE status <> 'removed'",
                (fingerprint,),
            ).fetchall()
            return dict(rows)

    def verified_blobs(self, keys: Iterable[str]) -> dict[str, tuple[str, int]]:
        """object key -> (sha256, size) for the keys already verified in the store."""
        keys = list(keys)
        if not keys:
            return {}
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT object_key, sha256, size FROM mirror.blobs WHERE object_key = ANY(%s)", (keys,)
            ).fetchall()
            return {key: (sha256, size) for key, sha256, size in rows}

    def live_file_count(self, name: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM mirror.files WHERE project = %s AND removed_at IS NULL", (name,)
            ).fetchone()
            return row[0] if row else 0

    def record_blob(self, key: str, sha256: str, size: int) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO mirror.blobs (object_key, sha256, size) VALUES (%s, %s, %s)"
                " ON CONFLICT (object_key) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size,"
                " unreferenced_at = NULL",
                (key, sha256, size),
            )

    def publish(self, update: ProjectUpdate, now: datetime) -> None:
        """Record a project as published: its serial advances only here, after its pages are written."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                """
                INSERT INTO mirror.projects AS p (name, display_name, serial, status, error, failures, etag,
                    last_modified, page_sha256, filter_fingerprint, synced_at, checked_at, removed_at,
                    latest_version)
                VALUES (%s, %s, %s, 'ok', NULL, 0, %s, %s, %s, %s, %s, %s, NULL, %s)
                ON CONFLICT (name) DO UPDATE SET display_name = EXCLUDED.display_name,
                    serial = EXCLUDED.serial, status = 'ok', error = NULL, failures = 0, etag = EXCLUDED.etag,
                    last_modified = EXCLUDED.last_modified, page_sha256 = EXCLUDED.page_sha256,
                    filter_fingerprint = EXCLUDED.filter_fingerprint, synced_at = EXCLUDED.synced_at,
                    checked_at = EXCLUDED.checked_at, removed_at = NULL, latest_version = EXCLUDED.latest_version
                """,
                (update.name, update.display_name, update.serial, update.etag, update.last_modified,
                 update.page_sha256, update.filter_fingerprint, now, now, update.latest_version),
            )  # fmt: skip
            with conn.cursor() as cursor:
                cursor.executemany(
                    """
                    INSERT INTO mirror.files (project, filename, version, packagetype, size, sha256, md5,
                        upload_time, requires_python, yanked, yanked_reason, object_key, metadata_sha256,
                        removed_at, first_seen_at)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, %s)
                    ON CONFLICT (project, filename) DO UPDATE SET version = EXCLUDED.version,
                        packagetype = EXCLUDED.packagetype, size = EXCLUDED.size, sha256 = EXCLUDED.sha256,
                        md5 = EXCLUDED.md5, upload_time = EXCLUDED.upload_time,
                        requires_python = EXCLUDED.requires_python, yanked = EXCLUDED.yanked,
                        yanked_reason = EXCLUDED.yanked_reason, object_key = EXCLUDED.object_key,
                        metadata_sha256 = EXCLUDED.metadata_sha256, removed_at = NULL
                    """,  # first_seen_at is left as it was: the first sync that saw the file set it
                    [
                        (update.name, f.filename, f.version, update.packagetypes.get(f.filename), f.size,
                         f.sha256, update.md5.get(f.filename), f.upload_time, f.requires_python, f.yanked,
                         f.yanked_reason, f.object_key, f.metadata_sha256, now)
                        for f in update.files
                    ],
                )  # fmt: skip
            conn.execute(
                "UPDATE mirror.files SET removed_at = %s"
                " WHERE project = %s AND removed_at IS NULL AND NOT (filename = ANY(%s))",
                (now, update.name, [f.filename for f in update.files]),
            )
            live_keys = [f.object_key for f in update.files]
            live_keys += [f.object_key + ".metadata" for f in update.files if f.metadata_sha256]
            conn.execute(
                "UPDATE mirror.blobs SET unreferenced_at = NULL"
                " WHERE object_key = ANY(%s) AND unreferenced_at IS NOT NULL",
                (live_keys,),
            )
            self._mark_unreferenced(conn, now, [update.name])

    def bulk_publish(self, updates: Iterable[ProjectUpdate], now: datetime) -> int:
        """Record many projects as published at once, by COPY: what ``publish`` leaves, for new projects only.

        For building a state that is known to match the store (a benchmark's full-size mirror, an import of an
        existing mirror tree); a project already in the state fails the whole call on its primary key.
        """
        count = 0
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            files = []
            with cursor.copy(
                "COPY mirror.projects (name, display_name, serial, status, failures, etag, last_modified,"
                " page_sha256, filter_fingerprint, synced_at, checked_at, latest_version) FROM STDIN"
            ) as copy:
                for u in updates:
                    copy.write_row(
                        (u.name, u.display_name, u.serial, "ok", 0, u.etag, u.last_modified, u.page_sha256,
                         u.filter_fingerprint, now, now, u.latest_version)
                    )  # fmt: skip
                    files += [
                        (u.name, f.filename, f.version, u.packagetypes.get(f.filename), f.size, f.sha256,
                         u.md5.get(f.filename), f.upload_time, f.requires_python, f.yanked, f.yanked_reason,
                         f.object_key, f.metadata_sha256, now)
                        for f in u.files
                    ]  # fmt: skip
                    count += 1
            with cursor.copy(
                "COPY mirror.files (project, filename, version, packagetype, size, sha256, md5, upload_time,"
                " requires_python, yanked, yanked_reason, object_key, metadata_sha256, first_seen_at)"
                " FROM STDIN"
            ) as copy:
                for row in files:
                    copy.write_row(row)
        return count

    def bulk_record_blobs(self, blobs: Iterable[tuple[str, str, int]], now: datetime) -> None:
        """Record many verified objects (key, sha256, size) at once, by COPY; none may be recorded already."""
        statement = "COPY mirror.blobs (object_key, sha256, size, stored_at) FROM STDIN"
        with self._pool.connection() as conn, conn.transaction(), conn.cursor().copy(statement) as copy:
            for key, sha256, size in blobs:
                copy.write_row((key, sha256, size, now))

    def record_unchanged(self, name: str, now: datetime) -> None:
        with self._pool.connection() as conn:
            conn.execute("UPDATE mirror.projects SET checked_at = %s WHERE name = %s", (now, name))

    def record_failure(self, name: str, display_name: str, error: str, now: datetime) -> None:
        """A failed project keeps its old serial and pages; it is tried again on the next sync."""
        with self._pool.connection() as conn:
            conn.execute(
                """
                INSERT INTO mirror.projects AS p (name, display_name, serial, status, error, failures, checked_at)
                VALUES (%s, %s, NULL, 'failed', %s, 1, %s)
                ON CONFLICT (name) DO UPDATE SET status = 'failed', error = EXCLUDED.error,
                    failures = p.failures + 1, checked_at = EXCLUDED.checked_at
                """,
                (name, display_name, error, now),
            )

    def remove_projects(self, names: list[str], now: datetime) -> None:
        if not names:
            return
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(
                "UPDATE mirror.projects SET status = 'removed', removed_at = %s, error = NULL"
                " WHERE name = ANY(%s)",
                (now, names),
            )
            conn.execute(
                "UPDATE mirror.files SET removed_at = %s WHERE project = ANY(%s) AND removed_at IS NULL",
                (now, names),
            )
            self._mark_unreferenced(conn, now, names)

    @staticmethod
    def _mark_unreferenced(conn: psycopg.Connection, now: datetime, projects: list[str]) -> None:
        # Blobs of these projects' removed files start their grace period now, unless a live file still
        # points at them (the same file under another project, or a sidecar of one).
        conn.execute(
            """
            UPDATE mirror.blobs b SET unreferenced_at = %(now)s
            FROM (SELECT object_key AS key FROM mirror.files WHERE project = ANY(%(projects)s)
                    AND removed_at IS NOT NULL
                  UNION SELECT object_key || '.metadata' FROM mirror.files WHERE project = ANY(%(projects)s)
                    AND removed_at IS NOT NULL) gone
            WHERE b.object_key = gone.key AND b.unreferenced_at IS NULL AND NOT EXISTS (
                SELECT 1 FROM mirror.files f WHERE f.removed_at IS NULL
                  AND f.object_key IN (b.object_key, regexp_replace(b.object_key, '\\.metadata$', '')))
            """,
            {"now": now, "projects": projects},
        )

    def expired_blobs(self, now: datetime, grace: timedelta) -> list[str]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT object_key FROM mirror.blobs WHERE unreferenced_at IS NOT NULL AND unreferenced_at <= %s",
                (now - grace,),
            ).fetchall()
            return [row[0] for row in rows]

    def forget_blobs(self, keys: list[str]) -> None:
        with self._pool.connection() as conn:
            conn.execute("DELETE FROM mirror.blobs WHERE object_key = ANY(%s)", (keys,))

    def live_projects(self) -> list[tuple[str, int | None]]:
        """Every published project with its serial, for the root index."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT name, serial FROM mirror.projects WHERE synced_at IS NOT NULL AND status <> 'removed'"
                " ORDER BY name"
            ).fetchall()
            return [(row[0], row[1]) for row in rows]

    def record_run(
        self,
        upstream: str,
        started: datetime,
        finished: datetime,
        counts: dict[str, int],
        error: str | None = None,
        *,
        complete_at: tuple[int, str] | None = None,
    ) -> None:
        """One row of ``mirror.sync_runs``: a run that stopped on ``error`` is recorded as failed, with it.
        `complete_at`: (root serial, ``MirrorFilters.digest``) of a run that checked every project that root listed
        (each is current, or failed and marked so), which the next run may find still current (``complete_serial``)."""
        root_serial, fingerprint = complete_at if complete_at is not None and not error else (None, None)
        with self._pool.connection() as conn:
            conn.execute(
                """
                INSERT INTO mirror.sync_runs (started_at, finished_at, upstream, projects_checked,
                    projects_changed, projects_failed, projects_removed, files_fetched, bytes_fetched,
                    status, error, root_serial, filter_fingerprint)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                """,
                (started, finished, upstream, counts["projects_checked"], counts["projects_changed"],
                 counts["projects_failed"], counts["projects_removed"], counts["files_fetched"],
                 counts["bytes_fetched"], "failed" if error else "succeeded", error, root_serial, fingerprint),
            )  # fmt: skip

    def complete_serial(self, upstream: str, fingerprint: str) -> tuple[int, int] | None:
        """(root serial, projects checked) of the latest run from `upstream`, when that run checked every project
        of that root under the filters of digest `fingerprint`; None when it did not, or there was none."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT root_serial, filter_fingerprint, projects_checked FROM mirror.sync_runs"
                " WHERE upstream = %s ORDER BY id DESC LIMIT 1",
                (upstream,),
            ).fetchone()
        if row is None or row[0] is None or row[1] != fingerprint:
            return None
        return row[0], row[2]
