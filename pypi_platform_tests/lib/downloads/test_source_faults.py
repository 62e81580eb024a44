"""A damaged download-log file: the error names the file, and the day before says it reads it for late rows."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from pypi_platform.lib.downloads.logs import ParquetLogs
from pypi_platform.lib.downloads.sample import write_sample
from pypi_platform.lib.downloads.source import CorruptSourceFile, check_schema, find_corrupt_file

BEFORE, BAD, AFTER = date(2024, 6, 10), date(2024, 6, 11), date(2024, 6, 12)


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    write_sample(tmp_path, BEFORE, AFTER, projects=["requests", "Django"], rows_per_day=3_000, seed=3)
    return tmp_path


def _damage_pages(path: Path) -> None:
    """Scramble the first half of the file (its data pages), leaving the magic bytes and the footer intact."""
    data = bytearray(path.read_bytes())
    for i in range(8, len(data) // 2):
        data[i] = (data[i] * 7 + 13) % 256
    path.write_bytes(bytes(data))


def test_corrupt_parquet_source_names_the_file_and_why_two_days_fail(logs_dir: Path) -> None:
    bad = logs_dir / f"file_downloads-{BAD}.parquet"
    _damage_pages(bad)
    check_schema(bad)  # the footer still reads: only decoding the pages fails
    logs = ParquetLogs(logs_dir, "corrected")

    with pytest.raises(CorruptSourceFile) as own_day:
        logs.aggregate(BAD)
    assert own_day.value.path == bad
    assert str(bad) in str(own_day.value)
    assert "File out of specification" in str(own_day.value)  # polars' own words stay, after the file name
    assert f"{BEFORE} reads it for its late rows" in str(own_day.value)

    with pytest.raises(CorruptSourceFile) as day_before:
        logs.aggregate(BEFORE)
    assert day_before.value.path == bad
    assert re.search(
        rf"{BEFORE} reads {bad.name} for its late rows \(rows of {BEFORE} that arrived on {BAD}\)",
        str(day_before.value),
    )

    assert logs.aggregate(AFTER).result.rows_in_window > 0  # the day after reads only its own files


def test_truncated_parquet_source_names_the_file(logs_dir: Path) -> None:
    bad = logs_dir / f"file_downloads-{BAD}.parquet"
    bad.write_bytes(bad.read_bytes()[:1000])  # a copy cut short: no footer
    with pytest.raises(CorruptSourceFile, match=re.escape(str(bad))) as raised:
        ParquetLogs(logs_dir, "corrected").aggregate(BEFORE)
    assert f"{BEFORE} reads {bad.name} for its late rows" in str(raised.value)


def test_find_corrupt_file_passes_readable_files(logs_dir: Path) -> None:
    files = sorted(logs_dir.glob("*.parquet"))
    assert find_corrupt_file(files) is None
    _damage_pages(files[2])
    found = find_corrupt_file(files)
    assert found is not None and found.path == files[2]
