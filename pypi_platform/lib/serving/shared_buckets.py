"""Token buckets shared by every app process of one machine, so that a client's limit is one limit however many
processes serve it (``python -m pypi_platform.serving --workers N``).

The buckets live in a file mapped into each process (``SharedTokenBuckets.create`` makes it; each worker
opens it by path). The file is a table of fixed slots: a client's 64-bit key (blake2b of its address, the same
in every process, unlike ``hash()``), its tokens and when they were counted. A client's slot is
found by probing a few slots from its key's position; when all of them hold other clients, the one counted
longest ago gives way, which forgets a client as the per-process buckets do: an idle one first, whose bucket has
refilled and is no different from a new one. Every ``take`` holds an exclusive ``flock`` on the file for a few
microseconds: processes on one machine, one lock, no torn slot. The clock is ``CLOCK_MONOTONIC``, which all
processes of a machine share.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pypi_platform.lib.serving.ratelimit import Decision, spend

_SLOT = struct.Struct("<Qdd")  # key (0: empty), tokens, at
_PROBES = 8
DEFAULT_SLOTS = 1 << 17  # 131,072 clients at once, 3 MiB


class SharedTokenBuckets:
    """``TokenBuckets`` (``rate`` tokens a second refill a bucket of ``burst``) kept in a file every process maps."""

    def __init__(self, path: Path, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.path, self.rate, self.burst, self._clock = Path(path), rate, burst, clock
        self._fd = os.open(self.path, os.O_RDWR)
        size = os.fstat(self._fd).st_size
        if size == 0 or size % _SLOT.size:
            os.close(self._fd)
            raise ValueError(f"{self.path} is not a table of shared token buckets ({size} bytes)")
        self._slots = size // _SLOT.size
        self._map = mmap.mmap(self._fd, size)

    @classmethod
    def create(cls, rate: float, burst: int, *, slots: int = DEFAULT_SLOTS, directory: Path | None = None,
               clock: Callable[[], float] = time.monotonic) -> SharedTokenBuckets:  # fmt: skip
        """A new, empty table in a file of its own (removed by ``close(remove=True)``)."""
        fd, name = tempfile.mkstemp(prefix="pypi-platform-buckets-", dir=directory)
        try:
            os.ftruncate(fd, slots * _SLOT.size)  # zeros: every slot empty
        finally:
            os.close(fd)
        return cls(Path(name), rate, burst, clock=clock)

    def take(self, client: str) -> Decision:
        key = int.from_bytes(hashlib.blake2b(client.encode(), digest_size=8).digest(), "little") or 1
        now = self._clock()
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            offset, tokens, at = self._slot_of(key, now)
            tokens, decision = spend(tokens, now - at, self.rate, self.burst)
            _SLOT.pack_into(self._map, offset, key, tokens, now)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        return decision

    def _slot_of(self, key: int, now: float) -> tuple[int, float, float]:
        """(offset, tokens, at) of `key`'s slot: its own, an empty one (a full bucket), or the one counted
        longest ago among the probed (taken over with a full bucket)."""
        oldest_offset, oldest_at = -1, math.inf
        for probe in range(_PROBES):
            offset = ((key + probe) % self._slots) * _SLOT.size
            held, tokens, at = _SLOT.unpack_from(self._map, offset)
            if held == key:
                return offset, tokens, at
            if held == 0:
                return offset, float(self.burst), now
            if at < oldest_at:
                oldest_offset, oldest_at = offset, at
        return oldest_offset, float(self.burst), now

    def close(self, *, remove: bool = False) -> None:
        self._map.close()
        os.close(self._fd)
        if remove:
            self.path.unlink(missing_ok=True)
