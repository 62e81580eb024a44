"""Quality rules of the mirror, read from its state in PostgreSQL."""

import dagster as dg

from pypi_platform.defs.resources import PostgresResource


@dg.asset_check(
    asset="mirror", blocking=True, description="Every file a published page links is a verified blob."
)
def mirror_pages_link_present_files(postgres: PostgresResource) -> dg.AssetCheckResult:
    with postgres.connect() as conn:
        missing = conn.execute(
            """
            SELECT f.project, f.filename FROM mirror.files f
            LEFT JOIN mirror.blobs b ON b.object_key = f.object_key
            WHERE f.removed_at IS NULL AND (b.object_key IS NULL OR b.sha256 <> f.sha256)
            ORDER BY 1, 2 LIMIT 20
            """
        ).fetchall()
    return dg.AssetCheckResult(
        passed=not missing,
        metadata={
            "missing": dg.MetadataValue.json([f"{project}/{filename}" for project, filename in missing])
        },
    )


@dg.asset_check(asset="mirror", description="No project is stuck failing; failed ones are retried every run.")
def mirror_projects_not_failing(postgres: PostgresResource) -> dg.AssetCheckResult:
    with postgres.connect() as conn:
        failed = conn.execute(
            "SELECT name, failures, error FROM mirror.projects WHERE status = 'failed' ORDER BY failures DESC"
        ).fetchall()
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
