"""The production dagster.yaml, loaded as written, keeps runs and events in the test PostgreSQL server; its
limits key on the pools of the assets, which every run carries; the demo instance has the same settings."""

import shutil
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml
from dagster._core.instance.config import PoolGranularity
from dagster._core.op_concurrency_limits_counter import GlobalOpConcurrencyLimitsCounter
from psycopg.conninfo import conninfo_to_dict

from pypi_platform.definitions import defs
from pypi_platform.demo import demo_instance_yaml

ROOT = Path(__file__).resolve().parent.parent
# The assets that call a costly or rate-limited service, or must not run twice at once, and their pools.
POOLS = {
    "mirror": "upstream_http",
    "daily_downloads": "bigquery",
    "global_scan": "scanner",
    "corpus_shard": "corpus_writer",
}


@dg.asset
def tiny() -> int:
    return 1


def _point_dagster_at(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set the DAGSTER_PG_* variables dagster.yaml reads so they name the server and database of ``dsn``."""
    info = conninfo_to_dict(dsn)
    host = str(info.get("host") or "")
    if host.startswith("/"):
        # A unix-socket server (the embedded one): a URL host cannot carry a path, so leave it empty and let
        # libpq take the socket directory from PGHOST.
        monkeypatch.setenv("DAGSTER_PG_HOST", "")
        monkeypatch.setenv("PGHOST", host)
    else:
        monkeypatch.setenv("DAGSTER_PG_HOST", host or "localhost")
    monkeypatch.setenv("DAGSTER_PG_USERNAME", str(info.get("user") or "postgres"))
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", str(info.get("password") or ""))
    monkeypatch.setenv("DAGSTER_PG_DB", str(info["dbname"]))
    monkeypatch.setenv("DAGSTER_PG_PORT", str(info.get("port") or 5432))


def test_runs_are_recorded_in_postgres(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_dagster_at(database, monkeypatch)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    with dg.DagsterInstance.from_config(str(home)) as instance:
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 8
        limits = [
            (limit["key"], limit["limit"]) for limit in concurrency.run_queue_config.tag_concurrency_limits
        ]
        assert limits == [("dagster/backfill", 3)]
        # Every pool the code names (upstream_http, bigquery, scanner, corpus_writer) admits one run at a time.
        assert concurrency.pool_config.default_pool_limit == 1
        assert concurrency.pool_config.pool_granularity == PoolGranularity.RUN
        assert not instance.telemetry_enabled and not instance.nux_enabled
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1

        result = dg.materialize([tiny], instance=instance)
        assert result.success
        assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS

    # Read back with a plain connection: the run and its events are rows in this database, not in a file.
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT status FROM runs WHERE run_id = %s", (result.run_id,)).fetchone() == (
            "SUCCESS",
        )
        events = conn.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s", (result.run_id,)
        ).fetchone()[0]
        assert events > 0
        materialized = conn.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
            (result.run_id, "ASSET_MATERIALIZATION"),
        ).fetchone()
        assert materialized == (1,)
    assert list(home.rglob("*.db")) == []  # no storage fell back to SQLite under DAGSTER_HOME


def test_the_limits_key_on_what_every_run_carries() -> None:
    """Runs launched from the UI are __ASSET_JOB runs without job tags: the limits key on Dagster's own tags
    (a backfill's) and on the pools of the assets, never on tags that only the project's jobs carry."""
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    keys = [limit["key"] for limit in config["concurrency"]["runs"]["tag_concurrency_limits"]]
    assert keys and all(key.startswith("dagster/") for key in keys)
    assert config["concurrency"]["pools"] == {"default_limit": 1, "granularity": "run"}

    repository = defs().get_repository_def()
    pools = {
        node.key.to_user_string(): node.pools
        for node in repository.asset_graph.asset_nodes
        if node.is_executable and node.pools
    }
    assert pools == {asset: {pool} for asset, pool in POOLS.items()}


def test_a_run_launched_from_the_ui_waits_for_its_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two materializations of the mirror from the UI: the second waits in the queue while the first runs. The
    queue's decision is the counter the run queue daemon asks, over runs of the implicit asset job as the UI
    creates them, on the demo instance (the production settings on SQLite)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(demo_instance_yaml((ROOT / "dagster.yaml").read_text()))
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path / "platform"))
    job = defs().get_repository_def().get_implicit_global_asset_job_def()

    with dg.DagsterInstance.from_config(str(home)) as instance:

        def ui_run(asset: str, status: dg.DagsterRunStatus) -> dg.DagsterRun:
            selection = frozenset({dg.AssetKey(asset)})
            return instance.create_run_for_job(job_def=job, asset_selection=selection, status=status)

        running = ui_run("mirror", dg.DagsterRunStatus.STARTED)
        assert running.job_name == "__ASSET_JOB" and not running.tags
        second_sync, package_list = (
            ui_run(a, dg.DagsterRunStatus.NOT_STARTED) for a in ("mirror", "package_list")
        )

        def blocked() -> list[bool]:
            in_progress = instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
            counter = GlobalOpConcurrencyLimitsCounter(
                instance,
                [second_sync, package_list],
                in_progress,
                concurrency_keys=instance.event_log_storage.get_concurrency_keys(),
                pool_limits=instance.event_log_storage.get_pool_limits(),
                pool_granularity=instance.get_concurrency_config().pool_config.pool_granularity,
            )
            return [counter.is_blocked(second_sync), counter.is_blocked(package_list)]

        blocked()  # the daemon's first pass creates the pool at its default limit, as on a new instance
        assert blocked() == [True, False]
        instance.report_run_canceled(running)
        assert blocked() == [False, False]


def test_the_demo_instance_has_the_production_settings_on_sqlite(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_dagster_at(database, monkeypatch)
    production_home, demo_home = tmp_path / "production", tmp_path / "demo"
    production_home.mkdir()
    demo_home.mkdir()
    text = (ROOT / "dagster.yaml").read_text()
    (production_home / "dagster.yaml").write_text(text)
    (demo_home / "dagster.yaml").write_text(demo_instance_yaml(text))

    # What differs is the storage, and only the storage.
    production_config, demo_config = yaml.safe_load(text), yaml.safe_load(demo_instance_yaml(text))
    assert {key: value for key, value in production_config.items() if key != "storage"} == demo_config
    with (
        dg.DagsterInstance.from_config(str(production_home)) as production,
        dg.DagsterInstance.from_config(str(demo_home)) as demo,
    ):
        assert demo.get_concurrency_config() == production.get_concurrency_config()
        assert (
            demo.run_coordinator.get_run_queue_config() == production.run_coordinator.get_run_queue_config()
        )
        assert (demo.run_retries_enabled, demo.run_retries_max_retries) == (True, 1)
        assert (production.run_retries_enabled, production.run_retries_max_retries) == (True, 1)
        assert demo.run_monitoring_enabled and production.run_monitoring_enabled
        assert not demo.telemetry_enabled and not demo.nux_enabled
        assert type(production.run_storage).__name__ == "PostgresRunStorage"
        assert type(demo.run_storage).__name__ == "SqliteRunStorage"
