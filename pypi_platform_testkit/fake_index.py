"""A local fake upstream package index on 127.0.0.1 for the mirror's tests and its benchmark.

Flavour "pep691" behaves like the real index: PEP 691/700 JSON or PEP 503 HTML by `Accept`, serials in the
root and in `X-PyPI-Last-Serial`, ETags, PEP 658 sidecars, a legacy JSON API that bandersnatch 8.x can mirror.
Flavour "html" behaves like a development caching proxy: HTML whatever is asked, no serial header,
no validators, no `data-core-metadata`, files on a separate host, relative `../../packages/packages/` URLs in
the JSON API. `index.faults` injects the upstream misbehaviour a mirror must survive.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from pypi_platform_testkit.dists import build_sdist, build_wheel, wheel_metadata

__all__ = ["FakeFile", "FakeIndex", "Faults", "Link", "RequestRecord"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
V1_HTML_TYPE = "application/vnd.pypi.simple.v1+html"
_ALIASES = {
    "application/vnd.pypi.simple.latest+json": JSON_TYPE,
    "application/vnd.pypi.simple.latest+html": V1_HTML_TYPE,
}
_WILDCARD_ORDER = ("text/html", V1_HTML_TYPE, JSON_TYPE)  # a bare */* gets HTML, as old clients expect
_LOGGED_HEADERS = ("Accept", "If-None-Match", "If-Modified-Since", "Range", "User-Agent", "Connection")
# Default upload times advance one minute per serial from a fixed instant: deterministic yet ordered.
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def negotiate(accept: str | None) -> str:
    """Pick the page type for an Accept header: highest q wins, ties go to the earlier entry (PEP 691)."""
    best: tuple[float, int, str] | None = None
    for order, part in enumerate((accept or "").split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        media = _ALIASES.get(media.lower(), media.lower())
        q_values = [p.partition("=")[2] for p in params if p.partition("=")[0].strip() == "q"]
        q = float(q_values[0]) if q_values and q_values[0].replace(".", "", 1).isdigit() else 1.0
        offers = [
            o
            for o in _WILDCARD_ORDER
            if media in (o, "*/*") or (media.endswith("/*") and o.startswith(media[:-1]))
        ]
        if offers and q > 0 and (best is None or (q, -order) > best[:2]):
            best = (q, -order, offers[0])
    return best[2] if best else "text/html"  # lenient: nothing acceptable gets HTML rather than a 406


@dataclass
class FakeFile:
    """One release file. Treat as read-only; mutate through FakeIndex."""

    project: str  # normalized name
    filename: str
    content: bytes = field(repr=False)
    version: str
    upload_time: datetime
    requires_python: str | None = None
    yanked: bool | str = False  # a str is the reason
    metadata: bytes | None = field(default=None, repr=False)  # the PEP 658 sidecar, None = not offered

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256(self.content).hexdigest()
        self.md5 = hashlib.md5(self.content).hexdigest()
        self.blake2b_256 = hashlib.blake2b(self.content, digest_size=32).hexdigest()
        self.metadata_sha256 = (
            hashlib.sha256(self.metadata).hexdigest() if self.metadata is not None else None
        )

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def path(self) -> str:
        """URL path on the file host, laid out like the real one: blake2b-256 split 2/2/60."""
        b = self.blake2b_256
        return f"/packages/{b[:2]}/{b[2:4]}/{b[4:]}/{self.filename}"

    @property
    def packagetype(self) -> str:
        return "bdist_wheel" if self.filename.endswith(".whl") else "sdist"


@dataclass
class _Project:
    name: str  # display name
    files: dict[str, FakeFile] = field(default_factory=dict)
    serial: int = 0
    modified: datetime = _EPOCH


class RequestRecord(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]


def _file_version(filename: str) -> str:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except Exception:  # eggs, exes, invalid names: the second dash-separated field is the best guess
        return filename.split("-")[1] if "-" in filename else "0"


def _version_key(version: str) -> tuple:
    try:
        return (1, Version(version), "")
    except InvalidVersion:
        return (0, Version("0"), version)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Faults:
    """Injectable misbehaviour. Path rules match by prefix; `times=None` means every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._rules: list[list] = []  # [kind, prefix, argument, remaining]
            self._stale: dict[str, int] = {}
            self._flags: set[tuple[str, str, str]] = set()  # (kind, project, filename or "")

    def fail(self, path: str, status: int = 503, times: int | None = 1) -> None:
        self._add("fail", path, status, times)

    def hang(self, path: str, seconds: float, times: int | None = 1) -> None:
        self._add("hang", path, seconds, times)

    def drop(self, path: str, times: int | None = 1, *, partial: bool = True) -> None:
        """Close the connection: after the headers and half the body (partial) or before any response."""
        self._add("drop", path, partial, times)

    def corrupt(self, project: str, filename: str) -> None:
        """Serve same-size bytes that do not match the advertised sha256."""
        self._flag("corrupt", project, filename)

    def missing_metadata(self, project: str, filename: str) -> None:
        """Keep advertising the .metadata sidecar but 404 it (5 of 40 projects on the proxy)."""
        self._flag("missing_metadata", project, filename)

    def malformed(self, project: str) -> None:
        self._flag("malformed", project)

    def empty_page(self, project: str) -> None:
        """Project page and JSON API list no files (an upstream glitch once served exactly this)."""
        self._flag("empty", project)

    def stale(self, project: str, times: int | None = 1) -> None:
        """Project page / JSON API report the serial before the project's current one."""
        with self._lock:
            self._stale[canonicalize_name(project)] = -1 if times is None else times

    def _add(self, kind: str, path: str, arg: object, times: int | None) -> None:
        with self._lock:
            self._rules.append([kind, path, arg, -1 if times is None else times])

    def _flag(self, kind: str, project: str, filename: str = "") -> None:
        with self._lock:
            self._flags.add((kind, canonicalize_name(project), filename))

    def has(self, kind: str, project: str, filename: str = "") -> bool:
        with self._lock:
            return (kind, project, filename) in self._flags

    def take(self, kind: str, path: str) -> object | None:
        """Consume one firing of the first live rule of `kind` matching path; None if none."""
        with self._lock:
            for rule in self._rules:
                if rule[0] == kind and rule[3] != 0 and path.startswith(rule[1]):
                    if rule[3] > 0:  # negative means unlimited
                        rule[3] -= 1
                    return rule[2]
        return None

    def take_stale(self, project: str) -> bool:
        with self._lock:
            left = self._stale.get(project, 0)
            if left > 0:
                self._stale[project] = left - 1
            return left != 0


