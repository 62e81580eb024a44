"""Operations records: failed runs kept in PostgreSQL (schema ``ops``), where an operator can query them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

# A failure message is kept whole up to this size: enough for a stack trace's last frames, not a log dump.
MAX_MESSAGE = 8000


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job_name: str
    partition_key: str | None
    failed_at: datetime
    failed_steps: tuple[str, ...]
    message: str


def record_run_failure(conn: psycopg.Connection, failure: RunFailure) -> bool:
    """Record `failure` once; whether it was new (a sensor may see the same run again after a restart)."""
    message = (
        failure.message if len(failure.message) <= MAX_MESSAGE else failure.message[:MAX_MESSAGE] + " [...]"
    )
    inserted = conn.execute(
        """
        INSERT INTO ops.run_failures (run_id, job_name, partition_key, failed_at, failed_steps, message)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (run_id) DO NOTHING
        """,
        (
            failure.run_id,
            failure.job_name,
            failure.partition_key,
            failure.failed_at,
            list(failure.failed_steps),
            message,
        ),
    ).rowcount
    return inserted == 1


def recent_failures(conn: psycopg.Connection, limit: int = 50) -> Sequence[RunFailure]:
    """The newest recorded failures first."""
    rows = conn.execute(
        """
        SELECT run_id, job_name, partition_key, failed_at, failed_steps, message
        FROM ops.run_failures ORDER BY failed_at DESC, run_id LIMIT %s
        """,
        (limit,),
    ).fetchall()
    return [
        RunFailure(run_id, job, partition, failed_at, tuple(steps), message)
        for run_id, job, partition, failed_at, steps, message in rows
    ]
