"""The checksums of every published dataset file and the one-archive bundle, then the index of all datasets."""

import gzip
import hashlib
import json
from datetime import UTC, datetime

import dagster as dg

from pypi_platform.defs.datasets.assets import (
    COMMON,
    HOURLY,
    dependency_list,
    download_stats_30d,
    package_list,
    reverse_dependencies,
)
from pypi_platform.defs.metadata import byte_count
from pypi_platform.defs.resources import ObjectStoreResource
from pypi_platform.lib.datasets.bundle import BUNDLE_NAME, MD5_NAME, SHA256_NAME, bundle
from pypi_platform.lib.datasets.schema import AURA_FILES, BUNDLE_MEMBERS
from pypi_platform.lib.publish import (
    PREFIX,
    DatasetFile,
    checksum_text,
    new_version,
    publish,
    read_file,
    read_latest,
)

INDEX_KEY = f"{PREFIX}/latest.json"  # every dataset's current manifest, written after the bundle


def published_manifests(store) -> tuple[dict[str, dict], list[str]]:
    """The current manifest of each dataset that has one, and the names of those never published."""
    manifests = {dataset: read_latest(store, dataset) for dataset in AURA_FILES}
    return {d: m for d, m in manifests.items() if m}, [d for d, m in manifests.items() if m is None]


@dg.asset(
    **COMMON,
    kinds={"s3"},
    deps=[package_list, dependency_list, reverse_dependencies, download_stats_30d],
    freshness_policy=HOURLY,
)
def dataset_checksums(
    context: dg.AssetExecutionContext, object_store: ObjectStoreResource
) -> dg.MaterializeResult:
    """MD5 and SHA-256 of every published dataset file, computed from the bytes read back from the store."""
    store = object_store.get_store()
    manifests, missing = published_manifests(store)
    md5, sha256 = {}, {}
    for manifest in manifests.values():
        for name, entry in manifest["files"].items():
            data = store.get_bytes(entry["key"])
            md5[name] = hashlib.md5(data, usedforsecurity=False).hexdigest()
            sha256[name] = hashlib.sha256(data).hexdigest()
    versions = {dataset: manifest["version"] for dataset, manifest in manifests.items()}
    manifest = publish(
        store,
        "dataset_checksums",
        new_version(datetime.now(UTC), context.run.run_id),
        [
            DatasetFile(MD5_NAME, checksum_text(md5), len(md5)),
            DatasetFile(SHA256_NAME, checksum_text(sha256), len(sha256)),
        ],
        {"datasets": versions, "not_published": missing},
    )
    return dg.MaterializeResult(
        metadata={
            "version": manifest["version"],
            "dagster/row_count": len(md5),
            "datasets": dg.MetadataValue.json(versions),
            "not_published": dg.MetadataValue.json(missing),
        }
    )


@dg.asset_check(name="match_store", asset=dataset_checksums, blocking=True)
def dataset_checksums_match_store(object_store: ObjectStoreResource) -> dg.AssetCheckResult:
    """Every file listed in the published checksums reads back from the store with those digests."""
    store = object_store.get_store()
    checksums = read_latest(store, "dataset_checksums")
    if checksums is None:
        return dg.AssetCheckResult(passed=False, description="no checksums published")
    expected = _parse_checksums(read_file(store, checksums, SHA256_NAME))
    manifests, _ = published_manifests(store)
    keys = {name: entry["key"] for m in manifests.values() for name, entry in m["files"].items()}
    wrong = sorted(
        name for name, digest in expected.items()
        if name not in keys or hashlib.sha256(store.get_bytes(keys[name])).hexdigest() != digest
    )  # fmt: skip
    return dg.AssetCheckResult(
        passed=not wrong,
        description=f"do not match the store: {', '.join(wrong)}" if wrong else None,
        metadata={"files_checked": len(expected), "mismatches": len(wrong)},
    )


@dg.asset(**COMMON, kinds={"s3"}, deps=[dataset_checksums], freshness_policy=HOURLY)
def dataset_bundle(
    context: dg.AssetExecutionContext, object_store: ObjectStoreResource
) -> dg.MaterializeResult:
    """Every published dataset file and both checksum files in one archive, as Aura shipped aura_dataset.tgz."""
    store = object_store.get_store()
    manifests, missing = published_manifests(store)
    checksums = read_latest(store, "dataset_checksums")
    if checksums is None:
        raise dg.Failure("dataset_checksums has not been published yet; materialize it first")
    members = {}
    for manifest in [*manifests.values(), checksums]:
        for name in manifest["files"]:
            members[name] = read_file(store, manifest, name)  # checked against its manifest's SHA-256
    for dataset, member in BUNDLE_MEMBERS.items():
        if dataset in manifests:  # `aura update` extracts these uncompressed
            members[member] = gzip.decompress(members[AURA_FILES[dataset]])
    archive = bundle(members, mtime=int(datetime.now(UTC).timestamp()))
    manifest = publish(
        store,
        "dataset_bundle",
        new_version(datetime.now(UTC), context.run.run_id),
        [DatasetFile(BUNDLE_NAME, archive)],
        {"members": sorted(members)},
    )
    index = {"published_at": manifest["published_at"], "datasets": {**manifests, "dataset_checksums": checksums,
             "dataset_bundle": manifest}, "not_published": missing}  # fmt: skip
    store.put_bytes(
        INDEX_KEY, json.dumps(index, indent=2, sort_keys=True).encode(), content_type="application/json"
    )
    return dg.MaterializeResult(
        metadata={
            "version": manifest["version"],
            "bundle": dg.MetadataValue.url(store.uri(manifest["files"][BUNDLE_NAME]["key"])),
            "index": dg.MetadataValue.url(store.uri(INDEX_KEY)),
            "members": dg.MetadataValue.json(sorted(members)),
            **byte_count("bytes", len(archive)),
        }
    )


def _parse_checksums(text: bytes) -> dict[str, str]:
    pairs = (line.split("  ", 1) for line in text.decode().splitlines() if line)
    return {name: digest for digest, name in pairs}


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[dataset_checksums, dataset_bundle], asset_checks=[dataset_checksums_match_store]
    )
