"""The mirror: an hourly sync of the upstream index into the object store, its state in PostgreSQL."""

from datetime import timedelta

import dagster as dg

from pypi_platform.defs.metadata import byte_count, duration
from pypi_platform.defs.resources import MirrorResource, ObjectStoreResource, PostgresResource
from pypi_platform.lib.mirror.pages import WEB

upstream_index = dg.AssetSpec(
    "upstream_index",
    group_name="mirror",
    kinds={"http"},
    owners=["team:mirror"],
    description=(
        "The PEP 503/691 index the mirror follows (PYPI_PLATFORM_UPSTREAM_URL). Each mirror run records a "
        "materialization of it: the index as that run read it, so its freshness says when the upstream was last seen."
    ),
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2)),
)


@dg.asset(
    group_name="mirror",
    kinds={"python", "postgres", "s3"},
    owners=["team:mirror"],
    deps=[upstream_index],
    pool="upstream_http",
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2)),
)
def mirror(
    context: dg.AssetExecutionContext,
    mirror_upstream: MirrorResource,
    object_store: ObjectStoreResource,
    postgres: PostgresResource,
) -> dg.MaterializeResult:
    """Release files and simple pages of every mirrored project, verified, in the layout pip understands."""
    store = object_store.get_store()
    report = mirror_upstream.sync(store, postgres.get_dsn(), logger=context.log)
    context.log_event(
        dg.AssetMaterialization(
            asset_key=upstream_index.key,
            description="The upstream index as this mirror run read it.",
            metadata={
                "url": dg.MetadataValue.url(mirror_upstream.upstream_url),
                "projects_checked": report.projects_checked,
                "projects_failed": report.projects_failed,
            },
        )
    )
    for name, reason in sorted(report.failures.items()):
        context.log.warning(f"{name} failed and will be retried next run: {reason}")
    for warning in report.warnings[:50]:
        context.log.warning(warning)
    context.log.info(
        f"checked {report.projects_checked} projects: {report.projects_changed} changed, "
        f"{report.projects_failed} failed, {report.projects_removed} removed; "
        f"{report.files_fetched} files ({report.bytes_fetched / 1e6:.1f} MB) in {report.duration_seconds:.1f} s"
    )
    return dg.MaterializeResult(
        metadata={
            "projects_checked": report.projects_checked,
            "projects_changed": report.projects_changed,
            "projects_failed": report.projects_failed,
            "projects_removed": report.projects_removed,
            "projects_deferred": report.projects_deferred,
            "files_fetched": report.files_fetched,
            **byte_count("bytes_fetched", report.bytes_fetched),
            "blobs_deleted": report.blobs_deleted,
            **duration("duration_seconds", report.duration_seconds),
            "simple_index": dg.MetadataValue.url(store.uri(f"{WEB}/simple") + "/"),
            "failures": dg.MetadataValue.md(_failure_table(report.failures)),
        }
    )


def _failure_table(failures: dict[str, str]) -> str:
    if not failures:
        return "No project failed."
    rows = [f"| {name} | {reason.replace('|', '/')} |" for name, reason in sorted(failures.items())[:100]]
    return "\n".join(["| project | reason |", "| --- | --- |", *rows])


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[upstream_index, mirror])
