"""Answers the API gave, kept for the data version they were read at.

Download counts change only when a day is loaded, retention runs or ``recent`` is rebuilt, and each of these
changes the data's version (``reads.data_version``). An answer kept under the version it was read at is
therefore exactly what the database would answer again while that version lasts; when the version changes,
every kept answer is dropped at once. Real traffic asks for a few packages most of the time (badges of popular
projects, the top lists), so a small cache takes most requests off PostgreSQL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # a few thousand 180-day series and every top list


class AnswerCache:
    """JSON texts by request, for one data version at a time, the least recently used dropped past
    ``max_bytes`` (0 keeps nothing)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be 0 or more, got {max_bytes}")
        self.max_bytes = max_bytes
        self.version: str | None = None
        self.size = 0
        self._answers: OrderedDict[Hashable, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, version: str, key: Hashable) -> str | None:
        if version != self.version:
            return None
        answer = self._answers.get(key)
        if answer is not None:
            self._answers.move_to_end(key)
        return answer

    def put(self, version: str, key: Hashable, answer: str) -> None:
        if version != self.version:
            self._answers.clear()
            self.size = 0
            self.version = version
        if len(answer) > self.max_bytes:
            return
        old = self._answers.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._answers[key] = answer
        self.size += len(answer)
        while self.size > self.max_bytes:
            _, dropped = self._answers.popitem(last=False)
            self.size -= len(dropped)
