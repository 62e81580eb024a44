"""Byte counts and durations in materialization metadata keep their number and gain a readable text."""

import dagster as dg

from pypi_platform.defs.metadata import byte_count, duration, readable_bytes, readable_seconds


def test_byte_counts_read_in_decimal_units_beside_the_raw_count():
    assert [readable_bytes(n) for n in (0, 999, 1_000, 1_234_567, 773_000_000, 200 * 10**9)] == [
        "0 bytes", "999 bytes", "1 kB", "1.23 MB", "773 MB", "200 GB",
    ]  # fmt: skip
    entries = byte_count("bytes_fetched", 1_234_567)
    assert entries["bytes_fetched"] == dg.MetadataValue.int(1_234_567)
    assert entries["bytes_fetched (readable)"] == "1.23 MB"


def test_durations_read_in_hours_minutes_and_seconds_beside_the_raw_seconds():
    assert [readable_seconds(s) for s in (3.21, 65, 3725)] == ["3.2 s", "1 min 5 s", "1 h 2 min 5 s"]
    entries = duration("duration_seconds", 3725.0)
    assert entries["duration_seconds"] == dg.MetadataValue.float(3725.0)
    assert entries["duration_seconds (readable)"] == "1 h 2 min 5 s"
