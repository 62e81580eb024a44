"""The code location: every definition under defs/, loaded by folder, then the policies that span domains."""

from pathlib import Path

import dagster as dg

from pypi_platform.defs.ops.lateness import freshness_definitions


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    # A freshness check per asset, from the policy each declares: lateness shows in the catalog and lineage view.
    return dg.Definitions.merge(loaded, freshness_definitions(loaded))
