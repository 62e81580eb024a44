"""A token bucket per client: ``rate`` tokens a second refill a bucket of ``burst``; a request takes one."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Decision:
    allowed: bool
    remaining: int  # whole tokens left after this request
    retry_after: int  # seconds until a token is back (0 when allowed)


def spend(tokens: float, elapsed: float, rate: float, burst: int) -> tuple[float, Decision]:
    """One request against a bucket that held `tokens` `elapsed` seconds ago: the tokens it holds after it, and
    whether it was allowed."""
    tokens = min(float(burst), tokens + elapsed * rate)
    if tokens >= 1.0:
        return tokens - 1.0, Decision(True, int(tokens - 1.0), 0)
    return tokens, Decision(False, 0, max(1, math.ceil((1.0 - tokens) / rate)))


class TokenBuckets:
    """Buckets keyed by client (its IP address). Not thread-safe: one event loop owns it.

    The table of buckets stays bounded: past ``max_clients``, buckets that have refilled completely (their
    clients idle long enough to be indistinguishable from new ones) are forgotten.
    """

    def __init__(self, rate: float, burst: int, *, max_clients: int = 100_000,
                 clock: Callable[[], float] = time.monotonic):  # fmt: skip
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._sweep_at = max_clients

    def take(self, client: str) -> Decision:
        now = self._clock()
        tokens, at = self._buckets.get(client, (float(self.burst), now))
        tokens, decision = spend(tokens, now - at, self.rate, self.burst)
        self._store(client, tokens, now)
        return decision

    def __len__(self) -> int:
        return len(self._buckets)

    def _store(self, client: str, tokens: float, now: float) -> None:
        if client not in self._buckets and len(self._buckets) >= self._sweep_at:
            full = now - self.burst / self.rate
            self._buckets = {c: (t, a) for c, (t, a) in self._buckets.items() if a > full}
            # When most clients are active, sweep again only after the table grew by a tenth: never a sweep a
            # request.
            self._sweep_at = max(self.max_clients, len(self._buckets) + len(self._buckets) // 10 + 1)
        self._buckets[client] = (tokens, now)
