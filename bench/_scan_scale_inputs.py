"""The input of bench/scan_scale: one name bucket of the real index, its latest releases built from real files.

Names, versions and ranks come from the ranked package list (columns name, version, month, rank, summary): the
projects whose name falls in the chosen bucket (``bucket_of`` of ``lib/scans/state.py``, as the global scan
splits them), topped up at random from the rest of the list when more packages are asked for than the list
holds in that bucket. The list has fewer names than the live index, so a full bucket needs a few hundred more.

Sizes, the model printed by the benchmark (``SIZE_MODEL``):

- a ranked project (one of the 15,000 most downloaded, about 1.7 % of the list) gets the real sdist and wheel of
  one of the 500 most downloaded projects (``.bench/realworld``, fetched by ``bench/scan_realworld``), drawn
  without replacement while they last. Ranks 501 to 15,000 are smaller than the top 500, so this overstates the
  head;
- every other project gets an sdist whose compressed size is drawn from a log-normal fitted to the quartiles of
  the latest release's first file over 34,923 projects of the index (4 KB, 11.5 KB, 38 KB: a 2013 crawl, the
  only published quartiles of latest-release sizes we found), filled with a window of members of a real sdist
  (``.bench/scan/sdists`` and the realworld sdists up to 4 MB), and, when its latest release is from 2015 or
  later, a pure-Python wheel holding that window's modules. Release files on the index are mostly of this kind.

Every archive is written under ``.bench/scan_scale/`` with the project's own name in its file name, its top
directory, its PKG-INFO and its dist-info, so no two archives are the same. A set is kept and reused while its
parameters are unchanged (``manifest.json``, written last).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import math
import os
import random
import re
import sys
import tarfile
import time
import zipfile
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

GENERATOR_VERSION = 1
# Quartiles of the latest release's first file, in bytes (KB of 1,024 B as published).
TAIL_QUARTILES = (4 * 1024, 11.5 * 1024, 38 * 1024)
TAIL_MEDIAN = TAIL_QUARTILES[1]
TAIL_SIGMA = math.log(TAIL_QUARTILES[2] / TAIL_QUARTILES[0]) / (2 * 0.6744897501960817)
WHEEL_FROM_YEAR = 2015  # a latest release before this year gets an sdist only
SOURCE_MAX_BYTES = (
    4_000_000  # sdists larger than this are not cut into tail packages (slow to read, rarely needed)
)
SIZE_MODEL = (
    f"ranked projects (top 15,000 by downloads): a real sdist + wheel of the 500 most downloaded; "
    f"the rest: sdist size log-normal, median {TAIL_MEDIAN / 1024:.1f} KiB, sigma {TAIL_SIGMA:.2f} "
    f"(quartiles 4 / 11.5 / 38 KiB of the latest release's first file, 34,923 projects, 2013 crawl), "
    f"real members, plus a pure-Python wheel of its modules when the latest release is from {WHEEL_FROM_YEAR} on"
)


@dataclass(frozen=True)
class Listed:
    name: str
    version: str
    year: int
    rank: int | None


def read_listing(path: Path) -> list[Listed]:
    if not path.is_file():
        sys.exit(f"package list not found: {path} (give one with --packages-tsv or REALWORLD_PACKAGES_TSV)")
    rows = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        next(handle, None)
        for line in handle:
            row = line.rstrip("\n").split("\t", 4)
            if len(row) < 4 or not row[0] or not row[1]:
                continue  # a project without a release has nothing to scan
            year = int(row[2][:4]) if row[2][:4].isdigit() else 0
            rows.append(Listed(row[0], row[1], year, int(row[3]) if row[3].isdigit() else None))
    return rows


def choose_projects(listing: list[Listed], bucket: int, count: int, seed: int) -> tuple[list[Listed], int]:
    """`count` projects: the bucket's own first (a uniform sample of them when fewer are asked for), then others
    at random. Also returns how many came from the bucket."""
    from pypi_platform.lib.scans.state import bucket_of

    rng = random.Random(seed)
    inside = [p for p in listing if bucket_of(p.name) == bucket]
    rng.shuffle(inside)
    chosen = inside[:count]
    from_bucket = len(chosen)
    if len(chosen) < count:
        others = [p for p in listing if bucket_of(p.name) != bucket]
        chosen += rng.sample(others, count - len(chosen))
    rng.shuffle(chosen)
    return chosen, from_bucket


# --- sources ---------------------------------------------------------------------------------------------------


@dataclass
class Member:
    path: str  # without the sdist's top directory
    data: bytes
    _packed: int | None = None

    @property
    def packed(self) -> int:
        """Its size compressed alone, an estimate of what it adds to a .tar.gz; computed when first asked."""
        if self._packed is None:
            self._packed = len(zlib.compress(self.data, 6))
        return self._packed


def source_sdists(roots: list[Path]) -> list[Path]:
    found = []
    for root in roots:
        found += [p for p in sorted(root.glob("*.tar.gz")) if p.stat().st_size <= SOURCE_MAX_BYTES]
    return found


def read_members(sdist: Path) -> list[Member]:
    members = []
    try:
        with tarfile.open(sdist) as archive:
            for info in archive:
                if not info.isfile() or info.size > 16 * 2**20:
                    continue
                parts = info.name.lstrip("./").split("/", 1)
                if len(parts) < 2 or parts[1] in ("PKG-INFO", ""):
                    continue  # the top-level PKG-INFO is written anew with the project's own name
                handle = archive.extractfile(info)
                if handle is None:
                    continue
                data = handle.read()
                members.append(Member(parts[1], data))
    except (tarfile.TarError, OSError, EOFError, zlib.error):
        return []
    return members


# --- writing archives -------------------------------------------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name)


def _pkg_info(name: str, version: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {name}\n".encode()


def write_sdist(target: Path, name: str, version: str, members: list[Member]) -> None:
    top = f"{_normal(name)}-{version}"
    buffer = io.BytesIO()
    # A fixed gzip timestamp, so that the same parameters give the same bytes.
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as packed,
        tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for path, data in [("PKG-INFO", _pkg_info(name, version))] + [(m.path, m.data) for m in members]:
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size, info.mtime, info.mode = len(data), 1_700_000_000, 0o644
            archive.addfile(info, io.BytesIO(data))
    target.write_bytes(buffer.getvalue())


def wheel_modules(members: list[Member]) -> list[tuple[str, bytes]]:
    """The members an installer would put in site-packages: Python modules outside tests, docs and build files."""
    modules = []
    for member in members:
        path = member.path[4:] if member.path.startswith("src/") else member.path
        first = path.split("/", 1)[0]
        if not path.endswith(".py") or "/" not in path:
            continue  # top-level scripts (setup.py, noxfile.py, ...) stay in the sdist
        if first in ("tests", "test", "testing", "docs", "doc", "examples", "benchmarks", "scripts", "tools"):
            continue
        modules.append((path, member.data))
    return modules


def write_wheel(target: Path, name: str, version: str, modules: list[tuple[str, bytes]]) -> None:
    dist_info = f"{_normal(name)}-{version}.dist-info"
    if not modules:
        modules = [(f"{_normal(name)}/__init__.py", f'"""{name}."""\n__version__ = "{version}"\n'.encode())]
    files = list(modules)
    files.append((f"{dist_info}/METADATA", _pkg_info(name, version)))
    files.append(
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: scan_scale\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    top_level = sorted({path.split("/", 1)[0] for path, _ in modules})
    files.append((f"{dist_info}/top_level.txt", ("\n".join(top_level) + "\n").encode()))
    record = []
    for path, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path, data in files:
            archive.writestr(
                zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED
            )


def window(members: list[Member], start: int, budget: float) -> list[Member]:
    """Members from `start` on (wrapping), in archive order, until their packed sizes reach `budget`."""
    chosen, total = [], 0
    for offset in range(len(members)):
        member = members[(start + offset) % len(members)]
        chosen.append(member)
        total += member.packed
        if total >= budget:
            break
    return chosen


# --- the set ----------------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _file_entry(store: Path, path: Path, packagetype: str) -> dict:
    return {
        "filename": path.name,
        "object_key": path.relative_to(store).as_posix(),
        "sha256": _sha256(path),
        "size": path.stat().st_size,
        "packagetype": packagetype,
    }


def build_set(
    out: Path,
    listing_path: Path,
    realworld: Path,
    sdist_roots: list[Path],
    *,
    bucket: int,
    count: int,
    seed: int,
) -> dict:
    """Generate (or reuse) the set in `out`; returns its manifest."""
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("generator") == GENERATOR_VERSION:
            return manifest
    started = time.perf_counter()
    rng = random.Random(seed)
    projects, from_bucket = choose_projects(read_listing(listing_path), bucket, count, seed)
    popular = json.loads((realworld / "manifest.json").read_text())
    head_pool = [
        entry
        for entry in popular.values()
        if entry.get("files") and all((realworld / "files" / f["filename"]).is_file() for f in entry["files"])
    ]
    rng.shuffle(head_pool)
    sources = source_sdists(sdist_roots)
    if not sources:
        sys.exit(f"no source sdists found under {', '.join(map(str, sdist_roots))}")
    source_sizes = [s.stat().st_size for s in sources]
    store = out / "store"
    packages: dict[str, dict] = {}
    tail_jobs: dict[int, list[tuple[int, Listed, float]]] = defaultdict(list)
    ranked = 0
    for index, project in enumerate(projects):
        directory = store / "files" / f"{index % 256:02x}"
        directory.mkdir(parents=True, exist_ok=True)
        if project.rank is not None:
            entry = head_pool[ranked % len(head_pool)]  # without replacement while the pool lasts
            ranked += 1
            files = []
            for f in entry["files"]:
                original = realworld / "files" / f["filename"]
                suffix = f["filename"][len(_filename_stem(entry["files"], f)) :]
                linked = directory / f"{_normal(project.name)}-{project.version}{suffix}"
                if not linked.exists():
                    try:
                        os.link(original, linked)
                    except OSError:
                        linked.write_bytes(original.read_bytes())
                files.append(_file_entry(store, linked, f["packagetype"]))
            packages[project.name] = {
                "name": project.name,
                "version": project.version,
                "kind": "ranked",
                "from": entry["project"],
                "files": files,
            }
            continue
        target = math.exp(math.log(TAIL_MEDIAN) + TAIL_SIGMA * rng.gauss(0.0, 1.0))
        big_enough = [i for i, size in enumerate(source_sizes) if size >= target]
        source = (
            rng.choice(big_enough) if big_enough else max(range(len(sources)), key=source_sizes.__getitem__)
        )
        tail_jobs[source].append((index, project, target))
    for source, jobs in tail_jobs.items():  # one source read at a time
        members = read_members(sources[source])
        if not members:
            members = [Member("README.txt", b"empty\n")]
        for index, project, target in jobs:
            chosen = window(members, rng.randrange(len(members)), target)
            directory = store / "files" / f"{index % 256:02x}"
            sdist = directory / f"{_normal(project.name)}-{project.version}.tar.gz"
            write_sdist(sdist, project.name, project.version, chosen)
            files = [_file_entry(store, sdist, "sdist")]
            if project.year >= WHEEL_FROM_YEAR:
                wheel = directory / f"{_normal(project.name)}-{project.version}-py3-none-any.whl"
                write_wheel(wheel, project.name, project.version, wheel_modules(chosen))
                files.append(_file_entry(store, wheel, "wheel"))
            packages[project.name] = {
                "name": project.name,
                "version": project.version,
                "kind": "tail",
                "from": sources[source].name,
                "target": round(target),
                "files": files,
            }
        if len(packages) // 1000 > (len(packages) - len(jobs)) // 1000:
            print(f"  generated {len(packages):,} of {count:,}", flush=True)
    manifest = {
        "generator": GENERATOR_VERSION,
        "bucket": bucket,
        "seed": seed,
        "from_bucket": from_bucket,
        "size_model": SIZE_MODEL,
        "seconds": round(time.perf_counter() - started, 1),
        "packages": [
            packages[p.name] for p in projects
        ],  # the list's shuffled order: the order they are scanned
    }
    manifest_path.write_text(json.dumps(manifest))
    return manifest


def _filename_stem(files: list[dict], f: dict) -> str:
    """The "name-version" part of a release file name, so that the rest (".tar.gz", "-py3-none-any.whl") stays."""
    name = f["filename"]
    for end in (".tar.gz", ".zip", ".tar.bz2", ".tgz"):
        if name.endswith(end):
            return name[: -len(end)]
    parts = name.split("-")
    return "-".join(parts[:2])
