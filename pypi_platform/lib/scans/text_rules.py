"""Rules over a member's raw text: they run on every text file, whether or not it parses as Python.

Parse failures are how Aura lost its findings (a long expression appended to a malicious file zeroed its
score), so nothing here depends on the AST. Each pattern is anchored on something specific enough to
be worth a look; suppression comments (``# nosec``) are untrusted input and have no effect.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pypi_platform.lib.scans.findings import Finding
from pypi_platform.lib.scans.indicator_judges import excerpt
from pypi_platform.lib.scans.indicators import LineIndex, indicator_findings

# Bidirectional overrides and invisible characters that make code read differently from how it runs (CVE-2021-42574).
# Only in code, where they change what runs; in data and docs they are just text. A BOM is not one of them.
# Zero-width characters are data as often as tricks: U+200D joins emoji into one picture, U+200C shapes Persian
# and Indic words, tables of characters list them all, prose copied from the web carries them. They count only
# inside an ASCII word or between a word and code punctuation (an identifier, a keyword, the end of a string
# compared against), outside comments; bidi controls count wherever they are in code.
_ZW = "[\u200b-\u200d\u2060]"
_WORD = "[A-Za-z0-9_]"
_CODE_PUNCTUATION = "[=()\\[\\]{}.,:;+*/<>!\"'%&|^~@]"
_BIDI = re.compile(
    "[\u202a-\u202e\u2066-\u2069]"
    f"|(?<={_WORD}){_ZW}(?={_WORD}|{_CODE_PUNCTUATION})|(?<={_CODE_PUNCTUATION}){_ZW}(?={_WORD})"
)
_ANY_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060]")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060")
_CODE_SUFFIXES = (".py", ".pyw", ".pyi", ".pth", ".pyx", ".sh")
# A long encoded run counts in code (and in files without a suffix, scripts): data and documents hold encoded
# blobs by nature (compressed fixtures, certificates, recorded responses), and a payload stored in one still
# needs code to decode and run it, which the Python rules see.
_ENCODED_PAYLOAD_SUFFIXES = (*_CODE_SUFFIXES, ".ps1", ".bat", ".cmd", ".vbs")
# Signature lists and security write-ups name reverse-shell commands; in such files one is data until code runs
# it, so it is reported under a capability rule of its own.
_DATA_SUFFIXES = (".yaml", ".yml", ".json", ".md", ".rst", ".txt", ".html", ".htm", ".xml", ".csv", ".ipynb")
# The lookbehind anchors a match at the start of a run, which keeps the scan linear in the text's length.
_LONG_TOKEN_CHARS = 2000
_LONG_TOKEN = re.compile(rf"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{{{_LONG_TOKEN_CHARS},}}")
_ENCODED_ALPHABET = 16  # distinct characters a real encoded payload shows in its first 4 KiB
# Images, fonts and documents inlined as base64 or hex (data: URIs, icons in GUI code, notebook outputs) start
# with their format's magic number: PNG, GIF, JPEG, SVG, XML, WebP, ICO, WOFF, WOFF2, PDF; then the hex ones.
_MEDIA_PREFIXES = (
    "iVBORw0KGg", "R0lGOD", "/9j/", "PHN2Zy", "PD94bWwg", "UklGR", "AAABAA", "d09GR", "d09GMg", "JVBERi0",
    "89504e47", "ffd8ff", "47494638",
)  # fmt: skip

_HEX = frozenset("0123456789abcdef")


def text_findings(path: str, text: str) -> Iterator[Finding]:
    """Findings of the text rules in one member, with line numbers and short evidence."""
    lower = path.lower()
    data_file = lower.endswith(_DATA_SUFFIXES)
    for finding in indicator_findings(path, text, None):
        if data_file and finding.rule == "network.reverse-shell":
            finding = Finding.of(
                "network.reverse-shell-in-data", path, line=finding.line, evidence=finding.evidence
            )
        yield finding
    lines = LineIndex(text)
    # isascii() is O(1) for str: the common case skips the scan for invisible characters.
    # The plain character class finds the rare text holding any of them far faster than the context pattern.
    if not text.isascii() and lower.endswith(_CODE_SUFFIXES) and _ANY_INVISIBLE.search(text):
        for match in _BIDI.finditer(text):
            if (
                match.group() in _ZERO_WIDTH
                and "#" in text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
            ):
                continue  # in a comment a zero-width character changes nothing (one copied from docs)
            yield Finding.of(
                "text.bidi-or-invisible",
                path,
                line=lines.line_of(match.start()),
                evidence=f"U+{ord(match.group()):04X}",
            )
    # A token of the encoded alphabet holds no line break, so only a text with a line that long can hold one;
    # splitting is a C loop, far cheaper than the token scan over every text.
    if not lower.endswith(_ENCODED_PAYLOAD_SUFFIXES) and "." in lower.rsplit("/", 1)[-1]:
        return
    if len(text) < _LONG_TOKEN_CHARS or max(map(len, text.splitlines())) < _LONG_TOKEN_CHARS:
        return
    for match in _LONG_TOKEN.finditer(text):
        head = match.group()[:4096]
        if len(set(head)) < _ENCODED_ALPHABET:
            continue  # "1+1+1..." or "-----": long, but not an encoding of anything
        if head.startswith(_MEDIA_PREFIXES) or _identifier_run(head):
            continue
        yield Finding.of(
            "obfuscation.long-encoded-literal",
            path,
            line=lines.line_of(match.start()),
            evidence=f"{len(match.group()):,} characters: {excerpt(match.group(), 40)}",
        )


def _identifier_run(head: str) -> bool:
    """Names run together ("_table_c9in_table_d1..."): lowercase words, where base64 is half capitals and
    base32 all capitals; lowercase hex is an encoding and stays."""
    letters = [c for c in head if c.isalpha()]
    capitals = sum(1 for c in letters if c.isupper())
    return bool(letters) and capitals < 0.05 * len(letters) and not set(head) <= _HEX
