"""Network behaviours of malicious packages, at the syntax-tree level: reverse shells, connections to literal IP
addresses, DNS exfiltration and host data sent over HTTP.

Each check takes the file's scan (``python_rules._FileScan``), the call, its scope and the call's qualified name;
``finish`` runs once all calls of a file are judged, for behaviours made of several calls (dup2 then a shell).
"""

from __future__ import annotations

import ast
import ipaddress
import re

from pypi_platform.lib.scanner.call_roles import NETWORK, PROCESS, qualified
from pypi_platform.lib.scanner.syntax_walk import argument, call_arguments

# Shell commands that hand a shell to the network or connect one: nc -e, bash -i >& /dev/tcp/..., a fifo
# through nc, socat exec, a PowerShell TCP client.
_REVERSE_SHELL_COMMANDS = re.compile(
    r"\b(?:nc|ncat|netcat)(?:\.traditional|\.openbsd)?\b[^|;&]*\s-[a-z]*[ec]\b"
    r"|/dev/(?:tcp|udp)/"
    r"|\bmkfifo\b.*\b(?:nc|ncat|netcat)\b"
    r"|\b(?:ba|z|da|k)?sh\s+-i\b.*\|\s*(?:nc|ncat|netcat)\b"
    r"|\bsocat\b.*\bexec:"
    r"|Net\.Sockets\.TCPClient",
    re.IGNORECASE,
)
_SHELLS = re.compile(
    r"(?:^|[/\\\s\"'])(?:(?:ba|z|da|k|fi)?sh|cmd(?:\.exe)?|powershell(?:\.exe)?|pwsh)(?:$|[\s\"'])"
)
_STANDARD_STREAMS = {0, 1, 2}
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
    "os.getcwd",
}
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
_DROP_HOSTS = re.compile(
    r"discord(?:app)?\.com/api/webhooks|hooks\.slack\.com|api\.telegram\.org/bot|webhook\.site|pastebin\.com"
    r"|paste\.ee|transfer\.sh|requestbin|pipedream\.net|ngrok",
    re.IGNORECASE,
)

ROLES = (
    ("connect", NETWORK | {"socket.create_connection"}),
    ("shell", PROCESS),
    ("dup2", {"os.dup2"}),
    ("resolve-name", _RESOLVERS),
    ("send-http", _HTTP_SENDERS),
)


def literal_ip(text: str) -> str | None:
    """A public IP address (v4 or v6) in text: a URL's host, a bare address, an address in brackets."""
    for match in re.finditer(
        r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])|\[?([0-9A-Fa-f:]*:[0-9A-Fa-f:]+)\]?", text
    ):
        candidate = match.group(1) or match.group(2)
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified or address.is_link_local or address.is_multicast:
            continue
        if not address.is_private or _documentation(address):
            return candidate
    return None


