"""Bringing one changed project into the mirror: verified files first, then its pages, then its state."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from pypi_platform.lib.config import MirrorFilters
from pypi_platform.lib.mirror import pages
from pypi_platform.lib.mirror.filters import latest_version, select_files
from pypi_platform.lib.mirror.http import HttpClient, TooLarge, UpstreamError
from pypi_platform.lib.mirror.jsonapi import synthesize_json_document
from pypi_platform.lib.mirror.pages import PublishedFile
from pypi_platform.lib.mirror.state import MirrorState, ProjectUpdate
from pypi_platform.lib.mirror.upstream import (
    JSON_CONTENT_TYPE,
    PageError,
    PageResponse,
    Upstream,
    UpstreamFile,
    merge_json_api,
    parse_project_page,
)
from pypi_platform.lib.storage import ObjectStore, StoreUnavailable

log = logging.getLogger(__name__)

HTML = "text/html; charset=utf-8"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


class ProjectFailed(Exception):
    """The project cannot be brought up to date this run; its old pages and serial stay as they were."""


@dataclass
class Transfer:
    files: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, size: int) -> None:
        with self._lock:
            self.files += 1
            self.bytes += size

    def warn(self, message: str) -> None:
        with self._lock:
            self.warnings.append(message)
        log.warning(message)


@dataclass
class ProjectPublisher:
    upstream: Upstream
    client: HttpClient
    store: ObjectStore
    state: MirrorState
    filters: MirrorFilters
    downloads: Executor
    work_dir: Path
    transfer: Transfer
    json_api: bool | None = None  # learnt from the first answer: does this upstream have a JSON API?

    def publish(
        self, name: str, page: PageResponse, expected_serial: int | None, previous_serial: int | None = None
    ) -> None:
        try:
            display_name, files = parse_project_page(name, page)
        except PageError as exc:
            raise ProjectFailed(str(exc)) from exc
        serial = page.serial if page.serial is not None else expected_serial
        # A PEP 691 page already says everything a download needs, so its JSON API document is fetched beside
        # the files; an HTML page may lack sidecar digests and sizes, which the JSON API must fill in first.
        pending: Future = Future()
        if page.content_type.startswith(JSON_CONTENT_TYPE) and self.json_api is not False:
            pending = self.downloads.submit(self._json_document, name, None)
        else:
            pending.set_result(self._json_document(name, files))
        if not files:
            serial = _serial_from(pending.result(), serial)
            # An index has been seen serving an empty page by mistake; believe one only with a newer serial.
            advanced = serial is not None and previous_serial is not None and serial > previous_serial
            if not advanced and self.state.live_file_count(name):
                raise ProjectFailed(
                    "the upstream page lists no files and its serial did not advance; page kept"
                )
        published = self._fetch_files(name, select_files(files, self.filters))
        json_document = pending.result()
        serial = _serial_from(json_document, serial)
        if json_document is None:
            raw = synthesize_json_document(display_name, serial, published)
        else:
            raw, document, _ = json_document
            info = document.get("info")
            if isinstance(info, dict) and isinstance(info.get("name"), str):
                display_name = info["name"]

        # Content first, pointers last: every file is verified in the store before a page links it.
        html = pages.render_project_html(display_name, published, serial)
        for key in pages.page_keys(name)[:2]:
            self.store.put_bytes(key, html, content_type=HTML)
        self.store.put_bytes(
            pages.page_keys(name)[2],
            pages.render_project_json(name, published, serial),
            content_type=SIMPLE_JSON,
        )
        for key in pages.json_keys(name):
            self.store.put_bytes(key, raw, content_type="application/json")
        by_name = {f.filename: f for f in files}
        self.state.publish(
            ProjectUpdate(
                name=name,
                display_name=display_name,
                serial=serial,
                etag=page.etag,
                last_modified=page.last_modified,
                page_sha256=page.sha256,
                filter_fingerprint=self.filters.fingerprint(),
                files=published,
                md5={f.filename: by_name[f.filename].md5 for f in published},
                packagetypes={f.filename: by_name[f.filename].packagetype for f in published},
                latest_version=latest_version(files),
            ),
            datetime.now(UTC),
        )

    def _json_document(self, name: str, files: list[UpstreamFile] | None):
        """The JSON API document, if the upstream has one; its details fill in the files given, if any."""
        if self.json_api is False:
            return None
        try:
            fetched = self.upstream.fetch_json_api(name)
        except (PageError, UpstreamError) as exc:
            raise ProjectFailed(str(exc)) from exc
        if fetched is None:
            self.json_api = False
            return None
        self.json_api = True
        if files is not None:
            merge_json_api(files, fetched[1])
        return fetched

    def _fetch_files(self, name: str, selected: list[UpstreamFile]) -> list[PublishedFile]:
        keys: dict[str, str] = {}
        for upstream_file in selected:
            if not upstream_file.sha256:
                raise ProjectFailed(f"{upstream_file.filename} has no sha256 digest to verify it against")
            try:
                keys[upstream_file.filename] = pages.file_key(
                    upstream_file.url, upstream_file.filename, upstream_file.sha256
                )
            except ValueError as exc:
                raise ProjectFailed(str(exc)) from exc
        sidecar_keys = [keys[f.filename] + ".metadata" for f in selected if f.metadata_sha256]
        verified = self.state.verified_blobs([*keys.values(), *sidecar_keys])

        jobs: list[tuple[UpstreamFile, Future, Future | None]] = []
        for upstream_file in selected:
            key = keys[upstream_file.filename]
            main = self._submit(
                verified, key, upstream_file.url, upstream_file.sha256, upstream_file.size, limit=True
            )
            sidecar = None
            if upstream_file.metadata_sha256:
                sidecar = self._submit(
                    verified,
                    key + ".metadata",
                    upstream_file.url + ".metadata",
                    upstream_file.metadata_sha256,
                )
            jobs.append((upstream_file, main, sidecar))

        published, errors = [], []
        for upstream_file, main, sidecar in jobs:
            try:
                size = main.result()
            except TooLarge as exc:
                self.transfer.warn(f"{name}: {exc}; left out")
                continue
            except StoreUnavailable:  # not this file's fault: the sync stops trying the store
                raise
            except (UpstreamError, httpx.HTTPError, OSError) as exc:
                errors.append(f"{upstream_file.filename}: {_describe(exc)}")
                continue
            metadata_sha256 = self._sidecar_result(name, upstream_file, sidecar)
            published.append(_published(upstream_file, keys[upstream_file.filename], size, metadata_sha256))
        if errors:
            raise ProjectFailed(
                "; ".join(errors[:5]) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")
            )
        return published

    def _sidecar_result(self, name: str, upstream_file: UpstreamFile, sidecar: Future | None) -> str | None:
        if sidecar is None:
            return None
        try:
            sidecar.result()
        except StoreUnavailable:
            raise
        except (UpstreamError, httpx.HTTPError, OSError) as exc:
            # Unlike bandersnatch, a missing sidecar does not fail the project: the page stops advertising it.
            self.transfer.warn(f"{name}: metadata of {upstream_file.filename} left out: {_describe(exc)}")
            return None
        return upstream_file.metadata_sha256

    def _submit(
        self,
        verified: dict[str, tuple[str, int]],
        key: str,
        url: str,
        sha256: str,
        size: int | None = None,
        limit: bool = False,
    ) -> Future:
        known = verified.get(key)
        if known is not None and known[0] == sha256:
            done: Future = Future()
            done.set_result(known[1])
            return done
        max_size = self.filters.max_file_size if limit else None
        return self.downloads.submit(self._download, key, url, sha256, size, max_size)

    def _download(self, key: str, url: str, sha256: str, size: int | None, max_size: int | None) -> int:
        handle, temp_name = tempfile.mkstemp(dir=self.work_dir, prefix=".download-")
        temp = Path(temp_name)
        os.close(handle)  # the download reopens the file by path
        try:
            result = self.client.download(
                url, temp, expected_sha256=sha256, expected_size=size, max_size=max_size
            )
            self.store.move_file(key, temp, metadata={"sha256": result.sha256})
        finally:
            temp.unlink(missing_ok=True)
        self.state.record_blob(key, result.sha256, result.size)
        self.transfer.add(result.size)
        return result.size


def _serial_from(json_document: tuple | None, serial: int | None) -> int | None:
    """The page's serial where it gave one, else the JSON API's."""
    if serial is not None or json_document is None:
        return serial
    return json_document[2]


def _published(
    upstream_file: UpstreamFile, key: str, size: int | None, metadata_sha256: str | None
) -> PublishedFile:
    return PublishedFile(
        filename=upstream_file.filename,
        object_key=key,
        sha256=upstream_file.sha256 or "",
        size=size if size is not None else (upstream_file.size or 0),
        version=upstream_file.version,
        upload_time=upstream_file.upload_time,
        requires_python=upstream_file.requires_python,
        yanked=upstream_file.yanked,
        yanked_reason=upstream_file.yanked_reason,
        metadata_sha256=metadata_sha256,
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return str(exc) or type(exc).__name__
