"""The input of bench/scan_realworld: the most downloaded projects, and one sdist and one wheel of each.

Ranks come from a tab-separated package list (columns name, version, month, rank, summary; the rank is empty
for a project outside the ranked set). Files come from the index pip is configured with: the ``index-url`` that
``pip config list`` shows, else pip's own default. They are fetched with ``pypi_simple`` rather than with
``pip download``, because pip prepares an sdist's metadata after downloading it, and that runs the project's
build backend: nothing fetched here is ever built, installed or imported.

Every file is checked against the sha256 the project page gives, written under a temporary name and renamed
when it matches. ``manifest.json`` pins what was fetched per project (version, files, sizes, hashes, errors):
a project already in it is not asked for again, so a re-run fetches nothing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ATTEMPTS = 3


@dataclass(frozen=True)
class Project:
    name: str
    rank: int


def top_projects(listing: Path, count: int) -> list[Project]:
    """The `count` best-ranked projects of the package list at `listing`."""
    if not listing.is_file():
        sys.exit(
            f"package list not found: {listing}\n"
            "give its path with --packages-tsv or the REALWORLD_PACKAGES_TSV environment variable "
            "(tab-separated: name, version, month, rank_among_15000_most_downloaded, summary)"
        )
    ranked = []
    csv.field_size_limit(sys.maxsize)
    with listing.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        rank_column = next((c for c in reader.fieldnames or () if c.startswith("rank")), None)
        if rank_column is None or "name" not in (reader.fieldnames or ()):
            sys.exit(f"{listing}: expected a 'name' column and a rank column, found {reader.fieldnames}")
        for row in reader:
            rank = (row.get(rank_column) or "").strip()
            if rank.isdigit():
                ranked.append(Project(row["name"], int(rank)))
    ranked.sort(key=lambda p: p.rank)
    return ranked[:count]


def pip_index_url() -> str:
    """The index pip installs from here: its configured ``index-url``, else its built-in default."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    )
    configured = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.endswith(".index-url"):
            configured[key.split(".", 1)[0]] = value.strip().strip("'\"")
    # pip's precedence: the environment over the config files; within files, the command's section over global.
    for section in (":env:", "download", "install", "global"):
        if section in configured:
            return configured[section].rstrip("/") + "/"
    from pip._internal.models.index import PyPI  # pip's own default, so that no host is written here

    return PyPI.simple_url.rstrip("/") + "/"


def pip_cert() -> str | bool:
    """The CA bundle pip is configured with (``cert``), for the same TLS trust as pip; True: the default."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.cert"], capture_output=True, text=True
    )
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value and Path(value).exists() else True


class Fetcher:
    """Fetches the chosen files of projects into `directory`, recording them in `manifest_path`."""

    def __init__(self, directory: Path, manifest_path: Path, index_url: str, max_bytes: int) -> None:
        self.directory = directory
        self.manifest_path = manifest_path
        self.index_url = index_url
        self.max_bytes = max_bytes
        self.manifest: dict[str, dict] = (
            json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        )
        self._lock = threading.Lock()
        self._local = threading.local()
        self.fetched_bytes = 0
        self.fetched_files = 0

    def ensure(self, projects: list[Project], parallel: int, retry_failed: bool) -> dict[str, dict]:
        """The manifest entry of every project, fetching those not pinned yet (`parallel` at a time)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        todo = [p for p in projects if self._needs_fetch(p, retry_failed)]
        if todo:
            print(
                f"fetching {len(todo)} projects into {self.directory} from pip's index, {parallel} at a time "
                "(set-up, not timed)",
                flush=True,
            )
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                for done, _ in enumerate(pool.map(self._fetch_project, todo), 1):
                    if done % 25 == 0 or done == len(todo):
                        print(f"  {done}/{len(todo)} projects, {self.fetched_bytes / 1e6:.0f} MB", flush=True)
        return {p.name: self.manifest[p.name] for p in projects}

    def _needs_fetch(self, project: Project, retry_failed: bool) -> bool:
        entry = self.manifest.get(project.name)
        if entry is None:
            return True
        if any(not (self.directory / f["filename"]).is_file() for f in entry["files"]):
            return True
        transient = [e for e in entry["errors"] if not e.startswith(("no ", "larger than"))]
        return retry_failed and bool(transient)

    def _client(self):
        if not hasattr(self._local, "client"):
            import requests
            from pypi_simple import PyPISimple

            session = requests.Session()
            session.verify = pip_cert()
            self._local.client = PyPISimple(self.index_url, session=session)
        return self._local.client

    def _fetch_project(self, project: Project) -> None:
        pinned = self.manifest.get(project.name)
        entry = {"project": project.name, "rank": project.rank, "version": None, "files": [], "errors": []}
        try:
            page = _retry(lambda: self._client().get_project_page(project.name))
            version, chosen, errors = choose_files(page.packages, pinned, self.max_bytes)
            entry["version"], entry["errors"] = version, errors
            for package in chosen:
                try:
                    entry["files"].append(self._download(package))
                except Exception as exc:  # a failed file is recorded, the run goes on
                    entry["errors"].append(
                        f"fetch error {package.filename}: {type(exc).__name__}: {exc}"[:300]
                    )
        except Exception as exc:  # a failed project is recorded, the run goes on
            entry["errors"].append(f"index error: {type(exc).__name__}: {exc}"[:300])
        with self._lock:
            self.manifest[project.name] = entry
            tmp = self.manifest_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.manifest, indent=1, sort_keys=True) + "\n")
            tmp.replace(self.manifest_path)

    def _download(self, package) -> dict:
        expected = package.digests.get("sha256")
        if not expected:
            raise ValueError("the index gives no sha256 for this file")
        target = self.directory / package.filename
        if not (target.is_file() and _sha256(target) == expected):
            partial = target.with_name(target.name + ".part")
            _retry(lambda: self._client().download_package(package, partial, verify=True, timeout=120))
            actual = _sha256(partial)
            if actual != expected:  # download_package checked it already; checked again before it counts
                partial.unlink()
                raise ValueError(f"sha256 {actual} does not match the index's {expected}")
            partial.replace(target)
            with self._lock:
                self.fetched_files += 1
                self.fetched_bytes += target.stat().st_size
        return {
            "filename": package.filename,
            "sha256": expected,
            "size": target.stat().st_size,
            "packagetype": package.package_type,  # "sdist" or "wheel", as production passes it to the scanner
        }


