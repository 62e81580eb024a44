"""The scanner's parse step: raw bytes of a Python file in, one syntax tree and the parse findings out.

A file that parses whole gives exactly ``ast.parse``'s tree, at no extra cost. A file that does not (a statement
of a newer Python, an expression too deep for the parser, a null byte or a bad line in the middle) is recovered:
cut where statements start (``statements.py``), every statement that parses on its own is kept at its real line,
and each part that does not is a ``parse.failed`` finding at its line, so the rules still see everything before
and after it. A compound statement that fails (a function with one bad line) is recovered one level deeper: the
statements of its body, dedented. All kept statements go into one module in source order, so that the rules'
single walk sees every import and alias of the file.

A part that fails only because this interpreter's grammar is older than the file (``type X = ...``, ``def f[T]``
on Python 3.11, a t-string before 3.14) is rewritten into older syntax with the same content and parsed, and
reported as ``parse.newer-syntax``, which is no evasion and does not score (``newer_syntax.py``).

Recovery is bounded: each byte is parsed a small number of times, the number of parses is capped, and what is
left when a cap is reached is one more failure, so a hostile file cannot make it quadratic.
"""

from __future__ import annotations

import ast
import bisect
import re
import sys
import warnings
from dataclasses import dataclass, field

from pypi_platform.lib.scans.findings import RULES, Finding
from pypi_platform.lib.scans.newer_syntax import older_spelling
from pypi_platform.lib.scans.statements import SourceLines, source_lines, statement_starts

# The grammar a scan reads Python with: that of the interpreter it runs on.
GRAMMAR = f"{sys.version_info.major}.{sys.version_info.minor}"

EVIDENCE_CHARS = 120
# Consecutive statements are parsed together, this many (or this many bytes) at a time; a run that fails is
# parsed again in parts, so a byte is parsed about three times at most on each level.
_RUN_STATEMENTS = 64
_RUN_BYTES = 256 * 1024
# Parses per file: enough to parse every line of a file of broken lines alone, and no more.
_MAX_PARSES_BASE = 5_000
_MAX_PARSES_PER_LINE = 2
_LONG_RUN_BYTES_PER_BYTE = 4
_PADDING_PER_CHARACTER = 8
_MAX_DEPTH = 3  # a method of a class in a function: deeper failures are reported whole
_MAX_FAILURES_REPORTED = 20

_DETECTED_AT = re.compile(r"(detected at line )(\d+)")

for _rule in ("parse.failed", "parse.newer-syntax"):
    assert _rule in RULES, _rule


@dataclass
class ParsedSource:
    tree: ast.Module
    findings: list[Finding] = field(default_factory=list)
    recovered: bool = False  # the whole file did not parse; the tree holds the statements that did


def parse_python(path: str, source: bytes) -> ParsedSource:
    """The syntax tree of a Python file (its bytes, so that an encoding cookie is honoured), never an exception."""
    try:
        return ParsedSource(_parse(source))
    # RecursionError and MemoryError: too deep or too big for the parser. ValueError: null bytes on 3.11;
    # also UnicodeDecodeError, OverflowError, ...
    except (RecursionError, MemoryError, Exception) as error:
        whole_file_error = error
    return _Recovery(path, source_lines(source)).run(whole_file_error)


def _parse(source: bytes | str) -> ast.Module:
    # Invalid escape sequences warn on every parse; a warning turned into an error by the caller's filters must
    # not turn into a parse failure.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source, filename="<scanned>")


def failure_evidence(error: BaseException, line: int | None, *, first_line: int = 1) -> str:
    """`Type: message (line N)`; a message that names lines of a piece starting at `first_line` is moved to
    the file's lines."""
    message = (error.msg if isinstance(error, SyntaxError) else None) or str(error)
    if first_line > 1:
        message = _DETECTED_AT.sub(lambda match: f"{match[1]}{int(match[2]) + first_line - 1}", message)
    evidence = (
        type(error).__name__ + (f": {message}" if message else "") + (f" (line {line})" if line else "")
    )
    return evidence if len(evidence) <= EVIDENCE_CHARS else evidence[: EVIDENCE_CHARS - 1] + "…"


def _error_line(error: BaseException) -> int | None:
    """The 1-based line a parse error names, if it names one."""
    line = error.lineno if isinstance(error, SyntaxError) else None
    return line if isinstance(line, int) and line >= 1 else None


