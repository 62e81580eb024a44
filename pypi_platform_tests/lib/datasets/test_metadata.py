"""The requirements of a release, read from real wheels, sdists and sidecars in an object store."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile

import pytest

from pypi_platform.lib.datasets.metadata import MAX_METADATA_BYTES, ReleaseFile, release_dependencies
from pypi_platform.lib.datasets.schema import DEPENDENCY_LIST
from pypi_platform.lib.storage import ObjectStore
from pypi_platform_testkit.dists import build_sdist, build_wheel, core_metadata, wheel_metadata


def _put(
    store: ObjectStore,
    filename: str,
    data: bytes,
    *,
    sidecar: bytes | None = None,
    packagetype: str | None = None,
) -> ReleaseFile:
    key = f"packages/ab/cd/{filename}"
    store.put_bytes(key, data)
    if sidecar is not None:
        store.put_bytes(key + ".metadata", sidecar)
    if packagetype is None:
        packagetype = "bdist_wheel" if filename.endswith(".whl") else "sdist"
    return ReleaseFile(filename, packagetype, key, has_sidecar=sidecar is not None)


def _deps(store: ObjectStore, files: list[ReleaseFile], project: str = "demo") -> list[dict]:
    rows = release_dependencies(store, project, "1.0", files)
    for row in rows:
        assert list(row) == DEPENDENCY_LIST.names()
        assert row["project"] == "demo" and row["version"] == "1.0"
    return rows


def _problem(rows: list[dict]) -> str:
    assert len(rows) == 1 and rows[0]["requirement"] is None and rows[0]["source"] is None
    return rows[0]["problem"]


def _tar(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in members.items():
            zf.writestr(path, data)
    return buf.getvalue()


def _sdist_members(sdist: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(sdist)) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf if m.isfile()}


def test_the_sidecar_is_preferred_over_the_archive(local_store: ObjectStore) -> None:
    name, wheel = build_wheel("demo", "1.0", requires=["from-archive"])
    sidecar = core_metadata("demo", "1.0", requires=["from-sidecar"])
    rows = _deps(local_store, [_put(local_store, name, wheel, sidecar=sidecar)])
    assert [(r["name"], r["source"]) for r in rows] == [("from-sidecar", "sidecar")]


def test_a_wheel_sidecar_is_preferred_over_an_sdist_sidecar(local_store: ObjectStore) -> None:
    sdist_name, sdist = build_sdist("demo", "1.0")
    wheel_name, wheel = build_wheel("demo", "1.0", requires=["from-wheel"])
    files = [
        _put(local_store, sdist_name, sdist, sidecar=core_metadata("demo", "1.0", requires=["from-sdist"])),
        _put(local_store, wheel_name, wheel, sidecar=wheel_metadata(wheel)),
    ]
    assert [r["name"] for r in _deps(local_store, files)] == ["from-wheel"]


def test_wheel_metadata_is_read_when_there_is_no_sidecar(object_store: ObjectStore) -> None:
    name, wheel = build_wheel("demo", "1.0", requires=["requests>=2"])
    rows = _deps(object_store, [_put(object_store, name, wheel)])
    assert [(r["name"], r["specifier"], r["source"]) for r in rows] == [("requests", ">=2", "wheel")]


def test_a_sidecar_missing_from_the_store_falls_back_to_the_wheel(local_store: ObjectStore) -> None:
    name, wheel = build_wheel("demo", "1.0", requires=["attrs"])
    file = _put(local_store, name, wheel)
    rows = _deps(
        local_store, [ReleaseFile(file.filename, file.packagetype, file.object_key, has_sidecar=True)]
    )
    assert [(r["name"], r["source"]) for r in rows] == [("attrs", "wheel")]


@pytest.mark.parametrize("suffix", [".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip"])
def test_sdist_pkg_info_is_read_from_every_sdist_format(local_store: ObjectStore, suffix: str) -> None:
    _, sdist = build_sdist("demo", "1.0", requires=["six"])
    members = _sdist_members(sdist)
    data = {
        ".tar.gz": sdist,
        ".tgz": sdist,
        ".tar.bz2": _tar(members, "w:bz2"),
        ".tar.xz": _tar(members, "w:xz"),
        ".zip": _zip(members),
    }[suffix]
    rows = _deps(local_store, [_put(local_store, f"demo-1.0{suffix}", data)])
    assert [(r["name"], r["source"]) for r in rows] == [("six", "sdist")]


def test_specifier_extras_marker_and_the_extra_column(local_store: ObjectStore) -> None:
    requires = [
        "Requests[Socks,security] <3,>=2.1",
        'PySocks!=1.5.7; python_version < "3.8" and extra == "SOCKS"',
        "idna; 'All_Extras' == extra or extra == 'other'",
        "tomli; python_version < '3.11'",
    ]
    name, wheel = build_wheel("demo", "1.0", requires=requires)
    rows = _deps(local_store, [_put(local_store, name, wheel)])
    assert [
        (r["requirement"], r["name"], r["specifier"], r["extras"], r["marker"], r["extra"]) for r in rows
    ] == [
        (requires[0], "requests", "<3,>=2.1", ["security", "socks"], None, None),
        (requires[1], "pysocks", "!=1.5.7", [], 'python_version < "3.8" and extra == "socks"', "socks"),
        (requires[2], "idna", "", [], '"all-extras" == extra or extra == "other"', "all-extras"),
        (requires[3], "tomli", "", [], 'python_version < "3.11"', None),
    ]
    assert all(r["problem"] is None and r["source"] == "wheel" for r in rows)


def test_a_bad_requirement_keeps_the_good_ones_in_order(local_store: ObjectStore) -> None:
    name, wheel = build_wheel("demo", "1.0", requires=["alpha", "beta >= = 2", "gamma"])
    rows = _deps(local_store, [_put(local_store, name, wheel)])
    assert [r["name"] for r in rows] == ["alpha", None, "gamma"]
    bad = rows[1]
    assert bad["requirement"] == "beta >= = 2" and bad["source"] == "wheel"
    assert bad["problem"].startswith("invalid-requirement: ") and "\n" not in bad["problem"]


def test_an_invalid_project_name_in_a_requirement_is_an_invalid_requirement(local_store: ObjectStore) -> None:
    name, wheel = build_wheel("demo", "1.0", requires=["-leading-dash >=1"])
    [row] = _deps(local_store, [_put(local_store, name, wheel)])
    assert row["name"] is None and row["requirement"] == "-leading-dash >=1"
    assert row["problem"] == "invalid-requirement: Expected package name at the start of dependency specifier"


def test_a_requirement_on_the_project_itself_is_a_self_dependency(local_store: ObjectStore) -> None:
    name, wheel = build_wheel("Demo", "1.0", requires=['DEMO[extra-a]; extra == "all"'])
    [row] = _deps(local_store, [_put(local_store, name, wheel)], project="Demo")
    assert (row["name"], row["extras"], row["extra"], row["problem"]) == (
        "demo",
        ["extra-a"],
        "all",
        "self-dependency",
    )


def test_no_files_gives_one_no_files_row(local_store: ObjectStore) -> None:
    assert _problem(_deps(local_store, [])) == (
        "no-files: every file of the latest release was skipped by the mirror's filters"
    )


def test_files_that_are_neither_wheel_nor_sdist_give_no_metadata(local_store: ObjectStore) -> None:
    egg = _put(local_store, "demo-1.0-py3.11.egg", _zip({"EGG-INFO/PKG-INFO": core_metadata("demo", "1.0")}))
    dumb = _put(
        local_store, "demo-1.0.linux-x86_64.tar.gz", build_sdist("demo", "1.0")[1], packagetype="bdist_dumb"
    )
    assert _problem(_deps(local_store, [egg, dumb])) == (
        "no-metadata: no sidecar, wheel or sdist among 2 file(s) (demo-1.0-py3.11.egg, demo-1.0.linux-x86_64.tar.gz)"
    )


def test_a_wheel_without_metadata_gives_no_metadata(local_store: ObjectStore) -> None:
    file = _put(local_store, "demo-1.0-py3-none-any.whl", _zip({"demo/__init__.py": b""}))
    assert _problem(_deps(local_store, [file])) == (
        "no-metadata: demo-1.0-py3-none-any.whl: no .dist-info/METADATA in the wheel"
    )


def test_a_corrupt_zip_is_invalid_metadata(local_store: ObjectStore) -> None:
    name, wheel = build_wheel("demo", "1.0")
    file = _put(local_store, name, wheel[: len(wheel) // 2])  # cut off the central directory
    assert _problem(_deps(local_store, [file])).startswith(
        f"invalid-metadata: {name}: corrupt zip archive: BadZipFile"
    )


def test_a_corrupt_tar_gz_is_invalid_metadata(local_store: ObjectStore) -> None:
    name, sdist = build_sdist("demo", "1.0")
    file = _put(local_store, name, sdist[:40] + bytes(len(sdist) - 40))  # zeros after the gzip header
    assert _problem(_deps(local_store, [file])).startswith(
        f"invalid-metadata: {name}: corrupt archive: ReadError"
    )


def test_random_bytes_are_not_core_metadata(local_store: ObjectStore) -> None:
    # An egg is never opened, so the sidecar is the only source.
    file = _put(local_store, "demo-1.0-py3.11.egg", b"", sidecar=os.urandom(4096))
    assert _problem(_deps(local_store, [file])) == (
        "invalid-metadata: demo-1.0-py3.11.egg: not core metadata (no Metadata-Version or Name field)"
    )


def test_text_without_name_is_not_core_metadata(local_store: ObjectStore) -> None:
    file = _put(
        local_store, "demo-1.0.tar.gz", _tar({"demo-1.0/PKG-INFO": b"Metadata-Version: 2.1\nVersion: 1.0\n"})
    )
    assert _problem(_deps(local_store, [file])) == (
        "invalid-metadata: demo-1.0.tar.gz: not core metadata (no Metadata-Version or Name field)"
    )


def test_requires_dist_that_is_not_utf8_is_invalid_metadata(local_store: ObjectStore) -> None:
    sidecar = core_metadata("demo", "1.0", requires=["caf\xe9"]).replace("é".encode(), b"\xe9")
    file = _put(local_store, "demo-1.0-py3.11.egg", b"", sidecar=sidecar)
    assert _problem(_deps(local_store, [file])) == (
        "invalid-metadata: demo-1.0-py3.11.egg: Requires-Dist is not valid UTF-8"
    )


def test_a_corrupt_wheel_beside_a_good_sdist_falls_back_to_the_sdist(local_store: ObjectStore) -> None:
    wheel_name, wheel = build_wheel("demo", "1.0", requires=["numpy"])
    sdist_name, sdist = build_sdist("demo", "1.0", requires=["numpy"])
    files = [_put(local_store, wheel_name, wheel[: len(wheel) // 2]), _put(local_store, sdist_name, sdist)]
    assert [(r["name"], r["source"]) for r in _deps(local_store, files)] == [("numpy", "sdist")]


def test_an_oversized_metadata_member_is_refused(local_store: ObjectStore) -> None:
    name, wheel = build_wheel("demo", "1.0", requires=["numpy"], summary="x" * (MAX_METADATA_BYTES + 1))
    assert _problem(_deps(local_store, [_put(local_store, name, wheel)])) == (
        f"invalid-metadata: {name}: METADATA is over 10 MB, refused"
    )


def test_an_oversized_sidecar_is_refused(local_store: ObjectStore) -> None:
    file = _put(local_store, "demo-1.0-py3.11.egg", b"", sidecar=b"x" * (MAX_METADATA_BYTES + 1))
    assert _problem(_deps(local_store, [file])) == (
        "invalid-metadata: demo-1.0-py3.11.egg: the .metadata sidecar is over 10 MB"
    )


def test_a_pkg_info_link_or_nested_pkg_info_is_not_read(local_store: ObjectStore) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        link = tarfile.TarInfo("demo-1.0/PKG-INFO")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
        nested = core_metadata("demo", "1.0", requires=["nested"])
        info = tarfile.TarInfo("demo-1.0/sub/PKG-INFO")
        info.size = len(nested)
        tf.addfile(info, io.BytesIO(nested))
    file = _put(local_store, "demo-1.0.tar.gz", buf.getvalue())
    assert (
        _problem(_deps(local_store, [file])) == "no-metadata: demo-1.0.tar.gz: no <top>/PKG-INFO in the sdist"
    )


def test_a_release_without_requirements_gives_no_rows(local_store: ObjectStore) -> None:
    name, wheel = build_wheel("demo", "1.0")
    assert _deps(local_store, [_put(local_store, name, wheel)]) == []
