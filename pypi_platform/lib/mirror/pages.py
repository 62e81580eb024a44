"""The mirror's layout in the object store and the simple pages it publishes (PEP 503, 691, 700, 658/714).

Paths follow bandersnatch's web root so pip, static web servers and bandersnatch's own nginx configuration use
the mirror unchanged. Unlike bandersnatch, serials are integers, ``versions`` are in PEP 440 order, yank reasons
survive in JSON, the root JSON carries per-project ``_last-serial`` (so this mirror can be mirrored), and a
sidecar is only advertised when it is really present.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote, urlparse

from pypi_platform.lib.mirror.filters import sort_versions

WEB = "mirror/web"
_HASHED_PATH = re.compile(r"/packages/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{60})/[^/]+$")
_SAFE_FILENAME = re.compile(r"^[^/\\\x00-\x1f]+$")


@dataclass(frozen=True)
class PublishedFile:
    """A file as the mirror publishes it on a project page."""

    filename: str
    object_key: str  # full key in the store, under WEB/packages/
    sha256: str
    size: int
    version: str | None
    upload_time: datetime | None
    requires_python: str | None
    yanked: bool
    yanked_reason: str | None
    metadata_sha256: str | None  # set only when the sidecar is present in the store


def project_dir(name: str) -> str:
    return f"{WEB}/simple/{name}"


def json_keys(name: str) -> tuple[str, str]:
    return f"{WEB}/json/{name}", f"{WEB}/pypi/{name}/json"


def page_keys(name: str) -> tuple[str, str, str]:
    base = project_dir(name)
    return f"{base}/index.html", f"{base}/index.v1_html", f"{base}/index.v1_json"


def file_key(url: str, filename: str, sha256: str) -> str:
    """Where a release file lives: the upstream's hashed path when it has one, else a path from its sha256."""
    if not _SAFE_FILENAME.match(filename) or filename in (".", ".."):
        raise ValueError(f"unsafe file name {filename!r}")
    match = _HASHED_PATH.search(urlparse(url).path)
    if match:
        first, second, rest = match.groups()
    else:
        first, second, rest = sha256[:2], sha256[2:4], sha256[4:]
    return f"{WEB}/packages/{first}/{second}/{rest}/{filename}"


def _relative_href(object_key: str) -> str:
    # Pages live at WEB/simple/<name>/index.html, two levels below the web root.
    return "../../" + quote(object_key[len(WEB) + 1 :])


def render_project_html(display_name: str, files: list[PublishedFile], serial: int | None) -> bytes:
    title = escape(display_name)
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        '    <meta name="pypi:repository-version" content="1.1">',
        f"    <title>Links for {title}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>Links for {title}</h1>",
    ]
    for published in files:
        attributes = [f'href="{_relative_href(published.object_key)}#sha256={published.sha256}"']
        if published.requires_python:
            attributes.append(f'data-requires-python="{escape(published.requires_python)}"')
        if published.yanked:
            attributes.append(f'data-yanked="{escape(published.yanked_reason or "")}"')
        if published.metadata_sha256:
            digest = f"sha256={published.metadata_sha256}"
            attributes.append(f'data-core-metadata="{digest}" data-dist-info-metadata="{digest}"')
        lines.append(f"    <a {' '.join(attributes)}>{escape(published.filename)}</a><br/>")
    lines += ["  </body>", "</html>"]
    if serial is not None:
        lines.append(f"<!--SERIAL {serial}-->")
    return ("\n".join(lines) + "\n").encode()


def render_project_json(name: str, files: list[PublishedFile], serial: int | None) -> bytes:
    meta: dict[str, object] = {"api-version": "1.1"}
    if serial is not None:
        meta["_last-serial"] = serial
    entries = []
    for published in files:
        entry: dict[str, object] = {
            "filename": published.filename,
            "url": _relative_href(published.object_key),
            "hashes": {"sha256": published.sha256},
            "requires-python": published.requires_python,
            "yanked": (published.yanked_reason or True) if published.yanked else False,
            "size": published.size,
        }
        if published.upload_time is not None:
            entry["upload-time"] = iso_time(published.upload_time)
        if published.metadata_sha256:
            digest = {"sha256": published.metadata_sha256}
            entry["core-metadata"] = digest
            entry["data-dist-info-metadata"] = digest
        entries.append(entry)
    versions = sort_versions({f.version for f in files if f.version})
    document = {"meta": meta, "name": name, "files": entries, "versions": versions}
    return json.dumps(document, separators=(",", ":")).encode()


def render_root_html(names: list[str]) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        '    <meta name="pypi:repository-version" content="1.1">',
        "    <title>Simple index</title>",
        "  </head>",
        "  <body>",
    ]
    lines += [f'    <a href="{quote(name)}/">{escape(name)}</a><br/>' for name in names]
    lines += ["  </body>", "</html>"]
    return ("\n".join(lines) + "\n").encode()


def render_root_json(projects: list[tuple[str, int | None]]) -> bytes:
    serials = [serial for _, serial in projects if serial is not None]
    meta: dict[str, object] = {"api-version": "1.1"}
    if serials:
        meta["_last-serial"] = max(serials)
    entries = []
    for name, serial in projects:
        entry: dict[str, object] = {"name": name}
        if serial is not None:
            entry["_last-serial"] = serial
        entries.append(entry)
    return json.dumps({"meta": meta, "projects": entries}, separators=(",", ":")).encode()


def iso_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
