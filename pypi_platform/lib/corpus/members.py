"""One distribution file -> the corpus rows of its members: shard path, git blob id, skip reason, content.

Plain Python, in memory: the file's bytes are read as a zip (``.whl``, ``.zip``, ``.egg``) or a tar (``.tar.gz``,
``.tgz``, ``.tar.bz2``, ``.tbz2``, ``.tar.xz``, ``.txz``, ``.tar``), chosen by file name; a tar's compression is
then taken from its magic bytes, so a ``.tar.gz`` that is really plain tar still reads. Nothing is extracted,
links are never followed, and archives inside the archive are ordinary members.

Every member but a directory gets a row, in archive order (skip rules and paths: ``skip_rules``). Either the whole
archive reads, or ``Distribution.failure`` names why not and there are no rows: a shard never holds half a file.

Names are taken as bytes and decoded as UTF-8 with ``surrogateescape``, for tar and zip alike. A zip member
without the UTF-8 flag is re-encoded to the bytes it was stored as (``zipfile`` decoded them as cp437) before that
decoding, so ASCII names, and UTF-8 names written by tools that never set the flag, come out right, while a name in
a legacy code page is not UTF-8 and becomes ``invalid-name``: the corpus never guesses a code page. Such an
``archive_path`` holds lone surrogates; ``archive_path.encode("utf-8", "surrogateescape")`` gives the stored bytes
back (a Parquet string column needs e.g. ``errors="backslashreplace"``).

Memory and time are bounded by ``Limits``: a member above ``member_read_bytes`` is not read (``too-large``, size
from its header, no oid); the whole expansion is capped absolutely and, past a floor, relative to the compressed
size (``archive-bomb``). A tar's headers lie only at the reader's expense: the decompressed stream itself refuses
to go past the budget or to serve one oversized read (a PAX header declaring gigabytes). A zip's members are
checked against their declared sizes before anything is inflated; ``zipfile`` never inflates past a declared size.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from pypi_platform.lib.corpus import skip_rules as rules
from pypi_platform.lib.corpus.skip_rules import RULES_VERSION

__all__ = ["RULES_VERSION", "Distribution", "Limits", "MemberRow", "blob_oid", "read_distribution"]

ZIP_SUFFIXES = (".whl", ".zip", ".egg")
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar")
_DETAIL_CHARS = 200
_ZIP_CENTRAL_HEADER = b"PK\x01\x02"
_ZIP_UTF8_FLAG = 0x800
_ZIP_ENCRYPTED_FLAG = 0x1

# What a malformed archive can raise while being parsed or inflated; anything else is a bug and propagates.
_READ_ERRORS = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,  # includes gzip.BadGzipFile and bz2's "Invalid data stream"
    zlib.error,
    lzma.LZMAError,
    ValueError,  # includes UnicodeDecodeError (a zip flagged UTF-8 whose names are not) and bad header numbers
    OverflowError,
    struct.error,
)


@dataclass(frozen=True)
class Limits:
    """The reader's caps; the defaults are part of ``RULES_VERSION``."""

    member_read_bytes: int = 64 * rules.MIB  # above the largest committed member (5 MiB) with room for oids
    unpacked_bytes: int = 4 * 1024 * rules.MIB  # the largest real wheels expand to a few GiB
    # Uncompressed per compressed byte, beyond ratio_floor; deflate peaks near 1,000:1 (zeros), text is ~5-20:1.
    ratio: int = 500
    ratio_floor: int = 128 * rules.MIB  # below this, any ratio is cheap enough to read
    members: int = 100_000  # entries of every kind, directories included


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class MemberRow:
    archive_path: str  # the stored name, UTF-8 with surrogateescape for bytes that are not
    path: str  # sanitised, under the distribution's directory in the shard; "" when the name cannot be one
    size: int  # uncompressed bytes; from the header when the content was not read
    oid: bytes  # 20-byte git blob id of the content, skipped or not; b"" when the content was not read
    skip_reason: str  # "" = committed to git; otherwise a skip_rules reason
    lines: int  # newlines; 0 for binary content or none read
    data: bytes | None  # the content when committed; None otherwise, so skipped content is never held


@dataclass(frozen=True)
class Distribution:
    rows: list[MemberRow]  # archive order, directories left out; [] whenever failure is set
    failure: str  # "" when the archive read; else corrupt-archive, archive-bomb, too-many-members, ...
    detail: str  # what went wrong, for people, at most 200 characters


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    kind: str  # "file", "dir", "link", "special", "unreadable"
    size: int
    data: bytes | None  # None when not read (not a file, or larger than the read cap)


class _Refused(Exception):
    """An archive-level failure found by the caps rather than by a parser."""

    def __init__(self, failure: str, detail: str) -> None:
        super().__init__(detail)
        self.failure = failure


