"""The configuration contract: every ``PYPI_PLATFORM_*`` variable, parsed and validated in one place.

Parsing happens when definitions load (every ``@dg.definitions`` function asks :func:`current_settings`, which
parses the environment once), never at import time, so a bad value fails the code location with a message that
names the variable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pypi_platform.lib.names import InvalidProjectName, project_name

_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(I?B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_BIGQUERY_TABLE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+$")
DEFAULT_BIGQUERY_TABLE = "bigquery-public-data.pypi.file_downloads"
PACKAGE_TYPES = ("sdist", "wheel", "egg", "wininst", "msi", "rpm", "dumb")


def _plain(value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    return list(value) if isinstance(value, tuple) else value


class ConfigError(ValueError):
    """A configuration variable holds a value we cannot use; the message names the variable."""


@dataclass(frozen=True)
class MirrorFilters:
    """Which projects, releases and files the mirror keeps."""

    allowlist: frozenset[str] | None = None  # normalized names; None means every project
    blocklist: frozenset[str] = frozenset()
    keep_releases: int = 0  # newest N releases per project, 0 keeps all
    prereleases: bool = True
    package_types: frozenset[str] | None = None  # None keeps every type
    exclude_platforms: tuple[str, ...] = ()  # fnmatch patterns on wheel platform tags
    max_file_size: int | None = None  # bytes

    def fingerprint(self) -> str:
        """A stable text that changes whenever the filters change, so a filter change reaches every project."""
        parts = [
            f"keep={self.keep_releases}",
            f"pre={self.prereleases}",
            f"types={','.join(sorted(self.package_types or ()))}",
            f"platforms={','.join(self.exclude_platforms)}",
            f"max={self.max_file_size}",
        ]
        return ";".join(parts)

    def digest(self) -> str:
        """A digest of every filter, the project lists too: the same digest means the same mirror contents."""
        plain = json.dumps(self.as_plain(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(plain.encode()).hexdigest()

    def wants_project(self, name: str) -> bool:
        if name in self.blocklist:
            return False
        return self.allowlist is None or name in self.allowlist

    def as_plain(self) -> dict[str, Any]:
        """Every field as plain values (sets as sorted lists, tuples as lists): what a configuration holds."""
        return {spec.name: _plain(getattr(self, spec.name)) for spec in dataclasses.fields(self)}

    @classmethod
    def from_plain(cls, values: Mapping[str, Any]) -> MirrorFilters:
        """The filters from ``as_plain``'s form, or from a configuration with those field names."""
        kinds = {"allowlist": frozenset, "blocklist": frozenset, "package_types": frozenset,
                 "exclude_platforms": tuple}  # fmt: skip
        return cls(
            **{
                spec.name: kinds[spec.name](values[spec.name])
                if spec.name in kinds and values[spec.name] is not None
                else values[spec.name]
                for spec in dataclasses.fields(cls)
            }
        )


@dataclass(frozen=True)
class S3Timeouts:
    """How long an S3 request may wait before it fails (``PYPI_PLATFORM_S3_*``).

    botocore's own defaults (60 s to connect and to read, several attempts) keep a call to an endpoint that
    accepts connections but never answers waiting for minutes; these fail it within about
    ``seconds * max_attempts`` plus a short back-off (an upload also waits up to 1 s per attempt for the
    server's "100 Continue").
    """

    seconds: float = 10.0  # to connect, and then for each read of an answer, per attempt
    max_attempts: int = 3  # the first attempt included

    @property
    def worst_case_seconds(self) -> float:
        """About the longest a request to an endpoint that never answers waits (reads, not back-off)."""
        return self.seconds * self.max_attempts


@dataclass(frozen=True)
class DownloadSettings:
    """Where download logs come from and how they are counted."""

    source: str | None = None  # "bigquery", a path or glob of Parquet files; None: a generated local sample
    start_date: date = date(2024, 1, 1)
    semantics: str = "corrected"  # or "pypistats", the exact semantics of pypistats.org
    retention_days: int = 180  # 0 keeps every day
    bigquery_project: str | None = None
    bigquery_table: str = DEFAULT_BIGQUERY_TABLE
    bigquery_max_bytes: int = 200 * 10**9


