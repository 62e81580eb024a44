"""Network behaviours of malicious packages, at the syntax-tree level: reverse shells, connections to literal IP
addresses, DNS exfiltration and host data sent over HTTP.

Each check takes the file's scan (``python_rules._FileScan``), the call, its scope and the call's qualified name;
``finish`` runs once all calls of a file are judged, for behaviours made of several calls (dup2 then a shell).
"""

from __future__ import annotations

import ast
import ipaddress
import re

from pypi_platform.lib.scans.call_roles import NETWORK, PROCESS
from pypi_platform.lib.scans.resolution import MODULE_SCOPE
from pypi_platform.lib.scans.syntax_walk import argument, call_arguments

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
_SOCKET_OPENERS = {"socket.create_connection", "asyncio.open_connection"}
_SOCKETS = {"socket.socket", "socket.create_connection"}
_RELAYED_NAMES = 8
# Public DNS resolvers: connecting to one is how everyday code checks it is online or learns its outgoing
# interface; no attacker receives anything there.
_PUBLIC_RESOLVERS = {
    "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112", "208.67.222.222",
    "208.67.220.220", "2001:4860:4860::8888", "2001:4860:4860::8844", "2606:4700:4700::1111",
    "2606:4700:4700::1001",
}  # fmt: skip
_PARAMETER_USES = 200  # nodes read in one connection's arguments, looking for a parameter
_ADDRESSES = (ast.Tuple, ast.Name, ast.Call, ast.Attribute)
_OCTET = r"(?:0[xX][0-9a-fA-F]{1,2}|\d{1,4})"
_ADDRESS_SPELLINGS = re.compile(
    rf"(?<![\w.:])({_OCTET}(?:\.{_OCTET}){{3}})(?![\w.])"  # dotted, each part decimal, octal or hex
    r"|\[?([0-9A-Fa-f:]*:[0-9A-Fa-f:]+)\]?"  # IPv6
    r"|(?<=://)(0[xX][0-9a-fA-F]{8}|\d{8,10})(?=[:/]|$)"  # one number as a URL's host
)

ROLES = (
    ("connect", NETWORK | {"socket.create_connection"}),
    ("shell", PROCESS),
    ("dup2", {"os.dup2"}),
)


def literal_ip(text: str) -> str | None:
    """A public IP address (v4 or v6) in text: a URL's host, a bare address, an address in brackets, or one
    spelled in hex, octal or as one number (http://0xcb.0.0x71.0x2a/, http://3405803818/), as browsers and
    socket libraries accept it."""
    for match in _ADDRESS_SPELLINGS.finditer(text):
        dotted, version6, number = match.group(1), match.group(2), match.group(3)
        try:
            if dotted is not None:
                parts = [
                    int(part, 0)
                    if part.lower().startswith("0x")
                    else int(part, 8 if len(part) > 1 and part.startswith("0") else 10)
                    for part in dotted.split(".")
                ]
                address = ipaddress.IPv4Address(bytes(parts))
            elif number is not None:
                address = ipaddress.IPv4Address(int(number, 0))
            else:
                address = ipaddress.ip_address(version6)
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified or address.is_link_local or address.is_multicast:
            continue
        if str(address) in _PUBLIC_RESOLVERS or _network_or_broadcast(address):
            continue
        if not address.is_private or _documentation(address):
            return str(address)
    return None


