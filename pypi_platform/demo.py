"""``make demo``: run the mirror job on the embedded defaults and say how to install from the result."""

from __future__ import annotations

import sys

import dagster as dg

from pypi_platform.definitions import defs as load_definitions
from pypi_platform.lib.config import load_settings
from pypi_platform.lib.index.pages import WEB
from pypi_platform.lib.storage import open_store


def main() -> int:
    settings = load_settings()
    definitions = load_definitions()
    job = definitions.resolve_job_def("mirror_sync_job")
    # The persistent instance under DAGSTER_HOME, so `make ui` shows this run afterwards.
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    if not result.success:
        print("The mirror job failed; `make ui` shows the run and its logs.", file=sys.stderr)
        return 1
    metadata = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata = {key: value.value for key, value in materialization.metadata.items()}
    store = open_store(settings.storage_url, endpoint_url=settings.s3_endpoint_url)
    simple = store.uri(f"{WEB}/simple") + "/"
    print()
    print(
        f"Mirrored {metadata.get('projects_checked')} projects from {settings.upstream_url}: "
        f"{metadata.get('projects_changed')} changed, {metadata.get('projects_failed')} failed, "
        f"{metadata.get('files_fetched')} files fetched."
    )
    print(f"The mirror is at {store.uri(WEB)}/")
    if store.local_path(WEB) is not None:
        print("Install from it with:")
        print(f"  pip install --index-url {simple} python-dateutil")
    else:
        print(f"Serve {simple} over HTTP (any static server) and point pip's --index-url at it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
