"""Persistence and droppers at the syntax-tree level: writes to autostart folders, registry run keys, crontabs
and shell rc files (a write, not merely the path in a string), and files downloaded then run.

A path is read from the constants in the call's arguments joined by "/" (``os.path.join(appdata, "Microsoft",
"Windows", "Start Menu", ...)`` reads as ``Microsoft/Windows/Start Menu/...``) or from the value it folds to.
"""

from __future__ import annotations

import ast
import re

from pypi_platform.lib.scans.call_roles import OPENERS, PROCESS, WRITE_MODE_CHARS
from pypi_platform.lib.scans.syntax_walk import argument, string_value

_PLACES = (
    (
        "persistence.write-autostart",
        re.compile(
            r"start menu/programs/startup|/startup/|\.config/autostart|library/launch(?:agents|daemons)"
            r"|/etc/init\.d/|/etc/systemd/system|\.config/systemd/user|/etc/rc\.local|/etc/xdg/autostart",
        ),
    ),
    ("persistence.write-cron", re.compile(r"/etc/cron|/var/spool/cron|(?:^|/)crontabs?(?:/|$)")),
    ("exec.native-library-sideload", re.compile(r"/etc/ld\.so\.preload")),
    # A chat client's own code rewritten to send its tokens on every start.
    ("credentials.token-theft", re.compile(r"discord[\w. -]*/.*(?:index\.js|core\.asar)$")),
    (
        "persistence.write-shell-rc",
        re.compile(
            r"(?:^|/)\.(?:bashrc|zshrc|profile|bash_profile|bash_login|zprofile|zshenv)\b|/etc/profile"
        ),
    ),
)
_COMMANDS = (
    (
        "persistence.write-autostart",
        re.compile(r"\bschtasks(?:\.exe)?\s+/create\b|\breg(?:\.exe)?\s+add\b.*\\run\b"),
    ),
    ("persistence.write-cron", re.compile(r"\bcrontab\s+(?:-\s*$|-\s|[\w/.~][\w/.~-]*\s*$)|\|\s*crontab\b")),
    ("persistence.write-shell-rc", re.compile(r">>\s*~?[\w/.$]*/?\.(?:bashrc|zshrc|profile|bash_profile)\b")),
)
_RUN_KEY = re.compile(rb"currentversion\\{1,2}run", re.IGNORECASE)
_REMOVES_VALUES = re.compile(rb"\bDeleteValue\s*\(")
_COPIERS = {"shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.move", "os.rename", "os.replace"}
_DOWNLOADERS = {"urllib.request.urlretrieve", "urllib.urlretrieve"}
_REGISTRY_WRITERS = {"winreg.SetValueEx", "winreg.SetValue", "_winreg.SetValueEx", "_winreg.SetValue"}
_CHMOD = {"os.chmod"}
_EXECUTABLE_NAMES = re.compile(r"\.(?:exe|dll|scr|com|bat|cmd|ps1|vbs|hta|msi|so|dylib)$")
_EXECUTABLE_BITS = 0o111
_EXECUTE_BIT_NAMES = re.compile(r"S_I(?:EXEC|X(?:USR|GRP|OTH)|RWX[UGO])$")

ROLES = (
    ("write-open", OPENERS),
    ("write-copy", _COPIERS),
    ("download", _DOWNLOADERS),
    ("registry", _REGISTRY_WRITERS),
    ("chmod", _CHMOD),
    ("run", PROCESS),
    ("start-file", {"os.startfile"}),
)


def _path_text(scan, expr: ast.expr | None, scope: int) -> str:
    if expr is None:
        return ""
    folded = scan.folded_text(expr, scope) if expr.__class__ is not ast.Constant else string_value(expr)
    if folded is not None:
        return folded.replace("\\", "/").lower()
    pieces = [
        node.value
        for node in scan.subtree([expr], scope, follow_names=True)
        if node.__class__ is ast.Constant and node.value.__class__ is str and len(node.value) < 500
    ]
    return "/".join(pieces).replace("\\", "/").replace("//", "/").lower()


def _check_place(scan, call: ast.Call, path: str) -> None:
    for rule, place in _PLACES:
        match = place.search(path)
        if match is not None:
            scan.add(rule, call, evidence=f"writes {path[-80:]}")
            return


def check_open(scan, call: ast.Call, scope: int, target: str) -> None:
    mode = string_value(argument(call, 1, "mode"))
    if mode is None or WRITE_MODE_CHARS.isdisjoint(mode):
        return
    path = argument(call, 0, "file")
    _check_place(scan, call, _path_text(scan, path, scope))
    if "b" in mode and path is not None:
        scan.facts.setdefault("written", []).append((path, scope, call))


def check_copy(scan, call: ast.Call, scope: int, target: str) -> None:
    destination = argument(call, 1, "dst")
    _check_place(scan, call, _path_text(scan, destination, scope))
    source = argument(call, 0, "src")
    if destination is not None and source is not None:
        scan.facts.setdefault("copied", []).append((source, destination, scope, call))


def check_path_write(scan, call: ast.Call, scope: int, method: str) -> None:
    """Path(...).write_text(...): the path is the object the method is called on."""
    _check_place(scan, call, _path_text(scan, call.func.value, scope))


