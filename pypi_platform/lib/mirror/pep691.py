"""PEP 691 JSON project pages, read without pypi-simple.

pypi-simple (and the HTML parser it brings) takes ~0.3 s to import, and in a sync it is first imported inside
the worker threads, where every thread waits for it. JSON pages are plain data, so they are read here; HTML
pages and unusual file names still go through pypi-simple.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import unquote, urljoin

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)


class MalformedPage(ValueError):
    """The document is JSON but not a PEP 691 project page."""


def read_json_page(data: Any, base_url: str) -> tuple[str | None, list[dict[str, Any]]]:
    """The project name and the raw file entries of a PEP 691 page, with URLs made absolute."""
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise MalformedPage("no 'files' list")
    entries = []
    for entry in data["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            raise MalformedPage(f"a file entry without a filename: {entry!r:.100}")
        if not isinstance(entry.get("url"), str) or not isinstance(entry.get("hashes"), dict):
            raise MalformedPage(f"{entry['filename']} has no url or hashes")
        entries.append({**entry, "url": urljoin(base_url, entry["url"])})
    name = data.get("name")
    return (name if isinstance(name, str) else None), entries


def metadata_sha256(entry: dict[str, Any]) -> str | None:
    """The advertised digest of the PEP 658 sidecar, under either of its two key names."""
    for key in ("core-metadata", "data-dist-info-metadata"):
        value = entry.get(key)
        if isinstance(value, dict) and isinstance(value.get("sha256"), str):
            return value["sha256"].lower()
    return None


def yank(entry: dict[str, Any]) -> tuple[bool, str | None]:
    value = entry.get("yanked", False)
    if isinstance(value, str):
        return True, value or None
    return bool(value), None


def upload_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def version_and_type(filename: str, project: str) -> tuple[str | None, str | None]:
    """The version and package type a file name carries; unusual legacy names fall back to pypi-simple."""
    name = unquote(filename)
    try:
        if name.endswith(".whl"):
            return str(parse_wheel_filename(name)[1]), "wheel"
        if name.endswith((".tar.gz", ".zip")):
            return str(parse_sdist_filename(name)[1]), "sdist"
    except (InvalidWheelFilename, InvalidSdistFilename):
        pass
    from pypi_simple import UnparsableFilenameError, parse_filename

    try:
        _, version, package_type = parse_filename(name, canonicalize_name(project))
    except UnparsableFilenameError:
        return None, None
    return version, package_type
