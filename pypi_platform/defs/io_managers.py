"""The IO managers every domain uses: polars frames as Parquet in the object store, or as PostgreSQL tables.

Both are partition-aware. A time-partitioned asset names its date or timestamp column in ``partition_expr``
metadata; a multi-partitioned one maps each dimension to a column (``{"week": "day", "bucket": "bucket"}``).
Under ``BackfillPolicy.single_run()`` one run covers a range of partitions and both managers handle it whole.

The Parquet manager also reads, from the asset's definition metadata, ``object_key`` (where each partition's
file lives, e.g. ``"corpus/shards/{partition}/index.parquet"``, from the store's root) and
``compression_level`` (zstd's level); and from an input's metadata ``allow_missing_partitions``, which leaves
out partitions with nothing stored instead of failing (the name Dagster's own UPathIOManager uses).
"""

# No ``from __future__ import annotations`` here: Dagster must see dg.ResourceDependency[...] as a real type.
import string
from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl

from pypi_platform.defs.metadata import byte_count
from pypi_platform.defs.resources import ObjectStoreResource, PostgresResource, build_resources
from pypi_platform.lib import frames
from pypi_platform.lib.config import current_settings
from pypi_platform.lib.slices import Condition, OneOf, Window, mask_any, where_any
from pypi_platform.lib.storage import ObjectNotFound, ObjectStore

Context = dg.InputContext | dg.OutputContext


class PolarsParquetIOManager(dg.ConfigurableIOManager):
    """Frames as zstd Parquet under ``<prefix>/<asset key>/``, a file per partition, else ``data.parquet``.

    An asset whose files must live elsewhere names its key in ``object_key`` metadata, a template over
    ``{partition}``.
    """

    object_store: dg.ResourceDependency[ObjectStoreResource]
    prefix: str = "assets"

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | pl.LazyFrame | None) -> None:
        if obj is None:
            return
        frame = _as_frame(context, obj)
        store = self.object_store.get_store()
        keys = context.asset_partition_keys if context.has_asset_partitions else [None]
        if len(keys) == 1:
            pieces = {keys[0]: frame}
        else:
            # A run over a range of partitions returns one frame; its rows are filed by the partition column.
            definition = _definition_metadata(context).get("partition_expr")
            pieces = {}
            for key in keys:
                mask = mask_any(
                    [key_conditions(context.asset_partitions_def, key, definition, context)], frame.schema
                )
                pieces[key] = frame.filter(mask)
            _check_covered(context, frame, sum(piece.height for piece in pieces.values()))
        level = _compression_level(context)
        written = sum(
            frames.write_parquet(store, self._key(context, key), piece, level)
            for key, piece in pieces.items()
        )
        where = self._key(context, keys[0]) if len(keys) == 1 else self._base(context)
        metadata = _frame_metadata(frame)
        metadata.update({**byte_count("bytes", written), "uri": dg.MetadataValue.path(store.uri(where))})
        context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        store = self.object_store.get_store()
        if not context.has_asset_partitions:
            return frames.read_parquet(store, self._key(context, None))
        allow_missing = (context.definition_metadata or {}).get("allow_missing_partitions", False)
        if not isinstance(allow_missing, bool):
            raise ValueError(
                f"input {context.name or context.asset_key.to_user_string()}: allow_missing_partitions "
                f"metadata must be True or False, got {allow_missing!r}"
            )
        parts, missing = [], []
        for partition in context.asset_partition_keys:
            part = self._read_partition(context, store, partition, allow_missing)
            if part is None:
                missing.append(partition)
            else:
                parts.append(part)
        if missing:
            _log(context).warning(
                f"left out {len(missing)} partitions of {context.asset_key.to_user_string()} with nothing "
                f"stored: {', '.join(missing[:10])}{', ...' if len(missing) > 10 else ''}"
            )
        # Relaxed, so a column added to later partitions does not stop older ones from loading.
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()

    def _read_partition(
        self, context: dg.InputContext, store: ObjectStore, partition: str, allow_missing: bool
    ) -> pl.DataFrame | None:
        key = self._key(context, partition)
        try:
            return frames.read_parquet(store, key)
        except ObjectNotFound:
            if allow_missing:
                return None
            raise ObjectNotFound(
                f"partition {partition} of {context.asset_key.to_user_string()} has not been stored "
                f"(nothing at {store.uri(key)}); materialize it first"
            ) from None

    def _base(self, context: Context) -> str:
        template = _object_key_template(context)
        if template is not None:
            # Where a range of partitions lands: the template's fixed part before the partition.
            return template.split("{partition}", 1)[0].rstrip("/")
        return "/".join([self.prefix, *context.asset_key.path])

    def _key(self, context: Context, partition: str | None) -> str:
        if partition is not None:
            definition = context.asset_partitions_def
            if isinstance(definition, dg.MultiPartitionsDefinition):
                by_dimension = definition.get_partition_key_from_str(partition).keys_by_dimension
                partition = "/".join(by_dimension[name] for name in sorted(by_dimension))
        template = _object_key_template(context)
        if template is not None:
            return template.format(partition=partition) if partition is not None else template
        base = self._base(context)
        return f"{base}/data.parquet" if partition is None else f"{base}/{partition}.parquet"


