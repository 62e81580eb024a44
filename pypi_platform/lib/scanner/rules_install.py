"""Install-time code in setup.py: setup(cmdclass=...) replacing the commands an installer or a build runs.

Each check takes the file's scan (``python_rules._FileScan``), the call, its scope and the call's qualified name.
"""

from __future__ import annotations

import ast

from pypi_platform.lib.scanner.call_roles import INSTALL_COMMANDS
from pypi_platform.lib.scanner.syntax_walk import string_value


def check_setup(scan, call: ast.Call, scope: int, target: str) -> None:
    commands = overridden_install_commands(scan, call, scope)
    if commands:
        scan.add("install.cmdclass-override", call, evidence=f"cmdclass replaces {', '.join(commands)}")


def overridden_install_commands(scan, call: ast.Call, scope: int) -> list[str]:
    cmdclass = None
    for keyword in call.keywords:
        if keyword.arg == "cmdclass":
            cmdclass = keyword.value
        elif keyword.arg is None:  # setup(**options) with options = {"cmdclass": ...}
            cmdclass = dict_entries(scan, keyword.value, scope).get("cmdclass", cmdclass)
    if cmdclass is None:
        return []
    keys = dict_entries(scan, cmdclass, scope)
    return sorted(INSTALL_COMMANDS.intersection(keys))


def dict_entries(scan, expr: ast.expr, scope: int) -> dict[str, ast.expr | None]:
    """Literal keys of a dict display or dict(...) call, following a name once; values where known."""
    entries: dict[str, ast.expr | None] = {}
    candidates = [expr]
    if expr.__class__ is ast.Name:
        candidates = scan.assigned(scope, expr.id)
        entries.update(dict.fromkeys(scan.item_keys.get((scope, expr.id), ())))
    for candidate in candidates:
        if candidate.__class__ is ast.Dict:
            for key, value in zip(candidate.keys, candidate.values, strict=True):
                name = string_value(key)
                if name is not None:
                    entries[name] = value
        elif candidate.__class__ is ast.Call and scan.resolve(candidate.func) == "dict":
            entries.update((keyword.arg, keyword.value) for keyword in candidate.keywords if keyword.arg)
    return entries


CHECKS = {"setup": check_setup}
