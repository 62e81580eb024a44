"""The object store: one interface over a local directory and S3 (or any S3-compatible store).

Keys are ``/``-separated paths relative to the store root. A write is atomic from a reader's point of view:
a reader sees the old object, the new one, or nothing, never half a file.
"""

from __future__ import annotations

import abc
import errno
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from pypi_platform.lib.config import S3Timeouts

# Local temp files carry this prefix so that list_keys can skip a write in progress (or one killed mid-way).
TEMP_PREFIX = ".tmp-"
DEFAULT_MULTIPART_THRESHOLD = 64 * 2**20
_MIN_PART_SIZE = 5 * 2**20  # S3 rejects smaller parts, except the last one
_DELETE_BATCH = 1000  # the most keys one DeleteObjects call accepts
_POOL_CONNECTIONS = 32  # enough for the thread pools that share one client
_FILE_MODE = 0o644  # mkstemp makes 0600 files; mirror files are served by web servers running as other users
DEFAULT_TIMEOUTS = S3Timeouts()  # PYPI_PLATFORM_S3_TIMEOUT_SECONDS and _MAX_ATTEMPTS unset


class ObjectNotFound(KeyError):
    """The key names no object in the store."""


class StoreUnavailable(OSError):
    """The store did not answer: its endpoint refused, timed out or dropped the connection on every attempt."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise ValueError saying what is wrong with it."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"object key must be a non-empty string, got {key!r}")
    if key.startswith("/"):
        raise ValueError(f"object key {key!r} is absolute; keys are relative to the store root")
    for part in key.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(f"object key {key!r} has an empty, '.' or '..' segment")
        if part.startswith(TEMP_PREFIX):
            raise ValueError(f"object key {key!r} uses the reserved prefix {TEMP_PREFIX!r}")
    if "\\" in key or "\0" in key:
        raise ValueError(f"object key {key!r} contains a backslash or NUL")
    return key


def _check_prefix(prefix: str) -> str:
    # A listing prefix may end in '/' or part-way through a name, but must not escape the root.
    if prefix.startswith("/") or ".." in prefix.split("/"):
        raise ValueError(f"listing prefix {prefix!r} must be relative and free of '..'")
    return prefix


class ObjectStore(abc.ABC):
    url: str

    @abc.abstractmethod
    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None: ...

    @abc.abstractmethod
    def put_file(
        self, key: str, path: Path, *, content_type: str | None = None, metadata: dict[str, str] | None = None
    ) -> None:
        """Upload a local file; the file stays where it is."""

    def move_file(
        self, key: str, path: Path, *, content_type: str | None = None, metadata: dict[str, str] | None = None
    ) -> None:
        """Like put_file, but the source file is consumed (a local store may simply rename it)."""
        self.put_file(key, path, content_type=content_type, metadata=metadata)
        Path(path).unlink()

    @abc.abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abc.abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A streaming, forward-only reader; the caller closes it."""

    @abc.abstractmethod
    def size(self, key: str) -> int | None:
        """The object's size in bytes, None when it does not exist."""

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    @abc.abstractmethod
    def delete(self, keys: Iterable[str]) -> None:
        """Delete every key; keys that do not exist are fine."""

    @abc.abstractmethod
    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix`` (a plain string prefix, as in S3), in no particular order."""

    @abc.abstractmethod
    def uri(self, key: str) -> str: ...

    def local_path(self, key: str) -> Path | None:
        """The object's file for a local store; None where objects are not files."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


