"""The published datasets as an IO manager: a dataset asset's frame becomes the Parquet twin of a new version.

A dataset asset stages its Aura-format file (a side output, not a table) in a version it names, and returns its
frame with ``publication_metadata(...)``. This IO manager writes the frame as ``<dataset>.parquet`` into that
version, commits the manifest naming both files, moves ``latest.json`` unless the asset held the version back,
and prunes old versions. Loading (a downstream input, a check, ``Definitions.load_asset_value``) reads the frame
of the version ``latest.json`` names, checked against its manifest.
"""

# No ``from __future__ import annotations`` here: Dagster must see dg.ResourceDependency[...] as a real type.
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import polars as pl

from pypi_platform.defs.metadata import plain
from pypi_platform.defs.resources import ObjectStoreResource, build_resources
from pypi_platform.lib.config import current_settings
from pypi_platform.lib.frames import parquet_bytes
from pypi_platform.lib.publish import (
    DatasetFile,
    commit_version,
    new_version,
    prune_versions,
    read_frame,
    read_latest,
    stage_files,
)
from pypi_platform.lib.storage import ObjectStore

KEEP_VERSIONS = 48  # two days of hourly versions stay readable for consumers holding an older manifest
# What the asset hands over with its frame (Output metadata, also shown in the UI).
VERSION, STAGED, MANIFEST_METADATA, HELD_BACK = "version", "staged_files", "manifest_metadata", "held_back"


def publication_metadata(
    context: dg.AssetExecutionContext,
    store: ObjectStore,
    side_files: list[DatasetFile],
    manifest_metadata: Mapping[str, Any] | None = None,
    *,
    held_back: bool = False,
) -> dict[str, Any]:
    """Stage the asset's side files in a new version of its dataset; the Output metadata that hands the version
    over to ``PublishedDatasetIOManager``. ``held_back`` publishes the version without moving ``latest.json``."""
    dataset = context.asset_key.path[-1]
    version = new_version(datetime.now(UTC), context.run.run_id)
    staged = stage_files(store, dataset, version, side_files)
    return {
        VERSION: version,
        STAGED: dg.MetadataValue.json(staged),
        MANIFEST_METADATA: dg.MetadataValue.json(dict(manifest_metadata or {})),
        HELD_BACK: held_back,
    }


class PublishedDatasetIOManager(dg.ConfigurableIOManager):
    """Frames as the Parquet twin of a versioned dataset under ``datasets/<name>/``; inputs read ``latest.json``."""

    object_store: dg.ResourceDependency[ObjectStoreResource]
    keep_versions: int = KEEP_VERSIONS

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(
                f"asset {context.asset_key.to_user_string()} returned {type(obj).__name__}; "
                "a published dataset is a polars DataFrame"
            )
        dataset = _dataset(context)
        handed = {name: plain(value) for name, value in context.output_metadata.items()}
        if VERSION not in handed:
            raise ValueError(
                f"asset {dataset} returned its frame without a version to publish it in; "
                "return dg.Output(frame, metadata=publication_metadata(...))"
            )
        store = self.object_store.get_store()
        version = handed[VERSION]
        twin = stage_files(
            store, dataset, version, [DatasetFile(f"{dataset}.parquet", parquet_bytes(obj), obj.height)]
        )
        manifest = commit_version(
            store,
            dataset,
            version,
            {**handed.get(STAGED, {}), **twin},
            handed.get(MANIFEST_METADATA, {}),
            point_latest=not handed.get(HELD_BACK, False),
        )
        pruned = prune_versions(store, dataset, self.keep_versions)
        if pruned:
            context.log.info(f"{dataset}: removed {len(pruned)} old versions")
        columns = [dg.TableColumn(name, str(dtype)) for name, dtype in obj.schema.items()]
        context.add_output_metadata(
            {
                "files": dg.MetadataValue.json(manifest["files"]),
                "dagster/row_count": obj.height,
                "dagster/column_schema": dg.TableSchema(columns=columns),
                "uri": dg.MetadataValue.path(store.uri(twin[f"{dataset}.parquet"]["key"])),
            }
        )

    def load_input(self, context: dg.InputContext) -> pl.DataFrame | None:
        dataset = _dataset(context)
        store = self.object_store.get_store()
        manifest = read_latest(store, dataset)
        if manifest is None:
            if (context.definition_metadata or {}).get("allow_missing"):
                return None  # the reader does without it (a first deployment)
            raise dg.Failure(f"{dataset} has not been published yet; materialize it first")
        return read_frame(store, manifest, f"{dataset}.parquet")


def _dataset(context: dg.InputContext | dg.OutputContext) -> str:
    return context.asset_key.path[-1]


@dg.definitions
def defs() -> dg.Definitions:
    # The same object-store resource object as resources.py, passed as a nested dependency (see io_managers.py).
    resources = build_resources(current_settings())
    return dg.Definitions(
        resources={"dataset_io_manager": PublishedDatasetIOManager(object_store=resources["object_store"])}
    )
