"""Install-time code in setup.py: setup(cmdclass=...) replacing the commands an installer or a build runs.

Each check takes the file's scan (``python_rules._FileScan``), the call, its scope and the call's qualified name.
"""

from __future__ import annotations

import ast

from pypi_platform.lib.scans.call_roles import INSTALL_COMMANDS
from pypi_platform.lib.scans.resolution import MODULE_SCOPE
from pypi_platform.lib.scans.syntax_walk import nodes_under, string_value

# What a command's methods must not do at install time: fetch, spawn, run computed code, load native code.
_RISKY_ROLES = {"network", "process", "evaluate", "code-object", "native", "marshal", "download"}
_HOOK_NODES = 5_000  # nodes read in one command class
_RISKY_CALLS_REPORTED = 20  # per command: a generated class may spawn a thousand times


def check_setup(scan, call: ast.Call, scope: int, target: str) -> None:
    """Reported where the reader looks: at the cmdclass= keyword (or the "cmdclass" entry of the options handed
    in), and at each fetch, spawn or code run inside the replacing command's methods."""
    commands, place = overridden_install_commands(scan, call, scope)
    if not commands:
        return
    scan.add("install.cmdclass-override", place, evidence=f"cmdclass replaces {', '.join(sorted(commands))}")
    reported = False
    for command, value in sorted(commands.items()):
        for node, risky in _risky_calls(scan, value)[:_RISKY_CALLS_REPORTED]:
            evidence = f"cmdclass {command}: {value.id} calls {risky}"
            if not reported:
                scan.add("install.cmdclass-runs-code", place, evidence=evidence)
                reported = True
            scan.add("install.cmdclass-runs-code", node, evidence=evidence)


def _risky_calls(scan, value: ast.expr | None) -> list[tuple[ast.Call, str]]:
    """The fetches, spawns and code runs in the methods of the class a command is replaced with."""
    if value is None or value.__class__ is not ast.Name:
        return []
    if value.id in scan.classes:
        body = scan.classes[value.id].body
    else:  # Quiet = type("Quiet", (install,), {"run": lambda self: ...})
        made = [
            made
            for made in scan.assigned(MODULE_SCOPE, value.id)
            if made.__class__ is ast.Call and scan.resolve(made.func) == "type" and len(made.args) == 3
        ]
        body = [made.args[2] for made in made]
    found = []
    for node in nodes_under(body, _HOOK_NODES):
        if node.__class__ is ast.Call:
            target = scan.resolve(node.func)
            func = node.func
            if target is not None and _RISKY_ROLES.intersection(scan.roles_of(target)):
                found.append((node, target))
            elif (
                func.__class__ is ast.Attribute and func.attr == "spawn" and func.value.__class__ is ast.Name
            ):
                found.append((node, f"{func.value.id}.spawn"))  # distutils' Command.spawn runs a process
    return found


def overridden_install_commands(
    scan, call: ast.Call, scope: int
) -> tuple[dict[str, ast.expr | None], ast.AST]:
    """The install commands setup() replaces, and where the replacement is written (the cmdclass= keyword,
    the "cmdclass" key of the options dict, or else the call)."""
    cmdclass, place = None, call
    for keyword in call.keywords:
        if keyword.arg == "cmdclass":
            cmdclass, place = keyword.value, keyword
        elif keyword.arg is None:  # setup(**options) with options = {"cmdclass": ...}
            entries = dict_entries(scan, keyword.value, scope)
            if entries.get("cmdclass") is not None:
                cmdclass = place = entries["cmdclass"]
    if cmdclass is None:
        return {}, call
    entries = dict_entries(scan, cmdclass, scope)
    return {command: value for command, value in entries.items() if command in INSTALL_COMMANDS}, place


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
