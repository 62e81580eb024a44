"""PostgreSQL going away in the middle of a daily_downloads backfill: the run ends saying so, and which days it
wrote before, on a dedicated embedded server that the test stops while the third day is being written."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import psycopg
import pytest

from pypi_platform.defs.downloads.assets import build_daily_downloads, daily_partitions
from pypi_platform.defs.downloads.io_manager import DownloadsTablesIOManager
from pypi_platform.defs.io_managers import PolarsPostgresIOManager
from pypi_platform.defs.resources import DownloadLogsResource, PostgresResource
from pypi_platform.lib import postgres
from pypi_platform.lib.downloads.sample import write_sample

DAYS = [date(2024, 3, 1) + timedelta(days=n) for n in range(5)]
BLOCKED = DAYS[2]  # the day being written when the server stops
DAILY = build_daily_downloads(daily_partitions(date(2024, 1, 1)))


@pytest.fixture
def server() -> Iterator[Path]:
    """The data directory of an embedded server of this test's own, which the test may stop and start again."""
    root = Path(tempfile.mkdtemp(prefix="pgf"))  # short: the unix socket path must fit in about 100 bytes
    try:
        postgres.apply_migrations(postgres.start_embedded_server(root / "data", cleanup=True))
        yield root / "data"
    finally:
        postgres.release_embedded_server(root / "data")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    write_sample(
        tmp_path / "logs", DAYS[0], DAYS[-1] + timedelta(days=1), projects=["six", "idna"], rows_per_day=500
    )
    return tmp_path / "logs"


def _resources(dsn: str, logs: Path, tmp_path: Path) -> dict:
    database = PostgresResource(dsn=dsn)
    return {
        "download_logs": DownloadLogsResource(source=str(logs), sample_dir=str(tmp_path / "sample")),
        "postgres": database,
        "downloads_io_manager": DownloadsTablesIOManager(postgres=database),
        "postgres_io_manager": PolarsPostgresIOManager(postgres=database),
    }


def _backfill(resources: dict) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [DAILY],
        resources=resources,
        tags={
            "dagster/asset_partition_range_start": DAYS[0].isoformat(),
            "dagster/asset_partition_range_end": DAYS[-1].isoformat(),
        },
        raise_on_error=False,
    )


def _loaded_at(dsn: str) -> dict[date, datetime]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("SELECT date, loaded_at FROM downloads.loaded_days").fetchall())


def _stop_while_blocked_day_is_written(pgdata: Path, dsn: str) -> threading.Thread:
    """Hold BLOCKED's row of loaded_days, so its load waits on it; once it waits, stop the server."""
    held = threading.Event()

    def run() -> None:
        holder = psycopg.connect(dsn)
        holder.execute("SELECT 1 FROM downloads.loaded_days WHERE date = %s FOR UPDATE", (BLOCKED,))
        held.set()
        with psycopg.connect(dsn, autocommit=True) as watcher:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE '%%downloads.loaded_days%%'"
                ).fetchone()[0]
                if waiting:
                    break
                time.sleep(0.05)
        # Stops the server (its last holder in this process): every connection, this one too, is cut.
        postgres.release_embedded_server(pgdata)
        holder.close()  # cut by the server's stop: nothing to commit or roll back

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert held.wait(30)
    return thread


def _step_failure(result: dg.ExecuteInProcessResult) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    data = failure.event_specific_data
    description = data.user_failure_data.description if data.user_failure_data else ""
    return f"{description}\n{data.error.to_string()}"


def _written_again(before: dict[date, datetime], after: dict[date, datetime]) -> list[date]:
    return sorted(day for day in after if after[day] > before[day])


def test_postgres_stopped_mid_backfill_ends_saying_it_went_away_and_which_days_were_written(
    server: Path, logs_dir: Path, tmp_path: Path
) -> None:
    dsn = postgres.start_embedded_server(server, cleanup=True)
    resources = _resources(dsn, logs_dir, tmp_path)
    assert _backfill(resources).success
    before = _loaded_at(dsn)

    stopper = _stop_while_blocked_day_is_written(server, dsn)
    result = _backfill(resources)
    stopper.join(60)

    assert not result.success
    message = _step_failure(result)
    assert "PostgreSQL went away while daily_downloads was writing 5 days" in message
    assert f"days written before it did (complete): {DAYS[0]}, {DAYS[1]}" in message
    assert f"{BLOCKED} was being written" in message
    assert f"not written (they keep their previous data): {DAYS[3]}, {DAYS[4]}" in message
    assert "the connection is closed" not in message.splitlines()[0]

    # Started again, the server holds exactly what the message says: two days rewritten, the rest as before.
    dsn = postgres.start_embedded_server(server, cleanup=True)
    assert _written_again(before, _loaded_at(dsn)) == DAYS[:2]


def test_postgres_stopped_in_a_backfill_with_a_failed_day_ends_with_both_summaries(
    server: Path, logs_dir: Path, tmp_path: Path
) -> None:
    dsn = postgres.start_embedded_server(server, cleanup=True)
    resources = _resources(dsn, logs_dir, tmp_path)
    assert _backfill(resources).success
    before = _loaded_at(dsn)
    # The file holding the last day's late rows loses a column: the last day fails, alone among the five.
    late = logs_dir / f"file_downloads-{DAYS[-1] + timedelta(days=1)}.parquet"
    pl.read_parquet(late).drop("country_code").write_parquet(late)

    stopper = _stop_while_blocked_day_is_written(server, dsn)
    result = _backfill(resources)
    stopper.join(60)

    assert not result.success
    message = _step_failure(result)
    assert f"days written before it did (complete): {DAYS[0]}, {DAYS[1]}" in message
    assert f"not written (they keep their previous data): {DAYS[3]}" in message
    assert f"1 of 5 days failed and keep their previous data: {DAYS[-1]}" in message
    # The days written before the server stopped are reported as materialized, and only they.
    materialized = sorted(m.partition for m in result.asset_materializations_for_node("daily_downloads"))
    assert materialized == [DAYS[0].isoformat(), DAYS[1].isoformat()]

    dsn = postgres.start_embedded_server(server, cleanup=True)
    assert _written_again(before, _loaded_at(dsn)) == DAYS[:2]
