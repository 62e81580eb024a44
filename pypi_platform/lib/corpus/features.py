"""The Python language features each unique ``.py`` blob of a corpus shard uses, each blob parsed once.

A shard is a bare git repository; a blob is named by its 20-byte git object id, and every archive member with the
same bytes shares it, so results computed here fan out to members, releases and project-months by a join on that
id, which is how py-code.org derives its per-file datasets too. Every result records its ``status`` and the
parser that produced it (``PARSER``), so a dataset can say which files it could not read rather than silently
dropping them.

The features of one source, their statuses and how a source is analysed are ``feature_analysis.py``'s.

``lines`` counts newline characters, plus one for a last line without one (0 for an empty blob).

Speed. Parsing is the cost (about four fifths of the time; freeing the trees is another tenth), so the work is
shared by processes that each open the repository once and read blobs by id (no blob content crosses a pipe):
the calling process and spawned workers, which claim chunks of blobs from the two ends of a largest-first list
(the workers from the large end, through shared counters, so they never wait on the caller to hand them work).
In each process:

- the cycle collector is paused while a chunk is parsed and walked: parsing allocates a node object per token or
  so, every few hundred allocations woke the collector, which traversed the growing trees again (about a fifth of
  the parse time), and a syntax tree holds no cycle, so refcounting frees it;
- a spawned worker's libgit2 does not re-hash each blob it reads (git does not either, outside fsck);
- each source is analysed as ``feature_analysis.analyse`` says: a text pre-check narrows the walk of its tree.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from pypi_platform.lib import collector
from pypi_platform.lib.corpus.feature_analysis import analyse, feature_names

PARSER = f"cpython-{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class BlobFeatures:
    oid: bytes  # 20-byte git blob id
    status: str  # one of STATUSES
    features: frozenset[str]
    lines: int


def source_features(source: bytes) -> tuple[str, frozenset[str]]:
    """The status and the features of one Python source (bytes, decoded as Python would)."""
    status, mask = analyse(source, precheck=True)
    return status, feature_names(mask)


def features_of_blobs(
    repository: Path,
    oids: Sequence[bytes],
    *,
    workers: int = 2,
    chunk: int = 64,
    sizes: Sequence[int] | None = None,
) -> Iterator[BlobFeatures]:
    """The features of every blob in `oids` (20-byte ids, unique) of the git repository at `repository`.

    Each id comes back exactly once, in no particular order, chunk by chunk as they are done. `workers` processes
    share the work: this one and ``workers - 1`` spawned ones (spawned, so this is safe in a threaded caller),
    each with the repository open itself. ``workers`` of 0 or 1 does all the work here.

    The blobs are cut into chunks of at most `chunk` blobs and a small share of all the bytes, largest first. The
    spawned workers claim chunks from the large end and this process from the small end, through two shared
    counters, until they meet; a worker therefore never waits for this process (whose parser holds its
    interpreter lock for a whole file at a time) to hand it work, and the last chunk anyone waits for is one of
    the middle ones.

    `sizes` (bytes of each blob, in the order of `oids`; a shard's index has them) saves reading every blob's
    header here first. Without them a missing id raises ``KeyError`` before any work starts; with them, when a
    process meets it.
    """
    oids = list(oids)
    if not oids:
        return
    if sizes is not None and len(sizes) != len(oids):
        raise ValueError(f"{len(sizes)} sizes for {len(oids)} blobs")
    import pygit2

    here = pygit2.Repository(str(repository))  # this process's own handle; the workers open theirs
    chunks = list(_chunks(_sizes(here, oids, sizes), max(1, chunk), max(1, workers)))
    if workers <= 1 or len(chunks) == 1:
        for part in chunks:
            yield from _results(_run_chunk(part, here))
        return
    helpers = min(workers - 1, len(chunks) - 1)
    context = get_context("spawn")
    ends = context.Array(
        "q", [0, len(chunks)]
    )  # [next chunk from the large end, one past the small end's next]
    with ProcessPoolExecutor(
        max_workers=helpers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(str(repository), chunks, ends),
    ) as pool:
        try:
            # Two jobs per worker in flight, so a worker always has the next one at hand.
            running = {pool.submit(_claim_from_front) for _ in range(helpers * 2)}
            while (index := _claim(ends, from_back=True)) is not None:
                yield from _results(_run_chunk(chunks[index], here))
                done = {future for future in running if future.done()}
                running -= done
                for future in done:
                    yield from _results(future.result())
                    running.add(pool.submit(_claim_from_front))
            for future in as_completed(running):
                yield from _results(future.result())
        finally:
            _claim_all(
                ends
            )  # on an error or an abandoned iteration, the workers stop after their current chunk


def _claim(ends, *, from_back: bool) -> int | None:
    """The index of the next unclaimed chunk at one end, now claimed; None when none is left."""
    with ends.get_lock():
        front, back = ends[0], ends[1]
        if front >= back:
            return None
        if from_back:
            ends[1] = back - 1
            return back - 1
        ends[0] = front + 1
        return front


def _claim_all(ends) -> None:
    with ends.get_lock():
        ends[0] = ends[1]


def _sizes(repository, oids: list[bytes], sizes: Sequence[int] | None) -> list[tuple[int, bytes]]:
    """(size, id) of every blob, largest first; KeyError for a missing one if the sizes are read here."""
    if sizes is not None:
        return sorted(zip(sizes, oids, strict=True), reverse=True)
    import pygit2

    header = repository.odb.read_header
    sized = []
    for oid in oids:
        kind, size = header(pygit2.Oid(raw=oid))  # a pack entry's header, not the blob
        if kind != pygit2.enums.ObjectType.BLOB:
            raise ValueError(f"{oid.hex()} is not a blob")
        sized.append((size, oid))
    sized.sort(reverse=True)
    return sized


def _chunks(sized: list[tuple[int, bytes]], chunk: int, workers: int) -> Iterator[list[bytes]]:
    """Consecutive runs of `sized` (largest first) of at most `chunk` blobs and about 1/(16 x workers) of the
    bytes: the first chunks are single large blobs, the last ones many small ones, so both cores finish together."""
    budget = max(1, sum(size for size, _ in sized) // (32 * workers))
    part: list[bytes] = []
    held = 0
    for size, oid in sized:
        if part and (len(part) >= chunk or held + size > budget):
            yield part
            part, held = [], 0
        part.append(oid)
        held += size
    if part:
        yield part


def _results(rows: list[tuple[bytes, str, int, int]]) -> Iterator[BlobFeatures]:
    for oid, status, mask, lines in rows:
        yield BlobFeatures(oid, status, feature_names(mask), lines)


# ----------------------------------------------------------------------------------------------------------------
# Worker side

_repository = None


_chunks_to_claim: list[list[bytes]] = []
_ends = None
_CHUNKS_PER_JOB = 4  # a job's claims before it returns its rows: few round trips, and rows that arrive soon


def _start_worker(path: str, chunks: list[list[bytes]], ends) -> None:
    """A spawned worker's set-up: the repository, the chunks, and the shared counters of the claimed ones."""
    global _repository, _chunks_to_claim, _ends
    import pygit2

    # libgit2 hashes every object it reads to check its id (git itself does not, outside fsck): a fifth of a
    # loose blob's read. A worker process only reads blobs by id, so the setting is its own to change; the
    # calling process keeps it.
    pygit2.option(pygit2.enums.Option.ENABLE_STRICT_HASH_VERIFICATION, 0)
    _repository = pygit2.Repository(path)
    _chunks_to_claim, _ends = chunks, ends


def _claim_from_front() -> list[tuple[bytes, str, int, int]]:
    """A worker's job: the rows of up to _CHUNKS_PER_JOB chunks claimed from the large end."""
    rows: list[tuple[bytes, str, int, int]] = []
    for _ in range(_CHUNKS_PER_JOB):
        index = _claim(_ends, from_back=False)
        if index is None:
            break
        rows += _run_chunk(_chunks_to_claim[index])
    return rows


def _run_chunk(oids: list[bytes], repository=None) -> list[tuple[bytes, str, int, int]]:
    import pygit2

    read = (repository or _repository).odb.read
    rows = []
    with collector.paused():
        for oid in oids:
            data = read(pygit2.Oid(raw=oid))[1]
            status, mask = analyse(data, precheck=True)
            rows.append((oid, status, mask, _line_count(data)))
    return rows


def _line_count(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
