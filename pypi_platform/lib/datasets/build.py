"""The published datasets as frames and as the bytes of their Aura-format files, built from the mirror's tables.

Everything here is a pure function of polars frames, sized for the whole index (about a million projects and ten
million requirements): the work runs in polars expressions, never in a Python loop over rows. Output is sorted
wherever the schema leaves an order open, so the same mirror state always gives the same bytes and checksums.
JSON is written by polars' encoder, which escapes any string correctly, and is compact (no spaces), UTF-8.
"""

from __future__ import annotations

import gzip
import io

import polars as pl

from pypi_platform.lib.datasets.schema import DEPENDENCY_LIST, DOWNLOAD_STATS, PACKAGE_LIST

# zlib's default level: level 9 takes about twice as long for a few per cent less on these text files.
GZIP_LEVEL = 6


def package_list(projects: pl.DataFrame) -> pl.DataFrame:
    """One PACKAGE_LIST row per distinct name of ``projects`` (the mirrored projects), sorted by name.

    If a name occurs twice, the row with the highest serial (then the latest ``synced_at``) is kept, so the choice
    does not depend on the order of the input.
    """
    return (
        projects.select(PACKAGE_LIST.names())
        .cast(dict(PACKAGE_LIST))
        .sort(
            ["name", "serial", "synced_at", "display_name", "latest_version"],
            descending=[False, True, True, False, False],
            nulls_last=True,
        )
        .unique("name", keep="first", maintain_order=True)
    )


def package_list_text(packages: pl.DataFrame) -> bytes:
    """The package list in Aura's format, uncompressed: one name per line, each line ending in a newline."""
    return _one_string(packages.select(pl.concat_str(pl.col("name"), pl.lit("\n")).str.join("")))


def dependency_edges(dependencies: pl.DataFrame) -> pl.DataFrame:
    """The distinct (project, name) edges of DEPENDENCY_LIST rows, sorted by name and then project.

    Only good edges count: rows with a problem (self-dependencies among them) or without a parsed name are left
    out, and so is a row naming its own project should one arrive without its ``self-dependency`` problem.
    Needs only the ``project``, ``name`` and ``problem`` columns.
    """
    return (
        dependencies.lazy()
        .filter(
            pl.col("problem").is_null() & pl.col("name").is_not_null() & (pl.col("name") != pl.col("project"))
        )
        .select("project", "name")
        .unique()
        .sort("name", "project")
        .collect()
    )


def reverse_dependencies(dependencies: pl.DataFrame, projects: pl.Series) -> pl.DataFrame:
    """REVERSE_DEPENDENCIES: a row for every mirrored project (``projects``) and every project depended upon,
    with the sorted, distinct projects depending on it (an empty list when none do), sorted by name."""
    grouped = (
        dependency_edges(dependencies)
        .lazy()
        .group_by("name", maintain_order=True)
        .agg(dependents="project")
    )
    alone = (
        pl.LazyFrame({"name": projects.cast(pl.String)})
        .drop_nulls()
        .unique()
        .join(grouped, on="name", how="anti")
        .with_columns(dependents=pl.lit([], dtype=pl.List(pl.String)))
    )
    return pl.concat([grouped, alone]).sort("name").collect()


def reverse_dependencies_json(reverse: pl.DataFrame) -> bytes:
    """Reverse dependencies in Aura's format, uncompressed: ONE JSON object mapping every name to the list of
    its dependents, keys sorted."""
    key = _json_value(pl.col("name"))
    value = _json_value(pl.col("dependents"))
    members = pl.concat_str(key, pl.lit(":"), value).str.join(",")
    return _one_string(reverse.sort("name").select(pl.concat_str(pl.lit("{"), members, pl.lit("}"))))


def dependency_list_jsonl(dependencies: pl.DataFrame) -> bytes:
    """JSON Lines, one object per DEPENDENCY_LIST row with every column of the schema (nulls as null)."""
    return _ndjson(dependencies.select(DEPENDENCY_LIST.names()).cast(dict(DEPENDENCY_LIST)))


def download_stats_jsonl(stats: pl.DataFrame) -> bytes:
    """The download statistics in Aura's format, uncompressed: JSON Lines of ``{"package_name": ..., "downloads":
    ...}`` in the frame's order, which is already most downloaded first."""
    columns = ["package_name", "downloads"]
    return _ndjson(stats.select(columns).cast({name: DOWNLOAD_STATS[name] for name in columns}))


def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzipped with no modification time and no file name, so equal data gives equal bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=GZIP_LEVEL, mtime=0) as file:
        file.write(data)
    return buffer.getvalue()


def _json_value(column: pl.Expr) -> pl.Expr:
    """``column`` encoded as JSON values, through a one-field struct whose wrapping is then cut off."""
    return pl.struct(column.alias("v")).struct.json_encode().str.strip_prefix('{"v":').str.strip_suffix("}")


def _one_string(frame: pl.DataFrame) -> bytes:
    """The single string of a one-row, one-column frame as UTF-8, without a detour through a Python str."""
    return frame.to_series().cast(pl.Binary).item()


def _ndjson(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ndjson(buffer)
    return buffer.getvalue()
