"""Which mirrored projects changed in a span of time: what the mirror sensor hands on to scans."""

from __future__ import annotations

from datetime import datetime

import psycopg


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
