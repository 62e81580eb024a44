"""Packaging configuration that runs code from the release itself at install time.

An sdist's ``pyproject.toml`` may name a build backend that lives in the sdist (``backend-path``): pip imports
that module to build, so it is install-time code exactly like a ``setup.py``, wherever it sits and whatever its
name. A build hook kept in the sdist and named in the backend's configuration (hatchling's custom hooks, the
pdm backend's custom-hook) runs the same way. The finding names the module's candidate members, so scoring can
weigh them as install-time code.
A pyproject.toml that does not parse is its own finding (pip would refuse to build it), never a crash.
"""

from __future__ import annotations

import posixpath
import tomllib

from pypi_platform.lib.scans.findings import Finding

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
    if not isinstance(build, dict):
        return []
    backend = build.get("build-backend")
    findings = _build_hooks(path, text, data, backend)
    if "backend-path" not in build:
        return findings
    backend_path = build["backend-path"]
    members = backend_members_of(path, backend_path, backend)
    evidence = f"backend-path {backend_path!r}, build-backend {backend!r}"[:300]
    if members:
        evidence += _MEMBERS_MARK + _MEMBERS_SEPARATOR.join(members)
    return [
        Finding.of("install.in-tree-backend", path, line=_line_of(text, "backend-path"), evidence=evidence),
        *findings,
    ]


# Where each backend reads the in-tree hook it runs: (table keys, the key of the file, the file by default).
_HATCH_HOOK_TABLES = (("build", "hooks", "custom"), ("metadata", "hooks", "custom"))
_HATCH_DEFAULT = "hatch_build.py"
_PDM_DEFAULT = "pdm_build.py"


def _build_hooks(path: str, text: str, data: dict, backend: object) -> list[Finding]:
    """[tool.hatch.build.hooks.custom] (also per target, and for metadata) under hatchling, and the pdm
    backend's [tool.pdm.build] custom-hook: a module of the sdist that the build imports and runs."""
    if not isinstance(backend, str):
        return []
    tool = data.get("tool")
    tool = tool if isinstance(tool, dict) else {}
    hooks: list[tuple[str, object, str]] = []  # (the table's name, the hook file it names, a key on its line)
    if backend.startswith("hatchling"):
        hatch = tool.get("hatch") if isinstance(tool.get("hatch"), dict) else {}
        for keys in _HATCH_HOOK_TABLES:
            table = _table(hatch, keys)
            if table is not None:
                name = "tool.hatch." + ".".join(keys)
                hooks.append((name, table.get("path", _HATCH_DEFAULT), name))
        targets = _table(hatch, ("build", "targets")) or {}
        for name, target in targets.items():
            table = _table(target, ("hooks", "custom"))
            if table is not None:
                name = f"tool.hatch.build.targets.{name}.hooks.custom"
                hooks.append((name, table.get("path", _HATCH_DEFAULT), name))
    elif backend.startswith("pdm.backend"):
        table = _table(tool, ("pdm", "build"))
        if table is not None and "custom-hook" in table:
            hooks.append(("tool.pdm.build", table["custom-hook"], "custom-hook"))
    findings = []
    root = posixpath.dirname(path)
    for table_name, hook, key in hooks:
        evidence = f"{table_name} runs {hook!r} at build time"[:300]
        if isinstance(hook, str) and hook.endswith(".py"):
            evidence += _MEMBERS_MARK + posixpath.normpath(posixpath.join(root, hook))
        line = _line_of(text, key) or _line_of(text, "hooks.custom")  # a dotted key or an inline table
        findings.append(Finding.of("install.in-tree-backend", path, line=line, evidence=evidence))
    return findings


def _table(data: object, keys: tuple[str, ...]) -> dict | None:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data if isinstance(data, dict) else None


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
