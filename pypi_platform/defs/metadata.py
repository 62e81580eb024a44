"""Materialization metadata in units a person reads: a byte count or a duration keeps its raw number (for plots
and comparisons in the UI) and gains a text beside it, since Dagster has no metadata type for either."""

import dagster as dg

_BYTE_UNITS = ("bytes", "kB", "MB", "GB", "TB", "PB")


def byte_count(name: str, count: int) -> dict[str, object]:
    """``name`` as the raw count and ``<name> (readable)`` as decimal units: 1,234,567 -> "1.23 MB"."""
    return {name: dg.MetadataValue.int(int(count)), f"{name} (readable)": readable_bytes(count)}


def duration(name: str, seconds: float) -> dict[str, object]:
    """``name`` as raw seconds and ``<name> (readable)`` as hours, minutes and seconds: 3725.0 -> "1 h 2 min 5 s"."""
    return {name: dg.MetadataValue.float(round(seconds, 3)), f"{name} (readable)": readable_seconds(seconds)}


def plain(value: object) -> object:
    """A metadata entry's value as Python holds it: a ``MetadataValue`` unwrapped, anything else as it is."""
    return value.value if isinstance(value, dg.MetadataValue) else value


def readable_bytes(count: float) -> str:
    value, unit = float(count), 0
    while abs(value) >= 1000 and unit < len(_BYTE_UNITS) - 1:
        value, unit = value / 1000, unit + 1
    return f"{int(value):,} bytes" if unit == 0 else f"{value:.3g} {_BYTE_UNITS[unit]}"


def readable_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes or hours else "", f"{secs} s"]
    return " ".join(part for part in parts if part)
