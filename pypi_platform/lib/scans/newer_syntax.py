"""Syntax of a newer Python than the one scanning, spelled in older syntax with the same content.

A statement that only a newer grammar reads is no evasion: it runs on that Python. When one fails to parse,
its tokens are searched for the newer constructs this interpreter lacks, each is respelled with the same length
(so every line and column stays where it was), and the result is parsed again. If that parses, the statement
failed only for want of a newer grammar, and the rules still see everything in it:

- ``type X[T] = V`` (3.12) becomes ``_=   X    = V``: the same value, assigned;
- ``def f[T](...)``, ``class C[T]:`` (3.12) lose their type parameters;
- ``except* E`` (3.11) becomes ``except E``;
- a template string ``t"..."`` (3.14) becomes the f-string ``f"..."``, which has the same interpolations.

F-strings that reuse their own quotes inside (3.12) tokenize differently before 3.12 and are not respelled.
"""

from __future__ import annotations

import io
import sys
import tokenize

_GRAMMAR = sys.version_info[:2]
_OPENING, _CLOSING = "([{", ")]}"
_TEMPLATE_PREFIXES = {"t": "f", "tr": "fr", "rt": "rf"}


def older_spelling(text: str) -> tuple[str, str] | None:
    """(the text respelled, the newest construct found), or None if it holds nothing this grammar lacks."""
    tokens = _tokens(text)
    edits: list[tuple[tuple[int, int], tuple[int, int], str]] = []  # (start, end, replacement of that length)
    features: list[tuple[tuple[int, int], str]] = []
    statement_start = True
    for index, token in enumerate(tokens):
        following = tokens[index + 1 : index + 4]
        if _GRAMMAR < (3, 12) and statement_start and _is_type_alias(token, following):
            name = following[0]
            gap = name.start[1] - token.start[1]  # same line: the tokenizer would not split `type X`
            edits.append((token.start, name.start, "_=" + " " * (gap - 2)))
            features.append(((3, 12), "a type alias statement (Python 3.12)"))
            if following[1].string == "[":
                edits.append(_bracket_group(tokens, index + 2))
        elif _GRAMMAR < (3, 12) and token.string in ("def", "class") and _has_type_parameters(following):
            edits.append(_bracket_group(tokens, index + 2))
            features.append(((3, 12), "type parameters (Python 3.12)"))
        elif _GRAMMAR < (3, 11) and token.string == "except" and following[:1] and following[0].string == "*":
            edits.append((following[0].start, following[0].end, " "))
            features.append(((3, 11), "except* (Python 3.11)"))
        elif _GRAMMAR < (3, 14) and _is_template_string(token, following):
            replacement = _TEMPLATE_PREFIXES[token.string.lower()]
            edits.append((token.start, token.end, replacement))
            features.append(((3, 14), "a template string (Python 3.14)"))
        statement_start = token.type in (
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
        ) or token.string in (
            ";",
            ":",
        )
    if not edits:
        return None
    return _apply(text, edits), max(features)[1]


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    tokens: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type not in (tokenize.NL, tokenize.COMMENT):
                tokens.append(token)
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass  # what was read so far is what can be respelled
    return tokens


def _is_type_alias(token: tokenize.TokenInfo, following: list[tokenize.TokenInfo]) -> bool:
    return (
        token.string == "type"
        and len(following) >= 2
        and following[0].type == tokenize.NAME
        and following[0].start[0] == token.start[0]
        and following[0].start[1] - token.end[1] >= 1
        and following[1].string in ("=", "[")
    )


def _has_type_parameters(following: list[tokenize.TokenInfo]) -> bool:
    return len(following) >= 2 and following[0].type == tokenize.NAME and following[1].string == "["


def _is_template_string(token: tokenize.TokenInfo, following: list[tokenize.TokenInfo]) -> bool:
    return (
        token.type == tokenize.NAME
        and token.string.lower() in _TEMPLATE_PREFIXES
        and bool(following)
        and following[0].type == tokenize.STRING
        and following[0].start == token.end
    )


def _bracket_group(
    tokens: list[tokenize.TokenInfo], opening: int
) -> tuple[tuple[int, int], tuple[int, int], str]:
    """An edit blanking the brackets that open at `opening` and everything up to the bracket that closes them."""
    depth = 0
    end = tokens[opening].end
    for token in tokens[opening:]:
        if token.type == tokenize.OP:
            depth += token.string in _OPENING
            depth -= token.string in _CLOSING
        end = token.end
        if depth == 0:
            break
    return (tokens[opening].start, end, "")


def _apply(text: str, edits: list[tuple[tuple[int, int], tuple[int, int], str]]) -> str:
    """The text with each span replaced; a replacement is padded with spaces to the span's length, and line
    ends inside a span are kept, so nothing after it moves."""
    lines = [line + "\n" for line in text.split("\n")]  # as the tokenizer reads lines: at "\n" only
    lines[-1] = lines[-1][:-1]
    for (start_row, start_col), (end_row, end_col), replacement in sorted(edits, reverse=True):
        for row in range(start_row, end_row + 1):
            line = lines[row - 1]
            body_end = len(line.rstrip("\r\n"))
            first = start_col if row == start_row else 0
            last = end_col if row == end_row else body_end
            filler = (replacement if row == start_row else "").ljust(last - first)
            lines[row - 1] = line[:first] + filler + line[last:]
    return "".join(lines)
