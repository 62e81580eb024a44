"""Writing buffered git objects straight into one pack file and its index (pack v2, index v2).

libgit2's only pack writer (the PackBuilder) re-reads every object, searches deltas among all of them (most of its
cost), deflates on one thread and runs the result through its indexer, which inflates and hashes everything a
second time. The shard writer knows more than a generic packer: blobs are stored whole (a closed shard can be
repacked with ``git repack -adf`` for cross-version blob deltas), and the only objects worth a delta are the upper
trees (``packages``, ``packages/<project>``), each a copy of its previous version with one entry added or changed,
so the writer computes their deltas itself as it goes (``delta()``: common prefix, short insert, common suffix)
and hands them in as ``PackObject(base=...)``. Deflating runs on a thread pool: ``zlib.compress`` releases the GIL.

Formats as in git's Documentation/gitformat-pack.txt; ``git verify-pack`` and ``git fsck`` check the output in
the tests.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

TREE = 2  # object type numbers as in the pack format (and in libgit2: commit 1, tree 2, blob 3)
OFS_DELTA = 6
MAX_DELTA_DEPTH = 50  # as git's default pack.depth: readers resolve at most this many deltas for one object
COMPRESSION = (
    6  # zlib level, git's default: level 1 writes the bench corpus ~1.4x faster, its pack ~15% larger
)
_CHUNK = 1 << 20  # objects are handed to the compressing threads in batches of about this many bytes


@dataclass(frozen=True)
class PackObject:
    oid: bytes  # raw 20-byte id
    kind: int  # 1 commit, 2 tree, 3 blob
    data: bytes  # the object's content, or with ``base`` set, a delta (``delta()``) that rebuilds it from the base
    base: bytes | None = None  # raw id of an object earlier in the same pack


def write_pack(pack_dir: Path, objects: Sequence[PackObject], threads: int = 2) -> str:
    """Write ``objects`` (in order) as ``pack-<sha>.pack`` and ``.idx`` under ``pack_dir``; returns the pack name.

    Both files are written under temporary names, fsynced and renamed, the index last, so a reader never sees an
    index without its pack and a crash leaves at most a ``tmp_`` file behind.
    """
    payloads, headers = _encode(objects)
    compressed = _compress_all(payloads, threads)
    count = len(objects)
    sha = hashlib.sha1()
    offsets: list[int] = []
    crcs: list[int] = []
    tmp_pack = pack_dir / f"tmp_pack_{os.getpid()}_{id(objects):x}"
    with open(tmp_pack, "wb") as out:
        head = b"PACK" + struct.pack(">II", 2, count)
        out.write(head)
        sha.update(head)
        position = len(head)
        for (header, base), body in zip(headers, compressed, strict=True):
            prefix = header if base is None else header + _ofs_bytes(position - offsets[base])
            offsets.append(position)
            crcs.append(zlib.crc32(body, zlib.crc32(prefix)))
            out.write(prefix)
            out.write(body)
            sha.update(prefix)
            sha.update(body)
            position += len(prefix) + len(body)
        trailer = sha.digest()
        out.write(trailer)
        out.flush()
        os.fsync(out.fileno())
    name = f"pack-{trailer.hex()}"
    index = _index_bytes([obj.oid for obj in objects], crcs, offsets, trailer)
    tmp_idx = pack_dir / f"tmp_idx_{os.getpid()}_{id(objects):x}"
    with open(tmp_idx, "wb") as out:
        out.write(index)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp_pack, pack_dir / f"{name}.pack")
    os.replace(tmp_idx, pack_dir / f"{name}.idx")
    _fsync_dir(pack_dir)
    return name


def _encode(objects: Sequence[PackObject]) -> tuple[list[bytes], list[tuple[bytes, int | None]]]:
    """Per object: the bytes to deflate and its header, the type-and-size bytes and, for a delta, its base's number."""
    number_of: dict[bytes, int] = {}
    payloads: list[bytes] = []
    headers: list[tuple[bytes, int | None]] = []
    for number, obj in enumerate(objects):
        number_of[obj.oid] = number
        payloads.append(obj.data)
        if obj.base is None:
            headers.append((_object_header(obj.kind, len(obj.data)), None))
        else:
            # OFS_DELTA points backwards, so the base must already be in this pack: the caller's invariant.
            headers.append((_object_header(OFS_DELTA, len(obj.data)), number_of[obj.base]))
    return payloads, headers


