"""The mirror over HTTP, read from the object store: what pip needs and S3 cannot give by itself.

S3 serves a key, not a directory: ``simple/<name>/`` has no object (the page is ``simple/<name>/index.html``),
and the mirror's objects are private. This server maps the simple index's directory URLs to their pages, chooses
the PEP 691 JSON or the HTML page by the client's Accept header, and streams release files from ``packages/``,
all read through the store with its own credentials. It is small and threaded, meant for a team's pip behind a
firewall or a reverse proxy: on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import logging
import shutil
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from pypi_platform.lib.mirror.pages import WEB
from pypi_platform.lib.names import normalize
from pypi_platform.lib.storage import ObjectNotFound, ObjectStore, StoreUnavailable, check_key

log = logging.getLogger(__name__)

HTML = "text/html; charset=utf-8"
JSON = "application/vnd.pypi.simple.v1+json"
_COPY_CHUNK = 1 << 20


def resolve(path: str, accept: str) -> tuple[str, str] | str:
    """The object key and content type for a request path, or a path to redirect to (a string alone).

    ``/simple/`` and ``/simple/<name>/`` map to their pages (JSON when Accept asks for PEP 691's type first),
    ``/simple/<name>`` redirects to its normalized directory URL, ``/packages/...`` maps to the file.
    """
    parts = [unquote(part) for part in path.split("/")]
    if parts[:2] != ["", "simple"] and parts[:2] != ["", "packages"]:
        raise KeyError(path)
    if parts[1] == "packages":
        return check_key(f"{WEB}{'/'.join(parts)}"), "application/octet-stream"
    wants_json = _prefers_json(accept)
    page, kind = ("index.v1_json", JSON) if wants_json else ("index.html", HTML)
    if parts in (["", "simple"], ["", "simple", ""]):
        return (f"{WEB}/simple/{page}", kind) if parts[-1] == "" else "/simple/"
    name = parts[2]
    if len(parts) == 3 or (len(parts) == 4 and parts[3] == "" and normalize(name) != name):
        return f"/simple/{normalize(name)}/"
    if len(parts) != 4 or parts[3] != "":
        raise KeyError(path)
    return check_key(f"{WEB}/simple/{name}/{page}"), kind


def _prefers_json(accept: str) -> bool:
    """True when the Accept header ranks PEP 691's JSON above HTML (pip sends both, JSON first)."""
    ranked = []
    for position, item in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in item.split(";"))
        quality = next((float(p[2:]) for p in params if p.startswith("q=")), 1.0)
        ranked.append((-quality, position, media))
    for _, _, media in sorted(ranked):
        if media == JSON:
            return True
        if media in ("text/html", "application/vnd.pypi.simple.v1+html", "*/*"):
            return False
    return False


def make_server(store: ObjectStore, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A server (not started: call ``serve_forever``) answering GET and HEAD from ``store``."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "pypi-platform-mirror"

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, *, body: bool) -> None:
            try:
                target = resolve(urlsplit(self.path).path, self.headers.get("Accept", ""))
            except (KeyError, ValueError):
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            if isinstance(target, str):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            key, content_type = target
            try:
                size = store.size(key)
                if size is None:
                    raise ObjectNotFound(key)
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                if body:
                    with store.open(key) as source:
                        shutil.copyfileobj(source, self.wfile, _COPY_CHUNK)
            except ObjectNotFound:
                self.send_error(HTTPStatus.NOT_FOUND)
            except StoreUnavailable as exc:
                log.error("%s", exc)
                self.send_error(HTTPStatus.BAD_GATEWAY, "the object store did not answer")

        def log_message(self, format: str, *args: object) -> None:
            log.info("%s %s", self.address_string(), format % args)

    return ThreadingHTTPServer((host, port), Handler)
