"""Scanning many packages: release files read from local disk in worker processes, one record per package.

Each package is one job in the worker pool, under its wall-clock timeout and memory limit; a package that hangs,
runs out of memory or crashes its worker gets a record with that status and the others go on. Per release file
results are cached by (sha256, ruleset version): a file already analysed is not sent to a worker again, and a
package whose files are all cached never reaches the pool.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, deque
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pypi_platform.lib.scans.file_result import FileResult
from pypi_platform.lib.scans.findings import RULESET_VERSION, Finding
from pypi_platform.lib.scans.parsing import GRAMMAR
from pypi_platform.lib.scans.pool import Job, WorkerPool
from pypi_platform.lib.scans.scoring import (
    CONTEXT_WEIGHTS,
    context,
    explain,
    flagged,
    package_score,
)
from pypi_platform.lib.scans.typosquat import PopularNames, typosquat_findings

SCHEMA_VERSION = 2  # 2: python_grammar, flagged, score_parts, typosquatting, weight and at_import
_JOB_TARGET = "pypi_platform.lib.scans.batch:scan_files"


@dataclass(frozen=True)
class LocalFile:
    filename: str
    path: str  # where the bytes are on this machine; never written into a record
    sha256: str
    size: int
    packagetype: str


@dataclass(frozen=True)
class PackageInput:
    name: str
    version: str
    files: tuple[LocalFile, ...]


@dataclass(frozen=True)
class PackageOutcome:
    name: str
    version: str
    status: str  # ok | error | timeout | oom | crash | no-files
    started: float
    duration: float
    record: dict
    error: str = ""


class ResultCache(Protocol):
    """Per release file results of the current ruleset, keyed by the file's sha256."""

    def get_many(self, sha256s: Collection[str]) -> dict[str, dict]: ...

    def put_many(self, results: dict[str, dict]) -> None: ...


def scan_files(files: Sequence[tuple[str, str, str]]) -> dict[str, dict]:
    """The worker's job: (filename, local path, package type) of each file -> its result as JSON."""
    # The rules are imported here, in the workers: the pool's process never runs them, and importing them
    # first would hold back the workers' start.
    from pypi_platform.lib.scans.release import scan_release_file

    return {
        filename: scan_release_file(filename, Path(path).read_bytes(), packagetype).to_json()
        for filename, path, packagetype in files
    }


def scan_packages(
    packages: Iterable[PackageInput],
    *,
    workers: int = 2,
    timeout: float = 300.0,
    memory_bytes: int = 2 * 2**30,
    cache: ResultCache | None = None,
    top_names: Iterable[str] | PopularNames = (),
) -> Iterator[PackageOutcome]:
    """One outcome per package, in completion order (a list of packages is started largest first).
    `top_names`: the popular names typosquats imitate."""
    popular = top_names if isinstance(top_names, PopularNames) else PopularNames(top_names)
    ready: deque[PackageOutcome] = deque()  # packages that needed no worker
    waiting: dict[str, tuple[PackageInput, dict[str, dict]]] = {}

    def jobs() -> Iterator[Job]:
        for package in _largest_first(packages):
            started = time.time()
            cached = cache.get_many([f.sha256 for f in package.files]) if cache and package.files else {}
            known = {f.filename: cached[f.sha256] for f in package.files if f.sha256 in cached}
            missing = [f for f in package.files if f.filename not in known]
            if not missing:
                status = "ok" if package.files else "no-files"
                record = build_record(package, known, popular, status=status, cached=len(known))
                ready.append(PackageOutcome(package.name, package.version, status, started, 0.0, record))
                continue
            key = f"{package.name}=={package.version}"
            waiting[key] = (package, known)
            yield Job(key, _JOB_TARGET, ([(f.filename, f.path, f.packagetype) for f in missing],))

    with WorkerPool(workers, timeout=timeout, memory_bytes=memory_bytes) as pool:
        for outcome in pool.map(jobs()):
            yield from _drain(ready)
            package, known = waiting.pop(outcome.key)
            if outcome.status == "ok":
                if cache:
                    cache.put_many(
                        {_sha256_of(package, name): value for name, value in outcome.result.items()}
                    )
                record = build_record(package, {**known, **outcome.result}, popular, cached=len(known))
            else:
                record = failure_record(package, outcome.status, outcome.error)
            yield PackageOutcome(
                package.name,
                package.version,
                outcome.status,
                outcome.started,
                outcome.duration,
                record,
                outcome.error,
            )
    yield from _drain(ready)


