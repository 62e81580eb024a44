"""The two IO managers, through real materializations against PostgreSQL and S3 (moto on 127.0.0.1)."""

# No ``from __future__ import annotations``: Dagster reads the asset signatures' types at definition time.
from datetime import timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import psycopg
import pytest

from pypi_platform.defs import io_managers, resources
from pypi_platform.defs.io_managers import PolarsParquetIOManager, PolarsPostgresIOManager
from pypi_platform.defs.resources import ObjectStoreResource, PostgresResource
from pypi_platform.lib import frames
from pypi_platform.lib.storage import ObjectStore

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")
SYSTEMS = dg.StaticPartitionsDefinition(["linux", "macos", "windows"])
WEEKS_BY_BUCKET = dg.MultiPartitionsDefinition(
    {
        "week": dg.WeeklyPartitionsDefinition(start_date="2024-01-01"),
        "bucket": dg.StaticPartitionsDefinition(["a", "b"]),
    }
)


class Version(dg.Config):
    version: int = 1


def _daily_rows(window: dg.TimeWindow, version: int) -> pl.DataFrame:
    days = [(window.start + timedelta(days=n)).date() for n in range((window.end - window.start).days)]
    return pl.DataFrame({"date": days, "package": ["demo"] * len(days), "downloads": [version] * len(days)})


