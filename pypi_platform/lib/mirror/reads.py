"""Every read of the mirror's state (schema ``mirror``) by the rest of the platform: the datasets, the scans,
the corpus, the downloads sample, the mirror's checks and the scan sensor ask here. ``state.py`` writes that
state (and reads what a sync needs); no other module names a ``mirror`` table.

A project is *mirrored* once a sync has published it and until it is removed upstream; a file is *live* until
a sync sees it gone (``removed_at``). The latest release of a project is the newest version upstream as the last
sync saw it, or, for a project synced before that was recorded, the newest version among its live files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
import psycopg

from pypi_platform.lib.mirror.filters import sort_versions

# The mirrored projects, one row each, sorted by name (the package_list dataset publishes exactly these).
MIRRORED_PROJECTS = pl.Schema(
    {
        "name": pl.String,  # PEP 503-normalized
        "display_name": pl.String,  # the spelling the upstream uses
        "latest_version": pl.String,  # null when the mirror holds no file of the project
        "serial": pl.Int64,  # null when the upstream does not publish serials
        "synced_at": pl.Datetime("us", "UTC"),
    }
)


@dataclass(frozen=True)
class LiveFile:
    """A live file of a release, as the mirror holds it."""

    project: str
    filename: str
    version: str
    packagetype: str
    sha256: str
    size: int
    object_key: str
    metadata_sha256: str | None  # the PEP 658 metadata sidecar's, when the mirror holds one
    upload_time: datetime | None


_LIVE_FILE_COLUMNS = """
    f.project, f.filename, coalesce(f.version, ''), coalesce(f.packagetype, ''), f.sha256, f.size, f.object_key,
    f.metadata_sha256, f.upload_time
"""


# Live files the corpus has not packed, or failed to pack (it tries them again).
_NOT_IN_CORPUS = """
    FROM mirror.files f
    JOIN mirror.projects p ON p.name = f.project
    LEFT JOIN corpus.files c ON c.project = f.project AND c.filename = f.filename
    WHERE f.removed_at IS NULL AND (c.status IS NULL OR c.status = 'failed')
"""


def mirrored_projects(conn: psycopg.Connection) -> pl.DataFrame:
    """Every mirrored project as ``MIRRORED_PROJECTS`` rows, sorted by name."""
    rows = conn.execute(
        """
        SELECT name, display_name, latest_version, serial, synced_at FROM mirror.projects
        WHERE status <> 'removed' AND synced_at IS NOT NULL ORDER BY name
        """
    ).fetchall()
    frame = pl.DataFrame(rows, schema=MIRRORED_PROJECTS, orient="row")
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


def healthy_project_names(conn: psycopg.Connection) -> list[str]:
    """The names of the projects whose last sync succeeded, sorted."""
    return [
        name for (name,) in conn.execute("SELECT name FROM mirror.projects WHERE status = 'ok' ORDER BY name")
    ]


def projects_published_between(conn: psycopg.Connection, after: datetime, until: datetime) -> list[str]:
    """Names of the live projects whose pages were (re)published in ``(after, until]``: new releases, files or
    yanks. A sync publishes a project only when something in it changed, after its files are verified."""
    rows = conn.execute(
        """
        SELECT name FROM mirror.projects
        WHERE status = 'ok' AND synced_at > %s AND synced_at <= %s
        ORDER BY name
        """,
        (after, until),
    ).fetchall()
    return [name for (name,) in rows]


def release_files(
    conn: psycopg.Connection, releases: list[tuple[str, str | None]]
) -> dict[str, list[LiveFile]]:
    """The live files of each (project, version), by project, each list sorted by file name."""
    chosen = [(name, version) for name, version in releases if version is not None]
    if not chosen:
        return {}
    rows = conn.execute(
        f"""
        SELECT {_LIVE_FILE_COLUMNS}
        FROM unnest(%s::text[], %s::text[]) AS r (project, version)
        JOIN mirror.files f ON f.project = r.project AND f.version = r.version AND f.removed_at IS NULL
        ORDER BY f.project, f.filename
        """,
        ([name for name, _ in chosen], [version for _, version in chosen]),
    ).fetchall()
    files: dict[str, list[LiveFile]] = {}
    for row in rows:
        files.setdefault(row[0], []).append(LiveFile(*row))
    return files


def release_fingerprints(conn: psycopg.Connection, releases: list[tuple[str, str | None]]) -> dict[str, str]:
    """A fingerprint of each (project, version)'s live files (names, hashes, metadata sidecars): it changes when
    a file is added, replaced or removed, so a reader of the release knows when to read it again."""
    rows = conn.execute(
        """
        SELECT r.project, md5(coalesce(r.version, '') || '|' || coalesce(string_agg(
            f.filename || ':' || f.sha256 || ':' || coalesce(f.metadata_sha256, ''), ',' ORDER BY f.filename
        ), ''))
        FROM unnest(%s::text[], %s::text[]) AS r (project, version)
        LEFT JOIN mirror.files f ON f.project = r.project AND f.version = r.version AND f.removed_at IS NULL
        GROUP BY r.project, r.version
        """,
        ([name for name, _ in releases], [version for _, version in releases]),
    ).fetchall()
    return dict(rows)


def live_files_not_in_corpus(conn: psycopg.Connection, limit: int) -> list[tuple[LiveFile, str, datetime]]:
    """The oldest ``limit`` live files the corpus has not packed (or failed to), with their project's display
    name and the time the mirror first saw them: in upload order (the first-seen time standing in for an
    upload time the index did not give), ties by project then file name, in the C collation so that every
    server, whatever its locale, gives the same order."""
    rows = conn.execute(
        f"""
        SELECT {_LIVE_FILE_COLUMNS}, p.display_name, f.first_seen_at {_NOT_IN_CORPUS}
        ORDER BY coalesce(f.upload_time, f.first_seen_at), f.project COLLATE "C", f.filename COLLATE "C"
        LIMIT %s
        """,
        (limit,),
    ).fetchall()
    return [(LiveFile(*row[:-2]), row[-2], row[-1]) for row in rows]


def count_live_files_not_in_corpus(conn: psycopg.Connection) -> int:
    row = conn.execute(f"SELECT count(*) {_NOT_IN_CORPUS}").fetchone()
    return row[0] if row else 0


def live_files_without_blob(conn: psycopg.Connection, limit: int = 20) -> list[tuple[str, str]]:
    """(project, filename) of live files whose blob is missing or holds other bytes than the file's sha256."""
    return conn.execute(
        """
        SELECT f.project, f.filename FROM mirror.files f
        LEFT JOIN mirror.blobs b ON b.object_key = f.object_key
        WHERE f.removed_at IS NULL AND (b.object_key IS NULL OR b.sha256 <> f.sha256)
        ORDER BY 1, 2 LIMIT %s
        """,
        (limit,),
    ).fetchall()


def failing_projects(conn: psycopg.Connection) -> list[tuple[str, int, str | None]]:
    """(name, failures, error) of the projects whose last sync failed, most failures first."""
    return conn.execute(
        "SELECT name, failures, error FROM mirror.projects WHERE status = 'failed' ORDER BY failures DESC"
    ).fetchall()
