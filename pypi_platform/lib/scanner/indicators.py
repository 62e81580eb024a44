"""Indicators in one string: secrets, reverse shells, suspicious hosts, places where credentials or persistence live.

One definition serves two callers: ``text_rules`` runs it over a member's whole raw text, and the Python rules
run it over a single literal or a value their constant folder computed (a URL joined from parts, a decoded
blob), so an indicator is the same whether it sits in plain sight or is assembled at run time.

Every indicator is anchored on literals: one Aho-Corasick pass finds all anchors at once, and a pattern runs only
when one of its anchors is present, which keeps the whole-text scan far cheaper than a regex per pattern. A
judge then looks at each match and may drop it (a documentation placeholder, a loopback address) or move it to
another rule.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import ahocorasick_rs

from pypi_platform.lib.scanner.findings import RULES, Finding
from pypi_platform.lib.scanner.indicator_judges import Judge, excerpt
from pypi_platform.lib.scanner.indicator_patterns import INDICATORS


@dataclass(frozen=True)
class Indicator:
    rule: str
    anchors: tuple[str, ...]
    pattern: re.Pattern[str]
    judge: Judge | None = None  # (rule, evidence), or None to drop the match; default: the rule, an excerpt


_INDICATORS: list[Indicator] = [Indicator(*fields) for fields in INDICATORS]
_ANCHOR_OWNERS = [index for index, indicator in enumerate(_INDICATORS) for _ in indicator.anchors]
_ANCHOR_SEARCH = ahocorasick_rs.AhoCorasick([anchor for ind in _INDICATORS for anchor in ind.anchors])
for _indicator in _INDICATORS:
    assert _indicator.rule in RULES, _indicator.rule  # every rule here has a severity and a score


def indicator_findings(path: str, text: str, line: int | None) -> list[Finding]:
    """Findings of the indicators in one string ``text`` of member ``path``.

    ``line`` is where the string sits (a literal's line); None means the text is a whole member (or a string
    whose lines matter), and each finding gets the 1-based line of its match within ``text``.
    """
    lines = LineIndex(text) if line is None else None
    findings = []
    for offset, rule, evidence in indicator_matches(text):
        found_line = lines.line_of(offset) if lines is not None else line
        findings.append(Finding.of(rule, path, line=found_line, evidence=evidence))
    return findings


def indicator_matches(text: str) -> list[tuple[int, str, str]]:
    """(offset, rule, evidence) of every indicator in ``text``, in the order of their offsets.

    Where matches overlap, the highest-scoring one is kept: a webhook with its token is one finding, not also
    a mention of the messaging API it belongs to.
    """
    present = {
        _ANCHOR_OWNERS[index]
        for index, _, _ in _ANCHOR_SEARCH.find_matches_as_indexes(text, overlapping=True)
    }
    found = []
    for index in sorted(present):
        indicator = _INDICATORS[index]
        for match in indicator.pattern.finditer(text):
            verdict = indicator.judge(match) if indicator.judge else (indicator.rule, excerpt(match.group()))
            if verdict is not None:
                found.append((match.start(), match.end(), *verdict))
    found.sort()
    kept = []
    cluster: list[tuple[int, int, str, str]] = []
    for item in found:  # clusters of overlapping matches, almost always of one
        if cluster and item[0] >= max(end for _, end, _, _ in cluster):
            kept += _best_of(cluster)
            cluster = []
        cluster.append(item)
    kept += _best_of(cluster)
    return [(start, rule, evidence) for start, _, rule, evidence in sorted(kept)]


def _best_of(cluster: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    if len(cluster) < 2:
        return cluster
    kept: list[tuple[int, int, str, str]] = []
    for candidate in sorted(cluster, key=lambda item: (-RULES[item[2]].score, item[0])):
        start, end = candidate[:2]
        if not any(start < other_end and other_start < end for other_start, other_end, *_ in kept):
            kept.append(candidate)
    return kept


class LineIndex:
    """Line numbers of offsets, with the line starts computed only if a finding needs one."""

    def __init__(self, text: str):
        self.text = text
        self.starts: list[int] | None = None

    def line_of(self, offset: int) -> int:
        if self.starts is None:
            self.starts = [0, *(match.end() for match in re.finditer("\n", self.text))]
        return bisect.bisect_right(self.starts, offset)