def _daily_assets(io_manager_key: str) -> list[dg.AssetsDefinition]:
    """A daily asset that writes one row per day of its partitions, and two readers of it."""

    @dg.asset(
        partitions_def=DAYS,
        io_manager_key=io_manager_key,
        metadata={"partition_expr": "date", "table": "downloads.test_daily"},
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def daily(context: dg.AssetExecutionContext, config: Version) -> pl.DataFrame:
        return _daily_rows(context.partition_time_window, config.version)

    @dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
    def daily_reader(daily: pl.DataFrame) -> dg.MaterializeResult:
        return _loaded(daily)

    @dg.asset
    def everything_reader(daily: pl.DataFrame) -> dg.MaterializeResult:
        return _loaded(daily)

    return [daily, daily_reader, everything_reader]


def _loaded(frame: pl.DataFrame) -> dg.MaterializeResult:
    rows = sorted(f"{day}={downloads}" for day, downloads in frame.select("date", "downloads").iter_rows())
    return dg.MaterializeResult(metadata={"loaded": ",".join(rows)})


def _loaded_by(result: dg.ExecuteInProcessResult, node: str) -> list[str]:
    return result.asset_materializations_for_node(node)[0].metadata["loaded"].value.split(",")


@pytest.fixture
def io_resources(database: str, s3_store: ObjectStore, s3_endpoint: str) -> dict[str, object]:
    return {
        "postgres_io_manager": PolarsPostgresIOManager(postgres=PostgresResource(dsn=database)),
        "parquet_io_manager": PolarsParquetIOManager(
            object_store=ObjectStoreResource(url=s3_store.url, endpoint_url=s3_endpoint)
        ),
    }


def _materialize(assets, io_resources, *, selection=None, partition=None, version=1, tags=None):
    writes = selection is None or "daily" in selection
    run_config = {"ops": {"daily": {"config": {"version": version}}}} if writes else None
    return dg.materialize(
        assets,
        selection=selection,
        partition_key=partition,
        resources=io_resources,
        run_config=run_config,
        tags=tags,
    )


def _range(start: str, end: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


@pytest.mark.parametrize("io_manager_key", ["postgres_io_manager", "parquet_io_manager"])
def test_rematerializing_a_partition_replaces_only_it(io_manager_key: str, io_resources) -> None:
    assets = _daily_assets(io_manager_key)
    for day in ("2024-01-01", "2024-01-02", "2024-01-03"):
        _materialize(assets, io_resources, selection=["daily"], partition=day)

    result = _materialize(
        assets, io_resources, selection=["daily", "daily_reader"], partition="2024-01-02", version=5
    )

    assert _loaded_by(result, "daily_reader") == ["2024-01-02=5"]
    assert result.asset_materializations_for_node("daily")[0].metadata["dagster/row_count"].value == 1
    check = _materialize(
        assets, io_resources, selection=["daily_reader"], tags=_range("2024-01-01", "2024-01-03")
    )
    assert _loaded_by(check, "daily_reader") == ["2024-01-01=1", "2024-01-02=5", "2024-01-03=1"]


@pytest.mark.parametrize("io_manager_key", ["postgres_io_manager", "parquet_io_manager"])
def test_a_single_run_backfill_replaces_exactly_its_range(io_manager_key: str, io_resources) -> None:
    assets = _daily_assets(io_manager_key)
    _materialize(assets, io_resources, selection=["daily"], tags=_range("2024-01-01", "2024-01-05"))

    result = _materialize(
        assets,
        io_resources,
        selection=["daily", "daily_reader"],
        version=7,
        tags=_range("2024-01-02", "2024-01-04"),
    )

    assert _loaded_by(result, "daily_reader") == ["2024-01-02=7", "2024-01-03=7", "2024-01-04=7"]
    check = _materialize(
        assets, io_resources, selection=["daily_reader"], tags=_range("2024-01-01", "2024-01-05")
    )
    assert _loaded_by(check, "daily_reader") == [
        "2024-01-01=1",
        "2024-01-02=7",
        "2024-01-03=7",
        "2024-01-04=7",
        "2024-01-05=1",
    ]


def test_postgres_rows_land_in_the_named_table(io_resources, database: str) -> None:
    assets = _daily_assets("postgres_io_manager")
    result = _materialize(assets, io_resources, selection=["daily"], tags=_range("2024-01-01", "2024-01-03"))

    metadata = result.asset_materializations_for_node("daily")[0].metadata
    assert metadata["dagster/table_name"].value == "downloads.test_daily"
    assert metadata["dagster/partition_row_count"].value == 3
    assert [column.name for column in metadata["dagster/column_schema"].value.columns] == [
        "date",
        "package",
        "downloads",
    ]
    with psycopg.connect(database) as conn:
        assert frames.read_rows(conn, "downloads.test_daily").height == 3
    # An unpartitioned reader gets every stored partition.
    everything = _materialize(assets, io_resources, selection=["everything_reader"])
    assert _loaded_by(everything, "everything_reader") == ["2024-01-01=1", "2024-01-02=1", "2024-01-03=1"]


def test_parquet_files_are_one_per_partition(io_resources, s3_store: ObjectStore) -> None:
    assets = _daily_assets("parquet_io_manager")
    _materialize(assets, io_resources, selection=["daily"], tags=_range("2024-01-01", "2024-01-03"))

    assert sorted(s3_store.list_keys("assets/")) == [
        f"assets/daily/2024-01-0{day}.parquet" for day in (1, 2, 3)
    ]
    missing = dg.materialize(
        assets,
        selection=["daily_reader"],
        partition_key="2024-01-04",
        resources=io_resources,
        raise_on_error=False,
    )
    assert "partition 2024-01-04 of daily has not been stored" in _failure(missing)


def test_static_partitions_and_table_named_after_the_key(io_resources, database: str) -> None:
    @dg.asset(
        key_prefix=["downloads"],
        partitions_def=SYSTEMS,
        io_manager_key="postgres_io_manager",
        metadata={"partition_expr": "system"},
    )
    def by_system(context: dg.AssetExecutionContext, config: Version) -> pl.DataFrame:
        return pl.DataFrame({"system": [context.partition_key], "downloads": [config.version]})

    for system, version in (("linux", 1), ("macos", 2), ("linux", 3)):
        dg.materialize(
            [by_system],
            partition_key=system,
            resources=io_resources,
            run_config={"ops": {"downloads__by_system": {"config": {"version": version}}}},
        )

    with psycopg.connect(database) as conn:
        rows = frames.read_rows(conn, "downloads.by_system").sort("system")
    assert rows.rows() == [("linux", 3), ("macos", 2)]


def test_multi_partitions_nest_by_dimension_name(io_resources, s3_store: ObjectStore) -> None:
    @dg.asset(partitions_def=WEEKS_BY_BUCKET, io_manager_key="parquet_io_manager")
    def scan(context: dg.AssetExecutionContext) -> pl.DataFrame:
        keys = context.partition_key.keys_by_dimension
        return pl.DataFrame({"bucket": [keys["bucket"]], "week": [keys["week"]]})

    @dg.asset(partitions_def=WEEKS_BY_BUCKET)
    def scan_reader(scan: pl.DataFrame) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"rows": scan.rows()})

    key = dg.MultiPartitionKey({"week": "2024-01-07", "bucket": "b"})
    result = dg.materialize([scan, scan_reader], partition_key=key, resources=io_resources)

    assert list(s3_store.list_keys("assets/")) == ["assets/scan/b/2024-01-07.parquet"]
    assert result.asset_materializations_for_node("scan_reader")[0].metadata["rows"].value == [
        ["b", "2024-01-07"]
    ]