def blob_oid(data: bytes) -> bytes:
    """The git blob id of ``data`` (what ``git hash-object`` prints, as 20 raw bytes)."""
    digest = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    digest.update(data)
    return digest.digest()


def read_distribution(filename: str, data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Distribution:
    """Every member of the distribution file ``filename`` (its bytes ``data``) as a row, or a failure."""
    lower = filename.lower()
    if lower.endswith(ZIP_SUFFIXES):
        entries = _zip_entries(data, limits)
    elif lower.endswith(TAR_SUFFIXES):
        entries = _tar_entries(data, limits)
    else:
        return Distribution([], rules.UNSUPPORTED_FORMAT, "not a zip or tar file name")
    try:
        return Distribution(_rows(entries), "", "")
    except _Refused as refused:
        return Distribution([], refused.failure, str(refused)[:_DETAIL_CHARS])
    except _READ_ERRORS as exc:
        return Distribution([], rules.CORRUPT_ARCHIVE, f"{type(exc).__name__}: {exc}"[:_DETAIL_CHARS])


def _rows(entries: Iterator[_Entry]) -> list[MemberRow]:
    rows: list[MemberRow] = []
    files: set[str] = set()  # paths taken by a member
    directories: set[str] = set()  # their parent directories: a file may not take one of these either
    for entry in entries:
        if entry.kind == "dir":
            continue  # git has no empty directories; a directory's members carry its path
        components, reason = rules.split_name(entry.name)
        path = ""
        if not reason:
            path, reason = rules.tree_path(components)
        if entry.kind == "link":
            reason = rules.LINK
        elif entry.kind == "special":
            reason = rules.SPECIAL_FILE
        if path:
            # The first member to name a path keeps it whatever its own fate; a later one that names it again, or
            # names a file where a directory already is (or the reverse), would make a second or impossible tree
            # entry.
            parts = path.split("/")
            parents = ["/".join(parts[:depth]) for depth in range(1, len(parts))]
            if path in files or path in directories or any(parent in files for parent in parents):
                reason = reason or rules.DUPLICATE
            else:
                files.add(path)
                directories.update(parents)
        if not reason and entry.kind == "unreadable":
            reason = rules.UNREADABLE
        if not reason:
            reason = rules.content_reason(components, entry.data, entry.size)
        content = entry.data
        rows.append(
            MemberRow(
                archive_path=entry.name,
                path=path,
                size=len(content) if content is not None else entry.size,
                oid=blob_oid(content) if content is not None else b"",
                skip_reason=reason,
                lines=rules.count_lines(content) if content is not None else 0,
                data=content if not reason else None,
            )
        )
    return rows


def _budget(compressed: int, limits: Limits) -> int:
    return min(limits.unpacked_bytes, max(limits.ratio_floor, limits.ratio * compressed))


def _bomb_detail(declared: int, compressed: int) -> str:
    return f"{declared:,} bytes unpacked from {compressed:,} exceeds the caps"


# ---- zip ---------------------------------------------------------------------------------------------------


def _zip_entries(data: bytes, limits: Limits) -> Iterator[_Entry]:
    # zipfile builds an object per central-directory record before anything can be counted; every record
    # starts with this signature, so counting it first bounds that memory (an overcount needs a member's
    # compressed bytes to contain it, and only matters within a hair of the cap).
    if data.count(_ZIP_CENTRAL_HEADER) > limits.members:
        raise _Refused(rules.TOO_MANY_MEMBERS, f"more than {limits.members:,} members")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > limits.members:
            raise _Refused(rules.TOO_MANY_MEMBERS, f"{len(infos):,} members, more than {limits.members:,}")
        declared = sum(info.file_size for info in infos)
        if declared > _budget(len(data), limits):
            raise _Refused(rules.ARCHIVE_BOMB, _bomb_detail(declared, len(data)))
        for info in infos:
            yield _zip_entry(archive, info, limits)


def _zip_name(info: zipfile.ZipInfo) -> str:
    # orig_filename, not filename: zipfile cuts the latter at a NUL, which would hide an invalid name.
    stored = info.orig_filename.encode("utf-8" if info.flag_bits & _ZIP_UTF8_FLAG else "cp437")
    return stored.decode("utf-8", "surrogateescape")


def _zip_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> _Entry:
    name = _zip_name(info)
    file_type = stat.S_IFMT(info.external_attr >> 16)  # Unix mode, when the writer recorded one
    if name.replace("\\", "/").endswith("/") or file_type == stat.S_IFDIR:
        return _Entry(name, "dir", 0, None)
    if file_type == stat.S_IFLNK:
        return _Entry(name, "link", info.file_size, None)
    if file_type in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
        return _Entry(name, "special", info.file_size, None)
    if info.file_size > limits.member_read_bytes:
        return _Entry(name, "file", info.file_size, None)
    if info.flag_bits & _ZIP_ENCRYPTED_FLAG:
        return _Entry(name, "unreadable", info.file_size, None)
    try:
        stream = archive.open(info)
    except NotImplementedError:  # a compression method Python has no decoder for (deflate64, AES, ...)
        return _Entry(name, "unreadable", info.file_size, None)
    with stream:
        return _Entry(name, "file", info.file_size, stream.read(limits.member_read_bytes + 1))


# ---- tar ---------------------------------------------------------------------------------------------------


class _StrictTarInfo(tarfile.TarInfo):
    """tarfile ends an archive quietly at a damaged or missing header after the first; here that is an error.

    Only a zero block ends a tar cleanly: every tar writer puts two there, and a plain tar cut on a block boundary
    would otherwise read as a shorter, valid archive.
    """

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        try:
            return super().fromtarfile(tarfile_)
        except (tarfile.TruncatedHeaderError, tarfile.InvalidHeaderError, tarfile.EmptyHeaderError) as exc:
            reason = str(exc) or "no end-of-archive block"
            raise tarfile.ReadError(f"damaged header at byte {tarfile_.offset:,}: {reason}") from None


class _BudgetedStream:
    """A forward-reading view of a (decompressed) tar stream that stops at the caps instead of producing more.

    tarfile trusts the sizes in headers: it would read a PAX header declaring 10 GB in one call. Here a single
    read above ``largest_read`` or a position past ``budget`` is refused before anything is decompressed.
    """

    def __init__(self, raw: io.BufferedIOBase | io.BytesIO, budget: int, largest_read: int, compressed: int):
        self._raw = raw
        self._budget = budget
        self._largest_read = largest_read
        self._compressed = compressed
        self._position = 0

    def _check(self, end: int) -> None:
        if end > self._budget:
            raise _Refused(rules.ARCHIVE_BOMB, _bomb_detail(end, self._compressed))

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            raise ValueError("unbounded read of a tar stream")  # tarfile's reader mode never asks for one
        if size > self._largest_read:
            raise _Refused(rules.ARCHIVE_BOMB, f"a {size:,}-byte header or read in a tar stream")
        self._check(self._position + size)
        chunk = self._raw.read(size)
        self._position += len(chunk)
        return chunk

    def seek(self, position: int, whence: int = io.SEEK_SET) -> int:
        if whence != io.SEEK_SET:
            raise ValueError("tar streams are only sought to absolute positions")
        self._check(position)
        self._position = self._raw.seek(position)
        return self._position

    def tell(self) -> int:
        return self._position

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True


def _decompressed(data: bytes) -> io.BufferedIOBase | io.BytesIO:
    raw = io.BytesIO(data)
    if data.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if data.startswith(b"BZh"):
        return bz2.BZ2File(raw)
    if data.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw)
    return raw  # plain tar, whatever the name says


