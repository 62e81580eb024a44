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
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import ahocorasick_rs

from pypi_platform.lib.scans.findings import RULES, Finding
from pypi_platform.lib.scans.indicator_judges import Judge, excerpt
from pypi_platform.lib.scans.indicator_patterns import INDICATORS


@dataclass(frozen=True)
class Indicator:
    rule: str
    anchors: tuple[str, ...]
    pattern: re.Pattern[str]
    judge: Judge | None = None  # (rule, evidence), or None to drop the match; default: the rule, an excerpt
    # Also run, anchors or not, on a string this short: a single value (an address a socket is given) carries
    # none of the words around it that anchor the pattern in a whole file.
    short_text: bool = False
    # How far before and after an anchor a match can reach. The pattern runs only in these windows around
    # the anchors (merged where they overlap), so a file with one URL among a megabyte of code costs one
    # small search, not a scan of the megabyte. None: the anchor only says the pattern is worth running, and
    # it runs over the whole text (an address written far from the socket call that uses it).
    reach: tuple[int, int] | None = (256, 1024)


# A single value, not a file: a host literal, a joined URL, a decoded command line.
SHORT_TEXT = 512


_INDICATORS: list[Indicator] = [Indicator(*fields) for fields in INDICATORS]
_ANCHOR_OWNERS = [index for index, indicator in enumerate(_INDICATORS) for _ in indicator.anchors]
# The DFA form is the fastest on a few hundred anchors: about twice the default's speed on real packages.
_ANCHOR_SEARCH = ahocorasick_rs.AhoCorasick(
    [anchor for ind in _INDICATORS for anchor in ind.anchors],
    implementation=ahocorasick_rs.Implementation.DFA,
)
_SHORT_TEXT_INDICATORS = {index for index, indicator in enumerate(_INDICATORS) if indicator.short_text}
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
    try:
        anchors = _ANCHOR_SEARCH.find_matches_as_indexes(text, overlapping=True)
    except UnicodeEncodeError:
        # A computed string can hold lone surrogates (chr(0xD800)), which the automaton cannot take; each
        # becomes "?", one character for one, so offsets stay put.
        text = text.encode("utf-8", "replace").decode("utf-8")
        anchors = _ANCHOR_SEARCH.find_matches_as_indexes(text, overlapping=True)
    windows: dict[int, list[tuple[int, int]]] = {}
    for anchor, start, end in anchors:
        windows.setdefault(_ANCHOR_OWNERS[anchor], []).append((start, end))
    if len(text) <= SHORT_TEXT:
        for index in _SHORT_TEXT_INDICATORS:
            windows.setdefault(index, [(0, len(text))])
    found = []
    for index in sorted(windows):
        indicator = _INDICATORS[index]
        for match in _matches(indicator, text, windows[index]):
            verdict = indicator.judge(match) if indicator.judge else (indicator.rule, excerpt(match.group()))
            if verdict is not None:  # a judge that read the whole line claims the line's span
                start, end = verdict[2] if len(verdict) > 2 else match.span()
                found.append((start, end, verdict[0], verdict[1]))
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


def _matches(indicator: Indicator, text: str, anchors: list[tuple[int, int]]) -> Iterator[re.Match[str]]:
    if indicator.reach is None or len(text) <= SHORT_TEXT:
        yield from indicator.pattern.finditer(text)
        return
    before, after = indicator.reach
    last = -1  # matches start after this offset: a match found in one window is not found again in the next
    window_start, window_end = -1, -1
    for start, end in [*sorted(anchors), (sys.maxsize, 0)]:  # the last one closes the final window
        if start - before <= window_end:
            window_end = max(window_end, end + after)
            continue
        if window_end >= 0:
            for match in indicator.pattern.finditer(text, max(window_start, last + 1), window_end):
                last = match.start()
                yield match
        window_start, window_end = max(0, start - before), end + after


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