def test_rows_outside_the_partition_fail_the_run(io_resources) -> None:
    @dg.asset(partitions_def=DAYS, io_manager_key="postgres_io_manager", metadata={"partition_expr": "date"})
    def stray(context: dg.AssetExecutionContext) -> pl.DataFrame:
        return _daily_rows(DAYS.time_window_for_partition_key("2024-01-05"), 1)

    result = dg.materialize([stray], partition_key="2024-01-02", resources=io_resources, raise_on_error=False)

    assert not result.success
    assert "1 of 1 rows lie outside the partitions being written (2024-01-02)" in _failure(result)


def test_a_partitioned_table_needs_its_partition_column(io_resources) -> None:
    @dg.asset(partitions_def=DAYS, io_manager_key="postgres_io_manager")
    def unlabelled(context: dg.AssetExecutionContext) -> pl.DataFrame:
        return _daily_rows(context.partition_time_window, 1)

    result = dg.materialize(
        [unlabelled], partition_key="2024-01-02", resources=io_resources, raise_on_error=False
    )

    assert "needs the name of its partition column" in _failure(result)


def test_none_is_not_stored_and_unpartitioned_frames_are_data_parquet(
    io_resources, s3_store: ObjectStore
) -> None:
    @dg.asset(io_manager_key="parquet_io_manager")
    def nothing() -> None:
        return None

    @dg.asset(io_manager_key="parquet_io_manager")
    def snapshot() -> pl.DataFrame:
        return pl.DataFrame({"x": [1, 2]})

    dg.materialize([nothing, snapshot], resources=io_resources)

    assert list(s3_store.list_keys("assets/")) == ["assets/snapshot/data.parquet"]


def test_io_managers_merge_with_the_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path))
    merged = dg.Definitions.merge(resources.defs(), io_managers.defs())
    dg.Definitions.validate_loadable(merged)

    assert {"object_store", "postgres", "parquet_io_manager", "postgres_io_manager"} <= set(merged.resources)


def _failure(result: dg.ExecuteInProcessResult) -> str:
    failures = [event for event in result.all_events if event.is_step_failure]
    return "\n".join(str(event.step_failure_data.error) for event in failures)


def _by_system(metadata: dict) -> dg.AssetsDefinition:
    @dg.asset(partitions_def=SYSTEMS, io_manager_key="parquet_io_manager", metadata=metadata)
    def by_system(context: dg.AssetExecutionContext) -> pl.DataFrame:
        return pl.DataFrame({"system": [context.partition_key] * 500, "n": list(range(500))})

    return by_system


