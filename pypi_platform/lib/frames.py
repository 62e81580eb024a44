"""Polars frames on the object store (Parquet) and in PostgreSQL (a table, replaced slice by slice).

A table slice (a partition, a range of them, or the whole table) is replaced in one transaction, so a reader
sees either the old rows or the new ones. Rows travel through ``COPY`` as CSV, which polars writes and reads.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
from psycopg import sql

from pypi_platform.lib.storage import ObjectNotFound, ObjectStore

PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
_SPILL_BYTES = 64 * 2**20  # larger frames are written through a temp file and uploaded in parts
_COPY_ROWS = 100_000  # rows per CSV chunk, to bound memory while copying large frames
_NULL = r"\N"  # unquoted marks NULL; polars quotes every string, so a string "\N" stays a string

Params = Sequence[Any] | Mapping[str, Any] | None

_SQL_TYPES: dict[type[pl.DataType], str] = {
    pl.Int8: "SMALLINT",
    pl.Int16: "SMALLINT",
    pl.UInt8: "SMALLINT",
    pl.Int32: "INTEGER",
    pl.UInt16: "INTEGER",
    pl.Int64: "BIGINT",
    pl.UInt32: "BIGINT",
    pl.UInt64: "NUMERIC(20)",
    pl.Float32: "REAL",
    pl.Float64: "DOUBLE PRECISION",
    pl.Decimal: "NUMERIC",
    pl.String: "TEXT",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
    pl.Datetime: "TIMESTAMPTZ",
    pl.Binary: "BYTEA",
}

# PostgreSQL type OIDs read back as these polars types; any other type is read as its text.
_POLARS_TYPES: dict[int, pl.DataType] = {
    16: pl.Boolean(),
    17: pl.Binary(),
    20: pl.Int64(),
    21: pl.Int16(),
    23: pl.Int32(),
    25: pl.String(),
    700: pl.Float32(),
    701: pl.Float64(),
    1043: pl.String(),
    1082: pl.Date(),
    1114: pl.Datetime("us"),
    1184: pl.Datetime("us", "UTC"),
}
_NUMERIC = 1700
_LEAD = "\x00lead"  # the name of read_rows' leading constant column, which no real column has


def parquet_bytes(frame: pl.DataFrame, compression_level: int | None = None) -> bytes:
    """``frame`` as zstd Parquet bytes (zstd's default level unless one is given)."""
    buffer = io.BytesIO()
    _write_zstd(frame, buffer, compression_level)
    return buffer.getvalue()


def _write_zstd(frame: pl.DataFrame, target: io.BytesIO | Path, compression_level: int | None) -> None:
    # The one place a frame becomes Parquet, in memory or spilled to a file, so both come out the same.
    frame.write_parquet(target, compression="zstd", compression_level=compression_level)


def write_parquet(
    store: ObjectStore, key: str, frame: pl.DataFrame, compression_level: int | None = None
) -> int:
    """Write ``frame`` as zstd Parquet under ``key`` (as ``parquet_bytes`` makes it); the bytes written."""
    if frame.estimated_size() < _SPILL_BYTES:
        data = parquet_bytes(frame, compression_level)
        store.put_bytes(key, data, content_type=PARQUET_CONTENT_TYPE)
        return len(data)
    with tempfile.TemporaryDirectory(prefix="frame-") as directory:
        path = Path(directory) / "frame.parquet"
        _write_zstd(frame, path, compression_level)
        size = path.stat().st_size
        store.move_file(key, path, content_type=PARQUET_CONTENT_TYPE)
    return size


def read_parquet(store: ObjectStore, key: str) -> pl.DataFrame:
    """The frame stored under ``key``; raises ObjectNotFound."""
    path = store.local_path(key)
    if path is None:
        return pl.read_parquet(io.BytesIO(store.get_bytes(key)))
    if not path.is_file():
        raise ObjectNotFound(key)
    return pl.read_parquet(path)


def split_table(qualified_table: str) -> tuple[str, str]:
    """``schema.table`` (or ``table``, in ``public``) as its schema and table names."""
    parts = qualified_table.split(".")
    if len(parts) == 1:
        parts.insert(0, "public")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"table name must be 'schema.table' or 'table', got {qualified_table!r}")
    return parts[0], parts[1]


def replace_rows(
    conn: psycopg.Connection,
    qualified_table: str,
    frame: pl.DataFrame,
    *,
    where_sql: sql.Composable | None = None,
    params: Params = None,
    index: Sequence[str] = (),
) -> int:
    """Replace the rows matching ``where_sql`` (all rows when None) by ``frame``, in one transaction.

    Creates the schema and table when missing (with an index on ``index``) and adds columns the frame has
    and the table lacks. Nested in an open transaction, this becomes a savepoint and the caller commits.
    Time filters are compared in UTC. Returns the number of rows written.
    """
    if frame.width == 0:
        raise ValueError(f"cannot write a frame without columns to {qualified_table}")
    schema_name, table_name = split_table(qualified_table)
    target = sql.Identifier(schema_name, table_name)
    with conn.transaction():
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        # Writers of one table take turns: two replacing the same slice at once would otherwise both
        # delete the old rows and both insert, leaving the slice twice.
        _advisory_lock(conn, "table", qualified_table)
        _ensure_table(conn, schema_name, table_name, frame.schema, index)
        delete = sql.SQL("DELETE FROM {}").format(target)  # not TRUNCATE: that is not MVCC-safe for readers
        if where_sql is not None:
            delete = sql.SQL("{} WHERE {}").format(delete, where_sql)
        conn.execute(delete, params)
        copy_in(conn, target, frame)
    return frame.height