class _Recovery:
    def __init__(self, path: str, lines: SourceLines) -> None:
        self.path = path
        self.lines = lines
        self.starts = statement_starts(lines.text)
        self.start_lines = [start.line for start in self.starts]  # sorted: starts come in source order
        self.parses = 0
        self.max_parses = _MAX_PARSES_BASE + _MAX_PARSES_PER_LINE * len(lines.raw)
        self.failures: list[tuple[int | None, str]] = []  # (1-based line, evidence)
        self.newer: list[Finding] = []

    def run(self, whole_file_error: BaseException) -> ParsedSource:
        top = [start.line for start in self.starts if start.level == 0 and not start.continues]
        pieces = _pieces([0, *top] if top and top[0] != 0 else top or [0], len(self.lines.text))
        body = self._recover(pieces, depth=0, indent="", error=whole_file_error)
        if not self.failures and not self.newer:
            # Every part parsed alone, the whole did not (an encoding cookie, a statement split oddly): the
            # file is still one Python cannot read.
            line = _error_line(whole_file_error)
            self.failures.append((line, failure_evidence(whole_file_error, line)))
        return ParsedSource(ast.Module(body=body, type_ignores=[]), self._findings(), recovered=True)

    # -- runs of statements ------------------------------------------------------------------------------------
    def _recover(
        self, pieces: list[tuple[int, int]], depth: int, indent: str, error: BaseException | None = None
    ) -> list[ast.stmt]:
        """The statements of `pieces` (line ranges, each one statement, lines dedented by `indent`); `error`, if
        given, is what parsing them all at once raised."""
        kept: list[ast.stmt] = []
        # While the parser names the line it stopped at, the statements before it parse as one run, and those
        # after it are tried as one run again; those runs may parse the same bytes again, so only up to a budget.
        size = sum(len(line) for line in self.lines.raw[pieces[0][0] : pieces[-1][1]]) if pieces else 0
        budget = _LONG_RUN_BYTES_PER_BYTE * size + _RUN_BYTES
        while pieces and budget > 0:
            if error is None:
                statements, error = self._parse_lines(pieces[0][0], pieces[-1][1], indent)
                budget -= sum(len(line) for line in self.lines.raw[pieces[0][0] : pieces[-1][1]])
                if error is None:
                    return kept + statements
            line = _error_line(error)
            if line is None or isinstance(error, _OutOfBudget):
                break
            absolute = pieces[0][0] + line - 1
            failing = next((i for i, (_, last) in enumerate(pieces) if absolute < last), len(pieces) - 1)
            if failing > 0:
                kept.extend(self._recover_run(pieces[:failing], depth, indent, split=False))
            kept.extend(self._recover_each(pieces[failing : failing + 1], depth, indent))
            pieces, error = pieces[failing + 1 :], None
        index = 0
        while index < len(pieces):  # what is left, a bounded run at a time
            run_end, size = index, 0
            while run_end < len(pieces) and run_end - index < _RUN_STATEMENTS and size < _RUN_BYTES:
                first, last = pieces[run_end]
                size += sum(len(line) for line in self.lines.raw[first:last])
                run_end += 1
            kept.extend(self._recover_run(pieces[index:run_end], depth, indent))
            index = run_end
        return kept

    def _recover_run(
        self, run: list[tuple[int, int]], depth: int, indent: str, *, split: bool = True
    ) -> list[ast.stmt]:
        statements, error = self._parse_lines(run[0][0], run[-1][1], indent)
        if error is None:
            return statements
        if len(run) == 1:
            return self._recover_piece(run[0], error, depth, indent)
        line = _error_line(error)
        if not split or line is None:
            return self._recover_each(run, depth, indent)
        # The parser names the line it stopped at: the statements before it most likely parse together, and
        # those after it once more as a run; a second failure there parses them one by one (no quadratic retry).
        absolute = run[0][0] + line - 1
        failing = next((i for i, (_, last) in enumerate(run) if absolute < last), len(run) - 1)
        kept: list[ast.stmt] = []
        if failing > 0:
            kept.extend(self._recover_run(run[:failing], depth, indent, split=False))
        kept.extend(self._recover_each(run[failing : failing + 1], depth, indent))
        if failing + 1 < len(run):
            kept.extend(self._recover_run(run[failing + 1 :], depth, indent, split=False))
        return kept

    def _recover_each(self, pieces: list[tuple[int, int]], depth: int, indent: str) -> list[ast.stmt]:
        kept: list[ast.stmt] = []
        for piece in pieces:
            statements, error = self._parse_lines(*piece, indent)
            kept.extend(statements if error is None else self._recover_piece(piece, error, depth, indent))
        return kept

    # -- one statement that does not parse ---------------------------------------------------------------------
    def _recover_piece(
        self, piece: tuple[int, int], error: BaseException, depth: int, indent: str
    ) -> list[ast.stmt]:
        first, last = piece
        if isinstance(error, _OutOfBudget):
            self.failures.append((first + 1, str(error)))
            return []
        if isinstance(error, SyntaxError) and not any(self.lines.undecodable[first:last]):
            rewritten = older_spelling(self._text(first, last, indent))
            if rewritten is not None:
                text, feature = rewritten
                statements, newer_error = self._parse_text(text, first, indent)
                if newer_error is None:
                    evidence = f"{feature}, read with the Python {GRAMMAR} grammar"
                    self.newer.append(
                        Finding.of("parse.newer-syntax", self.path, line=first + 1, evidence=evidence)
                    )
                    return statements
        failures_before = len(self.failures)
        kept = self._recover_body(piece, depth) if depth < _MAX_DEPTH else []
        if len(self.failures) == failures_before:  # the header itself, or a simple statement, is what failed
            line = _error_line(error)
            line = first + line if line is not None else first + 1
            self.failures.append((line, failure_evidence(error, line, first_line=first + 1)))
        return kept

    def _recover_body(self, piece: tuple[int, int], depth: int) -> list[ast.stmt]:
        """The statements of a compound statement's body (every clause's), dedented and parsed on their own."""
        first, last = piece
        starts = self.starts[
            bisect.bisect_right(self.start_lines, first) : bisect.bisect_left(self.start_lines, last)
        ]
        bounds = [start.line for start in starts if start.level <= depth + 1]
        body = [start.line for start in starts if start.level == depth + 1 and not start.continues]
        if not body:
            return []
        pieces = [(line, next((bound for bound in bounds if bound > line), last)) for line in body]
        text = self.lines.text[body[0]]
        inner_indent = text[: len(text) - len(text.lstrip(" \t\f"))]
        return self._recover(pieces, depth + 1, inner_indent)

    # -- parsing lines -----------------------------------------------------------------------------------------
    def _text(self, first: int, last: int, indent: str) -> str:
        lines = self.lines.text[first:last]
        if indent:
            width = len(indent)
            lines = [line[width:] if line.startswith(indent) else line for line in lines]
        return "".join(lines)

    def _parse_lines(self, first: int, last: int, indent: str) -> tuple[list[ast.stmt], BaseException | None]:
        if any(self.lines.undecodable[first:last]):
            bad = self.lines.raw[first + self.lines.undecodable[first:last].index(True)]
            try:
                bad.decode(self.lines.encoding)
            except UnicodeDecodeError as error:
                return [], error
        return self._parse_text(self._text(first, last, indent), first, indent)

    def _parse_text(self, text: str, first: int, indent: str) -> tuple[list[ast.stmt], BaseException | None]:
        if self.parses >= self.max_parses:
            return [], _OutOfBudget(f"not parsed: recovery stopped after {self.max_parses:,} parses")
        self.parses += 1
        # Blank lines in front put the nodes at their lines for the cost of reading them in C; walking the tree
        # to move every node costs far more per line, so it is done only where the blank lines would be many.
        padding = first if not indent and first <= _PADDING_PER_CHARACTER * len(text) else 0
        try:
            tree = _parse("\n" * padding + text)
        except (RecursionError, MemoryError, Exception) as error:
            if padding and isinstance(error, SyntaxError) and isinstance(error.lineno, int):
                error.lineno -= padding  # lines of the piece, as an unpadded parse gives them
                error.msg = _DETECTED_AT.sub(
                    lambda match: f"{match[1]}{int(match[2]) - padding}", error.msg or ""
                )
            return [], error
        if first - padding or indent:
            _move(tree, lines=first, columns=len(indent), dedented=indent and self._dedented(first, indent))
        return tree.body, None

    def _dedented(self, first: int, indent: str):
        text = self.lines.text
        return lambda line: 0 <= first + line - 1 < len(text) and text[first + line - 1].startswith(indent)

    # -- findings ----------------------------------------------------------------------------------------------
    def _findings(self) -> list[Finding]:
        shown = self.failures[:_MAX_FAILURES_REPORTED]
        findings = [Finding.of("parse.failed", self.path, line=line, evidence=text) for line, text in shown]
        if len(self.failures) > len(shown):
            more = f"{len(self.failures) - len(shown):,} more parts of the file did not parse"
            findings.append(Finding.of("parse.failed", self.path, evidence=more))
        return findings + self.newer


class _OutOfBudget(Exception):
    """Recovery's parse budget is spent: what is left is reported, not parsed."""


def _pieces(starts: list[int], end: int) -> list[tuple[int, int]]:
    return [(start, following) for start, following in zip(starts, [*starts[1:], end], strict=True)]


def _move(tree: ast.AST, *, lines: int, columns: int, dedented) -> None:
    """Put a piece's nodes at their lines (and columns, for a dedented body) in the whole file."""
    for node in ast.walk(tree):
        if "lineno" not in node._attributes:
            continue
        if columns:
            if dedented(node.lineno):
                node.col_offset += columns
            end = getattr(node, "end_lineno", None)
            if end is not None and node.end_col_offset is not None and dedented(end):
                node.end_col_offset += columns
        node.lineno += lines
        if getattr(node, "end_lineno", None) is not None:
            node.end_lineno += lines
