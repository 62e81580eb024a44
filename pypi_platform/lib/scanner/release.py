"""Scanning one release file: its members in memory, each through the rules that fit it, with coverage.

The result depends only on the file's bytes and the ruleset, which is what lets a scan cache it by
(sha256, ruleset version). Members with identical bytes are analysed once. Coverage says what was looked at and
what was skipped and why, so an empty result can be told apart from an unread file (REFERENCE.md §5.7-5.8).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace

from pypi_platform.lib.scanner.archive import Limits, Member, is_archive, read_archive
from pypi_platform.lib.scanner.binaries import binary_findings
from pypi_platform.lib.scanner.findings import Finding
from pypi_platform.lib.scanner.python_rules import pth_findings, python_findings
from pypi_platform.lib.scanner.text_rules import text_findings

PYTHON_SUFFIXES = (".py", ".pyw", ".pyi")
# A syntax tree costs a few hundred times its source in memory, so larger sources are parsed in pieces.
AST_MAX_BYTES = 2 * 2**20
AST_MAX_LINES = 50_000
PIECE_LINES = 10_000
_IMPORT_STARTS = (b"import ", b"from ")
_PLAIN_ENDS = tuple(bytes([c]) for c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_*")
_MAX_PREAMBLE_LINES = 200
_NOT_A_STATEMENT_START = (
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"#",
    b")",
    b"]",
    b"}",
    b"else",
    b"elif",
    b"except",
    b"finally",
)
PER_RULE_AND_MEMBER = 25  # a minified file can match one pattern thousands of times; the first ones suffice
_SNIFF = 8192
DEFAULT_LIMITS = Limits()


@dataclass
class FileResult:
    findings: list[Finding] = field(default_factory=list)
    coverage: Counter = field(default_factory=Counter)

    def to_json(self) -> dict:
        return {
            "findings": [[f.rule, f.path, f.line, f.evidence] for f in self.findings],
            "coverage": dict(self.coverage),
        }

    @classmethod
    def from_json(cls, value: dict) -> FileResult:
        findings = [
            Finding.of(rule, path, line=line, evidence=evidence)
            for rule, path, line, evidence in value["findings"]
        ]
        return cls(findings, Counter(value["coverage"]))


def scan_release_file(
    filename: str, data: bytes, packagetype: str, limits: Limits = DEFAULT_LIMITS
) -> FileResult:
    """Every finding in the release file `filename` (bytes `data`), with paths relative to it."""
    result = FileResult()
    if is_archive(filename):
        contents = read_archive(data, filename, limits)
        result.findings.extend(contents.findings)
        members = contents.members
        result.coverage["members"] = contents.entries
    else:  # a bare module or egg-info file served as a release file
        members = [Member(filename, data)]
        result.coverage["members"] = 1
    seen: set[bytes] = set()
    for member in members:
        digest = hashlib.sha256(member.data).digest()
        if digest in seen:
            result.coverage["skipped_duplicate"] += 1
            continue
        seen.add(digest)
        result.findings.extend(_capped(_member_findings(member, packagetype, result.coverage)))
    return result


def _member_findings(member: Member, packagetype: str, coverage: Counter) -> list[Finding]:
    path, data = member.path, member.data
    coverage["bytes"] += len(data)
    findings = binary_findings(path, data, packagetype)
    lower = path.lower()
    if b"\0" in data[:_SNIFF] and not lower.endswith(PYTHON_SUFFIXES):
        coverage["skipped_binary"] += 1
        return findings
    text = data.decode("utf-8", "replace")
    findings.extend(text_findings(path, text))
    if lower.endswith(PYTHON_SUFFIXES):
        coverage["python_files"] += 1
        if len(data) > AST_MAX_BYTES or data.count(b"\n") > AST_MAX_LINES:
            coverage["python_files_in_pieces"] += 1
            findings.extend(_python_findings_in_pieces(path, data))
        else:
            findings.extend(python_findings(path, data))
    elif lower.endswith(".pth"):
        coverage["pth_files"] += 1
        findings.extend(pth_findings(path, text))
    else:
        coverage["text_files"] += 1
    return findings


def _python_findings_in_pieces(path: str, data: bytes) -> list[Finding]:
    """A huge source parsed a piece at a time, cut where a top-level statement starts, so memory stays bounded
    and a payload on line 2 of a million-line file is still seen. Each piece is preceded by the file's one-line
    top-level imports, so names resolve as in the whole file. A piece cut inside a multi-line string does not
    parse: that is reported, and the text rules cover it."""
    lines = data.splitlines(keepends=True)
    imports = [
        line for line in lines if line.startswith(_IMPORT_STARTS) and line.rstrip().endswith(_PLAIN_ENDS)
    ]
    preamble = b"".join(imports[:_MAX_PREAMBLE_LINES])
    preamble_lines = min(len(imports), _MAX_PREAMBLE_LINES)
    findings, pieces, failed, start = [], 0, 0, 0
    while start < len(lines):
        end = _piece_end(lines, start + PIECE_LINES)
        prefix, offset = (b"", start) if start == 0 else (preamble, start - preamble_lines)
        pieces += 1
        for finding in python_findings(path, prefix + b"".join(lines[start:end])):
            if finding.rule == "parse.failed":
                failed += 1
            elif finding.line is None:
                findings.append(finding)
            elif finding.line + offset > start:  # not from the preamble
                findings.append(replace(finding, line=finding.line + offset))
        start = end
    summary = f"{len(lines):,} lines, {len(data):,} bytes: parsed in {pieces} pieces at top-level statements"
    findings.append(Finding.of("parse.node-limit", path, evidence=summary))
    if failed:
        findings.append(
            Finding.of("parse.failed", path, evidence=f"{failed} of {pieces} pieces did not parse")
        )
    return findings


def _piece_end(lines: list[bytes], wanted: int) -> int:
    """The first line at or after `wanted` that starts a top-level statement (or a hard stop further on)."""
    limit = min(len(lines), wanted + PIECE_LINES)
    end = wanted
    while end < limit and lines[end].startswith(_NOT_A_STATEMENT_START):
        end += 1
    return min(end, len(lines))


def _capped(findings: list[Finding]) -> list[Finding]:
    counts: Counter = Counter()
    kept = []
    for finding in findings:
        counts[finding.rule] += 1
        if counts[finding.rule] <= PER_RULE_AND_MEMBER:
            kept.append(finding)
    return kept