def _network_or_broadcast(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """124.0.0.0, 10.255.255.255: an IPv4 address ending in .0 or .255 names a network or its broadcast in
    examples and tables, never a host a beacon calls."""
    return address.version == 4 and address.packed[-1] in (0, 255)


def _documentation(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Documentation ranges count as public: samples and tests stand them in for real attacker hosts."""
    return any(
        address in ipaddress.ip_network(network)
        for network in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
        if ipaddress.ip_network(network).version == address.version
    )


def argument_texts(scan, call: ast.Call, scope: int) -> list[str]:
    """String constants in the call's arguments (tuples included) and the folded value of each argument."""
    texts = []
    for root in call_arguments(call)[:4]:
        relayed: list[
            ast.Name
        ] = []  # `for endpoint in ENDPOINTS`: endpoint is bound to a name, followed once more
        for node in scan.subtree([root], scope, follow_names=True):
            if node.__class__ is ast.Constant and node.value.__class__ is str and len(node.value) <= 2_000:
                texts.append(node.value)
            elif node.__class__ is ast.Name and len(relayed) < _RELAYED_NAMES:
                relayed.extend(
                    value for value in scan.assigned(scope, node.id) if value.__class__ is ast.Name
                )
        for node in scan.subtree(relayed, scope, follow_names=True):
            if node.__class__ is ast.Constant and node.value.__class__ is str and len(node.value) <= 2_000:
                texts.append(node.value)
        parts = root.elts if root.__class__ is ast.Tuple else [root]  # ("1" + "98.51...", port)
        for part in parts:
            if part.__class__ is not ast.Constant:
                folded = scan.folded_text(part, scope)
                if folded is not None:
                    texts.append(folded[:2_000])
    return texts


def check_connection(scan, call: ast.Call, scope: int, target: str) -> None:
    # a file that fetches: its binary writes may be payloads
    scan.facts.setdefault("network", []).append(call)
    if scope != MODULE_SCOPE:
        scan.facts.setdefault("connections-in-functions", []).append((call, scope))
    if target in _SOCKET_OPENERS:
        scan.facts.setdefault("socket-open", []).append(call)
    for text in argument_texts(scan, call, scope):
        address = literal_ip(text)
        if address is not None:
            scan.add("network.literal-ip-connection", call, evidence=f"connects to {address}")
            return


def check_socket_method(scan, call: ast.Call, scope: int, method: str) -> None:
    """sock.connect((host, port)) on a socket we cannot name."""
    if method in ("connect", "connect_ex") and len(call.args) == 1 and call.args[0].__class__ in _ADDRESSES:
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
        elif any(stream.__class__ is ast.Attribute and stream.attr == "PIPE" for stream in streams):
            scan.facts.setdefault("piped-shell", []).append(call)


def _is_fileno(expr: ast.expr) -> bool:
    return expr.__class__ is ast.Call and expr.func.__class__ is ast.Attribute and expr.func.attr == "fileno"


def check_dup2(scan, call: ast.Call, scope: int, target: str) -> None:
    """os.dup2(sock.fileno(), 0): a descriptor put in place of a standard stream (a variable one, as in
    `for fd in (0, 1, 2)`, stands for all three)."""
    source, stream = argument(call, 0, "fd"), argument(call, 1, "fd2")
    if stream is None:
        return
    if stream.__class__ is ast.Constant and stream.value in _STANDARD_STREAMS:
        scan.facts.setdefault("dup2", set()).add(stream.value)
    elif stream.__class__ is ast.Name and source is not None and _is_fileno(source):
        scan.facts.setdefault("dup2", set()).update(_STANDARD_STREAMS)
    else:
        return
    if source is not None and _is_fileno(source):
        scan.facts.setdefault("dup2-calls", []).append(call)
        owner = source.func.value
        if owner.__class__ is ast.Name and _is_socket(scan, owner.id, scope):
            scan.facts.setdefault("socket-dup2", []).append(call)


def _is_socket(scan, name: str, scope: int) -> bool:
    """A name assigned a socket (socket.socket(), socket.create_connection()) or one that was connected."""
    if any(
        value.__class__ is ast.Call and scan.resolve(value.func) in _SOCKETS
        for value in scan.assigned(scope, name)
    ):
        return True
    return any(
        call.func.value.__class__ is ast.Name and call.func.value.id == name
        for call in scan.facts.get("socket-connect", ())
    )


def check_relay(scan, call: ast.Call, scope: int, method: str) -> None:
    """sock.send(shell.stdout.read(...)): a process's output relayed to a socket, the pipe form of a shell."""
    if call.args and any(
        node.__class__ is ast.Attribute and node.attr == "stdout" for node in ast.walk(call.args[0])
    ):
        scan.facts.setdefault("relay", []).append(call)


def finish(scan) -> None:
    """A shell started in a file that duplicated a descriptor onto two or more standard streams, or that relays
    a shell's output to a socket. The whole backdoor is reported, not only the spawn: the dup2 of the socket's
    descriptor, the relaying send, and the socket's connection (a file holding a reverse shell has no other
    reason to connect)."""
    _literal_ip_handed_to_a_connecting_function(scan)
    dup2_calls = scan.facts.get("dup2-calls", ())
    shells = scan.facts.get("shell", ())
    # One stream is enough when a socket's own descriptor is handed over and a shell runs after it.
    handed = len(scan.facts.get("dup2", ())) >= 2 or bool(scan.facts.get("socket-dup2"))
    relayed = bool(scan.facts.get("relay")) and bool(scan.facts.get("piped-shell"))
    if handed and shells:
        for call in shells:
            scan.add("backdoor.reverse-shell", call)
        for call in dup2_calls:
            scan.add(
                "backdoor.reverse-shell",
                call,
                evidence="a socket's descriptor put in place of a standard stream",
            )
    if relayed:
        for call in scan.facts["piped-shell"]:
            scan.add("backdoor.reverse-shell", call)
        for call in scan.facts["relay"]:
            scan.add("backdoor.reverse-shell", call, evidence="a shell's output sent to a socket")
    if (handed and shells and dup2_calls) or relayed:
        for call in _connects(scan):
            scan.add("backdoor.reverse-shell", call, evidence="the connection a shell is handed to")


def _literal_ip_handed_to_a_connecting_function(scan) -> None:
    """_send("203.0.113.150", 7000): a literal IP passed to a module-level function of the file whose own
    connection uses that parameter. One level deep, and only for functions that connect."""
    connecting: dict[int, list[tuple[ast.Call, int]]] = {}
    for call, scope in scan.facts.get("connections-in-functions", ()):
        connecting.setdefault(scope, []).append((call, scope))
    definitions = {
        statement.name: statement
        for statement in getattr(scan.tree, "body", ())
        if statement.__class__ in (ast.FunctionDef, ast.AsyncFunctionDef)
        and scan.functions.get(statement.name) in connecting
    }
    if not definitions:
        return
    for call, _ in scan.calls:
        definition = definitions.get(call.func.id) if call.func.__class__ is ast.Name else None
        if definition is None:
            continue
        parameters = [parameter.arg for parameter in (*definition.args.posonlyargs, *definition.args.args)]
        handed = list(zip(parameters, call.args, strict=False))
        handed += [(keyword.arg, keyword.value) for keyword in call.keywords if keyword.arg]
        for parameter, value in handed:
            text = value.value if value.__class__ is ast.Constant and value.value.__class__ is str else None
            address = literal_ip(text) if text is not None and len(text) <= 2_000 else None
            if address is not None and _uses(scan, connecting[scan.functions[definition.name]], parameter):
                evidence = f"{definition.name}() connects to {address}"
                scan.add("network.literal-ip-connection", call, evidence=evidence)
                break


def _uses(scan, connections: list[tuple[ast.Call, int]], parameter: str) -> bool:
    for connection, scope in connections:
        for count, node in enumerate(scan.subtree(call_arguments(connection), scope, follow_names=True)):
            if node.__class__ is ast.Name and node.id == parameter:
                return True
            if count >= _PARAMETER_USES:
                break
    return False


def _connects(scan) -> list[ast.Call]:
    return [*scan.facts.get("socket-connect", ()), *scan.facts.get("socket-open", ())]


CHECKS = {
    "connect": check_connection,
    "shell": check_shell,
    "dup2": check_dup2,
}
METHOD_CHECKS = {"connect": check_socket_method, "connect_ex": check_socket_method}
METHOD_CHECKS.update(dict.fromkeys(("send", "sendall"), check_relay))
