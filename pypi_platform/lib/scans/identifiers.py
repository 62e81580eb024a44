"""Identifiers written to look like other identifiers: full-width or mathematical letters that the tokenizer
normalises (NFKC) to an ASCII name (full-width "exec", U+FF45 U+FF58 U+FF45 U+FF43, runs exec, and so does
its mathematical bold spelling), and names mixing scripts (a Cyrillic o, U+043E, in "os.system").

The syntax tree already holds the normalised name, so this reads the raw source. It costs nothing on ASCII
files; otherwise a regex finds candidate words, and only when one is found does the tokenizer confirm that it
is a name and not text in a string or a comment (where any script is fine). Tokenizing a whole file is the
expensive step (a second for a megabyte of Unicode tables), so when every candidate sits inside a plain string
literal of the file's syntax tree, the answer is known without it.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import functools
import io
import re
import tokenize
import unicodedata

MAX_FINDINGS = 20
# Cyrillic and Greek letters drawn like Latin ones.
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁһԛԝАВЕКМНОРСТХУІЈЅαοριτυνκΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhqwABEKMHOPCTXYIJSaopitvvkABEZHIKMNOPTYX",
)
# Builtins and the module functions that run code or commands: what a disguised name stands in for.
_POWERFUL_NAMES = {name for name in dir(builtins) if not name.startswith("_") and name.islower()} | {
    "system", "popen", "spawn", "run", "call", "check_output", "Popen", "getoutput", "execv", "execve",
    "loads", "b64decode", "decode", "urlopen", "urlretrieve", "request", "post", "get", "connect", "socket",
    "subprocess", "sys", "os", "base64", "marshal", "ctypes", "requests", "__import__", "__builtins__",
}  # fmt: skip
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE")


# Both depend on the character alone, and a file of Greek or Cyrillic text asks about the same few dozen letters
# thousands of times.
@functools.lru_cache(maxsize=4096)
def _script(character: str) -> str | None:
    if character.isascii():
        return "LATIN" if character.isalpha() else None
    name = unicodedata.name(character, "")
    return next((script for script in _SCRIPTS if name.startswith(script)), None)


@functools.lru_cache(maxsize=4096)
def _could_disguise(character: str) -> bool:
    normalised = unicodedata.normalize("NFKC", character)
    return (normalised != character and normalised.isascii() and normalised.isalnum()) or _script(
        character
    ) in (
        "CYRILLIC",
        "GREEK",
        "ARMENIAN",
        "CHEROKEE",
    )


def disguise(word: str) -> str | None:
    """The ASCII name a disguised identifier reads as, or None for an honest one."""
    if not word.isidentifier():
        return None
    normalised = unicodedata.normalize("NFKC", word)
    if normalised != word and normalised.isascii():
        # Mathematical or full-width letters that read as a name Python gives meaning to hide it from
        # patterns; as an ordinary variable name they are a parser's or formatter's test fixture.
        return normalised if normalised in _POWERFUL_NAMES else None
    scripts = {script for script in map(_script, word) if script is not None}
    if len(scripts) > 1:
        return word.translate(_CONFUSABLES)
    # A word wholly in Cyrillic or Greek letters drawn like Latin ones is honest text in that language, unless
    # it spells a name Python gives meaning to: four Cyrillic letters (U+0435 U+0445 U+0435 U+0441)
    # that read "exec", bound to exec and called.
    lookalike = word.translate(_CONFUSABLES)
    if lookalike.isascii() and lookalike in _POWERFUL_NAMES:
        return lookalike
    return None


def homoglyph_identifiers(
    source: bytes, literals: list[ast.Constant] | None = None
) -> list[tuple[int, int, str]]:
    """(line, column, evidence) for each disguised identifier in the source. `literals`, if known: the file's
    plain string literals that hold non-ASCII text, outside f-strings (the rules' walk collects them as it
    passes)."""
    if source.isascii():
        return []
    text = source.decode("utf-8", errors="replace")
    # Most non-ASCII text is accented Latin, CJK, emoji or box drawing: only words holding a character that
    # could disguise a name are looked at (a set of characters is cheap next to a regex over every word).
    suspects = "".join(sorted(c for c in set(text) if not c.isascii() and _could_disguise(c)))
    if not suspects:
        return []
    candidates = {word for word in _words_holding(text, suspects) if disguise(word) is not None}
    if not candidates:
        return []
    if literals is not None and _all_inside_string_literals(text, candidates, literals):
        return []
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.NAME and token.string in candidates:
                evidence = f"identifier {token.string!r} reads as {disguise(token.string)!r}"
                found.append((token.start[0], token.start[1], evidence))
                if len(found) >= MAX_FINDINGS:
                    break
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass  # what was confirmed before the tokenizer stopped stands
    return found


def _words_holding(text: str, suspects: str) -> set[str]:
    """The matches of ``\\w*[suspects]\\w*`` in `text`, found only in the runs of word or suspect characters
    that hold a suspect. Over the whole text, that regex tries every position of every word and, in a word
    without a suspect, runs to the word's end and back (a Unicode test table took a second). No match crosses a
    character that is neither, and matching restarts at such a character, so the matches inside those runs are
    all there are. Suspects are never ASCII, so the runs are found from the non-ASCII stretches of the text."""
    escaped = re.escape(suspects)
    word = re.compile(rf"\w*[{escaped}]\w*")
    run = re.compile(rf"[\w{escaped}]*")  # nothing follows the repeat, so it never backtracks
    suspect_set = set(suspects)
    found: set[str] = set()
    backwards = None
    covered = 0  # the end of the last run read
    for stretch in _NON_ASCII.finditer(text):
        if stretch.end() <= covered or suspect_set.isdisjoint(stretch.group()):
            continue
        for position in range(max(stretch.start(), covered), stretch.end()):
            if position < covered or text[position] not in suspect_set:
                continue
            if backwards is None:
                backwards = text[::-1]
            start = len(text) - run.match(backwards, len(text) - 1 - position).end()
            covered = run.match(text, position).end()
            found.update(word.findall(text, start, covered))
    return found


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_LINE_ENDS = re.compile(r"\r\n|\r|\n")


def _all_inside_string_literals(text: str, candidates: set[str], literals: list[ast.Constant]) -> bool:
    """Whether every occurrence of a candidate lies inside a plain string literal (not an f-string, whose braces
    hold code, and whose parts older parsers place at the whole string). Positions are (line, UTF-8 column).

    Only literals holding non-ASCII text are needed: a candidate holds a non-ASCII character, a word never
    crosses a closing quote, so a literal that holds a candidate holds non-ASCII text, and literals do not
    nest, so the nearest one starting before a candidate is the only one that can hold it."""
    # Positions must mean what the parser meant: UTF-8 that decoded cleanly, lines ended as it ends them.
    if "\ufffd" in text or text.startswith("\ufeff"):
        return False
    spans = [
        ((node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset))
        for node in literals
        if node.end_lineno is not None and node.end_col_offset is not None
    ]
    if not spans:
        return False
    spans.sort()
    starts = [start for start, _ in spans]
    line_starts = [0, *(match.end() for match in _LINE_ENDS.finditer(text))]
    pattern = re.compile("|".join(re.escape(word) for word in sorted(candidates, key=len, reverse=True)))
    for match in pattern.finditer(text):
        number = bisect.bisect_right(line_starts, match.start())
        prefix = text[line_starts[number - 1] : match.start()]
        position = (number, len(prefix.encode("utf-8", "surrogatepass")))
        index = bisect.bisect_right(starts, position) - 1
        # literals do not nest, so the nearest one starting before the word is the only one that can hold it
        if index < 0 or not position < spans[index][1]:
            return False
    return True
