"""Which archive members reach a corpus shard's git tree, which path they get there, and why the others do not.

Two families of rules, both recorded in a member's ``skip_reason``:

- Name rules (ours): a member whose name cannot become a git path, or must not, never reaches content rules:
  ``invalid-name`` (not UTF-8, a NUL or another control character), ``unsafe-path`` (absolute, a drive letter,
  a ``..`` component, nothing left once ``.`` and empty components go) and ``path-too-long``.
- Content rules, in py-code.org's order: ``binary``, ``empty``, ``binary`` (Pyarmor),
  ``version-control`` (a git-LFS pointer), ``too-large``, ``version-control`` (a VCS directory), ``virtualenv``,
  ``text-long-lines``. Sizes are in KiB/MiB, as py-code.org's own constants are.

Binary means a NUL byte among the first 1,024 bytes (git's heuristic, on py-code.org's probe length): UTF-16 and
UTF-32 text is therefore binary, as ``git diff`` would see it.

Path sanitising (py-code.org's, tightened so that every produced path splits on ``/`` into components git
accepts): backslashes are separators (old Windows zip tools wrote them, and a ``..\\..`` must not slip through as
one harmless-looking component); empty and ``.`` components are dropped (``//`` and a leading ``./``); a newline
becomes ``_newline``; a component that git would read as ``.git`` gets ``_`` appended. That last rename covers
py-code.org's ``foo.git`` -> ``foo.git_`` and also what git itself refuses as ``.git``: any case, trailing dots or
spaces (NTFS), characters HFS+ ignores, and the NTFS short name ``git~1``. A component that *is* such a ``.git``
makes the member ``version-control`` (rule 6), wherever it stands; its path still carries the renamed component,
so even a skipped member's path is safe to use.

Change a limit -> bump ``RULES_VERSION``; every distribution records the version it was read under, so shards can
be re-extracted when the rules move. The reader's caps (``members.Limits``) are part of this version too.
"""

from __future__ import annotations

import re

RULES_VERSION = "2026.11.1"

KIB = 1024
MIB = 1024 * KIB

BINARY_PROBE_BYTES = 1024
PYTHON_MAX_BYTES = 5 * MIB
TEXT_MAX_BYTES = 200 * KIB
LONG_LINES_MIN_BYTES = 50 * KIB
LONG_LINES_MIN_NEWLINES = 5  # fewer newlines than this in a file that large: an obfuscated one-liner
# A shard path is packages/<project>/<filename>/<path>; project and filename add up to ~300 bytes, so 1,024 for
# the member path keeps the whole well inside PATH_MAX (4,096), and 255 is NAME_MAX of every common file system.
PATH_MAX_BYTES = 1024
COMPONENT_MAX_BYTES = 255

# Member-level reasons ("" = committed to git).
BINARY = "binary"
EMPTY = "empty"
VERSION_CONTROL = "version-control"
TOO_LARGE = "too-large"
VIRTUALENV = "virtualenv"
TEXT_LONG_LINES = "text-long-lines"
LINK = "link"
SPECIAL_FILE = "special-file"
UNSAFE_PATH = "unsafe-path"
INVALID_NAME = "invalid-name"
PATH_TOO_LONG = "path-too-long"
DUPLICATE = "duplicate"
UNREADABLE = "unreadable"  # a zip member that is encrypted or uses a compression method Python cannot decode

# Archive-level failures (Distribution.failure; no rows at all).
CORRUPT_ARCHIVE = "corrupt-archive"
ARCHIVE_BOMB = "archive-bomb"
TOO_MANY_MEMBERS = "too-many-members"
UNSUPPORTED_FORMAT = "unsupported-format"

_PYARMOR = b"__pyarmor"
# Assembled from parts so that no host name is spelled out; the prefix is what py-code.org matches on.
_LFS_POINTER = b"version https://" + b"git-lfs."
_VCS_DIRS = frozenset({".hg", ".svn"})  # .git is recognised the way git recognises it, see _is_dot_git
_VIRTUALENV_DIRS = frozenset({".venv", "venv", "site-packages"})

# C0 controls and DEL, except the newline, which py-code.org renames instead.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
# Code points HFS+ ignores when comparing names, so ".g\u200cit" is ".git" there (git's is_hfs_dotgit).
_HFS_IGNORED = dict.fromkeys(
    [*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF], None
)


def looks_binary(data: bytes) -> bool:
    """Rule 1 and 3's test: what py-code.org stores as ``binary``, with no line count."""
    return b"\0" in data[:BINARY_PROBE_BYTES] or data.startswith(_PYARMOR)


def count_lines(data: bytes) -> int:
    """Newline count; 0 for binary content, as ``lines`` is in py-code.org's index."""
    return 0 if looks_binary(data) else data.count(b"\n")


def _git_folded(component: str) -> str:
    # How git compares a name against ".git" when it protects NTFS and HFS+ checkouts.
    return component.translate(_HFS_IGNORED).rstrip(". ").lower()


def _is_dot_git(component: str) -> bool:
    folded = _git_folded(component)
    return folded in (".git", "git~1")


def _tree_component(component: str) -> str:
    component = component.replace("\n", "_newline")
    folded = _git_folded(component)
    if folded.endswith(".git") or folded == "git~1":
        component += "_"
    return component


def split_name(name: str) -> tuple[tuple[str, ...], str]:
    """The member name's components and ``""``, or ``()`` and the name rule it breaks.

    ``name`` is the archive's name decoded as UTF-8 with ``surrogateescape``: a lone surrogate stands for a byte
    that was not UTF-8.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return (), INVALID_NAME
    if _CONTROL.search(name):
        return (), INVALID_NAME
    name = name.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return (), UNSAFE_PATH
    components = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in components:
        return (), UNSAFE_PATH
    if not components:
        return (), INVALID_NAME  # a regular file called "", "." or "/": nothing to name it by
    return components, ""


def tree_path(components: tuple[str, ...]) -> tuple[str, str]:
    """The sanitised path under the distribution's directory, and ``""`` or ``path-too-long``."""
    parts = [_tree_component(part) for part in components]
    path = "/".join(parts)
    if len(path.encode("utf-8")) > PATH_MAX_BYTES or any(
        len(part.encode("utf-8")) > COMPONENT_MAX_BYTES for part in parts
    ):
        return "", PATH_TOO_LONG
    return path, ""


def content_reason(components: tuple[str, ...], data: bytes | None, size: int) -> str:
    """Rules 1-8 for a member with a usable path; ``data`` is None when it was too large to read."""
    if data is None:
        return TOO_LARGE
    if b"\0" in data[:BINARY_PROBE_BYTES]:
        return BINARY
    if size == 0:
        return EMPTY
    if data.startswith(_PYARMOR):
        return BINARY
    if data.startswith(_LFS_POINTER):
        return VERSION_CONTROL
    if size > (PYTHON_MAX_BYTES if components[-1].endswith(".py") else TEXT_MAX_BYTES):
        return TOO_LARGE
    # py-code.org matches directory components only ("(^|/)\.hg/"); a .git component is refused by git
    # wherever it stands, so it counts as the last component too.
    if any(_is_dot_git(part) for part in components) or not _VCS_DIRS.isdisjoint(components[:-1]):
        return VERSION_CONTROL
    if not _VIRTUALENV_DIRS.isdisjoint(components[:-1]):
        return VIRTUALENV
    if size >= LONG_LINES_MIN_BYTES and data.count(b"\n") < LONG_LINES_MIN_NEWLINES:
        return TEXT_LONG_LINES
    return ""