class Link:
    """A link of fixed bandwidth shared by every connection to the index, as a real uplink is.

    Each answer's body goes out in chunks, and every chunk, whatever its connection, reserves the link for
    size / rate seconds after the chunks reserved before it: all connections together get the rate, and one
    connection alone gets all of it. An idle link banks at most `burst_seconds` of sending, so the small gaps
    between one connection's chunks cost nothing while a long idle spell is lost, as on a real link.
    """

    CHUNK = 64 * 1024

    def __init__(self, bytes_per_second: float, *, burst_seconds: float = 0.01) -> None:
        if not bytes_per_second > 0:
            raise ValueError(
                f"a link's rate must be a positive number of bytes per second, not {bytes_per_second!r}"
            )
        if burst_seconds < 0:
            raise ValueError(f"a link's burst cannot be negative: {burst_seconds!r}")
        self.bytes_per_second = float(bytes_per_second)
        self.burst_seconds = burst_seconds
        self._lock = threading.Lock()
        self._free_at = 0.0  # time.monotonic() at which everything reserved so far has been sent
        self.bytes_sent = 0  # body bytes of every answer, sidecars, pages and files alike

    def send(self, write, body: bytes, stopping: threading.Event) -> None:
        view = memoryview(body)
        for start in range(0, len(view), self.CHUNK):
            piece = view[start : start + self.CHUNK]
            with self._lock:
                now = time.monotonic()
                self._free_at = (
                    max(self._free_at, now - self.burst_seconds) + len(piece) / self.bytes_per_second
                )
                self.bytes_sent += len(piece)
                due = self._free_at - now
            if due > 0 and stopping.wait(due):
                return  # the index is stopping; the client sees a dropped connection
            write(piece)