class PolarsPostgresIOManager(dg.ConfigurableIOManager):
    """Frames as rows of a PostgreSQL table; a partition's rows are replaced in one transaction."""

    postgres: dg.ResourceDependency[PostgresResource]

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | pl.LazyFrame | None) -> None:
        if obj is None:
            return
        frame = _as_frame(context, obj)
        table = table_name(context)
        alternatives = slice_conditions(context)
        where, params, index = None, None, ()
        if alternatives is not None:
            # Rows outside the partition would outlive every later replacement of it, so refuse them.
            _check_covered(context, frame, frame.filter(mask_any(alternatives, frame.schema)).height)
            where, params = where_any(alternatives)
            index = sorted({condition.column for conditions in alternatives for condition in conditions})
        with self.postgres.connect() as conn:
            rows = frames.replace_rows(conn, table, frame, where_sql=where, params=params, index=index)
        metadata = _frame_metadata(frame)
        metadata["dagster/table_name"] = table
        if alternatives is not None:
            metadata["dagster/partition_row_count"] = rows
        context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        alternatives = slice_conditions(context)
        where, params = where_any(alternatives) if alternatives is not None else (None, None)
        with self.postgres.connect() as conn:
            return frames.read_rows(conn, table_name(context), where_sql=where, params=params)


def table_name(context: Context) -> str:
    """The ``table`` metadata, else ``<key prefix joined by _, or public>.<asset name>``."""
    configured = _definition_metadata(context).get("table")
    if configured:
        return str(configured)
    *prefix, name = context.asset_key.path
    return f"{'_'.join(prefix) or 'public'}.{name}"


def slice_conditions(context: Context) -> list[list[Condition]] | None:
    """The rows of the context's partitions (alternatives of conditions); None when it is not partitioned."""
    if not context.has_asset_partitions:
        return None
    definition = context.asset_partitions_def
    expr = _definition_metadata(context).get("partition_expr")
    if isinstance(definition, dg.TimeWindowPartitionsDefinition):
        # One window for the whole range: a single-run backfill deletes its span with one indexed condition.
        window = context.asset_partitions_time_window
        return [[Window(_column(expr, context), window.start, window.end)]]
    if isinstance(definition, dg.MultiPartitionsDefinition):
        return [key_conditions(definition, key, expr, context) for key in context.asset_partition_keys]
    return [[OneOf(_column(expr, context), tuple(context.asset_partition_keys))]]


def key_conditions(
    definition: dg.PartitionsDefinition, key: str, expr: Any, context: Context
) -> list[Condition]:
    """The conditions selecting the rows of one partition ``key``."""
    if not isinstance(definition, dg.MultiPartitionsDefinition):
        return [_dimension_condition(definition, _column(expr, context), key)]
    if not isinstance(expr, Mapping):
        raise ValueError(
            f"asset {context.asset_key.to_user_string()} is multi-partitioned: its partition_expr metadata "
            f"must map each dimension to a column, e.g. {{'date': 'day', 'bucket': 'bucket'}}; got {expr!r}"
        )
    by_dimension = definition.get_partition_key_from_str(key).keys_by_dimension
    conditions = []
    for dimension in definition.partitions_defs:
        if dimension.name not in expr:
            raise ValueError(
                f"asset {context.asset_key.to_user_string()}: partition_expr names no column "
                f"for dimension {dimension.name!r}"
            )
        column = expr[dimension.name]
        conditions.append(
            _dimension_condition(dimension.partitions_def, column, by_dimension[dimension.name])
        )
    return conditions


