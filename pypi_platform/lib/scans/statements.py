"""Where the statements of a Python source start, found without parsing it: the tokenizer knows where strings
and brackets end, which a cut by indentation alone does not.

Both the recovery of a file that does not parse (``parsing.py``) and the parsing of huge files in pieces
(``large_sources.py``) cut a source where statements start. Lines are counted as the parser counts them: the
source's ``\\r\\n``, ``\\r`` and ``\\n`` all end a line, and nothing else does (a form feed does not).
"""

from __future__ import annotations

import io
import tokenize
from typing import NamedTuple

_CONTINUATIONS = (b"else", b"elif", b"except", b"finally")
# A line starting with one of these continues what is above it (or is blank, a comment, or a closing bracket).
_NOT_A_STATEMENT_START = (b" ", b"\t", b"\f", b"\r", b"\n", b"#", b")", b"]", b"}", *_CONTINUATIONS)
_CONTINUATION_WORDS = {word.decode() for word in _CONTINUATIONS}
# Each restart tokenizes from a later line, so restarts cost linear time; a cap still bounds a hostile file.
_MAX_TOKENIZER_RESTARTS = 64


class Start(NamedTuple):
    line: int  # 0-based index of the line the statement's first token is on
    level: int  # indentation level: 0 at module level, 1 in a top-level function's body, ...
    continues: bool  # an else/elif/except/finally clause, which belongs to the statement above


class SourceLines(NamedTuple):
    """A source as the lines the parser sees: the raw bytes of each line and its text in the declared encoding."""

    encoding: str
    raw: list[bytes]  # line ends brought to b"\n"
    text: list[str]  # decoded with replacement characters where the bytes are not valid
    undecodable: list[bool]  # whether the line's bytes do not decode in the source's encoding


def source_lines(source: bytes) -> SourceLines:
    data = source.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    raw = data.splitlines(keepends=True)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        "".encode(encoding)
    except (SyntaxError, LookupError):  # an unknown or malformed cookie: the parser rejects the whole file
        encoding = "utf-8"
    text: list[str] = []
    undecodable: list[bool] = []
    for line in raw:
        try:
            text.append(line.decode(encoding))
            undecodable.append(False)
        except UnicodeDecodeError:
            text.append(line.decode(encoding, errors="replace"))
            undecodable.append(True)
    return SourceLines(encoding, raw, text, undecodable)


def statement_starts(text: list[str]) -> list[Start]:
    """Every logical line's start, at every indentation level, in source order.

    Where the tokenizer gives up (an unterminated string, a bracket never closed, a null byte, a bad dedent), it
    is started again on the next line in column 0 after the last statement it found, so one broken line does not
    hide the statements after it; after too many restarts the rest is cut by indentation only.
    """
    starts: list[Start] = []
    restart = 0
    for _ in range(_MAX_TOKENIZER_RESTARTS):
        found_before = len(starts)
        stopped = _tokenize_from(text, restart, starts)
        if restart and (len(starts) == found_before or starts[found_before].line != restart):
            # A restart line is a statement start by indentation, whether or not its tokens could be read.
            starts.insert(found_before, Start(restart, 0, False))
        if stopped is None:
            return starts
        last = starts[-1].line if starts and starts[-1].line >= restart else restart
        restart = _next_column_zero_start(text, last + 1)
        if restart >= len(text):
            return starts
    starts.extend(Start(line, 0, False) for line in _column_zero_starts(text, restart))
    return starts


def top_level_starts(text: list[str]) -> list[int]:
    """Line indexes where a module-level statement starts (not counting else/elif/except/finally clauses)."""
    return [start.line for start in statement_starts(text) if start.level == 0 and not start.continues]


def _tokenize_from(text: list[str], first: int, starts: list[Start]) -> int | None:
    """Append the starts found from line `first` on; None if the tokenizer reached the end, else the line it
    gave up on."""
    lines = iter(text[first:])
    depth = level = 0
    at_line_start = True
    row = first
    try:
        for token in tokenize.generate_tokens(lambda: next(lines, "")):
            kind = token.type
            row = first + token.start[0] - 1
            if kind == tokenize.INDENT:
                level += 1
            elif kind == tokenize.DEDENT:
                level -= 1
            elif kind == tokenize.NEWLINE:
                at_line_start = True
            elif kind in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER):
                continue
            else:
                if at_line_start and depth == 0:
                    starts.append(Start(row, level, token.string in _CONTINUATION_WORDS))
                at_line_start = False
                if kind == tokenize.OP:
                    depth += token.string in "([{"
                    depth -= token.string in ")]}"
    except (tokenize.TokenError, SyntaxError, ValueError):  # IndentationError is a SyntaxError
        return row
    return None


def _next_column_zero_start(text: list[str], line: int) -> int:
    while line < len(text) and text[line].encode("utf-8", "replace").startswith(_NOT_A_STATEMENT_START):
        line += 1
    return line


def _column_zero_starts(text: list[str], first: int) -> list[int]:
    line = _next_column_zero_start(text, first)
    found = []
    while line < len(text):
        found.append(line)
        line = _next_column_zero_start(text, line + 1)
    return found