@dataclass(frozen=True)
class ScanSettings:
    """How the global scan runs: worker processes, and each package's wall-clock and memory limits."""

    start_date: date = date(2026, 1, 5)  # a Monday: weekly partitions start on Mondays
    workers: int = 2
    timeout_seconds: float = 300.0
    memory_bytes: int = 2 * 2**30
    cache_max_bytes: int = 50 * 2**30  # local copies of release files kept between runs
    max_failed_share: float = 0.02  # the scan_dataset check fails above this share of failed packages
    # Downloads in 30 days that make a name worth typosquatting: about the 2,000 most downloaded projects.
    popular_downloads: int = 1_000_000


@dataclass(frozen=True)
class CorpusSettings:
    """How the corpus grows: distribution files per shard, files appended per run, parse workers."""

    shard_capacity: int = 40_000  # py-code.org's first 228 shards held 40,000 distribution files each
    batch_files: int = 2_000  # per corpus_shard run: a run stays short and a crash redoes little
    workers: int = 2


@dataclass(frozen=True)
class ServingSettings:
    """The JSON API's limits (``PYPI_PLATFORM_API_*``)."""

    rate_per_second: float = 20.0  # tokens refilled per client IP and second; 0 turns rate limiting off
    burst: int = 200  # the bucket's size: requests a client may make at once
    max_age: int = 300  # Cache-Control max-age of successful answers, in seconds
    pool_size: int = 10  # PostgreSQL connections, at most
    version_ttl: float = 2.0  # seconds a read of the data's version (for ETags) is reused


EXECUTORS = ("default", "k8s")  # PYPI_PLATFORM_EXECUTOR: Dagster's default, or one pod per step (dagster-k8s)


@dataclass(frozen=True)
class Settings:
    home: Path
    storage_url: str
    s3_endpoint_url: str | None
    database_url: str | None  # None: start the embedded server under home/postgres
    upstream_url: str
    s3_timeouts: S3Timeouts = field(default_factory=S3Timeouts)
    filters: MirrorFilters = field(default_factory=MirrorFilters)
    mirror_workers: int = 10
    mirror_delete_grace_hours: float = 24.0
    mirror_check_budget: int = 0
    downloads: DownloadSettings = field(default_factory=DownloadSettings)
    scans: ScanSettings = field(default_factory=ScanSettings)
    corpus: CorpusSettings = field(default_factory=CorpusSettings)
    serving: ServingSettings = field(default_factory=ServingSettings)
    executor: str = "default"  # of the fan-out jobs (the global scan, the corpus): one of EXECUTORS

    @property
    def embedded_postgres_dir(self) -> Path:
        return self.home / "postgres"