def choose_files(packages, pinned: dict | None, max_bytes: int) -> tuple[str | None, list, list[str]]:
    """(version, [sdist, wheel] to fetch, errors): the sdist of the newest final release that has one, and that
    release's preferred wheel (the newest final release when none has an sdist).

    With `pinned` (a manifest entry), the pinned version and file names are taken again instead."""
    from packaging.version import InvalidVersion, Version

    by_version: dict = {}
    for package in packages:
        if package.is_yanked or package.version is None or package.package_type not in ("sdist", "wheel"):
            continue
        try:
            by_version.setdefault(Version(package.version), []).append(package)
        except InvalidVersion:
            continue
    if pinned and pinned.get("version"):
        names = {f["filename"] for f in pinned["files"]}
        files = [p for group in by_version.values() for p in group if p.filename in names]
        if files:
            return pinned["version"], files, [e for e in pinned["errors"] if e.startswith(("no ", "larger"))]
    if not by_version:
        return None, [], ["no release files on the index"]
    finals = [v for v in by_version if not (v.is_prerelease or v.is_devrelease)] or list(by_version)
    # The newest release with an sdist: a project may publish a wheel-only post-release after its last sdist.
    with_sdist = [v for v in finals if any(p.package_type == "sdist" for p in by_version[v])]
    version = max(with_sdist or finals)
    group = by_version[version]
    chosen, errors = [], []
    sdists = [p for p in group if p.package_type == "sdist"]
    sdist = min(sdists, key=lambda p: (not p.filename.endswith(".tar.gz"), p.filename), default=None)
    wheel = preferred_wheel([p for p in group if p.package_type == "wheel"])
    for kind, package in (("sdist", sdist), ("wheel", wheel)):
        if package is None:
            errors.append(f"no {kind} in release {version}" + ("" if with_sdist else " nor in any other"))
        elif package.size and package.size > max_bytes:
            errors.append(
                f"larger than {max_bytes / 1e6:.0f} MB: {package.filename} ({package.size / 1e6:.0f} MB)"
            )
        else:
            chosen.append(package)
    return str(version), chosen, errors


def preferred_wheel(wheels: list):
    """A pure ``py3-none-any`` wheel, else the smallest CPython x86_64 manylinux one, else the smallest."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    def tags(package):
        try:
            return parse_wheel_filename(package.filename)[3]
        except InvalidWheelFilename:
            return frozenset()

    def size(package):
        return (package.size or 0, package.filename)

    pure = [
        w for w in wheels if any(t.interpreter.startswith("py3") and t.platform == "any" for t in tags(w))
    ]
    linux = [
        w
        for w in wheels
        if any(
            t.interpreter.startswith("cp") and "manylinux" in t.platform and t.platform.endswith("x86_64")
            for t in tags(w)
        )
    ]
    for group in (pure, linux, wheels):
        if group:
            return min(group, key=size)
    return None


def _retry(call):
    for attempt in range(ATTEMPTS):
        try:
            return call()
        except Exception as exc:  # the last attempt re-raises
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if attempt == ATTEMPTS - 1 or status == 404:
                raise
            time.sleep(2 * (attempt + 1))
    raise AssertionError("unreachable")


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