def _largest_first(packages: Iterable[PackageInput]) -> Iterable[PackageInput]:
    """Packages given all at once (a list) are handed out largest first, so that no large one is left to run
    alone at the end while the other workers idle. A stream keeps its order: its producer may still be
    fetching what comes next."""
    if not isinstance(packages, Sequence):
        return packages
    return sorted(packages, key=lambda package: -sum(f.size for f in package.files))


def build_record(
    package: PackageInput,
    results: dict[str, dict],
    popular: PopularNames,
    *,
    status: str = "ok",
    cached: int = 0,
) -> dict:
    """The published document of one scanned package (`dataset.zst` holds one per line)."""
    pairs: list[tuple[str, Finding]] = []
    files, coverage = [], Counter(files=len(package.files), cached_files=cached)
    for release_file in package.files:
        result = FileResult.from_json(results[release_file.filename])
        coverage.update(result.coverage)
        pairs.extend((release_file.filename, finding) for finding in result.findings)
        files.append(
            {
                "filename": release_file.filename,
                "sha256": release_file.sha256,
                "size": release_file.size,
                "packagetype": release_file.packagetype,
                "score": package_score((release_file.filename, f) for f in result.findings),
            }
        )
    pairs.extend(("", finding) for finding in typosquat_findings(package.name, popular))
    score, parts = explain(pairs)
    return {
        **_identity(package, status),
        "files": files,
        "detections": [_detection(filename, finding) for filename, finding in pairs],
        "score": score,
        "flagged": flagged(score),
        "score_parts": [part.to_json() for part in parts],
        "typosquatting": popular.status(),
        "coverage": dict(coverage),
        "error": "",
    }


def failure_record(package: PackageInput, status: str, error: str) -> dict:
    """The record of a package the scan could not finish: its files, no detections, no score."""
    files = [
        {
            "filename": f.filename,
            "sha256": f.sha256,
            "size": f.size,
            "packagetype": f.packagetype,
            "score": None,
        }
        for f in package.files
    ]
    return {
        **_identity(package, status),
        "files": files,
        "detections": [],
        "score": None,
        "flagged": False,
        "score_parts": [],
        "typosquatting": None,
        "coverage": {"files": len(package.files)},
        "error": error,
    }


def _identity(package: PackageInput, status: str) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "ruleset_version": RULESET_VERSION,
        "python_grammar": GRAMMAR,
        "name": package.name,
        "version": package.version,
        "status": status,
    }


def _detection(filename: str, finding: Finding) -> dict:
    where = context(finding.path) if finding.path else "package"
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "score": finding.score,
        "kind": finding.kind,
        "file": filename,
        "path": finding.path,
        "line": finding.line,
        "evidence": finding.evidence,
        "context": where,
        "weight": CONTEXT_WEIGHTS.get(where, 1.0),
        "at_import": finding.at_import,
        "fingerprint": fingerprint(finding),
    }


def fingerprint(finding: Finding) -> str:
    """Stable across releases: the sdist's "name-version/" prefix is dropped from the path."""
    path = finding.path.split("/", 1)[1] if "/" in finding.path else finding.path
    key = "\0".join((finding.rule, path, finding.evidence))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _sha256_of(package: PackageInput, filename: str) -> str:
    return next(f.sha256 for f in package.files if f.filename == filename)


def _drain(ready: deque[PackageOutcome]) -> Iterator[PackageOutcome]:
    while ready:
        yield ready.popleft()
