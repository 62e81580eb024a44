"""Pausing Python's cycle collector around work that builds many objects and no cycles.

Building a large structure (a syntax tree, a map of every project on the index) wakes the cycle collector
every few hundred allocations, and each collection traverses everything built so far again. Where nothing
built holds a cycle, reference counting frees it all, and the collector only costs time: such work runs
inside ``paused()``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The cycle collector off for the block and back as it was after it: a caller that had it off keeps it off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
