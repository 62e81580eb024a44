"""daily_downloads and recent_downloads in Dagster, against real PostgreSQL and Parquet sources."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import psycopg
import pytest

from pypi_platform.defs.downloads.assets import build_daily_downloads, daily_partitions, recent_downloads
from pypi_platform.defs.downloads.io_manager import DownloadsTablesIOManager
from pypi_platform.defs.downloads.schedules import daily_downloads_schedule, downloads_today_schedule
from pypi_platform.defs.io_managers import PolarsPostgresIOManager
from pypi_platform.defs.resources import DownloadLogsResource, PostgresResource
from pypi_platform.lib.downloads.schema import FILE_DOWNLOADS
from pypi_platform.lib.downloads.tables import read_dimension

DAYS = [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)]
DAILY = build_daily_downloads(daily_partitions(date(2024, 1, 1)))


def _row(moment: datetime, project: str, installer: str | None, python: str | None = "3.12.1") -> dict:
    return {
        "timestamp": moment,
        "country_code": "DE",
        "url": f"/packages/aa/bb/{'c' * 60}/{project}-1.0.tar.gz",
        "project": project,
        "file": {"filename": f"{project}-1.0.tar.gz", "project": project, "version": "1.0", "type": "sdist"},
        "details": {
            "installer": {"name": installer, "version": "1"} if installer else None,
            "python": python,
            "implementation": {"name": "CPython", "version": python},
            "system": {"name": "Linux", "release": "6"},
            "cpu": "x86_64",
            "ci": None,
        },
        "tls_protocol": "TLSv1.3",
        "tls_cipher": "TLS_AES_128_GCM_SHA256",
    }


def write_logs(directory: Path, day: date, six_downloads: int) -> None:
    """One arrival day: six by pip, one bandersnatch download, and a late row for the day before."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    rows = [_row(noon, "six", "pip") for _ in range(six_downloads)]
    rows += [_row(noon, "six", "bandersnatch"), _row(noon - timedelta(days=1), "idna", "pip")]
    pl.DataFrame(rows, schema=FILE_DOWNLOADS).write_parquet(
        directory / f"file_downloads-{day.isoformat()}.parquet"
    )


@pytest.fixture
def logs_dir(tmp_path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    for number, day in enumerate([*DAYS, DAYS[-1] + timedelta(days=1)], start=1):
        write_logs(directory, day, six_downloads=30 + number)
    return directory


def _resources(database: str, source: str, tmp_path: Path, retention_days: int = 180) -> dict:
    postgres = PostgresResource(dsn=database)
    return {
        "download_logs": DownloadLogsResource(
            source=source, sample_dir=str(tmp_path / "sample"), retention_days=retention_days
        ),
        "postgres": postgres,
        "downloads_io_manager": DownloadsTablesIOManager(postgres=postgres),
        "postgres_io_manager": PolarsPostgresIOManager(postgres=postgres),
    }


def _materialize_range(resources: dict, first: date, last: date, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [DAILY],
        resources=resources,
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        **kwargs,
    )


def test_a_three_day_backfill_runs_as_one_run_and_loads_each_day(database, logs_dir, tmp_path):
    result = _materialize_range(_resources(database, str(logs_dir), tmp_path), DAYS[0], DAYS[-1])

    assert result.success
    partitions = sorted(m.partition for m in result.asset_materializations_for_node("daily_downloads"))
    assert partitions == [day.isoformat() for day in DAYS]
    assert all(evaluation.passed for evaluation in result.get_asset_check_evaluations())
    with psycopg.connect(database) as conn:
        overall = read_dimension(conn, "overall", DAYS[0], DAYS[-1])
    six = {
        (row["date"], row["category"]): row["downloads"] for row in overall.filter(package="six").to_dicts()
    }
    # Day N has 30+N pip downloads plus one bandersnatch download; the mirror counts only with mirrors.
    assert six[(DAYS[1], "with_mirrors")] == 33 and six[(DAYS[1], "without_mirrors")] == 32
    # The late idna row of each day arrived in the next day's file and still counts on its own day.
    idna_days = overall.filter(package="idna", category="with_mirrors")["date"].to_list()
    assert idna_days == DAYS


def test_rerunning_a_day_gives_identical_tables(database, logs_dir, tmp_path):
    resources = _resources(database, str(logs_dir), tmp_path)
    _materialize_range(resources, DAYS[0], DAYS[-1])
    with psycopg.connect(database) as conn:
        before = {
            d: read_dimension(conn, d, DAYS[0], DAYS[-1]) for d in ("overall", "installer", "python_minor")
        }

    dg.materialize([DAILY], resources=resources, partition_key=DAYS[1].isoformat())
    _materialize_range(resources, DAYS[0], DAYS[-1])

    with psycopg.connect(database) as conn:
        for dimension, frame in before.items():
            assert read_dimension(conn, dimension, DAYS[0], DAYS[-1]).equals(frame)


def test_a_source_file_with_a_missing_column_fails_only_its_day(database, logs_dir, tmp_path):
    resources = _resources(database, str(logs_dir), tmp_path)
    _materialize_range(resources, DAYS[0], DAYS[-1])
    broken = logs_dir / f"file_downloads-{DAYS[2].isoformat()}.parquet"
    pl.read_parquet(broken).drop("country_code").write_parquet(broken)

    result = _materialize_range(resources, DAYS[0], DAYS[-1], raise_on_error=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "country_code" in str(failure.event_specific_data.error.to_string())
    # Day 2 reads day 3's file for its late rows, so it fails too; day 1 loads; days 2 and 3 keep their data.
    partitions = sorted(m.partition for m in result.asset_materializations_for_node("daily_downloads"))
    assert partitions == [DAYS[0].isoformat()]
    with psycopg.connect(database) as conn:
        assert read_dimension(conn, "overall", DAYS[2], DAYS[2]).height > 0


def test_recent_sums_the_loaded_days_and_retention_drops_old_ones(database, logs_dir, tmp_path):
    resources = _resources(database, str(logs_dir), tmp_path, retention_days=1)
    _materialize_range(resources, DAYS[0], DAYS[-1])

    result = dg.materialize([recent_downloads], resources=resources)

    assert result.success
    metadata = result.asset_materializations_for_node("recent_downloads")[0].metadata
    assert metadata["days_dropped_by_retention"].value == 1
    with psycopg.connect(database) as conn:
        recent = dict(
            ((package, category), count)
            for package, category, count in conn.execute(
                "SELECT package, category, downloads FROM downloads.recent"
            )
        )
        remaining = conn.execute(
            "SELECT array_agg(date ORDER BY date) FROM downloads.loaded_days"
        ).fetchone()[0]
    assert recent[("six", "day")] == 33
    assert recent[("six", "week")] == 32 + 33  # day 1 was dropped by retention before the window was summed
    assert remaining == DAYS[1:]


def test_the_generated_sample_is_the_default_source(database, tmp_path):
    resources = _resources(database, None, tmp_path)
    result = dg.materialize([DAILY], resources=resources, partition_key="2024-03-01")

    assert result.success
    assert (tmp_path / "sample" / "file_downloads-2024-03-02.parquet").exists(), (
        "the next day holds late rows"
    )
    with psycopg.connect(database) as conn:
        total = conn.execute(
            "SELECT downloads FROM downloads.overall WHERE package = '__all__' AND category = 'with_mirrors'"
        ).fetchone()[0]
    assert total > 10_000


def test_schedule_loads_yesterday_and_reloads_the_two_days_before():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2024, 3, 10, 1, tzinfo=UTC))
    request = daily_downloads_schedule(context)
    assert request.tags["dagster/asset_partition_range_start"] == "2024-03-07"
    assert request.tags["dagster/asset_partition_range_end"] == "2024-03-09"
    assert request.run_key == "daily-downloads-2024-03-09"


