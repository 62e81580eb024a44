"""A local source of download logs: Parquet files in the ``FILE_DOWNLOADS`` shape, one per arrival day.

A file named ``file_downloads-YYYY-MM-DD.parquet`` holds the rows that *arrived* that day, which include late rows
of the day before (``sample.py`` writes such files). Reading a UTC day D therefore means
scanning the files of D and D+1 and keeping the half-open window D 00:00 <= timestamp < D+1 00:00: an inclusive
upper bound at 23:59:59 would lose the sub-second rows of the last second.

A file that cannot be read fails every day that reads it: its own arrival day, and the day before (whose late rows
it holds). ``SourceFileError.for_day`` says which of the two a failed day is, so that two failed days read as one
bad file rather than two faults.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from pypi_platform.lib.downloads.schema import FILE_DOWNLOADS, LEAVES_READ

_DAILY_NAME = re.compile(r"file_downloads-(\d{4}-\d{2}-\d{2})\.parquet")
_GLOB_CHARS = re.compile(r"[*?\[]")


class SourceFileError(ValueError):
    """A source file cannot be read as download logs; ``path`` names it (None when the file is not known)."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path

    def for_day(self, day: date) -> SourceFileError:
        """The same error, saying why reading ``day`` reads this file (its own arrivals, or its late rows)."""
        arrival = _arrival_day(self.path) if self.path is not None else None
        if arrival is None:
            return self
        if arrival == day:
            before = day - timedelta(days=1)
            why = f"it holds the rows that arrived on {day}, and {before} reads it for its late rows"
        elif arrival == day + timedelta(days=1):
            why = (
                f"{day} reads {self.path.name} for its late rows (rows of {day} that arrived on {arrival}), "
                f"so {day} fails with {arrival} until this file is replaced"
            )
        else:
            why = f"{day} reads it as one of the files for {day}"
        return type(self)(f"{self}; {why}", self.path)


class SourceSchemaError(SourceFileError):
    """A source file lacks a column the aggregation reads, or stores it with another type."""


class CorruptSourceFile(SourceFileError):
    """A source file is not valid Parquet (truncated, or its pages or footer are damaged)."""


class NoSourceFiles(FileNotFoundError):
    """A location holds no file for the days asked for."""


def check_schema(path: Path) -> None:
    """Raise ``SourceSchemaError`` naming the first leaf of ``LEAVES_READ`` that ``path`` lacks or mistypes.

    Only the Parquet footer is read. Extra columns and struct fields are fine (the public table has many more).
    A footer that cannot be read raises ``CorruptSourceFile`` naming ``path``.
    """
    try:
        found = pl.read_parquet_schema(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise CorruptSourceFile(f"{path}: not a readable Parquet file ({exc})", path) from exc
    for leaf in LEAVES_READ:
        try:
            actual = _leaf_type(found, leaf, path)
        except SourceSchemaError as exc:
            raise SourceSchemaError(str(exc), path) from None
        expected = _leaf_type(FILE_DOWNLOADS, leaf, "FILE_DOWNLOADS")
        if not _compatible(actual, expected):
            raise SourceSchemaError(f"{path}: column {leaf} is {actual}, expected {expected}", path)


def find_corrupt_file(files: list[Path]) -> CorruptSourceFile | None:
    """The first of ``files`` whose columns read by the aggregation cannot be decoded, or None if all can.

    A scan over several files fails without naming the file at fault, so after a failed read each file is
    decoded alone (the columns the aggregation reads, one file in memory at a time; only on that failure path).
    """
    columns = list(dict.fromkeys(leaf.split(".")[0] for leaf in LEAVES_READ))
    for path in files:
        try:
            pl.read_parquet(path, columns=columns, hive_partitioning=False, glob=False)
        except (pl.exceptions.PolarsError, OSError) as exc:
            return CorruptSourceFile(f"{path}: not a readable Parquet file ({exc})", path)
    return None


def source_files(location: str | Path, start: date, end: date) -> list[Path]:
    """The files that may hold rows timestamped in [start, end + 1 day), in arrival-day order.

    ``location`` is a directory of ``file_downloads-YYYY-MM-DD.parquet`` files (the arrival days start .. end + 1
    that exist are returned: the day after ``end`` holds its late rows), a single file (returned as is), or a glob
    pattern (dated names outside those arrival days are left out; other names are kept, as they may hold any day).
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    first, last = start, end + timedelta(days=1)
    path = Path(location)
    if path.is_file():
        return [path]
    if path.is_dir():
        candidates = [p for p in path.iterdir() if p.is_file() and _arrival_day(p) is not None]
    elif _GLOB_CHARS.search(str(location)):
        candidates = [Path(p) for p in glob.glob(str(location), recursive=True) if Path(p).is_file()]
    else:
        raise NoSourceFiles(f"download source {location} does not exist")
    files = [p for p in candidates if (day := _arrival_day(p)) is None or first <= day <= last]
    if not files:
        raise NoSourceFiles(
            f"no download files in {location} for {start} .. {end}: expected file_downloads-YYYY-MM-DD.parquet "
            f"for arrival days {first} .. {last} (the last one holds late rows)"
        )
    # Dated files in day order; undated ones (from a glob) after them, by name.
    return sorted(files, key=lambda p: (_arrival_day(p) or date.max, str(p)))


def scan_window(files: list[Path], start: datetime, end: datetime) -> pl.LazyFrame:
    """A lazy scan of ``files`` keeping the rows with start <= timestamp < end (naive datetimes are UTC).

    Every file's schema is checked first, so a bad file fails here rather than halfway through an aggregation.
    """
    if not files:
        raise NoSourceFiles("no download files to scan")
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise ValueError(f"empty window: {start} .. {end}")
    for path in files:
        check_schema(path)
    return pl.scan_parquet(
        files,
        glob=False,  # the paths are real names, even if one contains a bracket
        hive_partitioning=False,
        # Columns beyond the leaves checked above may differ between files; they are not read.
        missing_columns="insert",
        extra_columns="ignore",
    ).filter(pl.col("timestamp").is_between(start, end, closed="left"))


def _leaf_type(schema: Mapping[str, pl.DataType], leaf: str, where: object) -> pl.DataType:
    """The type of a dotted leaf (``details.installer.name``) in a schema of nested structs."""
    fields: Mapping[str, pl.DataType] = schema
    parts = leaf.split(".")
    for depth, part in enumerate(parts):
        if part not in fields:
            raise SourceSchemaError(f"{where}: column {leaf} is missing")
        dtype = fields[part]
        if depth == len(parts) - 1:
            return dtype
        if not isinstance(dtype, pl.Struct):
            parent = ".".join(parts[: depth + 1])
            raise SourceSchemaError(f"{where}: column {leaf} is missing ({parent} is {dtype}, not a struct)")
        fields = {field.name: field.dtype for field in dtype.fields}
    raise AssertionError("unreachable")  # a split always has a last part


def _compatible(actual: pl.DataType, expected: pl.DataType) -> bool:
    # A timestamp exported in another unit compares and truncates to days the same way; it must still be UTC,
    # since a naive time would be read as UTC whatever it meant.
    if isinstance(expected, pl.Datetime):
        return isinstance(actual, pl.Datetime) and actual.time_zone == expected.time_zone
    return actual == expected


def _arrival_day(path: Path) -> date | None:
    match = _DAILY_NAME.fullmatch(path.name)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:  # a name such as file_downloads-2024-13-45.parquet
        return None


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
