"""Package (project) names: the one rule every reader of a name from outside (configuration, URLs, search boxes) applies.

A name is valid when it follows the naming rule of the core metadata specification (letters, digits, ``.``,
``_`` and ``-``, starting and ending with a letter or digit) and is at most ``MAX_NAME_LENGTH`` characters; it is
stored and compared in its normalized form (lower case, every run of ``-``, ``_`` and ``.`` one ``-``).
"""

from __future__ import annotations

from packaging.utils import InvalidName, canonicalize_name

MAX_NAME_LENGTH = 128  # the download loader drops longer names, as pypistats.org does
# The row of the download tables that sums every package: a name no project can have.
ALL_PACKAGES = "__all__"


class InvalidProjectName(ValueError):
    """A name that is not a project name, with a sentence that says why."""


def project_name(raw: str) -> str:
    """``raw`` normalized, or InvalidProjectName saying what is wrong with it."""
    if len(raw) > MAX_NAME_LENGTH:
        raise InvalidProjectName(
            f"package names are at most {MAX_NAME_LENGTH} characters; this one has {len(raw)}"
        )
    try:
        return canonicalize_name(raw, validate=True)
    except InvalidName:
        shown = raw if len(raw) <= 80 else raw[:77] + "..."
        raise InvalidProjectName(
            f"{shown!r} is not a valid package name: letters, digits, '.', '_' and '-', starting and ending "
            "with a letter or digit"
        ) from None


def normalize(name: str) -> str:
    """The normalized form of a name already known to be valid (or of ``ALL_PACKAGES``, kept as it is)."""
    return name if name == ALL_PACKAGES else canonicalize_name(name)