def test_today_schedule_loads_the_current_day_so_far_once_an_hour():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2024, 3, 10, 14, 15, tzinfo=UTC))
    request = downloads_today_schedule(context)
    assert request.partition_key == "2024-03-10"
    assert request.run_key == "downloads-today-2024-03-10T14"
    assert "2024-03-10" in DAILY.partitions_def.get_partition_keys(
        current_time=datetime(2024, 3, 10, 14, 15, tzinfo=UTC)
    ), "today's partition exists, so it can be loaded before the day ends"


def test_recent_leaves_out_today_so_far(database, tmp_path):
    resources = _resources(database, None, tmp_path)
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    assert dg.materialize([DAILY], resources=resources, partition_key=yesterday.isoformat()).success
    assert dg.materialize([DAILY], resources=resources, partition_key=today.isoformat()).success

    result = dg.materialize([recent_downloads], resources=resources)

    metadata = result.asset_materializations_for_node("recent_downloads")[0].metadata
    assert metadata["as_of"].value == yesterday.isoformat(), "the last day is the last complete day"


def test_days_returned_without_their_load_info_are_refused_and_nothing_is_written(database, tmp_path):
    @dg.asset(
        name="daily_downloads",
        partitions_def=daily_partitions(date(2024, 1, 1)),
        io_manager_key="downloads_io_manager",
    )
    def bare() -> pl.DataFrame:
        return pl.DataFrame(
            {"date": [DAYS[0]], "dimension": ["overall"], "package": ["six"], "category": ["with_mirrors"]}
        ).with_columns(downloads=pl.lit(1, pl.Int64))

    resources = _resources(database, "unused", tmp_path)
    result = dg.materialize(
        [bare], resources=resources, partition_key=DAYS[0].isoformat(), raise_on_error=False
    )

    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert "needs its load_info" in str(failure.step_failure_data.error.cause)
    with psycopg.connect(database) as conn:
        assert read_dimension(conn, "overall", DAYS[0], DAYS[0]).is_empty()


def test_a_loaded_day_reads_back_through_the_io_manager_as_it_was_aggregated(database, logs_dir, tmp_path):
    resources = _resources(database, str(logs_dir), tmp_path)
    _materialize_range(resources, DAYS[0], DAYS[-1])

    @dg.asset(partitions_def=daily_partitions(date(2024, 1, 1)), ins={"daily_downloads": dg.AssetIn()})
    def reader(daily_downloads: pl.DataFrame) -> pl.DataFrame:
        return daily_downloads

    upstream = dg.AssetSpec("daily_downloads", partitions_def=daily_partitions(date(2024, 1, 1)))
    result = dg.materialize(
        [upstream.with_io_manager_key("downloads_io_manager"), reader],
        resources={**resources, "io_manager": dg.mem_io_manager},
        partition_key=DAYS[1].isoformat(),
    )

    day = result.output_for_node("reader")
    assert day["date"].unique().to_list() == [DAYS[1]]
    assert set(day["dimension"].unique()) >= {"overall", "installer", "country"}
    with psycopg.connect(database) as conn:
        overall = read_dimension(conn, "overall", DAYS[1], DAYS[1])
    assert (
        day.filter(dimension="overall")
        .drop("dimension")
        .sort("package", "category")
        .equals(overall.sort("package", "category"))
    )
