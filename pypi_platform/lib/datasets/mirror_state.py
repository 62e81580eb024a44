"""What the datasets read from the mirror's state: its projects, and the requirements of their latest releases.

Reading core metadata means opening archives in the object store, so the requirements of each project's latest
release are kept in PostgreSQL (``datasets.releases_read`` and ``datasets.release_dependencies``) under a
fingerprint of the release's files. An hourly run reads only the releases whose fingerprint changed and
forgets projects that left the mirror; the full list is then one query away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import psycopg

from pypi_platform.lib.datasets.metadata import ReleaseFile
from pypi_platform.lib.datasets.schema import DEPENDENCY_LIST, PACKAGE_LIST, PROBLEM_NO_FILES
from pypi_platform.lib.index.filters import sort_versions

ReadRelease = Callable[[str, str, Sequence[ReleaseFile]], list[dict]]
_ROW_COLUMNS = [c for c in DEPENDENCY_LIST if c != "project"]


@dataclass(frozen=True)
class RefreshReport:
    releases: int  # latest releases in the mirror
    read: int  # of which read this time (new or changed)
    forgotten: int  # projects no longer in the mirror


def mirrored_projects(conn: psycopg.Connection) -> pl.DataFrame:
    """Every project the mirror publishes, as ``PACKAGE_LIST`` rows sorted by name.

    ``latest_version`` is the newest release upstream as the last sync saw it; for a project synced before the
    mirror recorded that, the newest version among its mirrored files.
    """
    rows = conn.execute(
        """
        SELECT name, display_name, latest_version, serial, synced_at FROM mirror.projects
        WHERE status <> 'removed' AND synced_at IS NOT NULL ORDER BY name
        """
    ).fetchall()
    frame = pl.DataFrame(rows, schema=PACKAGE_LIST, orient="row")
    unknown = frame.filter(pl.col("latest_version").is_null())["name"].to_list()
    if unknown:
        found = dict(
            conn.execute(
                "SELECT project, array_agg(DISTINCT version) FROM mirror.files"
                " WHERE removed_at IS NULL AND version IS NOT NULL AND project = ANY(%s) GROUP BY project",
                (unknown,),
            ).fetchall()
        )
        newest = {name: sort_versions(set(versions))[-1] for name, versions in found.items()}
        frame = frame.with_columns(
            latest_version=pl.coalesce("latest_version", pl.col("name").replace_strict(newest, default=None))
        )
    return frame


def refresh_dependencies(
    conn: psycopg.Connection,
    projects: pl.DataFrame,
    read_release: ReadRelease,
    *,
    workers: int = 8,
    now: datetime | None = None,
) -> RefreshReport:
    """Bring the stored requirements up to date with the latest release of every project in ``projects``."""
    names, versions = projects["name"].to_list(), projects["latest_version"].to_list()
    current = dict(
        conn.execute(
            """
            SELECT r.project, md5(coalesce(r.version, '') || '|' || coalesce(string_agg(
                f.filename || ':' || f.sha256 || ':' || coalesce(f.metadata_sha256, ''), ',' ORDER BY f.filename
            ), ''))
            FROM unnest(%s::text[], %s::text[]) AS r (project, version)
            LEFT JOIN mirror.files f ON f.project = r.project AND f.version = r.version AND f.removed_at IS NULL
            GROUP BY r.project, r.version
            """,
            (names, versions),
        ).fetchall()
    )
    known = dict(conn.execute("SELECT project, fingerprint FROM datasets.releases_read").fetchall())
    stale = [name for name, fingerprint in current.items() if known.get(name) != fingerprint]
    gone = [name for name in known if name not in current]
    version_of = dict(zip(names, versions, strict=True))
    files = _release_files(conn, stale, version_of)

    def read(name: str) -> list[dict]:
        version = version_of[name]
        if version is None:
            return [_problem_row(name, None, PROBLEM_NO_FILES + ": the mirror holds no file of the project")]
        return read_release(name, version, files.get(name, []))  # no files: it reports the release skipped

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = dict(zip(stale, pool.map(read, stale), strict=True))  # archives are read from the store

    moment = now or datetime.now(UTC)
    with conn.transaction():
        conn.execute("DELETE FROM datasets.releases_read WHERE project = ANY(%s)", (gone + stale,))
        with conn.cursor().copy(
            "COPY datasets.releases_read (project, version, fingerprint, read_at) FROM STDIN"
        ) as copy:
            for name in stale:
                copy.write_row((name, version_of[name], current[name], moment))
        columns = ", ".join(["project", "position", *_ROW_COLUMNS])
        with conn.cursor().copy(f"COPY datasets.release_dependencies ({columns}) FROM STDIN") as copy:
            for name in stale:
                for position, row in enumerate(results[name]):
                    copy.write_row((name, position, *(row[c] for c in _ROW_COLUMNS)))
    return RefreshReport(releases=len(current), read=len(stale), forgotten=len(gone))


def dependency_list(conn: psycopg.Connection) -> pl.DataFrame:
    """Every stored requirement row as ``DEPENDENCY_LIST``, ordered by project and position in the metadata."""
    columns = ", ".join(["project", *_ROW_COLUMNS])
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM datasets.release_dependencies ORDER BY project, position")
        rows = cursor.fetchall()
    return pl.DataFrame(rows, schema=DEPENDENCY_LIST, orient="row")


def _release_files(
    conn: psycopg.Connection, names: list[str], version_of: dict[str, str | None]
) -> dict[str, list[ReleaseFile]]:
    if not names:
        return {}
    rows = conn.execute(
        """
        SELECT f.project, f.filename, f.packagetype, f.object_key, f.metadata_sha256 IS NOT NULL
        FROM unnest(%s::text[], %s::text[]) AS r (project, version)
        JOIN mirror.files f ON f.project = r.project AND f.version = r.version AND f.removed_at IS NULL
        ORDER BY f.project, f.filename
        """,
        (names, [version_of[name] for name in names]),
    ).fetchall()
    files: dict[str, list[ReleaseFile]] = {}
    for project, filename, packagetype, key, has_sidecar in rows:
        files.setdefault(project, []).append(ReleaseFile(filename, packagetype, key, has_sidecar))
    return files


def _problem_row(project: str, version: str | None, problem: str) -> dict:
    row: dict = dict.fromkeys(DEPENDENCY_LIST)
    row.update(project=project, version=version, problem=problem)
    return row
