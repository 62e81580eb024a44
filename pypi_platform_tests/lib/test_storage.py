"""The object store, on a local directory and on S3 (moto's server), through the same interface."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pypi_platform.lib.storage import TEMP_PREFIX, ObjectNotFound, ObjectStore, open_store


def test_put_get_size_exists_and_uri(object_store: ObjectStore) -> None:
    object_store.put_bytes("simple/demo/index.html", b"<html>demo</html>", content_type="text/html")

    assert object_store.get_bytes("simple/demo/index.html") == b"<html>demo</html>"
    assert object_store.exists("simple/demo/index.html")
    assert object_store.size("simple/demo/index.html") == 17
    with object_store.open("simple/demo/index.html") as reader:
        assert reader.read() == b"<html>demo</html>"
    assert object_store.uri("simple/demo/index.html") == f"{object_store.url}/simple/demo/index.html"
    # A "directory" is not an object.
    assert not object_store.exists("simple/demo")
    assert object_store.size("simple") is None


def test_overwrite_replaces_the_object(object_store: ObjectStore) -> None:
    object_store.put_bytes("a.txt", b"first")
    object_store.put_bytes("a.txt", b"second, longer")
    assert object_store.get_bytes("a.txt") == b"second, longer"


def test_missing_objects(object_store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        object_store.get_bytes("nothing/here.txt")
    with pytest.raises(ObjectNotFound):
        object_store.open("nothing/here.txt")
    assert object_store.size("nothing/here.txt") is None
    assert not object_store.exists("nothing/here.txt")


def test_list_keys_is_a_plain_prefix_match(object_store: ObjectStore) -> None:
    for key in ("a/b.txt", "a/c/d.txt", "ab.txt", "b.txt"):
        object_store.put_bytes(key, key.encode())

    assert sorted(object_store.list_keys()) == ["a/b.txt", "a/c/d.txt", "ab.txt", "b.txt"]
    assert sorted(object_store.list_keys("a/")) == ["a/b.txt", "a/c/d.txt"]
    assert sorted(object_store.list_keys("a")) == ["a/b.txt", "a/c/d.txt", "ab.txt"]
    assert sorted(object_store.list_keys("a/c/d")) == ["a/c/d.txt"]
    assert list(object_store.list_keys("zzz/")) == []


def test_delete_ignores_missing_keys(object_store: ObjectStore) -> None:
    object_store.put_bytes("keep.txt", b"k")
    object_store.put_bytes("x/gone.txt", b"g")

    object_store.delete(["x/gone.txt", "x/never-was.txt"])

    assert sorted(object_store.list_keys()) == ["keep.txt"]
    object_store.delete([])


def test_put_file_and_move_file(object_store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"payload" * 1000)

    object_store.put_file("files/copy.bin", source, content_type="application/octet-stream")
    assert source.exists()
    object_store.move_file("files/moved.bin", source, metadata={"sha256": "abc"})
    assert not source.exists()

    assert object_store.get_bytes("files/copy.bin") == b"payload" * 1000
    assert object_store.get_bytes("files/moved.bin") == b"payload" * 1000


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("/abs", "absolute"),
        ("", "non-empty"),
        ("a//b", "empty"),
        ("a/", "empty"),
        (f"a/{TEMP_PREFIX}x", "reserved"),
    ],
)
def test_unsafe_keys_are_rejected(object_store: ObjectStore, key: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        object_store.put_bytes(key, b"x")
    with pytest.raises(ValueError, match=problem):
        object_store.get_bytes(key)
    with pytest.raises(ValueError):
        object_store.delete([key])


def test_listing_prefix_cannot_escape_the_root(object_store: ObjectStore) -> None:
    with pytest.raises(ValueError, match="relative"):
        list(object_store.list_keys("../"))


def test_local_writes_leave_no_temp_file_and_skip_leftovers(local_store: ObjectStore, tmp_path: Path) -> None:
    local_store.put_bytes("dir/a.txt", b"a")
    local_store.put_file("dir/b.txt", _file(tmp_path / "b", b"b"))
    directory = local_store.local_path("dir").parent / "dir"
    assert sorted(os.listdir(directory)) == ["a.txt", "b.txt"]
    assert oct(os.stat(directory / "a.txt").st_mode & 0o777) == oct(0o644)

    # What a writer killed mid-way leaves behind is never listed as an object.
    (directory / f"{TEMP_PREFIX}abc123").write_bytes(b"half")
    assert sorted(local_store.list_keys()) == ["dir/a.txt", "dir/b.txt"]


def test_failed_local_write_keeps_the_old_object(local_store: ObjectStore, tmp_path: Path) -> None:
    local_store.put_bytes("dir/a.txt", b"old")

    with pytest.raises(FileNotFoundError):
        local_store.put_file("dir/a.txt", tmp_path / "no-such-source")

    assert local_store.get_bytes("dir/a.txt") == b"old"
    assert os.listdir(local_store.local_path("dir/a.txt").parent) == ["a.txt"]


def test_local_paths_and_uris(local_store: ObjectStore, tmp_path: Path) -> None:
    assert local_store.url == (tmp_path / "store").as_uri()
    assert local_store.local_path("x/y.txt") == tmp_path / "store" / "x" / "y.txt"
    assert local_store.uri("x/y.txt") == (tmp_path / "store" / "x" / "y.txt").as_uri()


def test_s3_uri_and_metadata(s3_store: ObjectStore, tmp_path: Path) -> None:
    s3_store.put_bytes("p/index.html", b"<html/>", content_type="text/html", metadata={"serial": "42"})

    assert s3_store.uri("p/index.html") == f"{s3_store.url}/p/index.html"
    assert s3_store.url.startswith("s3://") and s3_store.url.endswith("/prefix")
    assert s3_store.local_path("p/index.html") is None
    head = s3_store.client.head_object(Bucket=s3_store.bucket, Key="prefix/p/index.html")
    assert head["ContentType"] == "text/html"
    assert head["Metadata"] == {"serial": "42"}


def test_s3_multipart_upload_reads_back_identical(
    s3_store: ObjectStore, s3_endpoint: str, tmp_path: Path
) -> None:
    store = open_store(s3_store.url, endpoint_url=s3_endpoint, multipart_threshold=5 * 2**20)
    data = os.urandom(11 * 2**20 + 123)  # three parts of at least 5 MiB, the last one short

    store.put_file("big/file.bin", _file(tmp_path / "big", data))

    assert store.get_bytes("big/file.bin") == data
    assert store.size("big/file.bin") == len(data)
    head = store.client.head_object(Bucket=store.bucket, Key="prefix/big/file.bin")
    assert head["ETag"].strip('"').endswith("-3")  # S3 marks a multipart object's ETag with its part count


def test_s3_many_objects_from_threads_list_and_delete_in_batches(s3_store: ObjectStore) -> None:
    keys = [f"many/{index:05d}.txt" for index in range(1100)]  # more than one listing page and delete batch

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda key: s3_store.put_bytes(key, key.encode()), keys))
    assert sorted(s3_store.list_keys("many/")) == keys

    s3_store.delete(keys)
    assert list(s3_store.list_keys()) == []


@pytest.mark.parametrize("url", ["http://example.invalid/x", "s3:///no-bucket", "file://relative/dir", "dir"])
def test_bad_store_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        open_store(url)


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
