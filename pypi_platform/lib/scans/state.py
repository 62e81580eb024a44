"""What scans keep in PostgreSQL (schema ``scans``): per-file results, per-package records, finished buckets.

A scan date is split into ``BUCKETS`` name buckets by a stable hash, so each bucket is an independent run. A
bucket's records replace the previous ones for that date in one transaction: readers see the old bucket or the
new one, never half of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import psycopg
from psycopg.types.json import Jsonb

from pypi_platform.lib.mirror.reads import mirrored_projects, release_files
from pypi_platform.lib.scans.batch import PackageOutcome
from pypi_platform.lib.scans.release import RESULT_VERSION

BUCKETS = 64


def bucket_of(name: str, buckets: int = BUCKETS) -> int:
    """A stable bucket for a (normalized) project name: the same on every machine and Python version."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % buckets


@dataclass(frozen=True)
class MirroredFile:
    filename: str
    sha256: str
    size: int
    packagetype: str
    object_key: str


@dataclass(frozen=True)
class LatestRelease:
    name: str
    version: str | None
    files: tuple[MirroredFile, ...]


def latest_releases(conn: psycopg.Connection, bucket: int, buckets: int = BUCKETS) -> list[LatestRelease]:
    """The latest release of every mirrored project in `bucket`, with the files the mirror holds of it."""
    projects = mirrored_projects(conn).select("name", "latest_version").rows()
    chosen = [(name, version) for name, version in projects if bucket_of(name, buckets) == bucket]
    files = release_files(conn, chosen)
    return [
        LatestRelease(
            name,
            version,
            tuple(
                MirroredFile(f.filename, f.sha256, f.size, f.packagetype, f.object_key)
                for f in files.get(name, ())
            ),
        )
        for name, version in chosen
    ]


class PostgresResultCache:
    """Per release file results of the running ruleset (the scanner's ``ResultCache``)."""

    def __init__(self, conn: psycopg.Connection, ruleset: str = RESULT_VERSION):
        self.conn = conn
        self.ruleset = ruleset

    def get_many(self, sha256s: Collection[str]) -> dict[str, dict]:
        rows = self.conn.execute(
            "SELECT sha256, result FROM scans.file_results WHERE ruleset = %s AND sha256 = ANY(%s)",
            (self.ruleset, list(sha256s)),
        ).fetchall()
        return dict(rows)

    def put_many(self, results: dict[str, dict]) -> None:
        with self.conn.transaction(), self.conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO scans.file_results (sha256, ruleset, result) VALUES (%s, %s, %s)"
                " ON CONFLICT (sha256, ruleset) DO UPDATE SET result = excluded.result, scanned_at = now()",
                [(sha256, self.ruleset, Jsonb(result)) for sha256, result in results.items()],
            )


def save_bucket(
    conn: psycopg.Connection,
    scan_date: date,
    bucket: int,
    inputs: Iterable[str],
    outcomes: Iterable[PackageOutcome],
) -> None:
    """Replace the bucket's records for `scan_date` and mark it finished, atomically."""
    rows = [
        (
            scan_date,
            bucket,
            o.name,
            o.version,
            o.status,
            datetime.fromtimestamp(o.started, UTC),
            o.duration,
            o.record.get("score"),
            Jsonb(o.record),
        )
        for o in outcomes
    ]
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(
            "DELETE FROM scans.package_results WHERE scan_date = %s AND bucket = %s", (scan_date, bucket)
        )
        cursor.executemany(
            "INSERT INTO scans.package_results"
            " (scan_date, bucket, name, version, status, started_at, duration, score, record)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
        cursor.execute(
            "INSERT INTO scans.buckets (scan_date, bucket, input_packages, finished_at) VALUES (%s, %s, %s, now())"
            " ON CONFLICT (scan_date, bucket) DO UPDATE"
            " SET input_packages = excluded.input_packages, finished_at = excluded.finished_at",
            (scan_date, bucket, sorted(inputs)),
        )


def finished_buckets(conn: psycopg.Connection, scan_date: date) -> dict[int, list[str]]:
    """Bucket -> its input packages, for the buckets of `scan_date` that finished."""
    rows = conn.execute(
        "SELECT bucket, input_packages FROM scans.buckets WHERE scan_date = %s ORDER BY bucket", (scan_date,)
    ).fetchall()
    return dict(rows)


@dataclass(frozen=True)
class DateProgress:
    """How far the scan of one date has come, over every bucket finished so far."""

    buckets_finished: int
    packages: int
    flagged: int
    statuses: dict[str, int]

    def summary(self, buckets: int = BUCKETS) -> str:
        return (
            f"{self.buckets_finished} of {buckets} buckets finished; {self.packages:,} packages scanned, "
            f"{self.flagged:,} flagged"
        )


def date_progress(conn: psycopg.Connection, scan_date: date) -> DateProgress:
    """Buckets finished, packages recorded and flagged, and records by status, for `scan_date`."""
    (finished,) = conn.execute(
        "SELECT count(*) FROM scans.buckets WHERE scan_date = %s", (scan_date,)
    ).fetchone()
    statuses = dict(
        conn.execute(
            "SELECT status, count(*) FROM scans.package_results WHERE scan_date = %s GROUP BY status ORDER BY status",
            (scan_date,),
        ).fetchall()
    )
    (flagged,) = conn.execute(
        "SELECT count(*) FROM scans.package_results WHERE scan_date = %s AND (record->>'flagged')::boolean",
        (scan_date,),
    ).fetchone()
    return DateProgress(finished, sum(statuses.values()), flagged, statuses)


@dataclass(frozen=True)
class StoredOutcome:
    name: str
    version: str | None
    status: str
    started_at: datetime
    duration: float
    record: dict


def scan_outcomes(conn: psycopg.Connection, scan_date: date) -> list[StoredOutcome]:
    """Every package record of `scan_date`, by name."""
    rows = conn.execute(
        "SELECT name, version, status, started_at, duration, record FROM scans.package_results"
        " WHERE scan_date = %s ORDER BY name",
        (scan_date,),
    ).fetchall()
    return [StoredOutcome(*row) for row in rows]
