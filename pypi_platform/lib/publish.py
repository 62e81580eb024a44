"""Versioned publication of datasets in the object store: every file first, the ``latest`` manifest last.

A dataset's version lives under ``datasets/<dataset>/<version>/``: its files and a ``manifest.json`` that lists
each file's key, size, SHA-256, MD5 and row count. ``datasets/<dataset>/latest.json`` is a copy of that manifest,
written only after everything it names is in the store, so a reader that starts from ``latest.json`` never
meets a missing or half-written file. Old versions are left in place for readers still holding their manifest;
``prune_versions`` removes the oldest beyond a count.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pypi_platform.lib.storage import ObjectNotFound, ObjectStore

PREFIX = "datasets"
LATEST = "latest.json"
MANIFEST = "manifest.json"
CONTENT_TYPES = {
    ".gz": "application/gzip",
    ".parquet": "application/vnd.apache.parquet",
    ".txt": "text/plain",
}


@dataclass(frozen=True)
class DatasetFile:
    """One file to publish: its name in the version directory, its bytes, and its rows when it has rows."""

    name: str
    data: bytes
    rows: int | None = None


class ManifestError(ValueError):
    """A manifest in the store is missing a field or names a file that does not match it."""


def new_version(now: datetime, run_id: str) -> str:
    """A version name that sorts by time and cannot collide between two runs in the same second."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{run_id[:8]}"


def dataset_prefix(dataset: str, root: str = PREFIX) -> str:
    return f"{root}/{dataset}"


def publish(
    store: ObjectStore,
    dataset: str,
    version: str,
    files: list[DatasetFile],
    metadata: dict[str, Any] | None = None,
    *,
    point_latest: bool = True,
    now: datetime | None = None,
    root: str = PREFIX,
) -> dict[str, Any]:
    """Write ``files`` as a new version of ``dataset``, then point ``latest.json`` at it; the manifest.

    With ``point_latest=False`` the version is written but readers keep the previous one (a held-back version,
    kept for inspection). ``root`` is the top-level prefix: ``datasets``, or ``scans`` for the scan bundles."""
    entries = stage_files(store, dataset, version, files, root=root)
    return commit_version(
        store, dataset, version, entries, metadata, point_latest=point_latest, now=now, root=root
    )


def stage_files(
    store: ObjectStore, dataset: str, version: str, files: list[DatasetFile], *, root: str = PREFIX
) -> dict[str, dict[str, Any]]:
    """Write ``files`` into the version's directory; their manifest entries (key, size, digests, rows).

    Nothing points at a staged file until ``commit_version`` names it, so a version may be filled in steps (the
    datasets stage their Aura-format file in the asset and the Parquet twin in the IO manager)."""
    directory = f"{dataset_prefix(dataset, root)}/{version}"
    entries = {}
    for file in files:
        key = f"{directory}/{file.name}"
        store.put_bytes(key, file.data, content_type=_content_type(file.name))
        entries[file.name] = {
            "key": key,
            "bytes": len(file.data),
            "sha256": hashlib.sha256(file.data).hexdigest(),
            "md5": hashlib.md5(file.data, usedforsecurity=False).hexdigest(),
            "rows": file.rows,
        }
    return entries


def commit_version(
    store: ObjectStore,
    dataset: str,
    version: str,
    entries: Mapping[str, dict[str, Any]],
    metadata: dict[str, Any] | None = None,
    *,
    point_latest: bool = True,
    now: datetime | None = None,
    root: str = PREFIX,
) -> dict[str, Any]:
    """Write the manifest of a version whose files are staged, then (unless held back) ``latest.json``."""
    directory = f"{dataset_prefix(dataset, root)}/{version}"
    manifest = {
        "dataset": dataset,
        "version": version,
        "published_at": (now or datetime.now(UTC)).astimezone(UTC).isoformat(),
        "files": dict(entries),
        "metadata": metadata or {},
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    store.put_bytes(f"{directory}/{MANIFEST}", body, content_type="application/json")
    if point_latest:
        store.put_bytes(
            f"{dataset_prefix(dataset, root)}/{LATEST}", body, content_type="application/json"
        )  # last
    return manifest


def checksum_text(digests: Mapping[str, str]) -> bytes:
    """A checksum file: ``<digest>  <name>`` lines, sorted by name, as ``sha256sum -c`` reads them."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items())).encode()


def read_latest(store: ObjectStore, dataset: str, root: str = PREFIX) -> dict[str, Any] | None:
    """The manifest ``latest.json`` points at, or None when the dataset was never published."""
    try:
        raw = store.get_bytes(f"{dataset_prefix(dataset, root)}/{LATEST}")
    except ObjectNotFound:
        return None
    manifest = json.loads(raw)
    for field in ("dataset", "version", "files"):
        if field not in manifest:
            raise ManifestError(f"{dataset}/{LATEST} has no {field!r}")
    return manifest


def read_file(store: ObjectStore, manifest: dict[str, Any], name: str) -> bytes:
    """A file of a published version, read back and checked against the manifest's SHA-256."""
    entry = manifest["files"].get(name)
    if entry is None:
        raise ManifestError(f"{manifest['dataset']} {manifest['version']} has no file {name!r}")
    data = store.get_bytes(entry["key"])
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ManifestError(f"{entry['key']} does not match the SHA-256 in its manifest")
    return data


def read_frame(store: ObjectStore, manifest: dict[str, Any], name: str) -> pl.DataFrame:
    """A Parquet file of a published version as a frame, checked against its manifest."""
    return pl.read_parquet(io.BytesIO(read_file(store, manifest, name)))


def latest_frame(store: ObjectStore, dataset: str) -> pl.DataFrame | None:
    """The Parquet twin (``<dataset>.parquet``) of a dataset's latest version; None when it was never published."""
    manifest = read_latest(store, dataset)
    return None if manifest is None else read_frame(store, manifest, f"{dataset}.parquet")


def prune_versions(store: ObjectStore, dataset: str, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` versions of ``dataset`` (never the one ``latest.json`` names)."""
    latest = read_latest(store, dataset)
    prefix = dataset_prefix(dataset) + "/"
    versions: dict[str, list[str]] = {}
    for key in store.list_keys(prefix):
        version, _, rest = key[len(prefix) :].partition("/")
        if rest:
            versions.setdefault(version, []).append(key)
    doomed = sorted(versions)[:-keep] if keep > 0 else []
    doomed = [v for v in doomed if latest is None or v != latest["version"]]
    store.delete([key for version in doomed for key in versions[version]])
    return doomed


def _content_type(name: str) -> str:
    for suffix, content_type in CONTENT_TYPES.items():
        if name.endswith(suffix):
            return content_type
    return "application/octet-stream"
