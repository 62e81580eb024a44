"""Release files on local disk for the scans and the corpus: fetched from the object store once, verified,
reused.

This is the prefetch step of Aura's scans made permanent: a re-run of a bucket (after a crash, a ruleset bump
or a retry of failed packages) reads the files from local disk instead of fetching them again. A file from a
local store is read where it is. The cache is bounded: ``trim`` drops the least recently used files.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pypi_platform.lib.storage import ObjectStore

_CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A release file could not be fetched or did not match its recorded sha256."""


@dataclass
class CacheStats:
    hits: int = 0
    fetched: int = 0
    fetched_bytes: int = 0


class ReleaseFileCache:
    def __init__(self, root: Path, store: ObjectStore):
        self.root = root
        self.store = store
        self.stats = CacheStats()

    def path_for(self, object_key: str, sha256: str, size: int) -> Path:
        """A local file holding the object's bytes, which hash to `sha256`."""
        local = self.store.local_path(object_key)
        if local is not None:
            if not local.is_file():
                raise FetchError(f"{object_key}: missing from the store")
            return local
        target = self.root / sha256[:2] / sha256
        if target.is_file() and target.stat().st_size == size:
            os.utime(target)  # recently used: trim keeps it
            self.stats.hits += 1
            return target
        self._fetch(object_key, sha256, target)
        self.stats.fetched += 1
        self.stats.fetched_bytes += size
        return target

    def _fetch(self, object_key: str, sha256: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".fetch-")
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, self.store.open(object_key) as source:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != sha256:
                raise FetchError(
                    f"{object_key}: sha256 {digest.hexdigest()} where the mirror recorded {sha256}"
                )
            os.replace(temp, target)
        except FetchError:
            raise
        except Exception as exc:  # the store's own errors, whatever the backend
            raise FetchError(f"{object_key}: {type(exc).__name__}: {exc}") from exc
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def trim(self, max_bytes: int) -> int:
        """Delete least recently used files until the cache holds at most `max_bytes`; the bytes freed."""
        files = [path for path in self.root.glob("*/*") if path.is_file() and not path.name.startswith(".")]
        entries = sorted(((p.stat().st_mtime, p.stat().st_size, p) for p in files), key=lambda e: e[0])
        total = sum(size for _, size, _ in entries)
        freed = 0
        for _, size, path in entries:
            if total - freed <= max_bytes:
                break
            path.unlink(missing_ok=True)
            freed += size
        return freed
