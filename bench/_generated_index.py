"""The upstream of bench/mirror_scale: an index of any size whose pages and files are computed, not stored.

Every project is a function of its number and the seed: its name, serial, releases, files and their bytes.
Nothing is kept per project but its name; the only state is what the benchmark changes (projects given a new
release, projects deleted). It speaks what the mirror reads from the real index: a PEP 691 JSON root with each
project's ``_last-serial`` (HTML on request), PEP 691 project pages with ``X-PyPI-Last-Serial`` and ETags,
the legacy JSON API, release files under blake2b-hashed paths and PEP 658 sidecars for wheels.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
KINDS = ("root", "pages", "json", "files", "sidecars", "other")
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
# Name prefixes end in "-" and numbers are base 36 without "-", so no two project numbers share a name.
PREFIXES = ("py-", "django-", "flask-", "pytest-", "data-", "ml-", "aws-", "lib-", "open-", "tool-", "x-")
MAX_SERIAL = 25_000_000  # about the real index's serial


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    filename: str
    version: str
    packagetype: str  # the legacy JSON API's: "sdist" or "bdist_wheel"
    content: bytes
    upload_time: datetime
    requires_python: str | None
    metadata: bytes | None  # the PEP 658 sidecar, for wheels
    sha256: str
    path: str  # on the file host, laid out like the real one's: blake2b-256 split 2/2/60

    @classmethod
    def make(cls, filename, version, packagetype, content, upload_time, requires_python, metadata):
        b = hashlib.blake2b(content, digest_size=32).hexdigest()
        path = f"/packages/{b[:2]}/{b[2:4]}/{b[4:]}/{filename}"
        sha256 = hashlib.sha256(content).hexdigest()
        return cls(
            filename, version, packagetype, content, upload_time, requires_python, metadata, sha256, path
        )


@dataclass(frozen=True, slots=True)
class GeneratedProject:
    name: str  # normalized
    display_name: str
    serial: int
    files: list[GeneratedFile]


class GeneratedIndex:
    """``projects`` projects with about ``mean_releases`` releases each (an sdist and a wheel per release)."""

    def __init__(self, projects: int, seed: int = 20261207, mean_releases: int = 2) -> None:
        self.seed, self.mean_releases = seed, mean_releases
        self._digests = [
            hashlib.blake2b(f"{seed}:{number}".encode(), digest_size=16).digest()
            for number in range(projects)
        ]
        self.names = [self._name(number) for number in range(projects)]
        self._number = {name: number for number, name in enumerate(self.names)}
        self._lock = threading.Lock()
        self._changed: dict[
            str, int
        ] = {}  # name -> its new serial; each changed project has one release more
        self._deleted: set[str] = set()
        self.serial = MAX_SERIAL
        self._root: dict[str, bytes] = {}
        self.traffic: Counter = Counter()
        self._server: ThreadingHTTPServer | None = None

    # ----- what each project is -----
    def _digest(self, number: int) -> bytes:
        return self._digests[number]

    def _name(self, number: int) -> str:
        return PREFIXES[self._digest(number)[0] % len(PREFIXES)] + base36(number)

    def display_name(self, name: str) -> str:
        variant = self._digest(self._number[name])[1] % 4
        if variant == 1:
            return name.capitalize()
        if variant == 2:
            return name.replace("-", "_")
        return name

    def base_serial(self, name: str) -> int:
        return 1 + int.from_bytes(self._digest(self._number[name])[2:6]) % (MAX_SERIAL - 1)

    def project_serial(self, name: str) -> int:
        return self._changed.get(name) or self.base_serial(name)

    def live(self, name: str) -> bool:
        return name in self._number and name not in self._deleted

    def project(self, name: str) -> GeneratedProject:
        digest = self._digest(self._number[name])
        releases = 1 + digest[6] % (2 * self.mean_releases - 1)
        versions = [f"1.{k}" for k in range(releases)]
        if name in self._changed:
            versions.append("2.0")
        display, files = self.display_name(name), []
        requires_python = ">=3.8" if digest[7] % 3 == 0 else None
        dist = name.replace("-", "_")
        for k, version in enumerate(versions):
            uploaded = EPOCH + timedelta(days=digest[8] * 4 + k * 30, seconds=digest[9])
            for filename, packagetype in (
                (f"{dist}-{version}.tar.gz", "sdist"),
                (f"{dist}-{version}-py3-none-any.whl", "bdist_wheel"),
            ):
                size = 200 + int.from_bytes(hashlib.blake2b(filename.encode(), digest_size=2).digest()) % 1800
                content = hashlib.shake_128(f"{self.seed}/{filename}".encode()).digest(size)
                metadata = None
                if packagetype == "bdist_wheel":
                    metadata = f"Metadata-Version: 2.1\nName: {display}\nVersion: {version}\n".encode()
                files.append(
                    GeneratedFile.make(
                        filename, version, packagetype, content, uploaded, requires_python, metadata
                    )
                )
        return GeneratedProject(name, display, self.project_serial(name), files)

    # ----- what the benchmark changes -----
    def change(self, names: list[str]) -> None:
        """Give each project a new release (2.0) and a serial above every other."""
        with self._lock:
            for name in names:
                self.serial += 1
                self._changed[name] = self.serial
            self._root.clear()

    def delete(self, names: list[str]) -> None:
        with self._lock:
            self._deleted.update(names)
            self.serial += 1
            self._root.clear()

    # ----- pages -----
    def root(self, content_type: str) -> bytes:
        with self._lock:
            if content_type not in self._root:
                live = sorted(n for n in self.names if n not in self._deleted)
                if content_type == JSON_TYPE:
                    entries = [
                        {"name": self.display_name(n), "_last-serial": self.project_serial(n)} for n in live
                    ]
                    meta = {"api-version": "1.1", "_last-serial": self.serial}
                    self._root[content_type] = _dump({"meta": meta, "projects": entries})
                else:
                    links = "".join(
                        f'    <a href="/simple/{n}/">{escape(self.display_name(n))}</a>\n' for n in live
                    )
                    self._root[content_type] = _html("Simple index", links)
            return self._root[content_type]

    def project_page(self, project: GeneratedProject, base_url: str) -> bytes:
        entries = []
        for f in project.files:
            core = {"sha256": hashlib.sha256(f.metadata).hexdigest()} if f.metadata is not None else False
            entries.append(
                {
                    "filename": f.filename,
                    "url": base_url + f.path,
                    "hashes": {"sha256": f.sha256},
                    "requires-python": f.requires_python,
                    "yanked": False,
                    "core-metadata": core,
                    "data-dist-info-metadata": core,
                    "size": len(f.content),
                    "upload-time": f.upload_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                }
            )
        versions = list(dict.fromkeys(f.version for f in project.files))
        meta = {"api-version": "1.1", "_last-serial": project.serial}
        return _dump({"meta": meta, "name": project.name, "files": entries, "versions": versions})

    def json_api(self, project: GeneratedProject, base_url: str) -> bytes:
        releases: dict[str, list[dict]] = {}
        for f in project.files:
            releases.setdefault(f.version, []).append(
                {
                    "filename": f.filename,
                    "url": base_url + f.path,
                    "size": len(f.content),
                    "packagetype": f.packagetype,
                    "digests": {"sha256": f.sha256, "md5": hashlib.md5(f.content).hexdigest()},
                    "md5_digest": hashlib.md5(f.content).hexdigest(),
                    "upload_time_iso_8601": f.upload_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "requires_python": f.requires_python,
                    "yanked": False,
                    "yanked_reason": None,
                }
            )
        latest = list(releases)[-1]
        info = {"name": project.display_name, "version": latest, "summary": f"Generated {project.name}"}
        body = {"info": info, "last_serial": project.serial, "releases": releases, "urls": releases[latest]}
        return _dump(body)

    def etag(self, body: bytes) -> str:
        return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'

    def route(self, path: str, headers, base_url: str) -> tuple[int, dict[str, str], bytes]:
        parts = path.split("/")[1:]
        if parts == ["simple", ""]:
            self._count("root")
            ctype = JSON_TYPE if JSON_TYPE in (headers.get("Accept") or "") else "text/html"
            return 200, {"Content-Type": ctype, "X-PyPI-Last-Serial": str(self.serial)}, self.root(ctype)
        if parts[0] == "simple" and len(parts) == 3 and parts[2] == "":
            self._count("pages")
            if not self.live(parts[1]):
                return 404, {"Content-Type": "text/plain"}, b"Not Found\n"
            project = self.project(parts[1])
            body = self.project_page(project, base_url)
            out = {
                "Content-Type": JSON_TYPE,
                "X-PyPI-Last-Serial": str(project.serial),
                "ETag": self.etag(body),
            }
            if out["ETag"] in (headers.get("If-None-Match") or ""):
                return 304, out, b""
            return 200, out, body
        if parts[0] == "pypi" and len(parts) == 3 and parts[2] == "json":
            self._count("json")
            if not self.live(parts[1]):
                return 404, {"Content-Type": "application/json"}, b'{"message": "Not Found"}'
            project = self.project(parts[1])
            out = {"Content-Type": "application/json", "X-PyPI-Last-Serial": str(project.serial)}
            return 200, out, self.json_api(project, base_url)
        if parts[0] == "packages" and len(parts) == 5:
            sidecar = parts[4].endswith(".metadata")
            self._count("sidecars" if sidecar else "files")
            found = self._file(parts[4].removesuffix(".metadata"))
            if found is None or "/".join(["", *parts]).removesuffix(".metadata") != found.path:
                return 404, {"Content-Type": "text/plain"}, b"Not Found\n"
            body = found.metadata if sidecar else found.content
            if body is None:
                return 404, {"Content-Type": "text/plain"}, b"Not Found\n"
            return 200, {"Content-Type": "application/octet-stream"}, body
        self._count("other")
        return 404, {"Content-Type": "text/plain"}, b"Not Found\n"

    def _file(self, filename: str) -> GeneratedFile | None:
        name = filename.split("-", 1)[0].replace("_", "-")
        if not self.live(name):
            return None
        return next((f for f in self.project(name).files if f.filename == filename), None)

    def _count(self, kind: str) -> None:
        with self._lock:
            self.traffic[kind] += 1

    def take_traffic(self) -> Counter:
        with self._lock:
            seen, self.traffic = self.traffic, Counter()
            return seen

    # ----- serving -----
    def start(self) -> GeneratedIndex:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.index = self
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.base_url + "/simple/"


def _dump(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def _html(title: str, links: str) -> bytes:
    head = f'<meta name="pypi:repository-version" content="1.1">\n    <title>{escape(title)}</title>'
    return f"<!DOCTYPE html>\n<html>\n  <head>\n    {head}\n  </head>\n  <body>\n{links}  </body>\n</html>\n".encode()


class _Server(ThreadingHTTPServer):
    index: GeneratedIndex
    daemon_threads = True
    request_queue_size = 128  # a mirror opens a dozen connections at once

    def handle_error(self, request, client_address) -> None:
        # A sync that finds the root's serial unchanged closes the connection without reading the body.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes; see fake_index.py
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        index = self.server.index
        status, headers, body = index.route(urlsplit(self.path).path, self.headers, index.base_url)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)
