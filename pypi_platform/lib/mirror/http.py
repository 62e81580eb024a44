"""HTTP to the upstream index: one pooled client, retries with backoff, streamed and verified downloads."""

from __future__ import annotations

import hashlib
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from httpx._config import create_ssl_context

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_CHUNK = 1 << 20


class UpstreamError(Exception):
    """The upstream did not give a usable answer after every retry."""


class HashMismatch(UpstreamError):
    """Downloaded bytes do not match the digest the index advertised."""


class TooLarge(UpstreamError):
    """A download grew past the configured maximum file size."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 8.0

    def delay(self, attempt: int) -> float:
        # Full jitter keeps many threads that failed together from retrying together.
        return random.uniform(0, min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt))


@dataclass(frozen=True)
class Download:
    path: Path
    size: int
    sha256: str


class HttpClient:
    """A thread-safe client whose connections are reused across every project and file of a sync.

    Each thread gets its own ``httpx.Client``: one pool shared by many threads spends most of a cold sync
    waiting on the pool's lock. The SSL context, costly to build, is built once and shared.
    """

    def __init__(
        self,
        *,
        timeout_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        user_agent: str = "pypi-platform-mirror/0.1",
    ) -> None:
        self.retry = retry or RetryPolicy()
        self._timeout = httpx.Timeout(timeout_seconds)
        self._headers = {"User-Agent": user_agent}
        self._ssl_context: ssl.SSLContext | None = None
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._clients_lock = threading.Lock()

    @property
    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            with self._clients_lock:
                if self._ssl_context is None:
                    self._ssl_context = create_ssl_context()
                client = httpx.Client(
                    timeout=self._timeout,
                    follow_redirects=True,
                    headers=self._headers,
                    verify=self._ssl_context,
                )
                self._clients.append(client)
            self._local.client = client
        return client

    def close(self) -> None:
        with self._clients_lock:
            for client in self._clients:
                client.close()
            self._clients.clear()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        body_wanted: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """GET with the body read; any final status below 500 is returned for the caller to judge.

        `body_wanted`, if given, is asked once the status and headers are in; when it answers no, the body is
        never read (the connection is closed instead) and the response has no content to read.
        """
        for attempt in range(self.retry.attempts):
            last = attempt == self.retry.attempts - 1
            try:
                response = self._get_once(url, headers, body_wanted)
            except httpx.TransportError as exc:
                if last:
                    raise UpstreamError(
                        f"GET {url} failed after {self.retry.attempts} attempts: {exc!r}"
                    ) from exc
                log.debug("GET %s: %r, retrying", url, exc)
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return response
                if last:
                    raise UpstreamError(
                        f"GET {url} answered HTTP {response.status_code} after {self.retry.attempts} attempts"
                    )
                log.debug("GET %s: HTTP %s, retrying", url, response.status_code)
            time.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    def _get_once(
        self,
        url: str,
        headers: Mapping[str, str] | None,
        body_wanted: Callable[[httpx.Response], bool] | None,
    ) -> httpx.Response:
        client = self._client
        if body_wanted is None:
            return client.get(url, headers=dict(headers or {}))
        response = client.send(client.build_request("GET", url, headers=dict(headers or {})), stream=True)
        try:
            if response.status_code not in RETRYABLE_STATUS and body_wanted(response):
                response.read()
        finally:
            response.close()
        return response

    def download(
        self,
        url: str,
        dest: Path,
        *,
        expected_sha256: str,
        expected_size: int | None = None,
        max_size: int | None = None,
    ) -> Download:
        """Stream ``url`` into ``dest`` while hashing; only bytes matching ``expected_sha256`` are kept.

        A 404 raises :class:`httpx.HTTPStatusError` at once (it will not heal by retrying); a mismatch is
        retried once, since a dropped or corrupted transfer can look like one.
        """
        mismatches = 0
        for attempt in range(self.retry.attempts):
            last = attempt == self.retry.attempts - 1
            try:
                result = self._stream_to(url, dest, max_size)
            except TooLarge:
                dest.unlink(missing_ok=True)
                raise
            except httpx.HTTPStatusError as exc:
                dest.unlink(missing_ok=True)
                if exc.response.status_code not in RETRYABLE_STATUS or last:
                    raise
            except httpx.TransportError as exc:
                dest.unlink(missing_ok=True)
                if last:
                    raise UpstreamError(
                        f"GET {url} failed after {self.retry.attempts} attempts: {exc!r}"
                    ) from exc
            else:
                problem = None
                if expected_size is not None and result.size != expected_size:
                    problem = f"size {result.size} differs from the advertised {expected_size}"
                elif result.sha256 != expected_sha256.lower():
                    problem = f"sha256 {result.sha256} differs from the advertised {expected_sha256}"
                if problem is None:
                    return result
                dest.unlink(missing_ok=True)
                mismatches += 1
                if mismatches >= 2 or last:
                    raise HashMismatch(f"{url.rsplit('/', 1)[-1]}: {problem}")
            time.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    def _stream_to(self, url: str, dest: Path, max_size: int | None) -> Download:
        # Only sha256 is verified; the md5 a mirror lists is the upstream's, so hashing it too would cost a
        # third to a half of a large download's CPU for nothing.
        sha256, size = hashlib.sha256(), 0
        with self._client.stream("GET", url) as response, dest.open("wb") as out:
            response.raise_for_status()
            for chunk in response.iter_bytes(_CHUNK):
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise TooLarge(f"{url.rsplit('/', 1)[-1]} is larger than the maximum of {max_size} bytes")
                sha256.update(chunk)
                out.write(chunk)
        return Download(dest, size, sha256.hexdigest())
