"""Table slices: the rows of one or more partitions, as SQL for the database and as a mask for a frame.

Both forms come from the same conditions, so a frame can be checked (or split) by exactly the rule that
deletes its rows from the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from psycopg import sql


@dataclass(frozen=True)
class Window:
    """Rows whose ``column`` (a date or a timestamp) lies in the half-open window ``[start, end)``."""

    column: str
    start: datetime
    end: datetime

    def to_sql(self) -> tuple[sql.Composable, list[Any]]:
        condition = sql.SQL("{col} >= %s AND {col} < %s").format(col=sql.Identifier(self.column))
        return condition, [self.start, self.end]

    def mask(self, dtype: pl.DataType) -> pl.Expr:
        # Compared as UTC instants, exactly as the server compares a date or timestamp with a timestamptz.
        column = pl.col(self.column)
        if dtype == pl.Date:
            column = column.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        elif isinstance(dtype, pl.Datetime):
            column = (
                column.dt.convert_time_zone("UTC") if dtype.time_zone else column.dt.replace_time_zone("UTC")
            )
        else:
            raise ValueError(f"time partition column {self.column!r} must be a date or datetime, not {dtype}")
        return (column >= _utc(self.start)) & (column < _utc(self.end))


@dataclass(frozen=True)
class OneOf:
    """Rows whose ``column`` equals one of ``values`` (compared as text, as partition keys are)."""

    column: str
    values: tuple[str, ...]

    def to_sql(self) -> tuple[sql.Composable, list[Any]]:
        if not self.values:
            raise ValueError(f"no values to select {self.column!r} by")
        # Untyped placeholders let the server cast each key to the column's type (text, integer or date).
        placeholders = sql.SQL(", ").join(sql.Placeholder() * len(self.values))
        return sql.SQL("{} IN ({})").format(sql.Identifier(self.column), placeholders), list(self.values)

    def mask(self, dtype: pl.DataType) -> pl.Expr:
        return pl.col(self.column).cast(pl.String).is_in(list(self.values))


Condition = Window | OneOf


def where_any(alternatives: Sequence[Sequence[Condition]]) -> tuple[sql.Composable, list[Any]]:
    """SQL selecting rows that meet every condition of at least one alternative, with its parameters."""
    clauses, params = [], []
    for conditions in alternatives:
        parts = [condition.to_sql() for condition in conditions]
        clauses.append(sql.SQL("({})").format(sql.SQL(" AND ").join(part for part, _ in parts)))
        params.extend(param for _, values in parts for param in values)
    if not clauses:
        raise ValueError("no alternatives to select rows by")
    return sql.SQL(" OR ").join(clauses), params


def mask_any(alternatives: Sequence[Sequence[Condition]], schema: pl.Schema) -> pl.Expr:
    """The polars twin of :func:`where_any`: true for the rows that the SQL would select."""
    masks = []
    for conditions in alternatives:
        for condition in conditions:
            if condition.column not in schema:
                raise ValueError(f"the frame has no partition column {condition.column!r}")
        masks.append(pl.all_horizontal(c.mask(schema[c.column]) for c in conditions))
    return pl.any_horizontal(masks).fill_null(False)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