def load_settings(environ: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Settings:
    env = os.environ if environ is None else environ
    cwd = cwd or Path.cwd()
    home = Path(env.get("PYPI_PLATFORM_HOME") or cwd / ".pypi_platform").expanduser().absolute()
    return Settings(
        home=home,
        storage_url=_storage_url(env, home),
        s3_endpoint_url=_http_url(env, "PYPI_PLATFORM_S3_ENDPOINT_URL"),
        s3_timeouts=_s3_timeouts(env),
        database_url=_database_url(env),
        upstream_url=_upstream_url(env),
        filters=_filters(env, cwd),
        mirror_workers=_int(env, "PYPI_PLATFORM_MIRROR_WORKERS", 10, minimum=1, maximum=32),
        mirror_delete_grace_hours=_float(env, "PYPI_PLATFORM_MIRROR_DELETE_GRACE_HOURS", 24.0),
        mirror_check_budget=_int(env, "PYPI_PLATFORM_MIRROR_CHECK_BUDGET", 0, minimum=0),
        downloads=_downloads(env),
        scans=_scans(env),
        corpus=_corpus(env),
        serving=_serving(env),
        executor=_executor(env),
    )


def current_settings() -> Settings:
    """The settings of this process's environment and working directory, parsed once for each distinct pair:
    a code location's modules all ask for them while its definitions load, and get the same object."""
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PYPI_PLATFORM_")))
    return _settings_of(variables, Path.cwd())


@cache
def _settings_of(variables: tuple[tuple[str, str], ...], cwd: Path) -> Settings:
    return load_settings(dict(variables), cwd=cwd)


def _serving(env: Mapping[str, str]) -> ServingSettings:
    defaults = ServingSettings()
    return ServingSettings(
        rate_per_second=_float(env, "PYPI_PLATFORM_API_RATE", defaults.rate_per_second),
        burst=_int(env, "PYPI_PLATFORM_API_BURST", defaults.burst, minimum=1),
        max_age=_int(env, "PYPI_PLATFORM_API_MAX_AGE", defaults.max_age, minimum=0),
        pool_size=_int(env, "PYPI_PLATFORM_API_POOL_SIZE", defaults.pool_size, minimum=1),
    )


def _executor(env: Mapping[str, str]) -> str:
    name = "PYPI_PLATFORM_EXECUTOR"
    choice = (env.get(name) or "default").strip().lower()
    if choice not in EXECUTORS:
        raise ConfigError(f"{name} must be one of {', '.join(EXECUTORS)}, got {env[name]!r}")
    return choice


def _corpus(env: Mapping[str, str]) -> CorpusSettings:
    defaults = CorpusSettings()
    return CorpusSettings(
        shard_capacity=_int(env, "PYPI_PLATFORM_CORPUS_SHARD_CAPACITY", defaults.shard_capacity, minimum=1),
        batch_files=_int(env, "PYPI_PLATFORM_CORPUS_BATCH", defaults.batch_files, minimum=1),
        workers=_int(env, "PYPI_PLATFORM_CORPUS_WORKERS", defaults.workers, minimum=1, maximum=64),
    )


def _scans(env: Mapping[str, str]) -> ScanSettings:
    memory = env.get("PYPI_PLATFORM_SCAN_MEMORY")
    cache = env.get("PYPI_PLATFORM_SCAN_CACHE_SIZE")
    defaults = ScanSettings()
    timeout = _float(env, "PYPI_PLATFORM_SCAN_TIMEOUT", defaults.timeout_seconds)
    if timeout == 0:
        raise ConfigError("PYPI_PLATFORM_SCAN_TIMEOUT must be a positive number of seconds, got 0")
    failed_share = _float(env, "PYPI_PLATFORM_SCAN_MAX_FAILED_SHARE", defaults.max_failed_share)
    if failed_share > 1:
        raise ConfigError(
            f"PYPI_PLATFORM_SCAN_MAX_FAILED_SHARE must be a share between 0 and 1, got {failed_share}"
        )
    return ScanSettings(
        start_date=_date(env, "PYPI_PLATFORM_SCAN_START", defaults.start_date),
        workers=_int(env, "PYPI_PLATFORM_SCAN_WORKERS", defaults.workers, minimum=1, maximum=64),
        timeout_seconds=timeout,
        memory_bytes=_size("PYPI_PLATFORM_SCAN_MEMORY", memory) if memory else defaults.memory_bytes,
        cache_max_bytes=_size("PYPI_PLATFORM_SCAN_CACHE_SIZE", cache) if cache else defaults.cache_max_bytes,
        max_failed_share=failed_share,
        popular_downloads=_int(
            env, "PYPI_PLATFORM_SCAN_POPULAR_DOWNLOADS", defaults.popular_downloads, minimum=1
        ),
    )


def _downloads(env: Mapping[str, str]) -> DownloadSettings:
    semantics = (env.get("PYPI_PLATFORM_DOWNLOADS_SEMANTICS") or "corrected").strip().lower()
    if semantics not in ("corrected", "pypistats"):
        raise ConfigError(
            f"PYPI_PLATFORM_DOWNLOADS_SEMANTICS must be corrected or pypistats, got {semantics!r}"
        )
    table = env.get("PYPI_PLATFORM_BIGQUERY_TABLE") or DEFAULT_BIGQUERY_TABLE
    if not _BIGQUERY_TABLE.match(table):
        raise ConfigError(f"PYPI_PLATFORM_BIGQUERY_TABLE must be project.dataset.table, got {table!r}")
    max_bytes = env.get("PYPI_PLATFORM_BIGQUERY_MAX_BYTES")
    source = (env.get("PYPI_PLATFORM_DOWNLOADS_SOURCE") or "").strip() or None
    defaults = DownloadSettings()
    return DownloadSettings(
        source=source,
        start_date=_date(env, "PYPI_PLATFORM_DOWNLOADS_START", defaults.start_date),
        semantics=semantics,
        retention_days=_int(
            env, "PYPI_PLATFORM_DOWNLOADS_RETENTION_DAYS", defaults.retention_days, minimum=0
        ),
        bigquery_project=env.get("PYPI_PLATFORM_BIGQUERY_PROJECT") or None,
        bigquery_table=table,
        bigquery_max_bytes=_decimal_size("PYPI_PLATFORM_BIGQUERY_MAX_BYTES", max_bytes)
        if max_bytes
        else defaults.bigquery_max_bytes,
    )


def _date(env: Mapping[str, str], name: str, default: date) -> date:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be a date such as 2024-01-01, got {raw!r}") from exc


def _decimal_size(name: str, raw: str) -> int:
    # BigQuery bills in decimal units, so "200GB" means 200 * 10**9 bytes; "200GiB" means binary units.
    match = _SIZE.match(raw)
    if not match:
        raise ConfigError(f"{name} must be a size such as 200GB or 214748364800, got {raw!r}")
    base = 1024 if (match.group(3) or "").upper().startswith("I") else 1000
    return int(match.group(1)) * base ** " KMGT".index(match.group(2).upper() or " ")


def _storage_url(env: Mapping[str, str], home: Path) -> str:
    name = "PYPI_PLATFORM_STORAGE_URL"
    raw = env.get(name)
    if not raw:
        return (home / "storage").as_uri()
    parsed = urlparse(raw)
    if parsed.scheme == "file":
        # file://relative/dir parses as host "relative" and path "/dir": it names no directory of this machine.
        if parsed.netloc not in ("", "localhost"):
            raise ConfigError(
                f"{name} must be an absolute file:///dir URL (three slashes), got {raw!r}, which names the "
                f"host {parsed.netloc!r}; for a directory give its absolute path, as in file:///srv/pypi-platform"
            )
        if not parsed.path.startswith("/"):
            raise ConfigError(f"{name} must be an absolute file:///dir URL, got {raw!r}")
        return raw.rstrip("/")
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ConfigError(f"{name} must name a bucket (s3://bucket/prefix), got {raw!r}")
        return raw.rstrip("/")
    raise ConfigError(f"{name} must be file:///abs/dir or s3://bucket/prefix, got {raw!r}")


def _s3_timeouts(env: Mapping[str, str]) -> S3Timeouts:
    defaults = S3Timeouts()
    seconds = _float(env, "PYPI_PLATFORM_S3_TIMEOUT_SECONDS", defaults.seconds)
    if seconds == 0:  # botocore would take 0 as "fail at once", not "no limit"
        raise ConfigError("PYPI_PLATFORM_S3_TIMEOUT_SECONDS must be above 0, got '0'")
    return S3Timeouts(
        seconds=seconds,
        max_attempts=_int(env, "PYPI_PLATFORM_S3_MAX_ATTEMPTS", defaults.max_attempts, minimum=1, maximum=10),
    )


def _http_url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw


def _database_url(env: Mapping[str, str]) -> str | None:
    name = "PYPI_PLATFORM_DATABASE_URL"
    raw = env.get(name)
    if not raw:
        return None
    if urlparse(raw).scheme not in ("postgres", "postgresql"):
        raise ConfigError(f"{name} must be a postgresql:// DSN, got {raw!r}")
    return raw


def _upstream_url(env: Mapping[str, str]) -> str:
    name = "PYPI_PLATFORM_UPSTREAM_URL"
    raw = env.get(name)
    if not raw:
        # Imported only when needed: pypi-simple costs ~0.2 s to import, which a sync that changes nothing
        # would otherwise pay for a single constant.
        from pypi_simple import PYPI_SIMPLE_ENDPOINT

        raw = PYPI_SIMPLE_ENDPOINT
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https", "file") or (parsed.scheme != "file" and not parsed.netloc):
        raise ConfigError(f"{name} must be the http(s) URL of a simple index, got {raw!r}")
    return raw if raw.endswith("/") else raw + "/"


def _filters(env: Mapping[str, str], cwd: Path) -> MirrorFilters:
    types = _name_list(env, "PYPI_PLATFORM_MIRROR_PACKAGE_TYPES")
    if types is not None:
        unknown = sorted(set(types) - set(PACKAGE_TYPES))
        if unknown:
            raise ConfigError(
                f"PYPI_PLATFORM_MIRROR_PACKAGE_TYPES names unknown package types {unknown}; "
                f"expected some of {', '.join(PACKAGE_TYPES)}"
            )
    max_size = env.get("PYPI_PLATFORM_MIRROR_MAX_FILE_SIZE")
    return MirrorFilters(
        allowlist=_project_list(env, "PYPI_PLATFORM_MIRROR_PROJECTS", cwd),
        blocklist=_project_list(env, "PYPI_PLATFORM_MIRROR_BLOCKLIST", cwd) or frozenset(),
        keep_releases=_int(env, "PYPI_PLATFORM_MIRROR_KEEP_RELEASES", 0, minimum=0),
        prereleases=_bool(env, "PYPI_PLATFORM_MIRROR_PRERELEASES", True),
        package_types=frozenset(types) if types is not None else None,
        exclude_platforms=tuple(_name_list(env, "PYPI_PLATFORM_MIRROR_EXCLUDE_PLATFORMS") or ()),
        max_file_size=_size("PYPI_PLATFORM_MIRROR_MAX_FILE_SIZE", max_size) if max_size else None,
    )


def _project_list(env: Mapping[str, str], name: str, cwd: Path) -> frozenset[str] | None:
    raw = env.get(name)
    if not raw or not raw.strip():
        return None
    if raw.startswith("@"):
        path = Path(raw[1:]).expanduser()
        path = path if path.is_absolute() else cwd / path
        try:
            entries = _requirement_names(path.read_text(encoding="utf-8").splitlines(), name)
        except OSError as exc:
            raise ConfigError(f"{name} points at {path}, which cannot be read: {exc.strerror}") from exc
    else:
        entries = []
        for item in raw.split(","):
            item = item.strip()
            if not item:
                continue
            try:
                entries.append(project_name(item))
            except InvalidProjectName as exc:
                raise ConfigError(f"{name}: {exc}") from exc
    return frozenset(entries)


def _requirement_names(lines: list[str], name: str) -> list[str]:
    names = []
    for number, line in enumerate(lines, start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            names.append(canonicalize_name(Requirement(line).name))
        except InvalidRequirement as exc:
            raise ConfigError(f"{name}: line {number} ({line!r}) is not a valid project name: {exc}") from exc
    return names


def _name_list(env: Mapping[str, str], name: str) -> list[str] | None:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    return [item.strip().lower() for item in raw.split(",") if item.strip()]


def _int(
    env: Mapping[str, str], name: str, default: int, *, minimum: int = 0, maximum: int | None = None
) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        raise ConfigError(f"{name} must be an integer {bounds}, got {raw!r}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a finite, non-negative number, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _size(name: str, raw: str) -> int:
    match = _SIZE.match(raw)
    if not match:
        raise ConfigError(f"{name} must be a size such as 52428800, 50M or 2G, got {raw!r}")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).upper()]