def _compress_all(payloads: list[bytes], threads: int) -> list[bytes]:
    batches: list[list[bytes]] = []
    batch: list[bytes] = []
    size = 0
    for payload in payloads:
        batch.append(payload)
        size += len(payload)
        if size >= _CHUNK:
            batches.append(batch)
            batch, size = [], 0
    if batch:
        batches.append(batch)
    if threads <= 1 or len(batches) <= 1:
        return [zlib.compress(payload, COMPRESSION) for payload in payloads]
    with ThreadPoolExecutor(threads) as pool:
        done = pool.map(_compress_batch, batches)
        return [body for bodies in done for body in bodies]


def _compress_batch(batch: list[bytes]) -> list[bytes]:
    return [zlib.compress(payload, COMPRESSION) for payload in batch]


def _object_header(kind: int, size: int) -> bytes:
    out = bytearray()
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def _ofs_bytes(distance: int) -> bytes:
    # Big-endian base-128 with an offset of one per continuation byte (gitformat-pack: "offset encoding").
    out = [distance & 0x7F]
    distance >>= 7
    while distance:
        distance -= 1
        out.append(0x80 | (distance & 0x7F))
        distance >>= 7
    return bytes(reversed(out))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _common_prefix(a: bytes, b: bytes, limit: int) -> int:
    # Binary search over slice comparisons: a handful of memcmp calls instead of a Python loop per byte.
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    low, high = 0, limit
    la, lb = len(a), len(b)
    while low < high:
        middle = (low + high + 1) // 2
        if a[la - middle : la - low] == b[lb - middle : lb - low]:
            low = middle
        else:
            high = middle - 1
    return low


def delta(base: bytes, target: bytes) -> bytes:
    """A git delta that rebuilds ``target`` from ``base``: copy the common prefix, insert the rest, copy the suffix."""
    limit = min(len(base), len(target))
    prefix = _common_prefix(base, target, limit)
    suffix = _common_suffix(base, target, limit - prefix)
    out = bytearray(_varint(len(base)) + _varint(len(target)))
    _copy(out, 0, prefix)
    middle = target[prefix : len(target) - suffix]
    for start in range(0, len(middle), 127):
        piece = middle[start : start + 127]
        out.append(len(piece))
        out += piece
    _copy(out, len(base) - suffix, suffix)
    return bytes(out)


def apply_delta(base: bytes, instructions: bytes) -> bytes:
    """The object a delta rebuilds from ``base`` (git's patch-delta), for reading back a buffered tree."""
    position = 0
    for _ in range(2):  # skip the base size and the result size
        while instructions[position] & 0x80:
            position += 1
        position += 1
    out = bytearray()
    while position < len(instructions):
        command = instructions[position]
        position += 1
        if command & 0x80:
            offset = size = 0
            for shift in range(4):
                if command & (1 << shift):
                    offset |= instructions[position] << (8 * shift)
                    position += 1
            for shift in range(3):
                if command & (0x10 << shift):
                    size |= instructions[position] << (8 * shift)
                    position += 1
            out += base[offset : offset + (size or 0x10000)]
        else:
            out += instructions[position : position + command]
            position += command
    return bytes(out)


def _copy(out: bytearray, offset: int, size: int) -> None:
    while size:
        chunk = min(size, 0xFFFFFF)
        command = 0x80
        arguments = bytearray()
        for shift in range(4):
            byte = (offset >> (8 * shift)) & 0xFF
            if byte:
                command |= 1 << shift
                arguments.append(byte)
        for shift in range(3):
            byte = (chunk >> (8 * shift)) & 0xFF
            if byte:
                command |= 0x10 << shift
                arguments.append(byte)
        out.append(command)
        out += arguments
        offset += chunk
        size -= chunk


def _index_bytes(oids: Iterable[bytes], crcs: list[int], offsets: list[int], pack_sha: bytes) -> bytes:
    order = sorted(zip(oids, crcs, offsets, strict=True))
    fanout = [0] * 256
    for oid, _, _ in order:
        fanout[oid[0]] += 1
    running = 0
    for byte in range(256):
        running += fanout[byte]
        fanout[byte] = running
    small: list[int] = []
    large: list[int] = []
    for _, _, offset in order:
        if offset < 0x80000000:
            small.append(offset)
        else:  # offsets past 2 GiB go to the 8-byte table, referenced with the high bit set
            small.append(0x80000000 | len(large))
            large.append(offset)
    parts = [
        b"\xfftOc",
        struct.pack(">I", 2),
        struct.pack(">256I", *fanout),
        b"".join(oid for oid, _, _ in order),
        struct.pack(f">{len(order)}I", *(crc for _, crc, _ in order)),
        struct.pack(f">{len(small)}I", *small),
        struct.pack(f">{len(large)}Q", *large),
        pack_sha,
    ]
    body = b"".join(parts)
    return body + hashlib.sha1(body).digest()


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
