"""Scanning one release file: its members in memory, each through the rules that fit it, with coverage.

The result (``file_result.py``) depends only on the file's bytes, the ruleset and the grammar of the Python that
parses it, which is what lets a scan cache it by (sha256, ``RESULT_VERSION``). Members with identical bytes are
analysed once. Coverage says what was looked at and what was skipped and why, so an empty result can be told
apart from an unread file.
"""

from __future__ import annotations

from collections import Counter

from pypi_platform.lib import collector
from pypi_platform.lib.scans.archive import Limits, Member, is_archive, read_archive
from pypi_platform.lib.scans.binaries import binary_findings
from pypi_platform.lib.scans.config_rules import config_findings
from pypi_platform.lib.scans.correlation import correlated_findings
from pypi_platform.lib.scans.file_result import (
    RESULT_VERSION as RESULT_VERSION,  # where callers look for it
)
from pypi_platform.lib.scans.file_result import FileResult
from pypi_platform.lib.scans.findings import Finding
from pypi_platform.lib.scans.large_sources import python_findings_in_pieces
from pypi_platform.lib.scans.python_rules import pth_findings, python_findings
from pypi_platform.lib.scans.text_rules import text_findings

PYTHON_SUFFIXES = (".py", ".pyw", ".pyi")
# A syntax tree costs a few hundred times its source in memory, so larger sources are parsed in pieces.
AST_MAX_BYTES = 2 * 2**20
AST_MAX_LINES = 50_000
PER_RULE_AND_MEMBER = 25  # a minified file can match one pattern thousands of times; the first ones suffice
_SNIFF = 8192
DEFAULT_LIMITS = Limits()


def scan_release_file(
    filename: str, data: bytes, packagetype: str, limits: Limits = DEFAULT_LIMITS
) -> FileResult:
    """Every finding in the release file `filename` (bytes `data`), with paths relative to it."""
    # Parsing allocates about a node object per token, and every few hundred allocations woke the cycle
    # collector, which traversed the growing tree again and again: a sixth of the scan's time on Python
    # 3.11 (from 3.12 the parser's allocations no longer wake it). Nothing a scan builds holds a cycle
    # (refcounting frees a syntax tree whole), so the collector waits until the file is done.
    with collector.paused():
        return _scan(filename, data, packagetype, limits)


def _scan(filename: str, data: bytes, packagetype: str, limits: Limits) -> FileResult:
    result = FileResult()
    if is_archive(filename):
        contents = read_archive(data, filename, limits)
        result.findings.extend(contents.findings)
        members = contents.members
        result.coverage["members"] = contents.entries
    else:  # a bare module or egg-info file served as a release file
        members = [Member(filename, data)]
        result.coverage["members"] = 1
    # Keyed by the bytes themselves: a set hashes each once (siphash, several times cheaper than a sha256 of every
    # member) and compares equal-hash members in full, and the members are in memory anyway.
    seen: set[bytes] = set()
    for member in members:
        if member.data in seen:
            result.coverage["skipped_duplicate"] += 1
            continue
        seen.add(member.data)
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
    findings.extend(config_findings(path, text))  # pyproject.toml: an in-tree build backend
    if lower.endswith(PYTHON_SUFFIXES):
        coverage["python_files"] += 1
        if len(data) > AST_MAX_BYTES or data.count(b"\n") > AST_MAX_LINES:
            coverage["python_files_in_pieces"] += 1
            findings.extend(python_findings_in_pieces(path, data))
        else:
            findings.extend(python_findings(path, data))
        findings.extend(correlated_findings(path, findings))
    elif lower.endswith(".pth"):
        coverage["pth_files"] += 1
        findings.extend(pth_findings(path, text))
    else:
        coverage["text_files"] += 1
    return findings


def _capped(findings: list[Finding]) -> list[Finding]:
    counts: Counter = Counter()
    kept = []
    for finding in findings:
        counts[finding.rule] += 1
        if counts[finding.rule] <= PER_RULE_AND_MEMBER:
            kept.append(finding)
    return kept
