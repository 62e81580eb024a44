"""The Parquet index of a shard: one row per archive member, skipped ones included, in py-code.org's columns.

Queries written for py-code.org's index run unchanged: the first eleven columns (``project_name`` to
``repository`` in ``SCHEMA`` below) have its names and types. Ours adds what that index lacks: the
distribution file's sha256 and package type, and the version of the skip rules that judged the member. A
distribution file that could not be read at all (a corrupt archive, a bomb, an unsupported format) gets one
row with an empty ``archive_path`` and the reason, so every file of the shard shows up in its index.

Each run of ``corpus_shard`` writes the rows of its batch as one fragment; ``corpus_index`` merges a shard's
fragments into one frame, sorted by project, release file and path, which the Parquet IO manager stores at
``index_key`` (``corpus/shards/<shard>/index.parquet``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import polars as pl

from pypi_platform.lib.frames import parquet_bytes
from pypi_platform.lib.storage import ObjectStore

SCHEMA = {
    "project_name": pl.String,
    "project_version": pl.String,
    "project_release": pl.String,
    "uploaded_on": pl.Datetime("ms"),
    "path": pl.String,
    "archive_path": pl.String,
    "size": pl.UInt64,
    "hash": pl.Binary,
    "skip_reason": pl.String,
    "lines": pl.UInt64,
    "repository": pl.UInt32,
    "release_sha256": pl.String,
    "packagetype": pl.String,
    "rules_version": pl.String,
}
CORPUS_ROOT = "corpus"
# An index is written once and read by every query, so it pays for a tighter zstd level than the default.
COMPRESSION_LEVEL = 9


def shard_prefix(shard: str) -> str:
    return f"{CORPUS_ROOT}/shards/{shard}"


def fragment_key(shard: str, first: int, last: int) -> str:
    # Named by the positions it covers: a batch redone after a crash rewrites the same key with the same rows.
    return f"{shard_prefix(shard)}/fragments/{first:06d}-{last:06d}.parquet"


def index_key(shard: str) -> str:
    return f"{shard_prefix(shard)}/index.parquet"


def tree_path(project: str, filename: str, member_path: str) -> str:
    """Where a member lives in the shard's tree (py-code.org's layout)."""
    return f"packages/{project}/{filename}/{member_path}" if member_path else ""


def frame(rows: Iterable[dict]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SCHEMA, orient="row")


def write_parquet(df: pl.DataFrame) -> bytes:
    """An index's bytes (a fragment's, or a table derived from indexes): zstd at ``COMPRESSION_LEVEL``."""
    return parquet_bytes(df, compression_level=COMPRESSION_LEVEL)


def merge_fragments(store: ObjectStore, shard: str) -> pl.DataFrame:
    """Every fragment of a shard, as one frame sorted by project, release file and path."""
    keys = sorted(store.list_keys(f"{shard_prefix(shard)}/fragments/"))
    frames = [pl.read_parquet(io.BytesIO(store.get_bytes(key))) for key in keys]
    if not frames:
        return pl.DataFrame(schema=SCHEMA)
    return pl.concat(frames, how="vertical").sort(["project_name", "project_release", "path"])
