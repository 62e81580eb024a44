"""The generator of bench/scan_scale writes valid, distinct release files that the scanner reads whole.

The benchmark's figures only mean something if every generated archive is a real one (a corrupt archive is
read in microseconds and would make the scan look fast) and no two are the same.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import sys
import tarfile
import zipfile
from pathlib import Path

from pypi_platform.lib.scans.release import scan_release_file
from pypi_platform_testkit.dists import build_sdist, build_wheel

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import _scan_scale_inputs as inputs_

MODULES = {
    f"lib{i}/mod{j}.py": "\n".join(f"def f{k}(x):\n    return x * {k} + {i * j}\n" for k in range(40))
    for i in range(3)
    for j in range(4)
}


def _world(tmp_path: Path) -> tuple[Path, Path, Path]:
    listing = tmp_path / "packages.tsv"
    rows = [("name", "version", "month", "rank_among_15000_most_downloaded", "summary")]
    rows += [(f"proj-{i}", f"1.{i}", "2013-05" if i == 0 else "2024-02", "", "") for i in range(7)]
    rows += [("popular-one", "2.0", "2026-01", "12", "")]
    with listing.open("w", newline="") as handle:
        csv.writer(handle, delimiter="\t").writerows(rows)
    realworld = tmp_path / "realworld"
    (realworld / "files").mkdir(parents=True)
    files = []
    for filename, data in (build_sdist("bigname", "3.1", modules=MODULES), build_wheel("bigname", "3.1")):
        (realworld / "files" / filename).write_bytes(data)
        kind = "sdist" if filename.endswith(".tar.gz") else "wheel"
        files.append({"filename": filename, "packagetype": kind, "sha256": hashlib.sha256(data).hexdigest()})
    (realworld / "manifest.json").write_text(json.dumps({"bigname": {"project": "bigname", "files": files}}))
    sources = tmp_path / "sources"
    sources.mkdir()
    for name in ("src-a", "src-b"):
        filename, data = build_sdist(name, "0.1", modules=MODULES)
        (sources / filename).write_bytes(data)
    return listing, realworld, sources


def test_generated_set_is_real_distinct_archives(tmp_path):
    listing, realworld, sources = _world(tmp_path)
    out = tmp_path / "set"
    manifest = inputs_.build_set(out, listing, realworld, [sources], bucket=3, count=8, seed=5)

    packages = manifest["packages"]
    assert sorted(p["name"] for p in packages) == sorted([f"proj-{i}" for i in range(7)] + ["popular-one"])
    by_name = {p["name"]: p for p in packages}
    assert by_name["popular-one"]["kind"] == "ranked" and by_name["popular-one"]["from"] == "bigname"
    assert [f["packagetype"] for f in by_name["proj-0"]["files"]] == ["sdist"]  # latest release before 2015
    assert [f["packagetype"] for f in by_name["proj-1"]["files"]] == ["sdist", "wheel"]
    release_files = [f for p in packages for f in p["files"]]
    assert len({f["sha256"] for f in release_files}) == len(release_files)  # no two archives alike

    for package in packages:
        for f in package["files"]:
            path = out / "store" / f["object_key"]
            data = path.read_bytes()
            assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["size"]
            if package["kind"] == "ranked":
                continue  # the popular project's own files, linked under the project's name
            stem = f"{package['name'].replace('-', '_')}-{package['version']}"
            assert f["filename"].startswith(stem)
            if f["packagetype"] == "sdist":
                with tarfile.open(path) as archive:
                    names = archive.getnames()
                    assert all(n.startswith(stem + "/") for n in names)
                    assert (
                        f"Name: {package['name']}" in archive.extractfile(f"{stem}/PKG-INFO").read().decode()
                    )
                    assert len(names) > 1  # real members from a source sdist beside PKG-INFO
            else:
                _assert_record_matches(path)
            result = scan_release_file(f["filename"], data, f["packagetype"])
            assert not [x.rule for x in result.findings if x.rule.startswith("archive.")]
            assert result.coverage["members"] > 1


def test_a_set_is_reused_while_its_parameters_stay(tmp_path):
    listing, realworld, sources = _world(tmp_path)
    out = tmp_path / "set"
    first = inputs_.build_set(out, listing, realworld, [sources], bucket=3, count=8, seed=5)
    stamp = (out / "manifest.json").stat().st_mtime_ns
    again = inputs_.build_set(out, listing, realworld, [sources], bucket=3, count=8, seed=5)
    assert again == first and (out / "manifest.json").stat().st_mtime_ns == stamp


def _assert_record_matches(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        [record_name] = [n for n in archive.namelist() if n.endswith(".dist-info/RECORD")]
        lines = archive.read(record_name).decode().splitlines()
        listed = {}
        for line in lines:
            name, digest, size = line.rsplit(",", 2)
            listed[name] = (digest, size)
        assert set(listed) == set(archive.namelist())
        for name in archive.namelist():
            if name == record_name:
                continue
            data = archive.read(name)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert listed[name] == (f"sha256={digest}", str(len(data)))