def test_object_key_metadata_places_each_partition_and_the_level_is_the_assets(
    io_resources, s3_store: ObjectStore
) -> None:
    by_system = _by_system({"object_key": "exports/{partition}/table.parquet", "compression_level": 19})

    @dg.asset
    def system_reader(by_system: pl.DataFrame) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"systems": sorted(set(by_system["system"]))})

    for system in ("linux", "windows"):
        result = dg.materialize([by_system], partition_key=system, resources=io_resources)
        uri = result.asset_materializations_for_node("by_system")[0].metadata["uri"].value
        assert uri == s3_store.uri(f"exports/{system}/table.parquet")

    assert sorted(s3_store.list_keys("")) == ["exports/linux/table.parquet", "exports/windows/table.parquet"]
    stored = s3_store.get_bytes("exports/linux/table.parquet")
    frame = pl.read_parquet(stored)
    assert stored == frames.parquet_bytes(
        frame, compression_level=19
    )  # the asset's level, not zstd's default
    assert stored != frames.parquet_bytes(frame)
    loaded = dg.Definitions(assets=[by_system], resources=io_resources).load_asset_value(
        "by_system", partition_key="windows"
    )
    assert loaded["system"].unique().to_list() == ["windows"]
    # Without the metadata the layout is the usual one.
    dg.materialize([_by_system({})], partition_key="macos", resources=io_resources)
    assert s3_store.exists("assets/by_system/macos.parquet")


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (
            {"object_key": "exports/table.parquet"},
            "must contain {partition}, or every partition would overwrite",
        ),
        ({"object_key": "exports/{shard}/table.parquet"}, "may name only {partition}, not {shard}"),
        ({"object_key": "exports/{partition/table.parquet"}, "is not a template"),
        ({"object_key": ""}, "object_key metadata must be a non-empty string"),
        ({"compression_level": 30}, "compression_level metadata must be a zstd level from 1 to 22, got 30"),
        (
            {"compression_level": True},
            "compression_level metadata must be a zstd level from 1 to 22, got True",
        ),
    ],
)
def test_bad_object_key_or_level_metadata_fails_with_its_reason(io_resources, s3_store, metadata, message):
    result = dg.materialize(
        [_by_system(metadata)], partition_key="linux", resources=io_resources, raise_on_error=False
    )

    assert message in _failure(result)
    assert list(s3_store.list_keys("")) == []


def test_an_unpartitioned_object_key_is_used_as_it_is_and_a_partitioned_one_needs_a_partition(
    io_resources, s3_store: ObjectStore
) -> None:
    @dg.asset(io_manager_key="parquet_io_manager", metadata={"object_key": "exports/snapshot.parquet"})
    def snapshot() -> pl.DataFrame:
        return pl.DataFrame({"x": [1, 2]})

    dg.materialize([snapshot], resources=io_resources)
    assert list(s3_store.list_keys("")) == ["exports/snapshot.parquet"]

    by_system = _by_system({"object_key": "exports/{partition}/table.parquet"})
    with pytest.raises(ValueError, match=r"needs a partition, but none was given"):
        dg.Definitions(assets=[by_system], resources=io_resources).load_asset_value("by_system")


def _system_reader(metadata: dict) -> dg.AssetsDefinition:
    @dg.asset(ins={"by_system": dg.AssetIn(metadata=metadata)})
    def system_reader(by_system: pl.DataFrame) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"systems": sorted(set(by_system["system"]))})

    return system_reader


def test_allow_missing_partitions_leaves_out_what_was_never_stored(io_resources) -> None:
    by_system = _by_system({})
    for system in ("linux", "windows"):
        dg.materialize([by_system], partition_key=system, resources=io_resources)

    instance = dg.DagsterInstance.ephemeral()
    allowed = dg.materialize(
        [by_system, _system_reader({"allow_missing_partitions": True})],
        selection=["system_reader"],
        resources=io_resources,
        instance=instance,
    )
    assert allowed.asset_materializations_for_node("system_reader")[0].metadata["systems"].value == [
        "linux",
        "windows",
    ]
    messages = [record.user_message for record in instance.all_logs(allowed.run_id)]
    assert "left out 1 partitions of by_system with nothing stored: macos" in messages

    strict = dg.materialize(
        [by_system, _system_reader({})],
        selection=["system_reader"],
        resources=io_resources,
        raise_on_error=False,
    )
    assert "partition macos of by_system has not been stored" in _failure(strict)

    wrong = dg.materialize(
        [by_system, _system_reader({"allow_missing_partitions": "yes"})],
        selection=["system_reader"],
        resources=io_resources,
        raise_on_error=False,
    )
    assert "allow_missing_partitions metadata must be True or False, got 'yes'" in _failure(wrong)
