"""The mirror in Dagster: the graph loads, the asset materializes against real components, checks hold."""

import dagster as dg
import pytest

from pypi_platform.definitions import defs as load_definitions
from pypi_platform.defs.mirror.assets import mirror, upstream_index
from pypi_platform.defs.mirror.checks import mirror_pages_link_present_files, mirror_projects_not_failing
from pypi_platform.defs.mirror.schedules import mirror_sync_schedule
from pypi_platform.defs.resources import MirrorResource, ObjectStoreResource, PostgresResource
from pypi_platform.lib.config import ConfigError


def test_definitions_load_and_the_mirror_graph_is_what_we_expect(definitions):
    dg.Definitions.validate_loadable(definitions)
    graph = definitions.resolve_asset_graph()
    snapshot = {
        key.to_user_string(): (
            graph.get(key).group_name,
            sorted(graph.get(key).kinds),
            sorted(p.to_user_string() for p in graph.get(key).parent_keys),
            sorted(graph.get(key).owners),
        )
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name == "mirror"
    }
    assert snapshot == {
        "upstream_index": ("mirror", ["http"], [], ["team:mirror"]),
        "mirror": ("mirror", ["postgres", "python", "s3"], ["upstream_index"], ["team:mirror"]),
    }
    assert definitions.resolve_job_def("mirror_sync_job") is not None


def test_invalid_project_name_in_the_allowlist_fails_at_load(monkeypatch, tmp_path):
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path))
    monkeypatch.setenv("PYPI_PLATFORM_MIRROR_PROJECTS", "six,not/a/name")
    with pytest.raises(Exception) as raised:
        load_definitions()
    causes = []
    error: BaseException | None = raised.value
    while error is not None:
        causes.append(error)
        error = error.__cause__
    config_errors = [cause for cause in causes if isinstance(cause, ConfigError)]
    assert config_errors and "PYPI_PLATFORM_MIRROR_PROJECTS" in str(config_errors[0])
    assert "not/a/name" in str(config_errors[0])


def test_schedule_requests_the_sync_every_hour():
    assert mirror_sync_schedule.cron_schedule == "0 * * * *"
    context = dg.build_schedule_context(scheduled_execution_time=None)
    result = mirror_sync_schedule.evaluate_tick(context)
    assert [request.job_name or mirror_sync_schedule.job_name for request in result.run_requests] == [
        "mirror_sync_job"
    ]


def test_mirror_materializes_on_s3_and_postgres_and_its_checks_pass(
    fake_index, s3_store, s3_endpoint, database, tmp_path
):
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("beta", "2.0", requires=["alpha"])
    fake_index.faults.corrupt("beta", fake_index.files("beta")[0].filename)
    resources = {
        "mirror_upstream": MirrorResource(upstream_url=fake_index.url, work_dir=str(tmp_path), workers=4),
        "object_store": ObjectStoreResource(url=s3_store.url, endpoint_url=s3_endpoint),
        "postgres": PostgresResource(dsn=database),
    }

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [upstream_index, mirror, mirror_pages_link_present_files, mirror_projects_not_failing],
        resources=resources,
        selection=[mirror.key],
        instance=instance,
    )

    assert result.success
    messages = [record.user_message for record in instance.all_logs(result.run_id)]
    assert any("checked 2/2 projects" in message for message in messages), "progress shows in the run's log"
    by_asset = {m.asset_key: m for m in result.asset_materializations_for_node("mirror")}
    seen = by_asset[upstream_index.key].metadata
    assert seen["url"].value == fake_index.url, "each run records the upstream it read, for its freshness"
    assert seen["projects_checked"].value == 2
    metadata = by_asset[mirror.key].metadata
    assert metadata["projects_checked"].value == 2
    assert metadata["projects_changed"].value == 1
    assert metadata["projects_failed"].value == 1
    assert "beta" in metadata["failures"].value
    assert s3_store.exists("mirror/web/simple/alpha/index.v1_json")
    checks = {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}
    assert checks["pages_link_present_files"].passed
    assert not checks["projects_not_failing"].passed  # beta is failing, and the warning says so