def _dimension_condition(definition: dg.PartitionsDefinition, column: str, key: str) -> Condition:
    if isinstance(definition, dg.TimeWindowPartitionsDefinition):
        window = definition.time_window_for_partition_key(key)
        return Window(column, window.start, window.end)
    return OneOf(column, (key,))


def _column(expr: Any, context: Context) -> str:
    if not isinstance(expr, str) or not expr:
        raise ValueError(
            f"asset {context.asset_key.to_user_string()} is partitioned, so it needs the name of its "
            "partition column in metadata, e.g. @dg.asset(metadata={'partition_expr': 'date'}); "
            f"got {expr!r}"
        )
    return expr


def _definition_metadata(context: Context) -> Mapping[str, Any]:
    # An input's table and partition column are the upstream asset's, declared on its definition.
    if isinstance(context, dg.InputContext):
        upstream = context.upstream_output
        return (upstream.definition_metadata if upstream is not None else None) or {}
    return context.definition_metadata or {}


def _object_key_template(context: Context) -> str | None:
    """The asset's ``object_key`` metadata, checked: None when it has none."""
    template = _definition_metadata(context).get("object_key")
    if template is None:
        return None
    asset = context.asset_key.to_user_string()
    if not isinstance(template, str) or not template.strip("/"):
        raise ValueError(f"asset {asset}: object_key metadata must be a non-empty string, got {template!r}")
    try:
        fields = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError as error:
        raise ValueError(
            f"asset {asset}: object_key metadata {template!r} is not a template: {error}"
        ) from None
    if fields - {"partition"}:
        raise ValueError(
            f"asset {asset}: object_key metadata {template!r} may name only {{partition}}, "
            f"not {', '.join(sorted('{' + field + '}' for field in fields - {'partition'}))}"
        )
    partitioned = context.has_asset_partitions
    if partitioned and "partition" not in fields:
        raise ValueError(
            f"asset {asset} is partitioned, so its object_key metadata {template!r} must contain "
            "{partition}, or every partition would overwrite the same file"
        )
    if not partitioned and fields:
        raise ValueError(
            f"asset {asset}: object_key metadata {template!r} needs a partition, but none was given "
            "(name one, e.g. load_asset_value(..., partition_key=...); an unpartitioned asset's key has "
            "no {partition})"
        )
    return template


def _compression_level(context: dg.OutputContext) -> int | None:
    level = _definition_metadata(context).get("compression_level")
    # bool is an int to Python, and True would quietly mean level 1.
    if level is not None and (isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 22):
        raise ValueError(
            f"asset {context.asset_key.to_user_string()}: compression_level metadata must be a zstd level "
            f"from 1 to 22, got {level!r}"
        )
    return level


def _log(context: dg.InputContext) -> Any:
    # Outside a run (Definitions.load_asset_value in a notebook) the context carries no log manager.
    try:
        return context.log
    except dg.DagsterInvariantViolationError:
        return dg.get_dagster_logger()


def _as_frame(context: dg.OutputContext, obj: object) -> pl.DataFrame:
    if isinstance(obj, pl.LazyFrame):
        return obj.collect()
    if isinstance(obj, pl.DataFrame):
        return obj
    raise TypeError(
        f"asset {context.asset_key.to_user_string()} returned {type(obj).__name__}; "
        "this IO manager stores polars DataFrames (or None to store nothing)"
    )


def _check_covered(context: dg.OutputContext, frame: pl.DataFrame, inside: int) -> None:
    if inside != frame.height:
        raise ValueError(
            f"asset {context.asset_key.to_user_string()}: {frame.height - inside} of {frame.height} rows lie "
            f"outside the partitions being written ({', '.join(context.asset_partition_keys[:3])}"
            f"{', ...' if len(context.asset_partition_keys) > 3 else ''})"
        )


def _frame_metadata(frame: pl.DataFrame) -> dict[str, Any]:
    columns = [dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()]
    return {"dagster/row_count": frame.height, "dagster/column_schema": dg.TableSchema(columns=columns)}


@dg.definitions
def defs() -> dg.Definitions:
    # The same settings and resource objects as resources.py, passed as nested dependencies: providing
    # object_store or postgres again here would clash when the definitions merge.
    resources = build_resources(current_settings())
    return dg.Definitions(
        resources={
            "parquet_io_manager": PolarsParquetIOManager(object_store=resources["object_store"]),
            "postgres_io_manager": PolarsPostgresIOManager(postgres=resources["postgres"]),
        }
    )