def check_download(scan, call: ast.Call, scope: int, target: str) -> None:
    destination = argument(call, 1, "filename")
    if destination is not None:
        scan.facts.setdefault("downloaded", []).append((destination, scope, call))


def check_registry(scan, call: ast.Call, scope: int, target: str) -> None:
    """A value set in a file that opens a Run key, unless the file also deletes values there: an application's
    own start-at-login option, which the user can switch off, while malware never removes its foothold."""
    if _RUN_KEY.search(scan.source) and not _REMOVES_VALUES.search(scan.source):
        scan.add("persistence.write-registry-run", call, evidence=f"{target} in a file that opens a Run key")


def check_chmod(scan, call: ast.Call, scope: int, target: str) -> None:
    """A mode that adds an execute bit makes the file runnable: a constant with one (``0o755``), a name of one
    (``stat.S_IEXEC``) or a bit set or-ed in. A mode taken whole from elsewhere (an archive member's, a parameter)
    or masked with ``&`` only restores permissions the file already had, as every extractor does."""
    expr = argument(call, 1, "mode")
    if expr is None:
        return
    mode = scan.folder.value(expr, scope)
    if (mode.__class__ is int and mode & _EXECUTABLE_BITS) or (mode is None and _adds_execute_bit(expr)):
        scan.facts.setdefault("run", []).append((call, scope))


def _adds_execute_bit(expr: ast.expr) -> bool:
    if expr.__class__ is ast.BinOp:
        if expr.op.__class__ is ast.BitAnd:
            return False
        return _adds_execute_bit(expr.left) or _adds_execute_bit(expr.right)
    if expr.__class__ is ast.Constant:
        return expr.value.__class__ is int and bool(expr.value & _EXECUTABLE_BITS)
    name = expr.attr if expr.__class__ is ast.Attribute else getattr(expr, "id", "")
    return _EXECUTE_BIT_NAMES.match(name) is not None


def check_run(scan, call: ast.Call, scope: int, target: str) -> None:
    command = scan.command_text(call, scope)
    for rule, pattern in _COMMANDS:
        if pattern.search(command):
            scan.add(rule, call, evidence=None)
            break
    scan.facts.setdefault("run", []).append((call, scope))


def check_start_file(scan, call: ast.Call, scope: int, target: str) -> None:
    scan.add("process.start-file", call)


def finish(scan) -> None:
    """A file downloaded (urlretrieve, or bytes written where the file also fetches) and then run, opened or
    made executable further down: the same variable in the same function, or the same path text anywhere. Both
    ends are reported. A fetched file named as an executable or a library is a dropper even before it runs."""
    written = list(scan.facts.get("downloaded", ()))
    if scan.facts.get("network"):
        written += scan.facts.get("written", ())
    if not written:
        return
    written += _copies_of(scan, written)
    names: dict[tuple[int, str], ast.Call] = {}  # (scope, name): "filename" in two functions is two names
    texts: list[tuple[str, ast.Call]] = []
    named: dict[int, tuple[ast.Call, str]] = {}  # writers of executables, by id
    for path, scope, writer in written:
        if path.__class__ is ast.Name:
            names[scope, path.id] = writer
        text = _path_text(scan, path, scope)
        if len(text) >= 4:
            texts.append((text, writer))
        if _EXECUTABLE_NAMES.search(text):
            named[id(writer)] = (writer, text)
    for call, scope in scan.facts.get("run", ()):
        used = [
            (scope, node.id)
            for node in scan.subtree(call.args[:2], scope, follow_names=False)
            if node.__class__ is ast.Name
        ]
        command = scan.command_text(call, scope).replace("\\", "/").lower()
        writers = [names[key] for key in used if key in names]
        writers += [writer for text, writer in texts if text in command and writer.lineno <= call.lineno]
        if writers:
            scan.add("dropper.download-and-run", call, evidence=None)
            for writer in writers:
                scan.add("dropper.download-and-run", writer, evidence=None)
                named.pop(id(writer), None)
    for writer, text in named.values():
        scan.add("dropper.download-and-run", writer, evidence=f"fetched into {text[-60:]}")


def _copies_of(scan, written: list) -> list:
    """Copies and moves of a fetched file carry its bytes on (urlretrieve into a temporary file, then a move
    into place); a copy of a local file (the interpreter, a build output) does not, so it is no dropper."""
    names = {(scope, path.id) for path, scope, _ in written if path.__class__ is ast.Name}
    texts = {text for path, scope, _ in written if len(text := _path_text(scan, path, scope)) >= 4}
    copies = []
    for source, destination, scope, call in scan.facts.get("copied", ()):
        from_fetched = (source.__class__ is ast.Name and (scope, source.id) in names) or (
            _path_text(scan, source, scope) in texts
        )
        if from_fetched:
            copies.append((destination, scope, call))
    return copies


CHECKS = {
    "write-open": check_open,
    "write-copy": check_copy,
    "download": check_download,
    "registry": check_registry,
    "chmod": check_chmod,
    "run": check_run,
    "start-file": check_start_file,
}
METHOD_CHECKS = {"write_text": check_path_write, "write_bytes": check_path_write}
