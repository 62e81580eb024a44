"""Lateness at a glance: every asset's freshness policy becomes a freshness check that fails where an operator
looks first (the catalog, the lineage view, the asset's page), evaluated by a sensor that runs by default; and
``late_assets`` answers "is anything late?" in one call, for ``python -m pypi_platform.late``.

The windows are the ones each asset declares in its ``freshness_policy``; nothing here restates them. What to do
about each late asset is in ``WHAT_TO_DO``, which README's "Is anything late?" table follows.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

FRESHNESS_SENSOR = "freshness_checks_sensor"
# For each asset, the first thing to look at when it is late.
WHAT_TO_DO = {
    "upstream_index": "mirror_sync_schedule is off or failing: turn it on, or read the last mirror_sync_job run",
    "mirror": "mirror_sync_schedule is off or failing: turn it on, or read the last mirror_sync_job run",
    "package_list": "datasets_hourly_schedule is off or its run failed (a blocking check may have stopped it)",
    "dependency_list": "datasets_hourly_schedule is off or its run failed (a blocking check may have stopped it)",
    "reverse_dependencies": "datasets_hourly_schedule is off or its run failed",
    "dataset_checksums": "datasets_hourly_schedule is off, or a dataset before it failed its blocking check",
    "dataset_bundle": "datasets_hourly_schedule is off, or dataset_checksums failed match_store",
    "download_stats_30d": "download_stats_schedule is off or failed; it needs recent_downloads first",
    "daily_downloads": "daily_downloads_schedule is off or yesterday's day failed: see ops.run_failures and "
    "backfill the failed day",
    "recent_downloads": "automation_sensor is off, or no day was loaded since: look at daily_downloads first",
    "global_scan": "global_scan_schedule is off or some bucket runs failed: run `python -m pypi_platform.scans "
    "run --date <Monday>` for the week",
    "scan_dataset": "a bucket of the week has not finished: global_scan's latest materialization says how many",
    "corpus_shard": "corpus_sensor is off, or nothing new was mirrored (then it is not really late)",
    "corpus_index": "it follows corpus_shard in the same run: look at corpus_shard",
    "corpus_stats": "automation_sensor is off (it runs on Monday's cron), or its last run failed",
}


@dataclass(frozen=True)
class Lateness:
    """One asset's freshness now: when it last changed, the window it must change within, and whether it is late."""

    asset: str
    last_update: datetime | None
    fail_window: timedelta

    def late_at(self, now: datetime) -> bool:
        return self.last_update is None or now - self.last_update > self.fail_window

    def describe(self, now: datetime) -> str:
        if self.last_update is None:
            return "never materialized"
        age = now - self.last_update
        state = f"late by {_hours(age - self.fail_window)}" if self.late_at(now) else "fresh"
        return f"{state}: last updated {_hours(age)} ago, must be within {_hours(self.fail_window)}"


def freshness_windows(definitions: dg.Definitions) -> dict[dg.AssetKey, timedelta]:
    """Each asset's fail window, from the freshness policy it declares."""
    graph = definitions.resolve_asset_graph()
    windows = {}
    for key in graph.get_all_asset_keys():
        policy = graph.get(key).freshness_policy
        window = getattr(policy, "fail_window", None)  # time-window policies; the only kind declared here
        if window is not None:
            windows[key] = window.to_timedelta()
    return windows


def freshness_definitions(definitions: dg.Definitions) -> dg.Definitions:
    """A freshness check per asset (an error once its fail window has passed without an update) and the sensor
    that evaluates them, running by default."""
    checks: list[dg.AssetChecksDefinition] = []
    by_window: dict[timedelta, list[dg.AssetKey]] = {}
    for key, window in freshness_windows(definitions).items():
        by_window.setdefault(window, []).append(key)
    for window, keys in sorted(by_window.items()):
        checks.extend(
            dg.build_last_update_freshness_checks(
                assets=sorted(keys, key=lambda k: k.to_user_string()),
                lower_bound_delta=window,
                severity=dg.AssetCheckSeverity.ERROR,
            )
        )
    sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=checks,
        name=FRESHNESS_SENSOR,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    return dg.Definitions(asset_checks=checks, sensors=[sensor])


def late_assets(
    definitions: dg.Definitions, instance: dg.DagsterInstance, now: datetime | None = None
) -> list[Lateness]:
    """Every asset with a freshness policy, late ones first (the longest late first), then the fresh ones."""
    now = now or datetime.now(UTC)
    rows = [
        Lateness(key.to_user_string(), _last_update(instance, key), window)
        for key, window in freshness_windows(definitions).items()
    ]
    return sorted(rows, key=lambda row: (not row.late_at(now), -_age(row, now), row.asset))


def _last_update(instance: dg.DagsterInstance, key: dg.AssetKey) -> datetime | None:
    """The newest materialization (of any partition) or observation of the asset."""
    stamps = []
    materialization = instance.get_latest_materialization_event(key)
    if materialization is not None:
        stamps.append(materialization.timestamp)
    records = instance.fetch_observations(key, limit=1).records
    if records:
        stamps.append(records[0].timestamp)
    return datetime.fromtimestamp(max(stamps), UTC) if stamps else None


def _age(row: Lateness, now: datetime) -> float:
    return (
        float("inf") if row.last_update is None else (now - row.last_update - row.fail_window).total_seconds()
    )


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


def late_table(rows: Sequence[Lateness], now: datetime) -> str:
    """The answer as text: one line per asset, late ones first, each with what to do."""
    lines = []
    for row in rows:
        line = f"{'LATE ' if row.late_at(now) else 'ok   '} {row.asset:22} {row.describe(now)}"
        if row.late_at(now):
            line += f"\n      what to do: {WHAT_TO_DO.get(row.asset, 'see README, Is anything late?')}"
        lines.append(line)
    return "\n".join(lines)
