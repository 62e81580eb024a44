"""Checks that read the published datasets back from the object store, through the dataset IO manager."""

import dagster as dg
import polars as pl

from pypi_platform.defs.datasets.assets import reverse_dependencies
from pypi_platform.lib.datasets import build


@dg.asset_check(
    name="match_dependency_list",
    asset=reverse_dependencies,
    blocking=True,
    additional_ins={"dependency_list": dg.AssetIn("dependency_list")},
)
def reverse_dependencies_match_dependency_list(
    reverse_dependencies: pl.DataFrame, dependency_list: pl.DataFrame
) -> dg.AssetCheckResult:
    """Every edge of dependency_list appears reversed in reverse_dependencies, and nothing else does."""
    reverse = reverse_dependencies
    edges = build.dependency_edges(dependency_list).select("project", "name")
    reversed_edges = (
        reverse.explode("dependents").drop_nulls("dependents").select(project="dependents", name="name")
    )
    missing = edges.join(reversed_edges, on=["project", "name"], how="anti")
    extra = reversed_edges.join(edges, on=["project", "name"], how="anti")
    duplicated = reversed_edges.height - reversed_edges.unique().height
    passed = missing.is_empty() and extra.is_empty() and duplicated == 0
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "edges": edges.height,
            "missing_in_reverse": missing.height,
            "only_in_reverse": extra.height,
            "duplicated_in_reverse": duplicated,
            "examples": dg.MetadataValue.json(
                [list(r) for r in pl.concat([missing, extra]).head(10).iter_rows()]
            ),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[reverse_dependencies_match_dependency_list])
