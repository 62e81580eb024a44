"""Quality rules of the mirror, read from its state in PostgreSQL."""

import dagster as dg

from pypi_platform.defs.resources import PostgresResource
from pypi_platform.lib.mirror.reads import failing_projects, live_files_without_blob


@dg.asset_check(
    name="pages_link_present_files",
    asset="mirror",
    blocking=True,
    description="Every file a published page links is a verified blob.",
)
def mirror_pages_link_present_files(postgres: PostgresResource) -> dg.AssetCheckResult:
    with postgres.connect() as conn:
        missing = live_files_without_blob(conn)
    return dg.AssetCheckResult(
        passed=not missing,
        metadata={
            "missing": dg.MetadataValue.json([f"{project}/{filename}" for project, filename in missing])
        },
    )


@dg.asset_check(
    name="projects_not_failing",
    asset="mirror",
    description="No project is stuck failing; failed ones are retried every run.",
)
def mirror_projects_not_failing(postgres: PostgresResource) -> dg.AssetCheckResult:
    with postgres.connect() as conn:
        failed = failing_projects(conn)
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "failed_projects": len(failed),
            "worst": dg.MetadataValue.json(
                [{"project": n, "attempts": a, "error": e} for n, a, e in failed[:20]]
            ),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[mirror_pages_link_present_files, mirror_projects_not_failing])
