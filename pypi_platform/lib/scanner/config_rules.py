"""Packaging configuration that runs code from the release itself at install time.

An sdist's ``pyproject.toml`` may name a build backend that lives in the sdist (``backend-path``): pip imports
that module to build, so it is install-time code exactly like a ``setup.py``, wherever it sits and whatever its
name. The finding names the module's candidate members, so scoring can weigh them as install-time code.
A pyproject.toml that does not parse is its own finding (pip would refuse to build it), never a crash.
"""

from __future__ import annotations

import posixpath
import tomllib

from pypi_platform.lib.scanner.findings import Finding

_MEMBERS_MARK = " -> "
_MEMBERS_SEPARATOR = " | "


def config_findings(path: str, text: str) -> list[Finding]:
    """Findings of one member if it is packaging configuration; an empty list for every other member."""
    if posixpath.basename(path.rsplit("!", 1)[-1]).lower() != "pyproject.toml":
        return []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [Finding.of("config.malformed-pyproject", path, evidence=str(exc)[:200])]
    build = data.get("build-system")
    if not isinstance(build, dict) or "backend-path" not in build:
        return []
    backend_path, backend = build["backend-path"], build.get("build-backend")
    members = backend_members_of(path, backend_path, backend)
    evidence = f"backend-path {backend_path!r}, build-backend {backend!r}"[:300]
    if members:
        evidence += _MEMBERS_MARK + _MEMBERS_SEPARATOR.join(members)
    return [
        Finding.of("install.in-tree-backend", path, line=_line_of(text, "backend-path"), evidence=evidence)
    ]


def backend_members_of(pyproject: str, backend_path: object, backend: object) -> list[str]:
    """Member paths the backend module can be (``mod.py`` or ``mod/__init__.py`` under each backend-path entry),
    relative to the release file like ``pyproject``'s own path."""
    if isinstance(backend_path, str):
        backend_path = [backend_path]
    if not isinstance(backend, str) or not isinstance(backend_path, list):
        return []
    module = backend.split(":", 1)[0].strip().replace(".", "/")
    if not module:
        return []
    root = posixpath.dirname(pyproject)
    members = []
    for entry in backend_path:
        if isinstance(entry, str):
            base = posixpath.normpath(posixpath.join(root, entry, module))
            members += [base + ".py", base + "/__init__.py"]
    return members


def backend_members(finding: Finding) -> list[str]:
    """The candidate members of an ``install.in-tree-backend`` finding's backend module (for scoring)."""
    _, mark, members = finding.evidence.partition(_MEMBERS_MARK)
    return members.split(_MEMBERS_SEPARATOR) if mark else []


def _line_of(text: str, key: str) -> int | None:
    offset = text.find(key)
    return text.count("\n", 0, offset) + 1 if offset >= 0 else None
