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

Judge = Callable[[re.Match[str]], "tuple[str, str] | None"]


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


def is_placeholder(token: str) -> bool:
    """A key-shaped token that is no key: a marked example, a repeated unit, a run, or too little entropy."""
    if _PLACEHOLDER_WORDS.search(token):
        return True
    for unit in range(1, 9):  # "a1B2a1B2...", "xxxx...": a short unit repeated
        if len(token) >= 2 * unit and token == (token[:unit] * (len(token) // unit + 1))[: len(token)]:
            return True
    steps = sum(1 for a, b in itertools.pairwise(token) if abs(ord(b) - ord(a)) == 1)
    if steps * 2 >= len(token):  # "ABCDEFGH...", "0123456789..."
        return True
    counts = Counter(token)
    entropy = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    # A random key's characters carry close to log2(min(length, alphabet)) bits each; well under that is typed.
    return entropy < 0.6 * math.log2(min(len(token), 62))


def secret(rule: str, prefix_chars: int) -> Judge:
    """A judge for a token shape whose first ``prefix_chars`` are the issuer's fixed prefix."""

    def judge(match: re.Match[str]) -> tuple[str, str]:
        token = match.group()
        if is_placeholder(token[prefix_chars:]):
            return "secret.placeholder", masked(token)
        return rule, masked(token)

    return judge


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
        "192.168.0.0/16", "224.0.0.0/3", "::/127", "fe80::/10", "fc00::/7", "ff00::/8",
    )
]  # fmt: skip
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
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not any(address in network for network in _LOCAL_NETWORKS if network.version == address.version)


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


def ip_endpoint(match: re.Match[str]) -> tuple[str, str] | None:
    """``ip:port`` or ``"ip", port`` outside a URL: a socket's address written out."""
    port = int(match.group("port"))
    if not 0 < port < 65536 or not is_remote_ip(match.group("host")):
        return None
    return "network.raw-ip-endpoint", excerpt(match.group())


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


# ---- reverse shells --------------------------------------------------------------------------------------------


def line_around(match: re.Match[str], limit: int = 2000) -> str:
    text = match.string
    start = text.rfind("\n", max(0, match.start() - limit), match.start()) + 1
    end = text.find("\n", match.end(), match.end() + limit)
    return text[start : end if end >= 0 else min(len(text), match.end() + limit)]


_SHELL_REDIRECT = re.compile(r"\b(?:ba|z|k|da)?sh\s+-i\b|[0-2]?>&\s*[0-2]?|<&\s*\d|\bexec\s+\d+<>")


def dev_tcp(match: re.Match[str]) -> tuple[str, str]:
    """``/dev/tcp/host/port`` with a shell's streams redirected onto it is a reverse shell; alone, a probe."""
    line = line_around(match, 300)
    if _SHELL_REDIRECT.search(line) or is_remote_ip(match.group("host")):
        return "network.reverse-shell", excerpt(line.strip())
    return "network.dev-tcp", excerpt(match.group())


def socket_one_liner(match: re.Match[str]) -> tuple[str, str] | None:
    """A one-line program (``python -c``, an exec'd string) that connects a socket and dup2s it onto stdio."""
    line = line_around(match)
    if "socket" in line and "connect" in line:
        return "network.reverse-shell", excerpt(line.strip())
    return None


def whole_line(rule: str) -> Judge:
    def judge(match: re.Match[str]) -> tuple[str, str]:
        return rule, excerpt(line_around(match, 300).strip())

    return judge