class FakeIndex:
    """An in-memory package index served over HTTP/1.1 (keep-alive) on 127.0.0.1.

    `latency_seconds` delays every answer (one round trip per request; connecting is free); `link`, a
    :class:`Link`, throttles every answer's body through one shared bandwidth. Both may be set after start.
    """

    def __init__(
        self,
        flavour: str = "pep691",
        *,
        json_api: bool = True,
        relative_json_urls: bool | None = None,
        validators: bool | None = None,
        separate_file_host: bool | None = None,
        extra_root_names: int = 0,
        latency_seconds: float = 0.0,
        link: Link | None = None,
    ) -> None:
        if flavour not in ("pep691", "html"):
            raise ValueError(f"unknown flavour {flavour!r}")
        if latency_seconds < 0:
            raise ValueError(f"latency cannot be negative: {latency_seconds!r}")
        self.latency_seconds, self.link = latency_seconds, link
        proxy = flavour == "html"
        self.flavour, self.json_api = flavour, json_api
        self.relative_json_urls = proxy if relative_json_urls is None else relative_json_urls
        self.validators = (not proxy) if validators is None else validators
        self.separate_file_host = proxy if separate_file_host is None else separate_file_host
        # Names the root lists without pages behind them: the cost of a root as large as the real one.
        self.extra_root_names = [f"pad-{i:07d}" for i in range(extra_root_names)]
        self.faults = Faults()
        self._lock = threading.RLock()
        self._projects: dict[str, _Project] = {}
        self._by_path: dict[str, FakeFile] = {}
        self._serial = 0
        self._modified = _EPOCH
        self._log: list[RequestRecord] = []
        self._root_cache: dict[str, tuple[int, bytes]] = {}
        self._servers: list[_Server] = []
        self._stopping = threading.Event()

    # ----- lifecycle -----
    def start(self) -> FakeIndex:
        roles = ("index", "files") if self.separate_file_host else ("both",)
        for role in roles:
            server = _Server(("127.0.0.1", 0), _Handler)
            server.index, server.role = self, role
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        self._stopping.set()  # wake hanging handlers so shutdown is immediate
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FakeIndex:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def files_base_url(self) -> str:
        return f"http://127.0.0.1:{self._servers[-1].server_address[1]}"

    @property
    def url(self) -> str:
        """The simple index root; the JSON API root is this without `simple/`."""
        return self.base_url + "/simple/"

    def project_url(self, project: str) -> str:
        return f"{self.base_url}/simple/{canonicalize_name(project)}/"

    def json_url(self, project: str) -> str:
        return f"{self.base_url}/pypi/{canonicalize_name(project)}/json"

    def file_url(self, project: str, filename: str) -> str:
        return self.files_base_url + self.file(project, filename).path

    # ----- state -----
    @property
    def serial(self) -> int:
        return self._serial

    def project_names(self) -> list[str]:
        with self._lock:
            return sorted(p.name for p in self._projects.values())

    def project_serial(self, project: str) -> int:
        return self._projects[canonicalize_name(project)].serial

    def files(self, project: str) -> list[FakeFile]:
        with self._lock:
            return list(self._projects[canonicalize_name(project)].files.values())

    def file(self, project: str, filename: str) -> FakeFile:
        return self._projects[canonicalize_name(project)].files[filename]

    def _bump(self, project: _Project | None) -> None:
        self._serial += 1
        # Wall-clock, not upload time: Last-Modified must move forward whenever a page changes.
        self._modified = max(datetime.now(UTC).replace(microsecond=0), self._modified + timedelta(seconds=1))
        if project is not None:
            project.serial, project.modified = self._serial, self._modified

    def add_file(
        self,
        project: str,
        filename: str,
        content: bytes,
        *,
        upload_time: datetime | None = None,
        requires_python: str | None = None,
        yanked: bool | str = False,
        metadata: bytes | bool | None = None,
        version: str | None = None,
    ) -> FakeFile:
        """Add or replace a file. metadata: None = derive from a wheel, False or b"" = offer no sidecar."""
        if metadata is None and filename.endswith(".whl"):
            metadata = wheel_metadata(content)
        metadata, yanked = metadata or None, yanked or False
        with self._lock:
            key = canonicalize_name(project)
            proj = self._projects.setdefault(key, _Project(project))
            if filename in proj.files:
                self._by_path.pop(proj.files[filename].path, None)
            upload_time = upload_time or _EPOCH + timedelta(minutes=self._serial + 1)
            if upload_time.tzinfo is None:  # the index speaks UTC; don't let the host's zone leak in
                upload_time = upload_time.replace(tzinfo=UTC)
            version = version or _file_version(filename)
            f = FakeFile(key, filename, content, version, upload_time, requires_python, yanked, metadata)
            proj.files[filename] = f
            self._by_path[f.path] = f
            self._bump(proj)
            return f

    def add_release(
        self,
        project: str,
        version: str,
        *,
        wheel: bool = True,
        sdist: bool = True,
        requires: Iterable[str] = (),
        requires_python: str | None = None,
        upload_time: datetime | None = None,
    ) -> list[FakeFile]:
        """Build real dists with dists.py and add them (each file is its own mutation, like uploads)."""
        built = []
        if wheel:
            built.append(build_wheel(project, version, requires=requires, requires_python=requires_python))
        if sdist:
            built.append(build_sdist(project, version, requires=requires, requires_python=requires_python))
        return [
            self.add_file(project, name, data, upload_time=upload_time, requires_python=requires_python)
            for name, data in built
        ]

    def remove_file(self, project: str, filename: str) -> None:
        with self._lock:
            proj = self._projects[canonicalize_name(project)]
            self._by_path.pop(proj.files.pop(filename).path, None)
            self._bump(proj)

    def remove_project(self, project: str) -> None:
        with self._lock:
            proj = self._projects.pop(canonicalize_name(project))
            for f in proj.files.values():
                self._by_path.pop(f.path, None)
            self._bump(None)

    def yank(self, project: str, filename: str, reason: str | bool = True) -> None:
        with self._lock:
            proj = self._projects[canonicalize_name(project)]
            proj.files[filename].yanked = reason or True
            self._bump(proj)

    # ----- request log -----
    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def count(self, path_prefix: str = "", method: str | None = None) -> int:
        with self._lock:
            return sum(r.path.startswith(path_prefix) and method in (None, r.method) for r in self._log)

    def reset_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def _record(self, method: str, path: str, headers) -> None:
        with self._lock:
            self._log.append(
                RequestRecord(method, path, {h: headers[h] for h in _LOGGED_HEADERS if h in headers})
            )

    # ----- rendering -----
    def route(self, role: str, path: str, headers) -> tuple[int, dict[str, str], bytes]:
        """Answer one GET: (status, headers, body)."""
        parts = path.split("/")[1:]  # "/simple/x/" -> ["simple", "x", ""]
        with self._lock:
            if role != "index" and parts[0] == "packages":
                return self._file_response(path)
            if role == "files" or parts[0] not in ("simple", "pypi"):
                return _text(404, "Not Found")
            if parts == ["simple"]:
                return 301, {"Location": "/simple/"}, b""
            if parts == ["simple", ""]:
                return self._negotiated(headers, None)
            if parts[0] == "simple" and len(parts) in (2, 3) and parts[1] and parts[2:] in ([], [""]):
                key = canonicalize_name(parts[1])
                if parts[1] != key or len(parts) == 2:  # the index redirects every non-canonical spelling
                    return 301, {"Location": f"/simple/{key}/"}, b""
                return self._negotiated(headers, key) if key in self._projects else _text(404, "Not Found")
            if parts[0] == "pypi" and len(parts) == 3 and parts[2] == "json" and self.json_api:
                key = canonicalize_name(parts[1])
                if key not in self._projects:
                    return 404, {"Content-Type": "application/json"}, b'{"message": "Not Found"}'
                return self._json_api(key)
            return _text(404, "Not Found")

    def _file_response(self, path: str) -> tuple[int, dict[str, str], bytes]:
        sidecar = path.endswith(".metadata")
        f = self._by_path.get(path.removesuffix(".metadata") if sidecar else path)
        if f is None or (
            sidecar and (f.metadata is None or self.faults.has("missing_metadata", f.project, f.filename))
        ):
            return _text(404, "Not Found")
        body = f.metadata if sidecar else f.content
        if not sidecar and self.faults.has("corrupt", f.project, f.filename):
            body = bytes([body[0] ^ 0xFF]) + body[1:]  # same size, so only the hash check can catch it
        modified = format_datetime(f.upload_time, usegmt=True)
        return 200, {"Content-Type": "application/octet-stream", "Last-Modified": modified}, body

    def _serial_for(self, key: str) -> int:
        serial = self._projects[key].serial
        return max(serial - 1, 0) if self.faults.take_stale(key) else serial

    def _negotiated(self, headers, key: str | None) -> tuple[int, dict[str, str], bytes]:
        ctype = "text/html" if self.flavour == "html" else negotiate(headers.get("Accept"))
        serial = self._serial if key is None else self._serial_for(key)
        if key is None:
            # The benchmark serves large roots; render each one once per serial.
            if self._root_cache.get(ctype, (-1,))[0] != self._serial:
                root = self._root_json() if ctype == JSON_TYPE else self._root_html()
                self._root_cache[ctype] = (self._serial, root)
            body = self._root_cache[ctype][1]
        elif self.faults.has("malformed", key):  # truncated JSON / undecodable, unclosed HTML
            body = b'{"meta": {"api-version": "1.1"}, "files": [{"filen'
            if ctype != JSON_TYPE:
                body = b'<html><body><a href="../../packages/\xff\xfe<<<a data-yanked=</'
        else:
            files = [] if self.faults.has("empty", key) else list(self._projects[key].files.values())
            body = (
                self._project_json(key, files, serial)
                if ctype == JSON_TYPE
                else self._project_html(key, files)
            )
        out = {"Content-Type": ctype, "Vary": "Accept"}
        if self.flavour == "pep691":
            out["X-PyPI-Last-Serial"] = str(serial)
        if not self.validators:
            return 200, out, body
        out["ETag"] = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        modified = self._modified if key is None else self._projects[key].modified
        if self.flavour == "html":  # the real index only sends ETag; the proxy option sends both
            out["Last-Modified"] = format_datetime(modified, usegmt=True)
        tags = [
            t.strip().removeprefix("W/") for t in headers.get("If-None-Match", "").split(",") if t.strip()
        ]
        if tags and (out["ETag"] in tags or "*" in tags):
            return 304, out, b""
        if not tags and "Last-Modified" in out and headers.get("If-Modified-Since"):
            try:
                if modified <= parsedate_to_datetime(headers["If-Modified-Since"]):
                    return 304, out, b""
            except (TypeError, ValueError):
                pass
        return 200, out, body

    def _root_entries(self) -> list[tuple[str, str, int]]:
        entries = [(key, p.name, p.serial) for key, p in self._projects.items()]
        entries += [(name, name, 1) for name in self.extra_root_names]
        return sorted(entries)

    def _root_json(self) -> bytes:
        projects = [{"name": name, "_last-serial": serial} for _, name, serial in self._root_entries()]
        return _dump({"meta": {"api-version": "1.1", "_last-serial": self._serial}, "projects": projects})

    def _root_html(self) -> bytes:
        links = "".join(
            f'    <a href="/simple/{k}/">{escape(name)}</a>\n' for k, name, _ in self._root_entries()
        )
        return _page("Simple index", links)

    def _project_json(self, key: str, files: list[FakeFile], serial: int) -> bytes:
        entries = []
        for f in files:
            core = {"sha256": f.metadata_sha256} if f.metadata is not None else False
            entries.append(
                {
                    "filename": f.filename,
                    "url": self.files_base_url + f.path,
                    "hashes": {"sha256": f.sha256},
                    "requires-python": f.requires_python,
                    "yanked": f.yanked,
                    "core-metadata": core,
                    "data-dist-info-metadata": core,
                    "size": f.size,
                    "upload-time": _iso(f.upload_time),
                }
            )
        versions = sorted({f.version for f in files}, key=_version_key)
        meta = {"api-version": "1.1", "_last-serial": serial}
        return _dump({"meta": meta, "name": key, "files": entries, "versions": versions})

    def _project_html(self, key: str, files: list[FakeFile]) -> bytes:
        links = []
        for f in files:
            attrs = f'href="{self.files_base_url}{f.path}#sha256={f.sha256}"'
            if f.requires_python:
                attrs += f' data-requires-python="{escape(f.requires_python)}"'
            if f.yanked is not False:
                attrs += f' data-yanked="{escape(f.yanked if isinstance(f.yanked, str) else "")}"'
            if f.metadata is not None and self.flavour == "pep691":  # the proxy strips these
                attrs += f' data-core-metadata="sha256={f.metadata_sha256}"'
                attrs += f' data-dist-info-metadata="sha256={f.metadata_sha256}"'
            links.append(f"    <a {attrs}>{escape(f.filename)}</a><br />\n")
        return _page(f"Links for {key}", "".join(links), h1=True)

    def _json_api(self, key: str) -> tuple[int, dict[str, str], bytes]:
        proj, serial = self._projects[key], self._serial_for(key)
        files = [] if self.faults.has("empty", key) else list(proj.files.values())
        releases: dict[str, list[dict]] = {}
        for f in sorted(files, key=lambda f: _version_key(f.version)):
            releases.setdefault(f.version, []).append(self._legacy_file(f))
        out = {"Content-Type": "application/json"}
        if self.flavour == "pep691":
            out["X-PyPI-Last-Serial"] = str(serial)
        if self.faults.has("malformed", key):
            return 200, out, b'{"info": {"name": "' + key.encode() + b'", "releases": [[['
        # info.version is the newest final release that is not entirely yanked, like the index's "latest".
        live = [v for v, fs in releases.items() if not all(d["yanked"] for d in fs)]
        final = [v for v in live if _version_key(v)[0] and not Version(v).is_prerelease]
        latest = (final or live or list(releases) or [None])[-1]
        latest_files = [f for f in files if f.version == latest]
        info = {
            "name": proj.name,
            "version": latest,
            "summary": f"Test package {proj.name}",
            "requires_python": latest_files[0].requires_python if latest_files else None,
            "package_url": self.project_url(key),
            "project_url": self.project_url(key),
            "yanked": False,
        }
        body = {
            "info": info,
            "last_serial": serial,
            "releases": releases,
            "urls": releases.get(latest, []),
            "vulnerabilities": [],
        }
        return 200, out, _dump(body)

    def _legacy_file(self, f: FakeFile) -> dict:
        url = f"../../packages{f.path}" if self.relative_json_urls else self.files_base_url + f.path
        core = {"sha256": f.metadata_sha256} if f.metadata is not None else False
        return {
            "filename": f.filename,
            "url": url,
            "size": f.size,
            "packagetype": f.packagetype,
            "digests": {"sha256": f.sha256, "md5": f.md5, "blake2b_256": f.blake2b_256},
            "md5_digest": f.md5,
            "upload_time": f.upload_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "upload_time_iso_8601": _iso(f.upload_time),
            "requires_python": f.requires_python,
            "yanked": f.yanked is not False,
            "yanked_reason": f.yanked if isinstance(f.yanked, str) else None,
            "python_version": "py3" if f.packagetype == "bdist_wheel" else "source",
            "has_sig": False,
            "core-metadata": core,
            "data-dist-info-metadata": core,
        }


