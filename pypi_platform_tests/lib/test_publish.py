"""Versioned publication: files first, latest.json last; held-back versions; pruning; read-back verification."""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pypi_platform.lib.frames import parquet_bytes
from pypi_platform.lib.publish import (
    DatasetFile,
    ManifestError,
    latest_frame,
    prune_versions,
    publish,
    read_file,
    read_latest,
)


def test_latest_points_at_the_newest_version_and_files_read_back_verified(object_store):
    publish(object_store, "package_list", "v1", [DatasetFile("a.gz", b"one", 1)])
    manifest = publish(object_store, "package_list", "v2", [DatasetFile("a.gz", b"two", 2)], {"serial": 7})

    latest = read_latest(object_store, "package_list")
    assert latest == manifest
    assert latest["version"] == "v2" and latest["metadata"] == {"serial": 7}
    assert latest["files"]["a.gz"]["key"] == "datasets/package_list/v2/a.gz"
    assert latest["files"]["a.gz"]["rows"] == 2
    assert read_file(object_store, latest, "a.gz") == b"two"
    assert object_store.exists("datasets/package_list/v2/manifest.json")


def test_a_held_back_version_is_written_but_latest_stays(local_store):
    publish(local_store, "package_list", "v1", [DatasetFile("a.gz", b"one")])
    publish(local_store, "package_list", "v2", [DatasetFile("a.gz", b"two")], point_latest=False)
    assert read_latest(local_store, "package_list")["version"] == "v1"
    assert local_store.get_bytes("datasets/package_list/v2/a.gz") == b"two"


def test_a_file_changed_in_the_store_fails_its_read_back(local_store):
    manifest = publish(local_store, "package_list", "v1", [DatasetFile("a.gz", b"one")])
    local_store.put_bytes("datasets/package_list/v1/a.gz", b"changed")
    with pytest.raises(ManifestError, match="does not match the SHA-256"):
        read_file(local_store, manifest, "a.gz")


def test_never_published_reads_as_none(local_store):
    assert read_latest(local_store, "package_list") is None
    assert latest_frame(local_store, "package_list") is None


def test_the_parquet_twin_of_the_latest_version_reads_back_as_a_frame(local_store):
    frame = pl.DataFrame({"name": ["alpha", "beta"], "serial": [1, 2]})
    publish(local_store, "package_list", "v1", [DatasetFile("package_list.parquet", parquet_bytes(frame), 2)])
    assert_frame_equal(latest_frame(local_store, "package_list"), frame)
    local_store.put_bytes("datasets/package_list/v1/package_list.parquet", parquet_bytes(frame.head(1)))
    with pytest.raises(ManifestError, match="does not match the SHA-256"):
        latest_frame(local_store, "package_list")


def test_pruning_keeps_the_newest_versions_and_the_latest_one(local_store):
    for version in ("v1", "v2", "v3", "v4"):
        publish(local_store, "package_list", version, [DatasetFile("a.gz", version.encode())])
    publish(local_store, "package_list", "v5", [DatasetFile("a.gz", b"held")], point_latest=False)

    assert prune_versions(local_store, "package_list", keep=1) == ["v1", "v2", "v3"]  # v4 is latest
    remaining = {
        key.split("/")[2] for key in local_store.list_keys("datasets/package_list/") if key.count("/") > 2
    }
    assert remaining == {"v4", "v5"}
    assert read_file(local_store, read_latest(local_store, "package_list"), "a.gz") == b"v4"