class LocalStore(ObjectStore):
    """Files under a root directory; a write goes to a temp file beside its target, then os.replace."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.url = self.root.as_uri()

    def local_path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _temp_beside(self, target: Path) -> tuple[int, str]:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        os.fchmod(fd, _FILE_MODE)
        return fd, temp

    def put_bytes(self, key, data, *, content_type=None, metadata=None) -> None:
        # content_type and metadata have nowhere to live in a plain directory; web servers infer the type.
        target = self.local_path(key)
        fd, temp = self._temp_beside(target)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def put_file(self, key, path, *, content_type=None, metadata=None) -> None:
        target = self.local_path(key)
        fd, temp = self._temp_beside(target)
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as source:
                shutil.copyfileobj(source, out, 2**20)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def move_file(self, key, path, *, content_type=None, metadata=None) -> None:
        target = self.local_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)  # atomic and free when both sit on one file system
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            super().move_file(key, path)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.local_path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def open(self, key: str) -> BinaryIO:
        path = self.local_path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        return path.open("rb")

    def size(self, key: str) -> int | None:
        path = self.local_path(key)
        try:
            return path.stat().st_size if path.is_file() else None
        except FileNotFoundError:  # deleted between the two calls
            return None

    def delete(self, keys: Iterable[str]) -> None:
        # Empty directories stay: removing them would race with a concurrent put into the same directory.
        for key in keys:
            self.local_path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        _check_prefix(prefix)
        # Walk only the directory the prefix points into, not the whole store.
        start = self.root / prefix.rpartition("/")[0]
        for directory, dirnames, filenames in os.walk(start):
            dirnames[:] = [name for name in dirnames if not name.startswith(TEMP_PREFIX)]
            relative = Path(directory).relative_to(self.root).as_posix()
            base = "" if relative == "." else relative + "/"
            for name in filenames:
                key = base + name
                if not name.startswith(TEMP_PREFIX) and key.startswith(prefix):
                    yield key

    def uri(self, key: str) -> str:
        return self.local_path(key).as_uri()


class S3Store(ObjectStore):
    """Objects in an S3 bucket under an optional prefix; one client, shared by every thread."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        timeouts: S3Timeouts = DEFAULT_TIMEOUTS,
    ) -> None:
        self.bucket = bucket
        self.timeouts = timeouts
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        # boto3 is imported here, not at module level: a local store should not pay ~60 ms for it.
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        config = Config(
            max_pool_connections=_POOL_CONNECTIONS,
            # Bounded waits: botocore's defaults hold a call to an endpoint that never answers for minutes.
            connect_timeout=timeouts.seconds,
            read_timeout=timeouts.seconds,
            retries={"mode": "standard", "total_max_attempts": timeouts.max_attempts},
            # S3-compatible stores (MinIO, Ceph, a local test server) reliably speak path-style only.
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        self.client = _new_s3_client(endpoint_url, config)
        self.endpoint = self.client.meta.endpoint_url
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=max(multipart_threshold, _MIN_PART_SIZE),
            max_concurrency=4,  # callers already upload from thread pools; keep within the connection pool
        )

    @contextmanager
    def _answering(self) -> Iterator[None]:
        """Turn botocore's connection failures into one ``StoreUnavailable`` naming the endpoint and the limits."""
        try:
            yield
        except (BotoConnectionError, HTTPClientError, S3UploadFailedError) as exc:
            if isinstance(exc, S3UploadFailedError) and not isinstance(
                exc.__context__, (BotoConnectionError, HTTPClientError)
            ):
                raise
            limits = self.timeouts
            raise StoreUnavailable(
                f"the object store {self.url} at {self.endpoint} did not answer ({exc}); each of "
                f"{limits.max_attempts} attempts waits up to {limits.seconds:g} s "
                "(PYPI_PLATFORM_S3_TIMEOUT_SECONDS, PYPI_PLATFORM_S3_MAX_ATTEMPTS)"
            ) from exc

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @staticmethod
    def _extra(content_type: str | None, metadata: dict[str, str] | None) -> dict[str, object]:
        extra: dict[str, object] = {}
        if content_type:
            extra["ContentType"] = content_type
        if metadata:
            extra["Metadata"] = dict(metadata)
        return extra

    def put_bytes(self, key, data, *, content_type=None, metadata=None) -> None:
        with self._answering():
            self.client.put_object(
                Bucket=self.bucket, Key=self._full(key), Body=data, **self._extra(content_type, metadata)
            )

    def put_file(self, key, path, *, content_type=None, metadata=None) -> None:
        # The managed transfer goes multipart above the threshold; S3 publishes the object only on completion.
        with self._answering():
            self.client.upload_file(
                str(path),
                self.bucket,
                self._full(key),
                ExtraArgs=self._extra(content_type, metadata) or None,
                Config=self.transfer,
            )

    def _get(self, key: str):
        try:
            with self._answering():
                return self.client.get_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ObjectNotFound(key) from None
            raise

    def get_bytes(self, key: str) -> bytes:
        body = self._get(key)["Body"]
        with body:
            return body.read()

    def open(self, key: str) -> BinaryIO:
        return self._get(key)["Body"]

    def size(self, key: str) -> int | None:
        try:
            with self._answering():
                return self.client.head_object(Bucket=self.bucket, Key=self._full(key))["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def delete(self, keys: Iterable[str]) -> None:
        batch: list[dict[str, str]] = []
        for key in keys:
            batch.append({"Key": self._full(key)})
            if len(batch) == _DELETE_BATCH:
                self._delete_batch(batch)
                batch = []
        if batch:
            self._delete_batch(batch)

    def _delete_batch(self, batch: list[dict[str, str]]) -> None:
        with self._answering():
            response = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            raise OSError(
                f"{len(errors)} of {len(batch)} deletes failed in {self.url}, "
                f"first {first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
            )

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        _check_prefix(prefix)
        root = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = iter(paginator.paginate(Bucket=self.bucket, Prefix=root + prefix))
        while True:
            with self._answering():
                page = next(pages, None)
            if page is None:
                return
            for item in page.get("Contents", ()):
                yield item["Key"][len(root) :]

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"


_session_lock = threading.Lock()
_session = None


def _new_s3_client(endpoint_url: str | None, config):
    """A client from one boto3 session per process, made under a lock.

    Sessions are not thread-safe, clients are. Sharing the session also shares its parsed service data: a new
    session per store re-reads megabytes of botocore JSON every time.
    """
    global _session
    import boto3

    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client("s3", endpoint_url=endpoint_url, config=config)


def open_store(
    url: str,
    *,
    endpoint_url: str | None = None,
    multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
    timeouts: S3Timeouts = DEFAULT_TIMEOUTS,
) -> ObjectStore:
    """The store behind ``file:///abs/dir`` or ``s3://bucket/prefix`` (``timeouts`` bound S3's requests)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
            raise ValueError(f"a local store URL must be file:///absolute/dir, got {url!r}")
        return LocalStore(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"an S3 store URL must name a bucket (s3://bucket/prefix), got {url!r}")
        return S3Store(
            parsed.netloc,
            parsed.path,
            endpoint_url=endpoint_url,
            multipart_threshold=multipart_threshold,
            timeouts=timeouts,
        )
    raise ValueError(f"object store URL must be file:///abs/dir or s3://bucket/prefix, got {url!r}")