def _tar_entries(data: bytes, limits: Limits) -> Iterator[_Entry]:
    budget = _budget(len(data), limits)
    stream = _BudgetedStream(
        _decompressed(data), budget, limits.member_read_bytes + tarfile.BLOCKSIZE, len(data)
    )
    # "r:" (seekable, uncompressed) over our own stream: only forward seeks happen, each one budget-checked, so
    # skipping a member that declares gigabytes is refused before it is inflated.
    with tarfile.open(
        fileobj=stream,
        mode="r:",
        tarinfo=_StrictTarInfo,
        encoding="utf-8",
        errors="surrogateescape",
    ) as archive:
        for count, info in enumerate(archive, start=1):
            if count > limits.members:
                raise _Refused(rules.TOO_MANY_MEMBERS, f"more than {limits.members:,} members")
            yield _tar_entry(archive, info, limits)


def _tar_entry(archive: tarfile.TarFile, info: tarfile.TarInfo, limits: Limits) -> _Entry:
    if info.isdir():
        return _Entry(info.name, "dir", 0, None)
    if info.issym() or info.islnk():
        return _Entry(info.name, "link", info.size, None)
    if not info.isreg():  # devices, FIFOs, and type flags tarfile does not know
        return _Entry(info.name, "special", info.size, None)
    if info.size > limits.member_read_bytes:
        return _Entry(info.name, "file", info.size, None)
    stream = archive.extractfile(info)
    content = stream.read(info.size) if stream is not None else b""
    if len(content) != info.size:
        raise tarfile.ReadError(f"{info.name!r}: {len(content):,} of {info.size:,} bytes")
    return _Entry(info.name, "file", info.size, content)
