"""The production dagster.yaml, loaded as written, keeps runs and events in the test PostgreSQL server."""

import shutil
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

ROOT = Path(__file__).resolve().parent.parent


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
        limits = {
            (limit["key"], limit["limit"]) for limit in concurrency.run_queue_config.tag_concurrency_limits
        }
        assert {
            ("dagster/backfill", 3),
            ("pypi_platform/upstream", 1),
            ("pypi_platform/bigquery", 1),
        } <= limits
        # Every pool the code names (upstream_http, bigquery, scanner, corpus_writer) runs one op at a time.
        assert concurrency.pool_config.default_pool_limit == 1
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


def test_every_run_tag_limit_names_a_tag_some_job_carries() -> None:
    import yaml

    from pypi_platform.definitions import defs

    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    keys = {limit["key"] for limit in config["concurrency"]["runs"]["tag_concurrency_limits"]}
    repository = defs().get_repository_def()
    carried = {key for job in repository.get_all_jobs() for key in job.tags}
    ours = {key for key in keys if not key.startswith("dagster/")}
    assert ours, "the project limits some runs by its own tags"
    assert ours <= carried, f"limits on tags no job carries: {sorted(ours - carried)}"
