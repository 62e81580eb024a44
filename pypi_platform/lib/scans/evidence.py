"""Evidence for syntax-tree findings: a short excerpt of the line a node sits on, read from a bounded window.

A hostile file can hold a megabyte-long line; an excerpt never reads more than a few hundred bytes of it.
"""

from __future__ import annotations

import io
import re
import tokenize

EVIDENCE_CHARS = 120
# A long line is shown from the node onwards; this many bytes are read to fill the excerpt.
EVIDENCE_WINDOW_BYTES = 4 * EVIDENCE_CHARS


def shortened(text: str, limit: int = EVIDENCE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SourceLines:
    """Excerpts of source lines by line number and column, as the parser counts them.

    The parser reads the text as UTF-8 with universal newlines and counts columns in UTF-8 bytes, so the source
    is brought to that form once; an excerpt then reads a bounded window, however long the line.
    """

    def __init__(self, source: bytes) -> None:
        text = self._as_utf8(source)
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        self.text = text
        self.starts = [0, *(match.end() for match in re.finditer(b"\n", text))]

    @staticmethod
    def _as_utf8(source: bytes) -> bytes:
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        except SyntaxError:
            encoding = "utf-8"
        if encoding == "utf-8":
            return source
        return source.decode(encoding, errors="replace").encode("utf-8")  # also drops a byte-order mark

    def excerpt(self, line: int, column: int) -> str:
        if not 1 <= line <= len(self.starts):
            return ""
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        prefix = ""
        if end - start > EVIDENCE_WINDOW_BYTES and column > 0:
            start, prefix = start + column, "…"  # a long line is shown from the node, not from its start
        window = self.text[start : min(end, start + EVIDENCE_WINDOW_BYTES)]
        return shortened(prefix + window.decode("utf-8", errors="replace").strip())
