"""Second looks at indicator matches: a pattern finds the shape, a judge decides what the shape is.

A judge takes a regex match and returns (rule, evidence), or None when the match is a known harmless look-alike:
a documentation placeholder instead of a key, a PEM header without a key under it, a local address instead of a
remote one. Judges see the whole string the match sits in (``match.string``), so they can read the line around.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable

EVIDENCE_CHARS = 120

# (rule, evidence) or (rule, evidence, (start, end)) when the finding covers more than the match, or None.
Judge = Callable[[re.Match[str]], "tuple[str, str] | tuple[str, str, tuple[int, int]] | None"]


def excerpt(value: str, limit: int = EVIDENCE_CHARS) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def masked(secret: str) -> str:
    # A published dataset must not republish the secrets it found: enough to recognise, not to use.
    return f"{secret[:8]}… ({len(secret)} characters)"


# ---- secrets -------------------------------------------------------------------------------------------------

# Words and runs that documentation, tests and templates put in key-shaped strings; a random 16-36 character key
# holds one of them by chance about once in tens of thousands.
_PLACEHOLDER_WORDS = re.compile(
    r"EXAMPLE|SAMPLE|TEST|FAKE|DUMMY|XXXX|YOUR|REDACTED|PLACEHOLDER|CHANGEME|0000|1234|ABCD", re.IGNORECASE
)


def is_placeholder(token: str, *, entropy: bool = True) -> bool:
    """A key-shaped token that is no key: a marked example, a repeated unit, a run, or too little entropy.

    ``entropy=False`` for ids (a webhook's digits): a random number of a few digits can look orderly."""
    if _PLACEHOLDER_WORDS.search(token):
        return True
    for unit in range(1, 9):  # "a1B2a1B2...", "xxxx...": a short unit repeated
        if len(token) >= 2 * unit and token == (token[:unit] * (len(token) // unit + 1))[: len(token)]:
            return True
    steps = sum(1 for a, b in itertools.pairwise(token) if abs(ord(b) - ord(a)) == 1)
    if steps * 2 >= len(token):  # "ABCDEFGH...", "0123456789..."
        return True
    if not entropy:
        return False
    counts = Counter(token)
    bits = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    # A random key's characters carry close to log2(min(length, alphabet)) bits each; well under that is typed.
    return bits < 0.6 * math.log2(min(len(token), 62))


# An access key id in a presigned URL's query is public by design: the URL is meant to be handed out.
_SIGNED_URL_PARAMETER = re.compile(r"(?:X-Amz-Credential|AWSAccessKeyId)=$", re.IGNORECASE)


def secret(rule: str, prefix_chars: int) -> Judge:
    """A judge for a token shape whose first ``prefix_chars`` are the issuer's fixed prefix."""

    def judge(match: re.Match[str]) -> tuple[str, str]:
        token = match.group()
        if is_placeholder(token[prefix_chars:]):
            return "secret.placeholder", masked(token)
        if _SIGNED_URL_PARAMETER.search(match.string, max(0, match.start() - 20), match.start()):
            return "secret.placeholder", masked(token) + " in a presigned URL"
        return rule, masked(token)

    return judge


_ENDPOINT_IDS = re.compile(r"[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*")


def concrete_endpoint(match: re.Match[str]) -> tuple[str, str]:
    """A webhook, bot or paste URL with its ids; made-up ids ("T00000000/XXXXXXXX") only name the API."""
    value = match.group()
    path = value.partition("/")[2]
    ids = [run for run in _ENDPOINT_IDS.findall(path) if len(run) >= 4]
    if _PLACEHOLDER_WORDS.search(path) or any(is_placeholder(run, entropy=not run.isdigit()) for run in ids):
        messaging = any(name in value for name in ("discord", "telegram", "slack"))
        return ("network.messaging-api" if messaging else "network.paste-site"), excerpt(value)
    return "network.paste-or-webhook-url", excerpt(value)


_PEM_END = "-----END "
_PEM_SEPARATORS = re.compile(r"""\\[nr]|["'+,\s]|^[\w-]+:.*$""", re.MULTILINE)  # escapes, quotes, PEM headers
_BASE64 = re.compile(r"[A-Za-z0-9+/=]")
_KEY_BODY_MIN = 60  # base64 characters of the smallest private key (an Ed25519 PKCS#8 key is 64)
_KEY_SPAN_MAX = 16_384


def private_key(match: re.Match[str]) -> tuple[str, str] | None:
    """A BEGIN line with a key body and an END line under it; a bare header is crypto code naming the format."""
    text = match.string
    end = text.find(_PEM_END, match.end(), match.end() + _KEY_SPAN_MAX)
    if end < 0:
        return None
    body = _PEM_SEPARATORS.sub("", text[match.end() : end])
    if len(body) < _KEY_BODY_MIN or len(_BASE64.findall(body)) < 0.95 * len(body):
        return None
    if len(set(body)) < 20:  # "AAAA...", "MIIE...XXXX": a placeholder body
        return None
    return "secret.private-key", f"{match.group()} with a {len(body)}-character body"


# ---- addresses -------------------------------------------------------------------------------------------------

# Where docs and tests put a local server, and what cannot be routed anyway. Documentation ranges (192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are not here: they stand for "some remote host" in samples and
# write-ups, and nothing legitimate connects to them.
_LOCAL_NETWORKS = [
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.168.0.0/16", "224.0.0.0/3",
    )
]  # fmt: skip
_IPV6_GLOBAL = ipaddress.ip_network("2000::/3")  # the rest of IPv6 is local, reserved or unassigned
METADATA_ADDRESSES = {ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2")}
# Public resolvers: "connect a UDP socket to 8.8.8.8 to learn the outgoing interface" is everyday code.
_WELL_KNOWN = {
    ipaddress.ip_address(address)
    for address in (
        "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112", "208.67.222.222",
        "208.67.220.220", "2001:4860:4860::8888", "2001:4860:4860::8844", "2606:4700:4700::1111",
        "2606:4700:4700::1001",
    )
}  # fmt: skip


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address written as a dotted quad, an IPv6 literal (brackets allowed) or one 32-bit number."""
    value = value.strip("[]").split("%", 1)[0]
    try:
        if re.fullmatch(r"0x[0-9a-fA-F]{1,8}|\d{8,10}", value):
            return ipaddress.IPv4Address(int(value, 0))
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_remote_ip(value: str) -> bool:
    """True for an address literal a package has no ordinary reason to name: public, or a documentation range."""
    address = parse_ip(value)
    if address is None or address in METADATA_ADDRESSES or address in _WELL_KNOWN:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is None:
            return address in _IPV6_GLOBAL
        address = address.ipv4_mapped
    if _typed_address(str(address)):
        return False
    return not any(address in network for network in _LOCAL_NETWORKS if network.version == 4)


def _typed_address(dotted: str) -> bool:
    """1.2.3.4, 4.3.2.1, 12.34.56.78, 5.5.5.5: addresses typed as examples, not copied from a server."""
    octets = dotted.split(".")
    digits = "".join(octets)
    steps = {int(b) - int(a) for a, b in itertools.pairwise(digits)}
    return len(set(octets)) == 1 or steps in ({1}, {-1})


_URL_SCHEMES = ("http", "https", "ftp", "ftps", "ws", "wss", "tcp", "udp")


def raw_ip_url(match: re.Match[str]) -> tuple[str, str] | None:
    """``scheme://[user@]host`` where host is a remote address literal (dotted, bracketed IPv6 or numeric)."""
    text = match.string
    before = text[max(0, match.start() - 6) : match.start()]
    scheme = re.search(r"[A-Za-z]+$", before)
    if scheme is None or scheme.group().lower() not in _URL_SCHEMES:
        return None
    if not is_remote_ip(match.group("host")):
        return None
    return "network.raw-ip-url", excerpt(scheme.group() + match.group())


_FIRST_OCTET = re.compile(r"(?<![\w.:/@-])\d{1,3}$")


def ip_endpoint(match: re.Match[str]) -> tuple[str, str] | None:
    """``ip:port`` or ``"ip", port`` outside a URL: a socket's address written out.

    The dotted-quad pattern starts at the first dot, so the first octet is read back from before the match."""
    groups = match.groupdict()
    if groups.get("host") is None:
        first = _FIRST_OCTET.search(match.string, max(0, match.start() - 3), match.start())
        if first is None:
            return None
        host = first.group() + re.split(r"[\"':]", match.group(), maxsplit=1)[0]
        shown = first.group() + match.group()
    else:
        host, shown = groups["host"], match.group()
    if not 0 < int(groups["port"]) < 65536 or not is_remote_ip(host):
        return None
    return "network.raw-ip-endpoint", excerpt(shown)


def resolver_address(match: re.Match[str]) -> tuple[str, str] | None:
    """``resolver.nameservers = ["203.0.113.53"]``: a remote address made the DNS server (a public resolver or a
    local one is how tests and split-horizon setups pin their lookups)."""
    host = match.group("host")
    if not is_remote_ip(host):
        return None
    return "network.raw-ip-endpoint", f"DNS resolver set to {host}"


_TLDS = {
    *(
        "com",
        "org",
        "net",
        "io",
        "dev",
        "app",
        "gov",
        "edu",
        "co",
        "ai",
        "me",
        "info",
        "biz",
        "xyz",
        "us",
        "uk",
    ),
    *("de", "ru", "cn", "jp", "fr", "nl", "eu", "cc", "tk", "top", "online", "site", "example", "test"),
}


def userinfo_host(match: re.Match[str]) -> tuple[str, str] | None:
    """``http://trusted.example@other.example/``: the part before ``@`` reads as the host, and is not."""
    user, host = match.group("user"), match.group("host")
    if user.rsplit(".", 1)[-1].lower() not in _TLDS or user.lower() == host.lower():
        return None
    return "network.url-userinfo-host", excerpt(match.group())


# Labels of a tunnel service's own names (regions, the TCP front end): "tcp.eu.ngrok.io" is the service,
# "0.tcp.eu.ngrok.io" an endpoint someone opened.
_TUNNEL_SERVICE_LABELS = {"tcp", "tls", "ap", "eu", "us", "au", "sa", "jp", "in", "a", "free"}


def tunnel_host(match: re.Match[str]) -> tuple[str, str]:
    """A tunnel's own subdomain is a live endpoint; "abc123.ngrok.io" or "your-app.ngrok.io" is a docs example."""
    host = match.group()
    labels = host.lower().split(".")[:-2]
    label = labels[0] if labels else host
    if _PLACEHOLDER_WORDS.search(label) or re.search(r"(?i)\b(?:my|app|demo|name|server|sub)", label):
        return "network.tunnel-service", excerpt(host)
    if is_placeholder(label, entropy=False) or set(labels) <= _TUNNEL_SERVICE_LABELS:
        return "network.tunnel-service", excerpt(host)
    return "network.tunnel-host", excerpt(host)


# ---- reverse shells --------------------------------------------------------------------------------------------


def line_span(match: re.Match[str], limit: int = 2000) -> tuple[int, int]:
    """The line a match sits on, at most ``limit`` characters either side of it (minified files)."""
    text = match.string
    start = text.rfind("\n", max(0, match.start() - limit), match.start()) + 1
    end = text.find("\n", match.end(), match.end() + limit)
    return start, end if end >= 0 else min(len(text), match.end() + limit)


def line_around(match: re.Match[str], limit: int = 2000) -> str:
    start, end = line_span(match, limit)
    return match.string[start:end]


_SHELL_REDIRECT = re.compile(r"\b(?:ba|z|k|da)?sh\s+-i\b|[0-2]?>&\s*[0-2]?|<&\s*\d|\bexec\s+\d+<>")


def dev_tcp(match: re.Match[str]) -> tuple[str, str, tuple[int, int]] | tuple[str, str]:
    """``/dev/tcp/host/port`` with a shell's streams redirected onto it is a reverse shell; alone, a probe."""
    span = line_span(match, 300)
    line = match.string[span[0] : span[1]]
    if _SHELL_REDIRECT.search(line) or is_remote_ip(match.group("host")):
        return "network.reverse-shell", excerpt(line.strip()), span
    return "network.dev-tcp", excerpt(match.group())


_SOCKET_OPENERS = re.compile(r"socket\b.*connect|fsockopen|TCPSocket|Net::Socket|Sockets\.TCPClient", re.I)
_STDIO_ONTO_SOCKET = re.compile(
    r"dup2|pty\.spawn|/bin/(?:ba|z|da)?sh\b|\bsh\s+-i\b|cmd\.exe|powershell", re.I
)


def socket_one_liner(match: re.Match[str]) -> tuple[str, str, tuple[int, int]] | None:
    """A one-line program (``python -c``, ``perl -e``, ``php -r``, ``ruby -e``, an exec'd string) that opens a
    socket and hands it a shell: dup2 onto stdio, pty.spawn, or a shell run with the socket as its streams."""
    span = line_span(match)
    line = match.string[span[0] : span[1]]
    if _SOCKET_OPENERS.search(line) and _STDIO_ONTO_SOCKET.search(line):
        return "network.reverse-shell", excerpt(line.strip()), span
    return None


def whole_line(rule: str) -> Judge:
    def judge(match: re.Match[str]) -> tuple[str, str, tuple[int, int]]:
        span = line_span(match, 300)
        return rule, excerpt(match.string[span[0] : span[1]].strip()), span

    return judge