def _dump(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _text(status: int, text: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, (text + "\n").encode()


def _page(title: str, links: str, h1: bool = False) -> bytes:
    head = f'<meta name="pypi:repository-version" content="1.1">\n    <title>{escape(title)}</title>'
    heading = f"    <h1>{escape(title)}</h1>\n" if h1 else ""
    body = f"  <body>\n{heading}{links}  </body>\n"
    return f"<!DOCTYPE html>\n<html>\n  <head>\n    {head}\n  </head>\n{body}</html>\n".encode()


class _Server(ThreadingHTTPServer):
    index: FakeIndex
    role: str  # "index", "files" or "both"
    # The default listen backlog of 5 drops connections when a mirror opens a dozen at once, and each dropped
    # SYN costs the client a one-second retransmit; real servers queue far more.
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        # Clients that time out or give up mid-answer are normal under fault injection, not server errors.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    protocol_version = "HTTP/1.1"  # with Content-Length on every answer, so clients can reuse connections
    # Headers and body go out in two writes; with Nagle's algorithm on, every keep-alive request after the
    # first would wait ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    server_version = "fake-index/1.0"
    timeout = 30  # idle keep-alive connections end on their own after a test

    def log_message(self, format: str, *args: object) -> None:  # silence per-request stderr noise
        pass

    def do_GET(self) -> None:
        self._handle(head=False)

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def do_POST(self) -> None:
        # XML-RPC answers 405 on the proxy; drain the body so the connection stays usable.
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.index._record("POST", urlsplit(self.path).path, self.headers)
        self._send(405, {"Content-Type": "text/plain"}, b"Method Not Allowed\n", False, None)

    def _handle(self, head: bool) -> None:
        index: FakeIndex = self.server.index
        path = urlsplit(self.path).path
        index._record(self.command, path, self.headers)
        if index.latency_seconds:
            index._stopping.wait(index.latency_seconds)
        delay = index.faults.take("hang", path)
        if delay is not None:
            index._stopping.wait(delay)  # type: ignore[arg-type]
        status = index.faults.take("fail", path)
        if status is not None:
            answer = _text(status, f"injected {status}")  # type: ignore[arg-type]
        else:
            answer = index.route(self.server.role, path, self.headers)
        self._send(answer[0], answer[1], answer[2], head, index.faults.take("drop", path))

    def _send(self, status: int, headers: dict[str, str], body: bytes, head: bool, drop: object) -> None:
        if drop is not False:  # drop=False closes before answering
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
        if drop is None:
            if not head and status != 304:
                link = self.server.index.link
                if link is None:
                    self.wfile.write(body)
                else:
                    link.send(self.wfile.write, body, self.server.index._stopping)
            return
        if drop and not head:
            self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)
