"""The requirements of the mirrored projects' latest releases, kept for the datasets.

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
from pypi_platform.lib.datasets.schema import DEPENDENCY_LIST, PROBLEM_NO_FILES
from pypi_platform.lib.mirror.reads import release_files, release_fingerprints

ReadRelease = Callable[[str, str, Sequence[ReleaseFile]], list[dict]]
_ROW_COLUMNS = [c for c in DEPENDENCY_LIST if c != "project"]


@dataclass(frozen=True)
class RefreshReport:
    releases: int  # latest releases in the mirror
    read: int  # of which read this time (new or changed)
    forgotten: int  # projects no longer in the mirror


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
    current = release_fingerprints(conn, list(zip(names, versions, strict=True)))
    known = dict(conn.execute("SELECT project, fingerprint FROM datasets.releases_read").fetchall())
    stale = [name for name, fingerprint in current.items() if known.get(name) != fingerprint]
    gone = [name for name in known if name not in current]
    version_of = dict(zip(names, versions, strict=True))
    files = {
        name: [
            ReleaseFile(f.filename, f.packagetype, f.object_key, f.metadata_sha256 is not None) for f in found
        ]
        for name, found in release_files(conn, [(name, version_of[name]) for name in stale]).items()
    }

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


def _problem_row(project: str, version: str | None, problem: str) -> dict:
    row: dict = dict.fromkeys(DEPENDENCY_LIST)
    row.update(project=project, version=version, problem=problem)
    return row
