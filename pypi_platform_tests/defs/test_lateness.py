"""Lateness at a glance: freshness checks built from the assets' own policies, and the "is anything late?" answer."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from pypi_platform import late as late_cli
from pypi_platform.defs.ops.lateness import (
    FRESHNESS_SENSOR,
    WHAT_TO_DO,
    freshness_definitions,
    freshness_windows,
    late_assets,
)

HOURLY = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2))
DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01")


@dg.asset(freshness_policy=HOURLY)
def hourly() -> None:
    return None


@dg.asset(
    partitions_def=DAYS, freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26))
)
def daily() -> None:
    return None


@dg.asset
def without_policy() -> None:
    return None


def _definitions() -> dg.Definitions:
    loaded = dg.Definitions(assets=[hourly, daily, without_policy])
    return dg.Definitions.merge(loaded, freshness_definitions(loaded))


def test_a_freshness_check_fails_on_an_asset_never_updated_and_passes_on_one_just_updated():
    loaded = dg.Definitions(assets=[hourly, daily, without_policy])
    lateness = freshness_definitions(loaded)
    checks = list(lateness.asset_checks)
    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize([daily], instance=instance, partition_key="2026-03-01").success

    result = dg.materialize(
        [hourly, daily, without_policy, *checks],
        instance=instance,
        selection=dg.AssetSelection.checks(*checks),
        raise_on_error=False,
    )

    outcome = {e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()}
    assert outcome == {"daily": True, "hourly": False}
    assert [sensor.name for sensor in lateness.sensors] == [FRESHNESS_SENSOR]
    assert set(freshness_windows(loaded)) == {dg.AssetKey("hourly"), dg.AssetKey("daily")}


def test_late_assets_lists_the_late_first_with_how_late_by_their_own_window():
    definitions = _definitions()
    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([hourly], instance=instance)
    now = datetime.now(UTC)

    assert [row.asset for row in late_assets(definitions, instance, now) if row.late_at(now)] == ["daily"]
    three_hours_on = now + timedelta(hours=3)
    rows = late_assets(definitions, instance, three_hours_on)
    assert [row.asset for row in rows] == ["daily", "hourly"]  # never materialized first
    assert rows[1].describe(three_hours_on).startswith("late by 1.0 h: last updated 3.0 h ago")


def test_every_asset_of_the_platform_has_a_window_and_something_to_do_when_late(definitions):
    assets = {key.to_user_string() for key in freshness_windows(definitions)}
    graph = definitions.resolve_asset_graph()
    assert assets == {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert assets == set(WHAT_TO_DO)


def test_the_late_command_names_each_late_asset_with_what_to_do_and_exits_1(tmp_path, monkeypatch, capsys):
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path / "home"))

    with pytest.raises(SystemExit) as exit_:
        raise SystemExit(late_cli.main())

    out = capsys.readouterr().out
    assert exit_.value.code == 1
    assert "LATE  mirror" in out and "never materialized" in out
    assert WHAT_TO_DO["daily_downloads"].split(":")[0] in out
    assert out.rstrip().endswith("assets late")
