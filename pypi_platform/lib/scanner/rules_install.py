"""Install-time code in setup.py: setup(cmdclass=...) replacing the commands an installer or a build runs.

Each check takes the file's scan (``python_rules._FileScan``), the call, its scope and the call's qualified name.
"""

from __future__ import annotations

import ast

from pypi_platform.lib.scanner.call_roles import INSTALL_COMMANDS
from pypi_platform.lib.scanner.resolution import MODULE_SCOPE
from pypi_platform.lib.scanner.syntax_walk import nodes_under, string_value

# What a command's methods must not do at install time: fetch, spawn, run computed code, load native code.
_RISKY_ROLES = {"network", "process", "evaluate", "code-object", "native", "marshal", "download"}
_HOOK_NODES = 5_000  # nodes read in one command class


def check_setup(scan, call: ast.Call, scope: int, target: str) -> None:
    commands = overridden_install_commands(scan, call, scope)
    if not commands:
        return
    scan.add("install.cmdclass-override", call, evidence=f"cmdclass replaces {', '.join(sorted(commands))}")
    for command, value in sorted(commands.items()):
        risky = _risky_call(scan, value)
        if risky is not None:
            evidence = f"cmdclass {command}: {value.id} calls {risky}"
            scan.add("install.cmdclass-runs-code", call, evidence=evidence)
            return


def _risky_call(scan, value: ast.expr | None) -> str | None:
    """The first fetch, spawn or code run in the methods of the class a command is replaced with."""
    if value is None or value.__class__ is not ast.Name:
        return None
    if value.id in scan.classes:
        body = scan.classes[value.id].body
    else:  # Quiet = type("Quiet", (install,), {"run": lambda self: ...})
        made = [
            made
            for made in scan.assigned(MODULE_SCOPE, value.id)
            if made.__class__ is ast.Call and scan.resolve(made.func) == "type" and len(made.args) == 3
        ]
        body = [made.args[2] for made in made]
    for node in nodes_under(body, _HOOK_NODES):
        if node.__class__ is ast.Call:
            target = scan.resolve(node.func)
            if target is not None and _RISKY_ROLES.intersection(scan.roles_of(target)):
                return target
            func = node.func
            if func.__class__ is ast.Attribute and func.attr == "spawn" and func.value.__class__ is ast.Name:
                return f"{func.value.id}.spawn"  # distutils' Command.spawn runs a process
    return None


def overridden_install_commands(scan, call: ast.Call, scope: int) -> dict[str, ast.expr | None]:
    cmdclass = None
    for keyword in call.keywords:
        if keyword.arg == "cmdclass":
            cmdclass = keyword.value
        elif keyword.arg is None:  # setup(**options) with options = {"cmdclass": ...}
            cmdclass = dict_entries(scan, keyword.value, scope).get("cmdclass", cmdclass)
    if cmdclass is None:
        return {}
    entries = dict_entries(scan, cmdclass, scope)
    return {command: value for command, value in entries.items() if command in INSTALL_COMMANDS}


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
