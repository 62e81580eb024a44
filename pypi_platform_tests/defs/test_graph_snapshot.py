"""The whole asset graph against a checked-in snapshot, so any change to it shows up in review.

After an intended change, rewrite the snapshot and commit it with the change:

    PYPI_PLATFORM_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest pypi_platform_tests/defs/test_graph_snapshot.py
"""

import json
import os
from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).with_name("graph_snapshot.json")


def _partitioning(partitions: dg.PartitionsDefinition | None) -> str | None:
    if partitions is None:
        return None
    if isinstance(partitions, dg.MultiPartitionsDefinition):
        return (
            "multi("
            + ", ".join(
                f"{dimension.name}: {_partitioning(dimension.partitions_def)}"
                for dimension in partitions.partitions_defs
            )
            + ")"
        )
    if isinstance(partitions, dg.TimeWindowPartitionsDefinition):
        return f"time({partitions.cron_schedule}, {partitions.timezone}, end_offset={partitions.end_offset})"
    if isinstance(partitions, dg.DynamicPartitionsDefinition):
        return f"dynamic({partitions.name})"
    if isinstance(partitions, dg.StaticPartitionsDefinition):
        keys = partitions.get_partition_keys()
        return f"static({len(keys)}: {keys[0]}..{keys[-1]})"
    return type(partitions).__name__


def _freshness(policy) -> str | None:
    """The policy as written: its class and fields (time windows, or a cron deadline)."""
    return None if policy is None else repr(policy)


def _io_manager(node, key: dg.AssetKey) -> str | None:
    """The IO manager that stores the asset's product; None for an asset whose products are side outputs it
    writes itself (it returns a MaterializeResult, so Dagster's default manager is never called) or that is
    observed, not materialized."""
    if not node.is_materializable:
        return None
    manager = node.assets_def.get_io_manager_key_for_asset_key(key)
    return None if manager == "io_manager" else manager


def graph_snapshot(definitions: dg.Definitions) -> dict:
    graph = definitions.resolve_asset_graph()
    repository = definitions.get_repository_def()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "partitions": _partitioning(node.partitions_def),
            "freshness": _freshness(node.freshness_policy),
            "automation": node.automation_condition.get_label() or type(node.automation_condition).__name__
            if node.automation_condition
            else None,
            "pools": sorted(node.pools or []),
            "materializable": node.is_materializable,
            "checks": sorted(check.name for check in node.check_keys),
            "io_manager": _io_manager(node, key),
        }
    return {
        "assets": assets,
        "jobs": {
            job.name: {"tags": dict(sorted(job.tags.items()))}
            for job in sorted(repository.get_all_jobs(), key=lambda j: j.name)
            if not job.name.startswith("__")
        },
        "schedules": {
            schedule.name: {
                "job": schedule.job_name,
                "cron": schedule.cron_schedule,
                "timezone": schedule.execution_timezone,
                "default_status": schedule.default_status.value,
            }
            for schedule in sorted(repository.schedule_defs, key=lambda s: s.name)
        },
        "sensors": {
            sensor.name: {
                "jobs": sorted(target.job_name for target in sensor.targets),
                "default_status": sensor.default_status.value,
            }
            for sensor in sorted(repository.sensor_defs, key=lambda s: s.name)
        },
    }


def test_the_graph_matches_its_snapshot(definitions):
    current = graph_snapshot(definitions)
    if os.environ.get("PYPI_PLATFORM_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    recorded = json.loads(SNAPSHOT.read_text())
    assert current == recorded, (
        "the asset graph changed: if that was intended, rewrite the snapshot (see this module's docstring) "
        "and commit it with the change"
    )


def test_every_asset_declares_freshness_an_owner_and_a_kind(definitions):
    for name, asset in graph_snapshot(definitions)["assets"].items():
        assert asset["freshness"], f"{name} has no freshness policy"
        assert asset["owners"], f"{name} has no owner"
        assert asset["kinds"], f"{name} has no kind"
