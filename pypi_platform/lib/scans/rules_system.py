"""What calls that reach the system mean: network clients, processes (and the shell commands they run), file
writes, and the whole environment serialised or sent.

Each check takes the file's scan (``python_rules._FileScan``), the call, its scope and the call's qualified name.
"""

from __future__ import annotations

import ast
import re

from pypi_platform.lib.scans.call_roles import (
    ENVIRONMENT,
    ENVIRONMENT_STEPS,
    ENVIRONMENT_VIEWS,
    PASS_THROUGH,
    PATH_WRITERS,
    SENDING_METHODS,
    SHELL_DOWNLOADS,
    WRITE_FLAGS,
    WRITE_MODE_CHARS,
)
from pypi_platform.lib.scans.syntax_walk import argument, call_arguments, identifier, string_value

SHELL_TEXT_CHARS = 100_000
_COMPREHENSIONS = (ast.DictComp, ast.ListComp, ast.GeneratorExp, ast.SetComp)
_PROCESS_OUTPUT = {"subprocess.check_output", "subprocess.getoutput", "os.popen"}
_ENVIRONMENT_COMMANDS = re.compile(r"\s*(?:env|printenv|set)\s*$")


def check_network(scan, call: ast.Call, scope: int, target: str) -> None:
    scan.add("network.connection", call)
    check_environment_sent(scan, call, scope, everything=True)


def check_process(scan, call: ast.Call, scope: int, target: str) -> None:
    scan.add("process.spawn", call)
    command = command_text(scan, call, scope)
    if command and any(all(p.search(command) for p in patterns) for patterns in SHELL_DOWNLOADS):
        scan.add("process.shell-download", call)


def command_text(scan, call: ast.Call, scope: int) -> str:
    """The strings in a call's arguments, joined: the literals there and in what the names there were assigned,
    and the value of each argument that folds to a constant ("cu" + "rl ...")."""
    cached = scan.command_texts.get(id(call))
    if cached is not None:
        return cached
    roots = call_arguments(call)
    pieces: list[str] = []
    size = 0
    for root in roots:
        if root.__class__ is not ast.Constant:
            folded = scan.folded_text(root, scope)
            if folded is not None:
                pieces.append(folded[:SHELL_TEXT_CHARS])
                size += len(pieces[-1]) + 1
    for node in scan.subtree(roots, scope, follow_names=True):
        if size >= SHELL_TEXT_CHARS:
            break
        if node.__class__ is ast.Constant and node.value.__class__ in (str, bytes):
            value = node.value[: SHELL_TEXT_CHARS - size]
            pieces.append(value.decode("latin-1") if isinstance(value, bytes) else value)
            size += len(value) + 1
    text = " ".join(pieces)
    scan.command_texts[id(call)] = text
    return text


def check_open(scan, call: ast.Call, scope: int, target: str) -> None:
    mode = string_value(argument(call, 1, "mode"))
    if mode is not None and not WRITE_MODE_CHARS.isdisjoint(mode):
        scan.add("file.write", call)


def check_os_open(scan, call: ast.Call, scope: int, target: str) -> None:
    flags = argument(call, 1, "flags")
    if flags is not None and any(
        identifier(node) in WRITE_FLAGS for node in scan.subtree([flags], scope, follow_names=False)
    ):
        scan.add("file.write", call)


def check_serialiser(scan, call: ast.Call, scope: int, target: str) -> None:
    check_environment_sent(scan, call, scope, everything=False)


def check_method(scan, call: ast.Call, scope: int, method: str) -> None:
    """Calls on objects we cannot name: Path(...).write_text, sock.sendall, session.post."""
    if method in PATH_WRITERS:
        scan.add("file.write", call)
    elif method in SENDING_METHODS:
        check_environment_sent(scan, call, scope, everything=True)


def check_environment_sent(scan, call: ast.Call, scope: int, *, everything: bool) -> None:
    """The whole environment as an argument (or, for senders, a keyword such as data= or json=)."""
    arguments = call_arguments(call) if everything else call.args[:1]
    # A filtered copy of the environment counts only when sent: a cache key hashed from it is routine.
    if any(is_whole_environment(scan, argument, scope, filtered=everything) for argument in arguments):
        scan.add("credentials.environment-dump", call)


def is_whole_environment(scan, expr: ast.expr, scope: int, *, filtered: bool = False) -> bool:
    """os.environ, os.environ.copy(), dict(os.environ), os.environ.items(), {**os.environ}, os.environ.__dict__,
    or a name assigned one of those; never os.environ["HOME"] or os.environ.get(...), which every program uses."""
    pending = [(expr, True)]  # (expression, whether a name in it may still be followed to its value)
    for _ in range(ENVIRONMENT_STEPS):
        if not pending:
            return False
        node, follow = pending.pop()
        cls = node.__class__
        if cls in _COMPREHENSIONS and filtered:  # {k: v for k, v in os.environ.items() if ...}: the secrets
            pending.extend((generator.iter, follow) for generator in node.generators)
        elif cls is ast.Call:
            func = node.func
            if func.__class__ is ast.Attribute and func.attr in ENVIRONMENT_VIEWS and not node.args:
                pending.append((func.value, follow))
            elif func.__class__ is ast.Attribute and func.attr in ("join", "encode") and node.args[:1]:
                pending.append((node.args[0], follow))  # "\n".join(f"{k}={v}" for k, v in os.environ.items())
            elif func.__class__ is ast.Attribute and func.attr == "encode":
                pending.append((func.value, follow))
            elif scan.resolve(func) in _PROCESS_OUTPUT and _ENVIRONMENT_COMMANDS.match(
                scan.command_text(node, scope)
            ):
                return True  # subprocess.check_output(["env"])
            elif scan.resolve(func) in PASS_THROUGH:
                unwrapped = [
                    *node.args[:1],
                    *(keyword.value for keyword in node.keywords if keyword.arg is None),
                ]
                pending.extend((argument, follow) for argument in unwrapped)
        elif cls is ast.Dict:
            pending.extend(
                (value, follow) for key, value in zip(node.keys, node.values, strict=True) if key is None
            )
        elif cls is ast.Attribute and node.attr == "__dict__":
            pending.append((node.value, follow))
        elif scan.resolve(node) in ENVIRONMENT:
            return True
        elif cls is ast.Name and follow:
            pending.extend((value, False) for value in scan.assigned(scope, node.id))
    return False


CHECKS = {
    "network": check_network,
    "process": check_process,
    "open": check_open,
    "os-open": check_os_open,
    "serialise": check_serialiser,
}