def read_rows(
    conn: psycopg.Connection,
    qualified_table: str,
    *,
    where_sql: sql.Composable | None = None,
    params: Params = None,
) -> pl.DataFrame:
    """The rows of a table matching ``where_sql`` (all rows when None) as a frame typed from the table."""
    table = sql.Identifier(*split_table(qualified_table))
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(table))
        columns = list(cursor.description or ())
        # The leading constant keeps every line non-empty: a lone NULL column would be a blank line,
        # which a CSV reader skips.
        query = sql.SQL("SELECT 0, * FROM {}").format(table)
        if where_sql is not None:
            query = sql.SQL("{} WHERE {}").format(query, where_sql)
        buffer = io.BytesIO()
        with cursor.copy(sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query), params) as copy:
            for block in copy:
                buffer.write(block)
    names = [column.name for column in columns]
    if buffer.tell() == 0:
        return pl.DataFrame(schema={c.name: _polars_type(c.type_code, c.scale) for c in columns})
    buffer.seek(0)
    # PostgreSQL writes NULL as an empty field and an empty string as "", which polars tells apart.
    raw = pl.read_csv(buffer, has_header=False, infer_schema=False, new_columns=[_LEAD, *names]).drop(_LEAD)
    return raw.select(_from_csv(c.name, c.type_code, c.scale) for c in columns)


def _polars_type(oid: int, scale: int | None) -> pl.DataType:
    if oid == _NUMERIC:
        return pl.Decimal(38, scale) if scale is not None else pl.Float64()
    return _POLARS_TYPES.get(oid, pl.String())


def _from_csv(name: str, oid: int, scale: int | None) -> pl.Expr:
    """An expression turning PostgreSQL's CSV text of column ``name`` into its polars type."""
    column = pl.col(name)
    dtype = _polars_type(oid, scale)
    if dtype == pl.Boolean:
        return (column == "t").alias(name)
    if dtype == pl.Binary:
        return column.str.slice(2).str.decode("hex").alias(name)  # bytea output is \x followed by hex
    if dtype == pl.Date:
        return column.str.to_date("%Y-%m-%d").alias(name)
    if isinstance(dtype, pl.Datetime):
        zone = "%#z" if dtype.time_zone else ""
        return column.str.to_datetime(f"%Y-%m-%d %H:%M:%S%.f{zone}", time_unit="us").alias(name)
    return column.cast(dtype).alias(name)


def _advisory_lock(conn: psycopg.Connection, kind: str, name: str) -> None:
    digest = hashlib.blake2b(f"pypi_platform.{kind}:{name}".encode(), digest_size=8).digest()
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (int.from_bytes(digest, "big", signed=True),))


def _ensure_table(
    conn: psycopg.Connection, schema_name: str, table_name: str, schema: pl.Schema, index: Sequence[str]
) -> None:
    target = sql.Identifier(schema_name, table_name)
    existing = {
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (schema_name, table_name),
        )
    }
    if not existing:
        # Creating schemas is serialized too: CREATE ... IF NOT EXISTS still fails when two run at once.
        _advisory_lock(conn, "schema", schema_name)
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema_name)))
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(_sql_type(dtype)))
            for name, dtype in schema.items()
        )
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(target, columns))
        for column in index:
            name = f"{table_name}_{column}_idx"[:63]
            conn.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                    sql.Identifier(name), target, sql.Identifier(column)
                )
            )
        return
    for name, dtype in schema.items():
        if name not in existing:
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                    target, sql.Identifier(name), sql.SQL(_sql_type(dtype))
                )
            )


def _sql_type(dtype: pl.DataType) -> str:
    return _SQL_TYPES.get(dtype.base_type(), "TEXT")


def copy_in(conn: psycopg.Connection, target: sql.Composable, frame: pl.DataFrame) -> None:
    """COPY every row of ``frame`` into ``target`` (an identifier), in CSV chunks of bounded size."""
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in frame.columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, NULL {})").format(
        target, columns, sql.Literal(_NULL)
    )
    prepared = frame.select(_csv_ready(name, dtype) for name, dtype in frame.schema.items())
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in prepared.iter_slices(_COPY_ROWS):
            buffer = io.BytesIO()
            chunk.write_csv(buffer, include_header=False, quote_style="non_numeric", null_value=_NULL)
            copy.write(buffer.getbuffer())


def _csv_ready(name: str, dtype: pl.DataType) -> pl.Expr:
    """An expression rendering column ``name`` as PostgreSQL reads it from CSV."""
    column = pl.col(name)
    base = dtype.base_type()
    if base is pl.Datetime:
        # A naive datetime is UTC (the project's rule); an explicit offset makes the server's zone moot.
        utc = (
            column.dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else column.dt.convert_time_zone("UTC")
        )
        return utc.dt.to_string("%Y-%m-%d %H:%M:%S%.6f+00:00").alias(name)
    if base is pl.Binary:
        return (pl.lit("\\x") + column.bin.encode("hex")).alias(name)
    if base in (pl.List, pl.Array, pl.Struct):
        # JSON text; wrapping in a struct is the one way polars encodes any nested value as JSON.
        encoded = pl.struct(column.alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}")
        return pl.when(column.is_null()).then(None).otherwise(encoded).alias(name)
    if base in _SQL_TYPES or base is pl.Null:
        return column
    return column.cast(pl.String).alias(name)
