"""The local cache of release files: fetched once from S3 and verified, reused, bounded; local stores read in place."""

import hashlib
import os

import pytest

from pypi_platform.lib.release_cache import FetchError, ReleaseFileCache

KEY = "mirror/web/packages/ab/cd/pkg-1.0.tar.gz"
DATA = b"release file bytes" * 100
SHA256 = hashlib.sha256(DATA).hexdigest()


def test_a_file_is_fetched_once_and_then_read_from_local_disk(s3_store, tmp_path):
    s3_store.put_bytes(KEY, DATA)
    cache = ReleaseFileCache(tmp_path / "cache", s3_store)
    first = cache.path_for(KEY, SHA256, len(DATA))
    s3_store.delete([KEY])  # a second fetch would now fail
    second = cache.path_for(KEY, SHA256, len(DATA))
    assert first == second and second.read_bytes() == DATA
    assert (cache.stats.fetched, cache.stats.hits, cache.stats.fetched_bytes) == (1, 1, len(DATA))


def test_a_hash_mismatch_is_an_error_and_leaves_nothing_in_the_cache(s3_store, tmp_path):
    s3_store.put_bytes(KEY, DATA + b"tampered")
    cache = ReleaseFileCache(tmp_path / "cache", s3_store)
    with pytest.raises(FetchError, match="sha256"):
        cache.path_for(KEY, SHA256, len(DATA))
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_a_missing_object_is_an_error_naming_its_key(s3_store, tmp_path):
    with pytest.raises(FetchError, match=r"pkg-1\.0\.tar\.gz"):
        ReleaseFileCache(tmp_path / "cache", s3_store).path_for(KEY, SHA256, len(DATA))


def test_a_local_store_is_read_in_place(local_store, tmp_path):
    local_store.put_bytes(KEY, DATA)
    cache = ReleaseFileCache(tmp_path / "cache", local_store)
    assert cache.path_for(KEY, SHA256, len(DATA)) == local_store.local_path(KEY)
    assert not (tmp_path / "cache").exists()
    with pytest.raises(FetchError, match="missing"):
        cache.path_for("mirror/web/packages/none.whl", SHA256, 1)


def test_trim_drops_the_least_recently_used_files_first(s3_store, tmp_path):
    cache = ReleaseFileCache(tmp_path / "cache", s3_store)
    paths = []
    for index in range(3):
        data = bytes([index]) * 1000
        s3_store.put_bytes(f"k{index}", data)
        path = cache.path_for(f"k{index}", hashlib.sha256(data).hexdigest(), len(data))
        os.utime(path, (1_000_000 + index, 1_000_000 + index))
        paths.append(path)
    cache.path_for("k0", hashlib.sha256(bytes([0]) * 1000).hexdigest(), 1000)  # used again: now the newest
    assert cache.trim(2000) == 1000
    assert [p.exists() for p in paths] == [True, False, True]
