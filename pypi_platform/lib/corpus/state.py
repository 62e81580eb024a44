"""What the corpus keeps in PostgreSQL (schema ``corpus``): its shards, and every distribution file it handled.

The database is the record of truth: a shard's branch is moved back to the head recorded here before anything is
appended, and a batch of files is recorded in one transaction together with the shard's new head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from pypi_platform.lib.mirror.reads import count_live_files_not_in_corpus, live_files_not_in_corpus

SHARD_PREFIX = "pypi-mirror-"


def shard_name(number: int) -> str:
    return f"{SHARD_PREFIX}{number}"


def shard_path(shards_dir: Path, number: int) -> Path:
    """Where shard ``number``'s bare repository lives under ``shards_dir``."""
    return shards_dir / f"{shard_name(number)}.git"


def shard_name_of(repository: Path) -> str:
    """The shard name of a repository path (``.../pypi-mirror-3.git`` is ``pypi-mirror-3``)."""
    return repository.name.removesuffix(".git")


def shard_number(name: str) -> int:
    """The number of a shard named ``pypi-mirror-N``; a ValueError for anything else."""
    digits = name.removeprefix(SHARD_PREFIX)
    if digits == name or not digits.isdigit() or int(digits) < 1:
        raise ValueError(f"{name!r} is not a shard name (expected {SHARD_PREFIX}N with N >= 1)")
    return int(digits)


def next_shard_number(known: Sequence[Shard]) -> int:
    """The shard new files go to: the last one while it has room, else the one after it (1 when none exists)."""
    last = known[-1] if known else None
    if last is None:
        return 1
    return last.number + 1 if last.closed else last.number


@dataclass(frozen=True)
class Shard:
    number: int
    capacity: int
    files: int
    head: str | None
    closed: bool

    @property
    def name(self) -> str:
        return shard_name(self.number)

    @property
    def room(self) -> int:
        return 0 if self.closed else max(self.capacity - self.files, 0)


@dataclass(frozen=True)
class PendingFile:
    """A mirrored distribution file the corpus has not committed or skipped yet."""

    project: str  # normalized name
    display_name: str  # the spelling the index uses: the directory under packages/
    version: str
    filename: str
    packagetype: str
    sha256: str
    size: int
    upload_time: datetime  # or, when the index gave none, the time the mirror first saw the file
    object_key: str


@dataclass(frozen=True)
class FileOutcome:
    file: PendingFile
    status: str  # committed, skipped or failed
    reason: str = ""
    commit_id: str | None = None
    members: int = 0


def shards(conn: psycopg.Connection) -> list[Shard]:
    rows = conn.execute(
        "SELECT number, capacity, files, head, closed_at IS NOT NULL FROM corpus.shards ORDER BY number"
    ).fetchall()
    return [Shard(*row) for row in rows]


def get_shard(conn: psycopg.Connection, number: int) -> Shard | None:
    row = conn.execute(
        "SELECT number, capacity, files, head, closed_at IS NOT NULL FROM corpus.shards WHERE number = %s",
        (number,),
    ).fetchone()
    return Shard(*row) if row else None


def open_shard(conn: psycopg.Connection, number: int, capacity: int) -> Shard:
    """Shard `number`, created if it is the next one: the first, or the one after a closed shard.

    Shards fill in order, so opening shard 3 while shard 2 still has room would break the upload-time order.
    """
    existing = get_shard(conn, number)
    if existing is not None:
        return existing
    last = conn.execute("SELECT max(number) FROM corpus.shards").fetchone()[0]
    if last is None and number != 1:
        raise ValueError(f"{shard_name(number)} cannot be opened before {shard_name(1)}")
    if last is not None:
        previous = get_shard(conn, last)
        if number != last + 1 or not previous.closed:
            raise ValueError(
                f"{shard_name(number)} cannot be opened: {previous.name} is the last shard"
                + ("" if previous.closed else f" and has room for {previous.room} more files")
            )
    conn.execute(
        "INSERT INTO corpus.shards (number, capacity) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (number, capacity),
    )
    conn.commit()
    return get_shard(conn, number)


def pending_files(conn: psycopg.Connection, limit: int) -> list[PendingFile]:
    """The oldest `limit` files not in the corpus yet, in upload order (ties by project, then file name).

    Planning by absence rather than by "uploaded after the last shard's newest file" also catches files that
    reach the mirror late; they are appended where the open shard is.
    """
    return [
        PendingFile(
            project=file.project,
            display_name=display_name,
            version=file.version,
            filename=file.filename,
            packagetype=file.packagetype,
            sha256=file.sha256,
            size=file.size,
            # An index without upload times: the time the mirror first saw the file, part of the mirror's state,
            # so the commit's date is as reproducible as the upload time would have been.
            upload_time=file.upload_time or first_seen,
            object_key=file.object_key,
        )
        for file, display_name, first_seen in live_files_not_in_corpus(conn, limit)
    ]


def pending_count(conn: psycopg.Connection) -> int:
    return count_live_files_not_in_corpus(conn)


def record_batch(
    conn: psycopg.Connection,
    shard: Shard,
    outcomes: Sequence[FileOutcome],
    head: str | None,
    rules_version: str,
) -> Shard:
    """The batch's files and the shard's new head, in one transaction; the shard closes when it is full."""
    placed = [o for o in outcomes if o.status != "failed"]
    with conn.transaction():
        position = shard.files
        for outcome in outcomes:
            f = outcome.file
            if outcome.status == "failed":
                conn.execute(
                    """
                    INSERT INTO corpus.files (project, filename, status, reason, rules_version)
                    VALUES (%s, %s, 'failed', %s, %s)
                    ON CONFLICT (project, filename) DO UPDATE SET
                        reason = excluded.reason, attempts = corpus.files.attempts + 1, updated_at = now()
                    """,
                    (f.project, f.filename, outcome.reason, rules_version),
                )
                continue
            position += 1
            conn.execute(
                """
                INSERT INTO corpus.files
                    (project, filename, shard, position, status, reason, commit_id, members, rules_version)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (project, filename) DO UPDATE SET
                    shard = excluded.shard, position = excluded.position, status = excluded.status,
                    reason = excluded.reason, commit_id = excluded.commit_id, members = excluded.members,
                    rules_version = excluded.rules_version, attempts = corpus.files.attempts + 1,
                    updated_at = now()
                """,
                (
                    f.project, f.filename, shard.number, position, outcome.status, outcome.reason,
                    outcome.commit_id, outcome.members, rules_version,
                ),
            )  # fmt: skip
        files = shard.files + len(placed)
        conn.execute(
            """
            UPDATE corpus.shards SET files = %s, head = %s, updated_at = now(),
                closed_at = CASE WHEN %s >= capacity THEN now() END
            WHERE number = %s
            """,
            (files, head, files, shard.number),
        )
    return get_shard(conn, shard.number)


def file_failures(conn: psycopg.Connection) -> dict[str, str]:
    """Files whose last attempt failed, by file name, with the reason."""
    rows = conn.execute("SELECT filename, reason FROM corpus.files WHERE status = 'failed'").fetchall()
    return dict(rows)
