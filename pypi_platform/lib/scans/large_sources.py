"""Python sources too large to parse whole: parsed a piece at a time, cut where a top-level statement starts.

A syntax tree costs a few hundred times its source in memory, so a million-line file parsed whole exhausts a
worker and loses every AST finding in it, including a payload on line 2. Pieces keep memory bounded. The cheap
cut is by indentation (a line starting in column 0 that does not continue a compound statement); a string that
spans a cut makes its pieces unparseable, which a hostile file can do on purpose, so when any piece fails the
file is cut again at statement boundaries found by the tokenizer, which knows where strings end
(``statements.py``). A piece that still fails is recovered statement by statement like any other source
(``parsing.py``), so each part that does not parse is a finding at its line and the rest of the piece is scanned.
Each piece is preceded by the file's one-line top-level imports, so names resolve as they would in the whole file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from pypi_platform.lib.scans.findings import Finding
from pypi_platform.lib.scans.python_rules import python_findings
from pypi_platform.lib.scans.statements import source_lines, top_level_starts

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

Cutter = Callable[[int], int]  # wanted line index -> the line index to cut at


def python_findings_in_pieces(path: str, data: bytes) -> list[Finding]:
    lines = data.splitlines(keepends=True)
    findings, pieces, failed = _scan(path, lines, lambda wanted: _cut_by_indentation(lines, wanted))
    how = "top-level statements"
    if failed:
        starts = top_level_starts(source_lines(data).text)
        findings, pieces, failed = _scan(
            path, lines, lambda wanted: _cut_at_starts(starts, wanted, len(lines))
        )
        how = "statements found by the tokenizer"
    summary = f"{len(lines):,} lines, {len(data):,} bytes: parsed in {pieces} pieces cut at {how}"
    if failed:
        summary += f"; {failed} did not parse whole"
    findings.append(Finding.of("parse.node-limit", path, evidence=summary))
    return findings


def _scan(path: str, lines: list[bytes], cut: Cutter) -> tuple[list[Finding], int, int]:
    """Findings of every piece at their lines in the file, the number of pieces, and how many failed to parse
    whole (their parse.failed findings are kept, at the lines of the parts that failed)."""
    imports = [
        line for line in lines if line.startswith(_IMPORT_STARTS) and line.rstrip().endswith(_PLAIN_ENDS)
    ]
    preamble = b"".join(imports[:_MAX_PREAMBLE_LINES])
    preamble_lines = min(len(imports), _MAX_PREAMBLE_LINES)
    findings: list[Finding] = []
    pieces = failed = start = 0
    while start < len(lines):
        end = max(cut(start + PIECE_LINES), start + 1)
        prefix, offset = (b"", start) if start == 0 else (preamble, start - preamble_lines)
        pieces += 1
        piece_findings = python_findings(path, prefix + b"".join(lines[start:end]))
        failed += any(finding.rule == "parse.failed" for finding in piece_findings)
        for finding in piece_findings:
            if finding.line is None:
                findings.append(finding)
            elif finding.line + offset > start:  # not a line of the preamble
                findings.append(replace(finding, line=finding.line + offset))
        start = end
    return findings, pieces, failed


def _cut_by_indentation(lines: list[bytes], wanted: int) -> int:
    """The first line at or after `wanted` that starts in column 0 and starts a statement (or a hard stop)."""
    limit = min(len(lines), wanted + PIECE_LINES)
    end = wanted
    while end < limit and lines[end].startswith(_NOT_A_STATEMENT_START):
        end += 1
    return min(end, len(lines))


def _cut_at_starts(starts: list[int], wanted: int, total: int) -> int:
    for start in starts:  # sorted; a scan per piece is cheap next to parsing it
        if start >= wanted:
            return start
    return total
