"""Appending the mirror's new distribution files to the open shard, a bounded batch at a time.

One batch: move the shard's branch back to the head the database recorded (a crash may have left commits that
were never recorded), take the oldest files the corpus has not handled, read each from the store (verified
against its sha256), commit its members, pack, write the batch's index fragment, and record the files and the
new head in one transaction. Redoing a batch gives the same commits and the same fragment, so a crash anywhere
in between loses nothing and duplicates nothing. A file that cannot be fetched is recorded as failed, holds no
place in the shard, and is planned again next time; an archive that cannot be read is skipped with its reason.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import psycopg

from pypi_platform.lib.corpus import index as index_
from pypi_platform.lib.corpus.members import RULES_VERSION, MemberRow, read_distribution
from pypi_platform.lib.corpus.shard import DistributionCommit, ShardFile, ShardWriter
from pypi_platform.lib.corpus.state import (
    FileOutcome,
    PendingFile,
    Shard,
    pending_files,
    record_batch,
    shard_path,
)
from pypi_platform.lib.release_cache import FetchError, ReleaseFileCache
from pypi_platform.lib.storage import ObjectStore


@dataclass
class BatchReport:
    shard: Shard
    committed: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # file name -> archive-level reason
    failed: dict[str, str] = field(default_factory=dict)  # file name -> why it could not be fetched
    members: int = 0
    members_committed: int = 0
    bytes_committed: int = 0
    skip_reasons: Counter = field(default_factory=Counter)  # member skip reason -> members
    fragment: str | None = None


def append_batch(
    conn: psycopg.Connection,
    store: ObjectStore,
    files: ReleaseFileCache,
    shards_dir: Path,
    shard: Shard,
    limit: int,
    log: Callable[[str], None] = lambda message: None,
) -> BatchReport:
    """Append up to `limit` pending files to `shard` (never more than its room) and record them."""
    report = BatchReport(shard)
    if shard.room == 0:
        return report
    writer = ShardWriter(shard_path(shards_dir, shard.number))
    if writer.head != shard.head:
        log(f"{shard.name}: branch at {writer.head}, database at {shard.head}: moving the branch back")
        writer.reset_to(shard.head)
    outcomes: list[FileOutcome] = []
    rows: list[dict] = []
    for pending in pending_files(conn, min(limit, shard.room)):
        try:
            data = _fetch(files, pending)
        except (FetchError, OSError) as error:
            outcomes.append(FileOutcome(pending, "failed", f"{type(error).__name__}: {error}"[:500]))
            report.failed[pending.filename] = outcomes[-1].reason
            continue
        distribution = read_distribution(pending.filename, data)
        if distribution.failure:
            reason = distribution.failure + (f": {distribution.detail}" if distribution.detail else "")
            outcomes.append(FileOutcome(pending, "skipped", reason))
            report.skipped[pending.filename] = reason
            rows.append(_failure_row(pending, distribution.failure, len(data), shard.number))
            continue
        kept = [ShardFile(row.path, row.data) for row in distribution.rows if not row.skip_reason]
        commit = writer.append(
            DistributionCommit(
                pending.display_name, pending.version, pending.filename, pending.upload_time, kept
            )
        )
        outcomes.append(FileOutcome(pending, "committed", commit_id=commit, members=len(distribution.rows)))
        rows.extend(_member_row(pending, row, shard.number) for row in distribution.rows)
        report.committed += 1
        report.members += len(distribution.rows)
        report.members_committed += len(kept)
        report.bytes_committed += sum(len(item.data) for item in kept)
        report.skip_reasons.update(row.skip_reason for row in distribution.rows if row.skip_reason)
    head = writer.flush()
    placed = sum(1 for outcome in outcomes if outcome.status != "failed")
    if placed:
        # Content first, the record pointing at it last: the fragment exists before the database counts it.
        report.fragment = index_.fragment_key(shard.name, shard.files + 1, shard.files + placed)
        store.put_bytes(report.fragment, index_.write_parquet(index_.frame(rows)))
    report.shard = record_batch(conn, shard, outcomes, head, RULES_VERSION)
    return report


def _fetch(files: ReleaseFileCache, pending: PendingFile) -> bytes:
    data = files.path_for(pending.object_key, pending.sha256, pending.size).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != pending.sha256:  # a local store is read in place, without the cache's check
        raise FetchError(
            f"{pending.object_key}: sha256 {digest} does not match the mirror's {pending.sha256}"
        )
    return data


def _base_row(pending: PendingFile, shard_number: int) -> dict:
    return {
        "project_name": pending.display_name,
        "project_version": pending.version,
        "project_release": pending.filename,
        "uploaded_on": pending.upload_time.astimezone(UTC).replace(tzinfo=None),
        "repository": shard_number,
        "release_sha256": pending.sha256,
        "packagetype": pending.packagetype,
        "rules_version": RULES_VERSION,
    }


def _member_row(pending: PendingFile, row: MemberRow, shard_number: int) -> dict:
    return {
        **_base_row(pending, shard_number),
        "path": _printable(index_.tree_path(pending.display_name, pending.filename, row.path)),
        "archive_path": _printable(row.archive_path),
        "size": row.size,
        "hash": row.oid,
        "skip_reason": row.skip_reason,
        "lines": row.lines,
    }


def _printable(name: str) -> str:
    """A name that was not valid UTF-8 keeps its bytes as escapes: Parquet strings must be valid UTF-8."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _failure_row(pending: PendingFile, reason: str, size: int, shard_number: int) -> dict:
    return {
        **_base_row(pending, shard_number),
        "path": f"packages/{pending.display_name}/{pending.filename}",  # the directory it would have had
        "archive_path": "",
        "size": size,
        "hash": b"",
        "skip_reason": reason,
        "lines": 0,
    }