def _documentation(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Documentation ranges count as public: samples and tests stand them in for real attacker hosts."""
    return any(
        address in ipaddress.ip_network(network)
        for network in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
        if ipaddress.ip_network(network).version == address.version
    )


def _argument_texts(scan, call: ast.Call, scope: int) -> list[str]:
    """String constants in the call's arguments (tuples included) and the folded value of each argument."""
    texts = []
    for root in call_arguments(call)[:4]:
        for node in scan.subtree([root], scope, follow_names=True):
            if node.__class__ is ast.Constant and node.value.__class__ is str and len(node.value) <= 2_000:
                texts.append(node.value)
        if root.__class__ is not ast.Constant:
            folded = scan.folded_text(root, scope)
            if folded is not None:
                texts.append(folded[:2_000])
    return texts


def check_connection(scan, call: ast.Call, scope: int, target: str) -> None:
    scan.facts.setdefault("network", []).append(
        call
    )  # a file that fetches: its binary writes may be payloads
    for text in _argument_texts(scan, call, scope):
        address = literal_ip(text)
        if address is not None:
            scan.add("network.literal-ip-connection", call, evidence=f"connects to {address}")
            return


def check_socket_method(scan, call: ast.Call, scope: int, method: str) -> None:
    """sock.connect((host, port)) on a socket we cannot name."""
    if method in ("connect", "connect_ex") and len(call.args) == 1 and call.args[0].__class__ is ast.Tuple:
        scan.facts.setdefault("socket-connect", []).append(call)
        check_connection(scan, call, scope, method)


def check_shell(scan, call: ast.Call, scope: int, target: str) -> None:
    command = scan.command_text(call, scope)
    if _REVERSE_SHELL_COMMANDS.search(command):
        scan.add("backdoor.reverse-shell", call)
        return
    if _SHELLS.search(command) or target == "pty.spawn":
        scan.facts.setdefault("shell", []).append(call)
        streams = [keyword.value for keyword in call.keywords if keyword.arg in ("stdin", "stdout", "stderr")]
        if any(_is_fileno(stream) for stream in streams):  # Popen(["sh"], stdin=sock.fileno(), ...)
            scan.add("backdoor.reverse-shell", call)


def _is_fileno(expr: ast.expr) -> bool:
    return expr.__class__ is ast.Call and expr.func.__class__ is ast.Attribute and expr.func.attr == "fileno"


def check_dup2(scan, call: ast.Call, scope: int, target: str) -> None:
    stream = argument(call, 1, "fd2")
    if stream is not None and stream.__class__ is ast.Constant and stream.value in _STANDARD_STREAMS:
        scan.facts.setdefault("dup2", set()).add(stream.value)


def finish(scan) -> None:
    """A shell started in a file that duplicated a descriptor onto two or more standard streams."""
    if len(scan.facts.get("dup2", ())) >= 2:
        for call in scan.facts.get("shell", ()):
            scan.add("backdoor.reverse-shell", call)


def carries_host_data(scan, expr: ast.expr, scope: int) -> str | None:
    """The host-data source feeding an expression (getpass.getuser, socket.gethostname, os.environ["USER"], a
    directory listing, an encoded value of one), or None."""
    for node in scan.subtree([expr], scope, follow_names=True):
        cls = node.__class__
        if cls is ast.Call:
            target = scan.resolve(node.func)
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
    """gethostbyname(f"{getpass.getuser()}.{host}"): the data travels in the name being looked up."""
    name = argument(call, 0, "host") or argument(call, 0, "qname")
    if name is None or name.__class__ not in (ast.JoinedStr, ast.BinOp, ast.Call, ast.Name):
        return
    if name.__class__ is ast.Call and scan.resolve(name.func) in HOST_DATA:
        return  # gethostbyname(gethostname()): the machine's own address
    source = carries_host_data(scan, name, scope)
    if source is None and name.__class__ is not ast.Name:
        source = _encoded_value(scan, name, scope)
    if source is not None:
        scan.add("exfiltration.dns", call, evidence=f"{source} in a name looked up with {target}")


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
    for part in body:
        source = carries_host_data(scan, part, scope)
        if source is not None:
            scan.add("exfiltration.host-data", call, evidence=f"{source} sent with {target}")
            return
    url = scan.constant_text(call.args[0]) if call.args else None
    if url is not None and _DROP_HOSTS.search(url) and any(_reads_file(scan, part, scope) for part in body):
        scan.add("exfiltration.host-data", call, evidence=f"file contents sent to {url[:60]}")


def _reads_file(scan, expr: ast.expr, scope: int) -> bool:
    return any(
        node.__class__ is ast.Call
        and node.func.__class__ is ast.Attribute
        and node.func.attr in ("read", "read_text", "read_bytes")
        for node in scan.subtree([expr], scope, follow_names=True)
    )


CHECKS = {
    "connect": check_connection,
    "shell": check_shell,
    "dup2": check_dup2,
    "resolve-name": check_resolution,
    "send-http": check_http_send,
}
METHOD_CHECKS = {"connect": check_socket_method, "connect_ex": check_socket_method}
