"""Reading a PEP 503/691 index: the root list, project pages in either flavour, and the legacy JSON API.

Works against real PyPI and against an HTML-only caching proxy: JSON is asked for with HTML
as the fallback and the answer is parsed by its Content-Type; serials are taken from wherever the upstream
offers them and are ``None`` (unknown), never 0, when it offers none.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlparse

from packaging.utils import canonicalize_name

from pypi_platform.lib.mirror import pep691
from pypi_platform.lib.mirror.http import HttpClient

if TYPE_CHECKING:
    from pypi_simple import DistributionPackage

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
# PEP 691 JSON first, HTML as the fallback that every index can serve.
ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.1, text/html;q=0.01"
_ROOT_ANCHOR = re.compile(rb"<a\b[^>]*>([^<]+)</a>", re.IGNORECASE)
_NORMALIZED = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # what canonicalize_name leaves unchanged


class PageError(Exception):
    """A project page or JSON document that cannot be parsed; fails only that project."""


@dataclass(frozen=True)
class RootIndex:
    # Normalized name -> its serial, None where the upstream gave none. Display names are left out: a full root
    # has ~930k entries, and nothing reads them.
    projects: dict[str, int | None]
    serial: int | None


@dataclass
class UpstreamFile:
    filename: str
    url: str
    version: str | None
    packagetype: str | None
    sha256: str | None
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    size: int | None = None
    upload_time: datetime | None = None
    md5: str | None = None
    metadata_sha256: str | None = None  # the PEP 658 sidecar the upstream advertises


@dataclass
class ProjectSnapshot:
    name: str
    display_name: str
    serial: int | None
    files: list[UpstreamFile]
    etag: str | None = None
    last_modified: str | None = None
    page_sha256: str | None = None
    json_document: bytes | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PageResponse:
    """The outcome of one project page request."""

    status: int  # 200, 304 (validators matched) or 404
    body: bytes = b""
    content_type: str = ""
    url: str = ""
    serial: int | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class Upstream:
    """One upstream index, reached through a shared :class:`HttpClient`."""

    def __init__(self, simple_url: str, client: HttpClient) -> None:
        self.simple_url = simple_url if simple_url.endswith("/") else simple_url + "/"
        self.client = client
        # The JSON API root is the simple index URL without its trailing "simple/".
        path = urlparse(self.simple_url).path
        self.json_api_root = self.simple_url[: -len("simple/")] if path.endswith("/simple/") else None

    def project_url(self, name: str) -> str:
        return urljoin(self.simple_url, f"{name}/")

    def fetch_root(self, *, unless_serial: int | None = None) -> RootIndex | None:
        """The root index; None, with its body never read, when its ``X-PyPI-Last-Serial`` header is
        `unless_serial`: the index's latest serial, so nothing in it changed since a root of that serial."""

        def body_wanted(response) -> bool:
            return _int_or_none(response.headers.get("x-pypi-last-serial")) != unless_serial

        response = self.client.get(
            self.simple_url,
            headers={"Accept": ACCEPT},
            body_wanted=body_wanted if unless_serial is not None else None,
        )
        if response.status_code != 200:
            raise PageError(f"the root index {self.simple_url} answered HTTP {response.status_code}")
        header_serial = _int_or_none(response.headers.get("x-pypi-last-serial"))
        if unless_serial is not None and header_serial == unless_serial:
            return None
        if response.headers.get("content-type", "").startswith(JSON_CONTENT_TYPE):
            root = _parse_root_json(response.content)
            return root if header_serial is None else replace(root, serial=header_serial)
        return RootIndex(projects=dict.fromkeys(_parse_root_html(response.content)), serial=header_serial)

    def fetch_page(
        self, name: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> PageResponse:
        headers = {"Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        response = self.client.get(self.project_url(name), headers=headers)
        if response.status_code not in (200, 304, 404, 410):
            raise PageError(f"project page for {name} answered HTTP {response.status_code}")
        return PageResponse(
            status=404 if response.status_code == 410 else response.status_code,
            body=response.content if response.status_code == 200 else b"",
            content_type=response.headers.get("content-type", ""),
            url=str(response.url),
            serial=_int_or_none(response.headers.get("x-pypi-last-serial")),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )

    def fetch_json_api(self, name: str) -> tuple[bytes, dict[str, Any], int | None] | None:
        """The legacy JSON document of a project, or None where the upstream has no JSON API for it."""
        if self.json_api_root is None:
            return None
        response = self.client.get(urljoin(self.json_api_root, f"pypi/{name}/json"))
        if response.status_code != 200:
            return None
        try:
            document = response.json()
        except ValueError as exc:
            raise PageError(f"the JSON API document of {name} is not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise PageError(f"the JSON API document of {name} is not an object")
        serial = _int_or_none(response.headers.get("x-pypi-last-serial"))
        if serial is None:
            serial = _int_or_none(document.get("last_serial"))
        return response.content, document, serial


def parse_project_page(name: str, page: PageResponse) -> tuple[str, list[UpstreamFile]]:
    """The display name and files of a project page, in either flavour."""
    if page.content_type.startswith(JSON_CONTENT_TYPE):
        try:
            display, entries = pep691.read_json_page(json.loads(page.body), page.url)
        except (ValueError, pep691.MalformedPage) as exc:
            raise PageError(f"the project page of {name} cannot be parsed: {exc}") from exc
        return display or name, [_file_from_json(entry, name) for entry in entries]
    return name, _parse_html_page(name, page)


def _file_from_json(entry: dict[str, Any], project: str) -> UpstreamFile:
    version, package_type = pep691.version_and_type(entry["filename"], project)
    yanked, reason = pep691.yank(entry)
    sha256 = entry["hashes"].get("sha256")
    size = entry.get("size")
    return UpstreamFile(
        filename=unquote(entry["filename"]),
        url=canonical_file_url(entry["url"]),
        version=version,
        packagetype=package_type,
        sha256=sha256.lower() if isinstance(sha256, str) else None,
        requires_python=entry.get("requires-python") or None,
        yanked=yanked,
        yanked_reason=reason,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        upload_time=pep691.upload_time(entry.get("upload-time")),
        metadata_sha256=pep691.metadata_sha256(entry),
    )


def _parse_html_page(name: str, page: PageResponse) -> list[UpstreamFile]:
    # pypi-simple brings an HTML parser and takes ~0.3 s to import: only HTML pages pay for it.
    from pypi_simple import ProjectPage, RepositoryPage

    try:
        repo_page = RepositoryPage.from_html(page.body, base_url=page.url)
        parsed = ProjectPage.from_html(name, page.body, base_url=page.url)
    except Exception as exc:  # pypi_simple raises many kinds on malformed input
        raise PageError(f"the project page of {name} cannot be parsed: {exc}") from exc
    upload_times = {
        link.text: value
        for link in repo_page.links
        if (value := link.get_str_attrib("data-upload-time")) is not None
    }
    return [_file_from_package(package, upload_times.get(package.filename)) for package in parsed.packages]


def merge_json_api(files: list[UpstreamFile], document: dict[str, Any]) -> None:
    """Fill in what an HTML page lacks (sidecar digests, sizes, upload times, md5) from the JSON API."""
    by_name: dict[str, dict[str, Any]] = {}
    releases = document.get("releases")
    for release_files in releases.values() if isinstance(releases, dict) else []:
        for entry in release_files if isinstance(release_files, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("filename"), str):
                by_name[entry["filename"]] = entry
    for entry in document.get("urls") or []:
        if isinstance(entry, dict) and isinstance(entry.get("filename"), str):
            by_name.setdefault(entry["filename"], entry)
    for upstream_file in files:
        entry = by_name.get(upstream_file.filename)
        if entry is None:
            continue
        digests = entry.get("digests") or {}
        if upstream_file.sha256 is None and isinstance(digests.get("sha256"), str):
            upstream_file.sha256 = digests["sha256"].lower()
        upstream_file.md5 = upstream_file.md5 or entry.get("md5_digest") or digests.get("md5")
        if upstream_file.size is None and isinstance(entry.get("size"), int):
            upstream_file.size = entry["size"]
        if upstream_file.upload_time is None:
            upstream_file.upload_time = pep691.upload_time(entry.get("upload_time_iso_8601"))
        if upstream_file.packagetype is None:
            upstream_file.packagetype = _package_type(entry.get("packagetype"))
        if upstream_file.metadata_sha256 is None:
            metadata = entry.get("core-metadata", entry.get("data-dist-info-metadata"))
            if isinstance(metadata, dict) and isinstance(metadata.get("sha256"), str):
                upstream_file.metadata_sha256 = metadata["sha256"].lower()


def canonical_file_url(url: str) -> str:
    """Collapse the doubled ``packages/packages/`` prefix that some relative links resolve to."""
    parsed = urlparse(url)
    path = re.sub(r"/packages/packages/", "/packages/", parsed.path)
    return parsed._replace(path=path, fragment="").geturl()


def _file_from_package(package: DistributionPackage, upload_time: str | None) -> UpstreamFile:
    metadata_sha256 = None
    if package.has_metadata and package.metadata_digests:
        metadata_sha256 = package.metadata_digests.get("sha256")
    sha256 = package.digests.get("sha256")
    return UpstreamFile(
        filename=unquote(package.filename),
        url=canonical_file_url(package.url),
        version=package.version,
        packagetype=_package_type(package.package_type),
        sha256=sha256.lower() if sha256 else None,
        requires_python=package.requires_python or None,
        yanked=package.is_yanked,
        yanked_reason=package.yanked_reason or None,
        size=package.size,
        upload_time=package.upload_time or pep691.upload_time(upload_time),
        metadata_sha256=metadata_sha256.lower() if metadata_sha256 else None,
    )


def _package_type(value: str | None) -> str | None:
    if value is None:
        return None
    return {"bdist_wheel": "wheel", "bdist_egg": "egg", "bdist_wininst": "wininst", "bdist_msi": "msi"}.get(
        value, value
    )


def _parse_root_json(body: bytes) -> RootIndex:
    try:
        data = json.loads(body)
        entries = data["projects"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PageError(f"the root index is not PEP 691 JSON: {exc}") from exc
    projects: dict[str, int | None] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(name := entry.get("name"), str):
            continue
        # Most names are already normalized; keeping their string saves a copy of each.
        projects[name if _NORMALIZED.fullmatch(name) else canonicalize_name(name)] = _int_or_none(
            entry.get("_last-serial")
        )
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    return RootIndex(projects=projects, serial=_int_or_none(meta.get("_last-serial")))


def _parse_root_html(body: bytes) -> dict[str, str]:
    # A regular expression, not an HTML parser: the full root has ~930k anchors and nothing else of interest.
    names = {}
    for match in _ROOT_ANCHOR.finditer(body):
        display = html.unescape(match.group(1).decode("utf-8", "replace")).strip()
        if display:
            names[canonicalize_name(display)] = display
    return names


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
