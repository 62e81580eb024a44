"""Which of a project's upstream files the mirror keeps: release, package type, platform and size filters."""

from __future__ import annotations

from collections import defaultdict
from fnmatch import fnmatch

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from pypi_platform.lib.config import MirrorFilters
from pypi_platform.lib.mirror.upstream import UpstreamFile


def select_files(files: list[UpstreamFile], filters: MirrorFilters) -> list[UpstreamFile]:
    """The files to mirror, in upstream order.

    Release filters run before file filters, so "newest N releases" counts releases, not files; a release
    counts toward N only if some file of it is not yanked, so a yanked release never pushes out a good one.
    """
    kept = [f for f in files if _wanted_file(f, filters)]
    if not filters.prereleases:
        kept = [f for f in kept if not _is_prerelease(f.version)]
    if filters.keep_releases:
        newest = set(_newest_versions(kept, filters.keep_releases))
        kept = [f for f in kept if f.version in newest]
    return kept


def latest_version(files: list[UpstreamFile]) -> str | None:
    """The project's latest release, before any filter: the newest final release with a file that is not
    yanked; failing that the newest pre-release, and failing that the newest yanked release."""
    live = [f for f in files if not f.yanked and f.version is not None]
    finals = [f for f in live if not _is_prerelease(f.version)]
    newest = _newest_versions(finals or live or files, 1)
    return newest[0] if newest else None


def _wanted_file(upstream_file: UpstreamFile, filters: MirrorFilters) -> bool:
    if filters.package_types is not None and upstream_file.packagetype not in filters.package_types:
        return False
    if filters.max_file_size is not None and (upstream_file.size or 0) > filters.max_file_size:
        return False
    return not (
        filters.exclude_platforms and _excluded_platform(upstream_file.filename, filters.exclude_platforms)
    )


def _excluded_platform(filename: str, patterns: tuple[str, ...]) -> bool:
    if not filename.endswith(".whl"):
        return False
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False
    platforms = {tag.platform for tag in tags}
    # A wheel is excluded only when every platform it supports is excluded.
    return all(any(fnmatch(platform, pattern) for pattern in patterns) for platform in platforms)


def _is_prerelease(version: str | None) -> bool:
    parsed = _parse(version)
    return parsed is not None and (parsed.is_prerelease or parsed.is_devrelease)


def _newest_versions(files: list[UpstreamFile], count: int) -> list[str]:
    yanked_only: dict[str, bool] = defaultdict(lambda: True)
    for upstream_file in files:
        if upstream_file.version is not None:
            yanked_only[upstream_file.version] &= upstream_file.yanked
    candidates = [v for v, only_yanked in yanked_only.items() if not only_yanked] or list(yanked_only)
    return sorted(candidates, key=_sort_key, reverse=True)[:count]


def _sort_key(version: str) -> tuple[int, Version | str]:
    parsed = _parse(version)
    # Versions that PEP 440 cannot order sort below every valid one, among themselves by text.
    return (1, parsed) if parsed is not None else (0, version)  # type: ignore[return-value]


def _parse(version: str | None) -> Version | None:
    if version is None:
        return None
    try:
        return Version(version)
    except InvalidVersion:
        return None


def sort_versions(versions: set[str]) -> list[str]:
    """PEP 440 order for the ``versions`` list of a PEP 691 page (bandersnatch sorts them as text)."""
    valid = sorted((v for v in versions if _parse(v) is not None), key=Version)
    return sorted(v for v in versions if _parse(v) is None) + valid
