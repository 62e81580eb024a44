"""Names one keystroke away from a popular project: the cheapest way to get a payload installed.

Popular means downloaded at least ``min_downloads`` times (``PYPI_PLATFORM_SCAN_POPULAR_DOWNLOADS``) in the 30
days of ``download_stats_30d``, at most the ``max_names`` most downloaded of those: a threshold rather than a
rank, so that a mirror whose statistics hold few projects does not call its obscure names popular, and one whose
statistics hold every project still finds squats of its big names. A name is suspect when it is not itself popular and, after PEP 503 normalisation, is
one edit (insert, delete, substitute, or swap of two neighbouring letters) from a popular name, differs from it
only in separators, or adds or drops a "py"/"python" affix. Short names are left alone: every three-letter name
is one edit from another. Without download statistics nothing can be compared, and every record says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pypi_platform.lib.scans.findings import Finding

MIN_LENGTH = 4  # popular names shorter than this have too many honest neighbours
_SEPARATORS = re.compile(r"[-_.]+")
_AFFIXES = ("python-", "py-", "python", "py")


def normalize(name: str) -> str:
    return _SEPARATORS.sub("-", name).lower()


MAX_NAMES = 5_000
NO_STATISTICS = "not checked: no download statistics were available"


class PopularNames:
    """An index of popular names for one scan: built once, asked once per package."""

    def __init__(self, names: Iterable[str], *, basis: str | None = None):
        self.names = {normalize(name) for name in names}
        # What the names are; for an empty index, why nothing could be compared.
        if basis is None:
            basis = f"{len(self.names):,} names given" if self.names else NO_STATISTICS
        self.basis = basis
        self._by_length: dict[int, list[str]] = {}
        self._by_squashed: dict[str, str] = {}
        for name in self.names:
            if len(name) >= MIN_LENGTH:
                self._by_length.setdefault(len(name), []).append(name)
                self._by_squashed.setdefault(name.replace("-", ""), name)

    @classmethod
    def from_downloads(
        cls,
        downloads: Iterable[tuple[str, int]] | None,
        min_downloads: int = 1,
        max_names: int = MAX_NAMES,
    ) -> PopularNames:
        """Popular names from (project, downloads in 30 days) pairs; None when no statistics were available."""
        if downloads is None:
            return cls((), basis=NO_STATISTICS)
        ranked = sorted((pair for pair in downloads if pair[1] >= min_downloads), key=lambda pair: -pair[1])
        names = [name for name, _ in ranked[:max_names]]
        if not names:
            return cls((), basis=f"no project has {min_downloads:,} downloads in 30 days")
        return cls(
            names, basis=f"{len(names):,} projects with at least {min_downloads:,} downloads in 30 days"
        )

    def status(self) -> dict:
        """What a record says about the check: whether it ran, and against what."""
        if not self.names:
            return {"checked": False, "popular_names": 0, "basis": self.basis}
        return {"checked": True, "popular_names": len(self.names), "basis": self.basis}

    def lookalike(self, name: str) -> str | None:
        """The popular name that `name` imitates, or None."""
        name = normalize(name)
        if name in self.names or not self.names:
            return None
        squashed = name.replace("-", "")
        if squashed in self._by_squashed:
            return self._by_squashed[squashed]
        for variant in _affix_variants(name):
            if variant in self.names and len(variant) >= MIN_LENGTH:
                return variant
        for length in (len(name) - 1, len(name), len(name) + 1):
            for popular in self._by_length.get(length, ()):
                if _one_edit_apart(name, popular):
                    return popular
        return None


def typosquat_findings(name: str, popular: PopularNames) -> list[Finding]:
    target = popular.lookalike(name)
    if target is None:
        return []
    return [Finding.of("metadata.typosquat", "", evidence=f"{normalize(name)!r} imitates {target!r}")]


def _affix_variants(name: str) -> Iterable[str]:
    for affix in _AFFIXES:
        if name.startswith(affix) and len(name) > len(affix):
            yield name[len(affix) :].lstrip("-")
        yield f"{affix}{name}"
    for suffix in ("-python", "-py", "python", "py"):
        if name.endswith(suffix) and len(name) > len(suffix):
            yield name[: -len(suffix)].rstrip("-")


def _one_edit_apart(a: str, b: str) -> bool:
    """True when one insertion, deletion, substitution or neighbour swap turns a into b (a != b)."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    start = 0
    while start < len(a) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        if a[start + 1 :] == b[start + 1 :]:
            return True  # one substitution
        swapped = start + 1 < len(a) and a[start] == b[start + 1] and a[start + 1] == b[start]
        return swapped and a[start + 2 :] == b[start + 2 :]
    return a[start:] == b[start + 1 :]  # one insertion into a
