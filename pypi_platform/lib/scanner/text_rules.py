"""Rules over a member's raw text: they run on every text file, whether or not it parses as Python.

Parse failures are how Aura lost its findings (a long expression appended to a malicious file zeroed its score,
REFERENCE.md §5.6), so nothing here depends on the AST. Each pattern is anchored on something specific enough to
be worth a look; suppression comments (``# nosec``) are untrusted input and have no effect.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

import ahocorasick_rs

from pypi_platform.lib.scanner.findings import RULES, Finding

EVIDENCE_CHARS = 120

# rule id -> pattern. Secrets are shapes documented by their issuers; paths are where credentials live.
TEXT_PATTERNS: dict[str, re.Pattern[str]] = {
    "secret.aws-access-key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "secret.github-token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "secret.package-index-token": re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{50,}"),
    "secret.slack-token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "secret.private-key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----"),
    "credentials.sensitive-path": re.compile(
        r"""(?:\.ssh/(?:id_[a-z0-9]+|authorized_keys|known_hosts)|\.aws/credentials|\.kube/config|Login Data"""
        r"""|Local State|[/\\]Cookies\b|cookies\.sqlite|wallet\.dat|/etc/shadow|\.config/gcloud|\.azure/)"""
    ),
    "credentials.client-config": re.compile(r"\.pypirc|\.netrc|\.docker/config\.json|\.git-credentials"),
    # Loopback, private and unspecified addresses are how docs and tests name a local server, so they are
    # left out; the cloud metadata address (169.254.169.254) is not: it hands out credentials. The pattern
    # starts with a literal so the regex engine can skip to candidates; the scheme is checked after.
    "network.raw-ip-url": re.compile(
        r"://(?!(?:127|10|0)\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.)(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?"
    ),
    # A concrete endpoint (a webhook id, a bot token, a paste id), not the service's base URL that a client
    # library builds requests on: tqdm's Telegram and Discord integrations are not exfiltration.
    "network.paste-or-webhook-url": re.compile(
        r"\bhttps?://(?:[\w-]+\.)*(?:pastebin\.com/(?:raw/)?\w{6,}|transfer\.sh/\w{4,}|[\w-]+\.ngrok\.io"
        r"|[\w-]+\.ngrok-free\.app|webhook\.site/[\w-]{8,}|discord(?:app)?\.com/api/webhooks/\d{6,}"
        r"|api\.telegram\.org/bot\d{6,}:[\w-]{10,}|[\w-]+\.requestbin\.net|[\w-]+\.m\.pipedream\.net)\S*"
    ),
}
# Literals one of which must be in a text for its pattern to be worth running. One Aho-Corasick pass finds
# all of them at once, far cheaper than a regex scan per pattern (or even a substring search per literal), and
# most files hold none of them.
_ANCHORS: dict[str, tuple[str, ...]] = {
    "secret.aws-access-key": ("AKIA", "ASIA"),
    "secret.github-token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "secret.package-index-token": ("pypi-AgE",),
    "secret.slack-token": ("xox",),
    "secret.private-key": ("PRIVATE KEY-----",),
    "credentials.sensitive-path": (
        ".ssh/", ".aws/", ".kube/", "Login Data", "Local State", "Cookies", "wallet.dat", "/etc/shadow",
        "gcloud", ".azure/", "cookies.sqlite",
    ),
    "credentials.client-config": (".pypirc", ".netrc", ".docker/", ".git-credentials"),
    "network.raw-ip-url": ("://",),
    "network.paste-or-webhook-url": (
        "pastebin", "transfer.sh", "ngrok", "webhook.site", "discord", "telegram", "requestbin", "pipedream",
    ),
}  # fmt: skip
_SCHEMES = ("http", "https", "ftp")
# Bidirectional overrides and invisible characters that make code read differently from how it runs (CVE-2021-42574).
# Only in code, where they change what runs; in data and docs they are just text. A BOM is not one of them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060]")
_CODE_SUFFIXES = (".py", ".pyw", ".pyi", ".pth", ".pyx", ".sh")
# The lookbehind anchors a match at the start of a run, which keeps the scan linear in the text's length.
_LONG_TOKEN_CHARS = 2000
_LONG_TOKEN = re.compile(rf"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{{{_LONG_TOKEN_CHARS},}}")
_ENCODED_ALPHABET = 16  # distinct characters a real encoded payload shows in its first 4 KiB

assert _ANCHORS.keys() == TEXT_PATTERNS.keys()
_ANCHOR_RULES = [rule for rule, anchors in _ANCHORS.items() for _ in anchors]
_ANCHOR_SEARCH = ahocorasick_rs.AhoCorasick([anchor for anchors in _ANCHORS.values() for anchor in anchors])
for _rule in [*TEXT_PATTERNS, "text.bidi-or-invisible", "obfuscation.long-encoded-literal"]:
    assert _rule in RULES, _rule  # every rule here has a severity and a score


def text_findings(path: str, text: str) -> Iterator[Finding]:
    """Findings of the text rules in one member, with line numbers and short evidence."""
    lines = _LineIndex(text)
    anchored = {
        _ANCHOR_RULES[index] for index, _, _ in _ANCHOR_SEARCH.find_matches_as_indexes(text, overlapping=True)
    }
    for rule, pattern in TEXT_PATTERNS.items():
        if rule not in anchored:
            continue
        for match in pattern.finditer(text):
            if rule == "network.raw-ip-url":
                scheme = text[max(0, match.start() - 5) : match.start()]
                if not scheme.lower().endswith(_SCHEMES):
                    continue
                value = scheme.lstrip("\"'(<= ") + match.group()
            else:
                value = match.group()
            # A published dataset must not republish the secrets it found: enough to recognise, not to use.
            evidence = _masked(value) if rule.startswith("secret.") else _excerpt(value)
            yield Finding.of(rule, path, line=lines.line_of(match.start()), evidence=evidence)
    # isascii() is O(1) for str: the common case skips the scan for invisible characters.
    if not text.isascii() and path.lower().endswith(_CODE_SUFFIXES):
        for match in _BIDI.finditer(text):
            yield Finding.of(
                "text.bidi-or-invisible",
                path,
                line=lines.line_of(match.start()),
                evidence=f"U+{ord(match.group()):04X}",
            )
    # A token of the encoded alphabet holds no line break, so only a text with a line that long can hold one;
    # splitting is a C loop, far cheaper than the token scan over every text.
    if len(text) < _LONG_TOKEN_CHARS or max(map(len, text.splitlines())) < _LONG_TOKEN_CHARS:
        return
    for match in _LONG_TOKEN.finditer(text):
        if len(set(match.group()[:4096])) < _ENCODED_ALPHABET:
            continue  # "1+1+1..." or "-----": long, but not an encoding of anything
        yield Finding.of(
            "obfuscation.long-encoded-literal",
            path,
            line=lines.line_of(match.start()),
            evidence=f"{len(match.group()):,} characters: {_excerpt(match.group(), 40)}",
        )


class _LineIndex:
    """Line numbers of offsets, with the line starts computed only if a finding needs one."""

    def __init__(self, text: str):
        self.text = text
        self.starts: list[int] | None = None

    def line_of(self, offset: int) -> int:
        if self.starts is None:
            self.starts = [0, *(match.end() for match in re.finditer("\n", self.text))]
        return bisect.bisect_right(self.starts, offset)


def _masked(secret: str) -> str:
    return f"{secret[:8]}… ({len(secret)} characters)"


def _excerpt(value: str, limit: int = EVIDENCE_CHARS) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
