"""What counts as data about the machine and its user when a program sends it: the user and host names, a
directory listing, the files where keys, histories and wallets live.

Narrow on purpose: an API client sending its own token, the working directory, or the platform in a User-Agent
is not host data. ``behaviours_exfiltration`` and ``sends`` judge what a send carries with these.
"""

from __future__ import annotations

import ast
import re

# Sources of data about the machine and its user: what a beacon or a stealer sends home.
HOST_DATA = {
    "getpass.getuser",
    "os.getlogin",
    "socket.gethostname",
    "socket.getfqdn",
    "platform.node",
    "platform.uname",
    "os.uname",
    "uuid.getnode",
    "os.listdir",
    "os.scandir",
    "os.walk",
    "glob.glob",
}
# os.uname()/platform.uname() also hold the OS name and machine architecture, which download URLs of
# platform-specific builds carry honestly; only the node name in them identifies the machine.
_UNAME = {"os.uname", "platform.uname"}
_UNAME_FIELDS_NOT_IDENTITY = {"sysname", "release", "version", "machine", "system", "processor"}
_UNAME_NODE_INDEX = 1
_IDENTITY_VARIABLES = {"USER", "USERNAME", "LOGNAME", "COMPUTERNAME", "HOSTNAME", "USERDOMAIN", "HOME"}
# Files whose contents are what a stealer uploads: keys, shell histories, password and configuration stores.
SENSITIVE_FILES = re.compile(
    r"\.ssh\b|/etc/(?:passwd|shadow)|\.aws/|\.kube/|\.gnupg|_history\b|\.netrc|\.pypirc|\.docker/config"
    r"|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\.config\b|\.git-credentials"
    r"|wallet\.dat|\.electrum|\.ethereum/keystore|solana/id\.json|exodus|local extension settings",
    re.IGNORECASE,
)
_READS = {"read", "read_text", "read_bytes"}


def carries_host_data(scan, expr: ast.expr, scope: int) -> str | None:
    """The host-data source feeding an expression (getpass.getuser, socket.gethostname, os.environ["USER"], a
    directory listing, an encoded value of one), or None. The working directory is not host data, nor is the
    OS name or architecture read from os.uname()."""
    harmless_fields: set[int] = set()  # uname() calls of which only a non-identifying field is read
    for node in scan.subtree([expr], scope, follow_names=True):
        cls = node.__class__
        if cls is ast.Attribute and node.attr in _UNAME_FIELDS_NOT_IDENTITY:
            harmless_fields.add(id(node.value))
        elif cls is ast.Subscript:
            index = node.slice
            if (
                index.__class__ is ast.Constant
                and index.value.__class__ is int
                and index.value != _UNAME_NODE_INDEX
            ):
                harmless_fields.add(id(node.value))
        if cls is ast.Call:
            target = scan.resolve(node.func)
            if target in _UNAME and id(node) in harmless_fields:
                continue
            if target in HOST_DATA:
                return target
            if target in ("os.getenv", "os.environ.get") and node.args:
                name = scan.constant_text(node.args[0])
                if name in _IDENTITY_VARIABLES:
                    return f"{target}({name!r})"
        elif cls is ast.Subscript and scan.resolve(node.value) == "os.environ":
            name = scan.constant_text(node.slice)
            if name in _IDENTITY_VARIABLES:
                return f"os.environ[{name!r}]"
    return None


def sensitive_file_read(scan, expr: ast.expr, scope: int, *, drop: bool) -> str | None:
    """A file read (open(path).read(), open(path, "rb"), Path(path).read_bytes()) of a sensitive path, or of any
    path when the destination is a webhook or paste site."""
    for node in scan.subtree([expr], scope, follow_names=True):
        if node.__class__ is not ast.Call:
            continue
        func = node.func
        opened = None
        if func.__class__ is ast.Attribute and func.attr in _READS:
            opened = func.value
        elif scan.resolve(func) == "open":
            opened = node
        if opened is None:
            continue
        path = " ".join(
            part.value
            for part in scan.subtree([opened], scope, follow_names=True)
            if part.__class__ is ast.Constant and part.value.__class__ is str
        )
        if drop or SENSITIVE_FILES.search(path.replace("\\", "/")):
            return f"contents of {path[:60] or 'a file'}"
    return None
