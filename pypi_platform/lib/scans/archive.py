"""Reading a release file's members in memory, under hard caps, turning every archive anomaly into a finding.

Nothing is ever written to disk, so no extraction filter is relied on (PEP 706's have been bypassed
repeatedly): links, devices, absolute or ``..`` paths are reported and never followed. Sizes are checked
twice, from the headers before reading and while reading (a header can lie), so a bomb costs at most the caps:
bytes per member, bytes per release file, member count, expansion ratio, and the depth of archives inside
archives. A corrupt archive keeps the members read before the damage and adds a finding.

Names are checked too: two members of one name (installers disagree on which one wins, so a reviewer can read
one file while pip installs the other) and names that are not valid UTF-8 (tools show them differently, and a
path on the scanning machine's disk must not depend on them) are findings; such a name is kept with U+FFFD in
place of its undecodable bytes, so paths in records are always text.

A tar.gz whose gzip stream decompresses cleanly within the expansion ratio (and 64 MiB) is decompressed in one call
and its members sliced out of the result; when that tar holds only regular files and directories with ASCII
headers (ustar, GNU or pax), a plain reader of ours reads the headers the way tarfile does, without its field by
field parsing in Python. Read member by member through tarfile and gzip's Python layer, the 40 sdists of
``bench/scan_throughput`` take 1.7 times as long. Anything unexpected on that path (a damaged or multi-member
stream, a member running past the data) reads the archive again the standard way, from scratch, so the findings
never depend on the path taken.
"""

from __future__ import annotations

import io
import itertools
import posixpath
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field

from pypi_platform.lib.scans.findings import Finding

ZIP_SUFFIXES = (".whl", ".zip", ".egg")
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar")
_ZIP_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # signature ... name length, extra length
_ZIP_CENTRAL_HEADER = struct.Struct(
    "<4s6H3L5H2L"
)  # signature, versions, flags, ... name, extra, comment lengths
_ZIP_END = struct.Struct("<4s4H2LH")  # end of central directory: ... size, offset, comment length
_ZIP_UTF8_FLAG = 0x800  # general purpose bit 11: the name is UTF-8
_SMALL = 1 << 20  # below this many bytes, a high expansion ratio is normal (text compresses well)


@dataclass(frozen=True)
class Limits:
    member_bytes: int = 16 * 2**20
    total_bytes: int = 256 * 2**20
    members: int = 20_000
    ratio: int = 200  # uncompressed bytes per compressed byte
    depth: int = 2  # archives inside archives inside the release file


@dataclass(frozen=True)
class Member:
    path: str  # relative to the release file; a nested archive's members read "inner.zip!pkg/x.py"
    data: bytes


@dataclass
class ArchiveContents:
    members: list[Member] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    total_bytes: int = 0
    entries: int = 0  # members seen, of every kind, across nested archives

    def flag(self, rule: str, path: str, evidence: str) -> None:
        self.findings.append(Finding.of(rule, path, evidence=evidence))


def is_archive(name: str) -> bool:
    return name.lower().endswith(ZIP_SUFFIXES + TAR_SUFFIXES)


def read_archive(data: bytes, filename: str, limits: Limits = Limits()) -> ArchiveContents:
    """Every regular member of the release file ``filename`` (its bytes ``data``) that passes the caps."""
    contents = ArchiveContents()
    _read(data, filename, "", limits, contents, depth=0)
    return contents


def _read(data: bytes, name: str, prefix: str, limits: Limits, contents: ArchiveContents, depth: int) -> None:
    lower = name.lower()
    try:
        if lower.endswith(ZIP_SUFFIXES):
            _read_zip(data, prefix, limits, contents, depth)
        elif lower.endswith(TAR_SUFFIXES):
            _read_tar(data, prefix, limits, contents, depth)
        else:
            contents.flag("archive.unknown-format", prefix.rstrip("!") or name, "not a zip or tar archive")
    except (
        tarfile.TarError,
        zipfile.BadZipFile,
        EOFError,
        zlib.error,
        OSError,
        ValueError,
        struct.error,
    ) as exc:
        # lzma and bz2 raise their own errors as OSError/EOFError/ValueError; members read so far are kept.
        contents.flag("archive.corrupt", prefix.rstrip("!") or name, f"{type(exc).__name__}: {exc}"[:200])


def _read_zip(data: bytes, prefix: str, limits: Limits, contents: ArchiveContents, depth: int) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        utf8_flagged: set[int] = set()
    except UnicodeDecodeError:
        # A name flagged UTF-8 that is not: zipfile refuses the whole archive. Read it with the flags cleared
        # (names then decode as cp437, which never fails) and check the flagged names' bytes ourselves.
        data, utf8_flagged = _without_utf8_flags(data)
        archive = zipfile.ZipFile(io.BytesIO(data))
    with archive:
        infos = archive.infolist()
        _check_zip_overlap(data, infos, prefix, contents)
        seen: set[str] = set()
        for index, info in enumerate(infos):
            name = _zip_name(info, index in utf8_flagged, prefix, contents)
            path = prefix + name
            if not _admit(path, name, contents, limits, seen, directory=info.is_dir()):
                return
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                contents.flag("archive.link", path, "symbolic link member (not followed)")
                continue
            if info.is_dir():
                continue
            if info.file_size > limits.member_bytes:
                contents.flag("archive.oversize-member", path, f"{info.file_size:,} bytes declared")
                continue
            if info.file_size > _SMALL and info.file_size > limits.ratio * max(info.compress_size, 1):
                contents.flag(
                    "archive.bomb", path, f"expands {info.file_size:,} from {info.compress_size:,} bytes"
                )
                continue
            with archive.open(info) as stream:
                _keep(path, stream.read(limits.member_bytes + 1), limits, contents, depth)


def _zip_name(info: zipfile.ZipInfo, utf8_flagged: bool, prefix: str, contents: ArchiveContents) -> str:
    """The member's name as text. Unflagged names are cp437 by the format, but most tools write UTF-8 without
    setting the flag, so bytes that decode as UTF-8 are read as UTF-8."""
    if info.flag_bits & _ZIP_UTF8_FLAG or info.filename.isascii():
        return info.filename
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        name = raw.decode("utf-8", "replace")
    if utf8_flagged:
        contents.flag("archive.non-utf8-name", prefix + name, f"flagged UTF-8 but is not: {raw[:80]!r}")
    else:
        contents.flag("archive.non-utf8-name", prefix + name, f"not UTF-8: {raw[:80]!r}")
    return name


def _without_utf8_flags(data: bytes) -> tuple[bytes, set[int]]:
    """A copy of a zip with bit 11 cleared in every entry's headers, and the indexes of the entries it was set in."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + _ZIP_END.size > len(data):
        raise zipfile.BadZipFile("no end of central directory")
    *_, size, offset, _comment = _ZIP_END.unpack_from(data, end)
    patched, flagged, position, index = bytearray(data), set(), offset, 0
    while position + _ZIP_CENTRAL_HEADER.size <= min(offset + size, len(data)):
        header = _ZIP_CENTRAL_HEADER.unpack_from(data, position)
        if header[0] != b"PK\x01\x02":
            break
        if header[3] & _ZIP_UTF8_FLAG:
            flagged.add(index)
            struct.pack_into("<H", patched, position + 8, header[3] & ~_ZIP_UTF8_FLAG)
            local = header[16]  # the local header repeats the flags, and zipfile checks the name there too
            if data[local : local + 4] == b"PK\x03\x04":
                (local_flags,) = struct.unpack_from("<H", data, local + 6)
                struct.pack_into("<H", patched, local + 6, local_flags & ~_ZIP_UTF8_FLAG)
        position += _ZIP_CENTRAL_HEADER.size + header[10] + header[11] + header[12]
        index += 1
    return bytes(patched), flagged


def _check_zip_overlap(
    data: bytes, infos: list[zipfile.ZipInfo], prefix: str, contents: ArchiveContents
) -> None:
    """Entries whose data runs into the next entry's header: the overlapping-entry bomb (CVE-2024-0450)."""
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for info, following in itertools.pairwise(ordered):
        header = data[info.header_offset : info.header_offset + _ZIP_LOCAL_HEADER.size]
        if len(header) < _ZIP_LOCAL_HEADER.size:
            raise zipfile.BadZipFile(f"truncated local header of {info.filename}")
        *_, name_length, extra_length = _ZIP_LOCAL_HEADER.unpack(header)
        end = info.header_offset + _ZIP_LOCAL_HEADER.size + name_length + extra_length + info.compress_size
        if end > following.header_offset:
            contents.flag(
                "archive.overlapping-entries", prefix + info.filename, f"overlaps {following.filename}"
            )


def _read_tar(data: bytes, prefix: str, limits: Limits, contents: ArchiveContents, depth: int) -> None:
    # tarfile reading through gzip's Python layer costs a fifth more than headers read from the whole stream
    # decompressed at once, with members sliced out of it. That fast path is taken only for a stream that
    # decompresses cleanly within bounds, and it starts again the standard way, from scratch, at anything it does
    # not expect, so what is found never depends on which path read the archive.
    raw = _gunzipped(data, limits)
    if raw is not None:
        mark = (len(contents.members), len(contents.findings), contents.total_bytes, contents.entries)
        try:
            headers = _plain_tar_headers(raw)
            if headers is not None:
                _read_tar_entries(headers, raw, len(data), prefix, limits, contents, depth)
            else:
                with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
                    _read_tar_entries(archive, raw, len(data), prefix, limits, contents, depth)
            return
        except Exception:  # the standard path below meets the same trouble and reports it as it always did
            del contents.members[mark[0] :], contents.findings[mark[1] :]
            contents.total_bytes, contents.entries = mark[2], mark[3]
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        _read_tar_entries(archive, None, len(data), prefix, limits, contents, depth)


_GZIP_MAGIC = b"\x1f\x8b"
_FAST_TAR_BYTES = 64 * 2**20  # larger streams are read the standard way, a member at a time


def _gunzipped(data: bytes, limits: Limits) -> bytes | None:
    """The whole decompressed stream of a single-member gzip file, or None for anything else: another format, a
    damaged or truncated stream, data after it, or more than the limits let a tar of this size expand to."""
    if not data.startswith(_GZIP_MAGIC):
        return None
    bound = min(_FAST_TAR_BYTES, limits.total_bytes, max(_SMALL, limits.ratio * len(data)))
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        raw = decompressor.decompress(data, bound + 1)
    except zlib.error:
        return None
    if not decompressor.eof or decompressor.unused_data or len(raw) > bound:
        return None
    return raw


_BLOCK = 512
_REGULAR, _OLD_REGULAR, _DIRECTORY, _PAX = b"0", b"\0", b"5", b"x"
# The pax keywords the plain reader accepts, none of which changes where a member is or how big: any other (size,
# linkpath, hdrcharset, sparse maps, vendors' keywords) sends the archive to tarfile.
_PAX_KEYWORDS = frozenset({b"path", b"mtime", b"atime", b"ctime", b"uid", b"gid", b"uname", b"gname"})
_PAX_RECORD = re.compile(rb"([0-9]{1,20}) ")  # tarfile's own test of a record's start


class _TarHeader:
    """A regular file or directory as the entries loop reads it, in the interface of tarfile.TarInfo."""

    __slots__ = ("directory", "mode", "name", "offset_data", "size")
    linkname = ""
    sparse = None

    def __init__(self, name: str, directory: bool, mode: int, size: int, offset_data: int) -> None:
        self.name, self.directory, self.mode, self.size, self.offset_data = (
            name,
            directory,
            mode,
            size,
            offset_data,
        )

    def isdir(self) -> bool:
        return self.directory

    def isreg(self) -> bool:
        return not self.directory

    def issym(self) -> bool:
        return False

    islnk = ischr = isblk = isfifo = isdev = issym


def _plain_tar_headers(raw: bytes) -> list[_TarHeader] | None:
    """The members of an uncompressed tar, read as tarfile reads them (tarfile parses each header field by field
    in Python, half the cost of reading a tar.gz), when the tar holds only regular files and directories with
    ASCII headers, in ustar, GNU or pax spelling; None for anything else, which tarfile then reads."""
    headers: list[_TarHeader] = []
    offset, pax_path, after_pax = 0, None, False
    try:
        while True:
            block = raw[offset : offset + _BLOCK]
            if len(block) < _BLOCK or not block.isascii():
                return None  # the end without end-of-archive blocks, binary numbers, non-ASCII names
            if not block.strip(b"\0"):
                return None if after_pax else headers  # the end-of-archive block
            numbers = [_octal(block[start : start + 8]) for start in (100, 108, 116, 329, 337)]
            size, _mtime = _octal(block[124:136]), _octal(block[136:148])
            if _octal(block[148:156]) != 256 + sum(block) - sum(block[148:156]):
                return None  # tarfile also accepts a checksum of signed bytes
            kind = block[156:157]
            if kind == _PAX:
                if after_pax:
                    return None
                padded = -(-size // _BLOCK) * _BLOCK
                records = raw[offset + _BLOCK : offset + _BLOCK + padded]
                if len(records) < padded:
                    return None
                found = _pax_path(records)
                if found is False:
                    return None
                pax_path = found if found is not None else pax_path
                offset += _BLOCK + padded
                after_pax = True
                continue
            if kind not in (_REGULAR, _OLD_REGULAR, _DIRECTORY):
                return None
            name = _nts(block[0:100])
            directory = kind == _DIRECTORY or (kind == _OLD_REGULAR and name.endswith("/"))
            if directory:
                name = name.rstrip("/")
            prefix = _nts(block[345:500])
            if prefix:
                name = prefix + "/" + name
            if after_pax and pax_path is not None:
                name = pax_path.rstrip("/")
            headers.append(_TarHeader(name, directory, numbers[0], size, offset + _BLOCK))
            offset += _BLOCK + (0 if directory else -(-size // _BLOCK) * _BLOCK)
            pax_path, after_pax = None, False
    except ValueError:  # a number tarfile would refuse too; it decides what that means
        return None


def _nts(field: bytes) -> str:
    end = field.find(b"\0")
    return (field if end < 0 else field[:end]).decode("ascii")


def _octal(field: bytes) -> int:
    """A header number as tarfile reads one (text up to a NUL, blanks around it, base 8); ValueError if it is not."""
    return int(_nts(field).strip() or "0", 8)


def _pax_path(records: bytes) -> str | bool | None:
    """The path a pax extended header gives (None if none), or False if it holds anything the plain reader leaves
    to tarfile. The records are checked as tarfile checks them."""
    position, path = 0, None
    while position < len(records) and records[position] != 0:
        match = _PAX_RECORD.match(records, position)
        if match is None:
            return False
        length = int(match.group(1))
        last = match.start(1) + length - 1
        if length < 5 or position + length > len(records):
            return False
        keyword, equals, value = records[match.end(1) + 1 : last].partition(b"=")
        if not keyword or equals != b"=" or records[last] != 0x0A:
            return False
        if keyword not in _PAX_KEYWORDS or not value.isascii():
            return False
        if keyword == b"path":
            path = value.decode("ascii")
        position += length
    return path


class _UnexpectedMember(Exception):
    """A member the fast path leaves to the standard one (sparse, or running past the data)."""


def _read_tar_entries(
    archive: tarfile.TarFile | list[_TarHeader],
    raw: bytes | None,
    compressed_size: int,
    prefix: str,
    limits: Limits,
    contents: ArchiveContents,
    depth: int,
) -> None:
    """Every member of an opened tar; `raw`, if given, is the whole uncompressed tar to slice members from."""
    declared = 0
    seen: set[str] = set()
    for info in archive:  # headers one by one: nothing is extracted, no filter is involved
        name = _tar_name(info.name, prefix, contents)
        path = prefix + name
        if not _admit(path, name, contents, limits, seen, directory=info.isdir()):
            return
        if info.issym() or info.islnk():
            kind = "symbolic" if info.issym() else "hard"
            contents.flag("archive.link", path, f"{kind} link to {info.linkname!r} (not followed)"[:200])
            continue
        if info.ischr() or info.isblk() or info.isfifo() or info.isdev():
            contents.flag("archive.special-file", path, "device or FIFO member")
            continue
        if info.isdir() or not info.isreg():
            continue
        if info.mode & (stat.S_ISUID | stat.S_ISGID):
            contents.flag("archive.setuid", path, f"mode {info.mode:o}")
        if info.size > limits.member_bytes:
            contents.flag("archive.oversize-member", path, f"{info.size:,} bytes declared")
            continue
        declared += info.size
        if declared > _SMALL and declared > limits.ratio * max(compressed_size, 1):
            # Skipping further members would still inflate the stream, so reading stops here.
            contents.flag(
                "archive.bomb", path, f"{declared:,} bytes declared in a {compressed_size:,}-byte file"
            )
            return
        if raw is not None:
            end = info.offset_data + info.size
            if info.sparse is not None or end > len(raw):
                raise _UnexpectedMember(path)
            _keep(path, raw[info.offset_data : end], limits, contents, depth)
            continue
        stream = archive.extractfile(info)
        if stream is not None:
            _keep(path, stream.read(limits.member_bytes + 1), limits, contents, depth)


def _tar_name(name: str, prefix: str, contents: ArchiveContents) -> str:
    """tarfile decodes names as UTF-8 with surrogate escapes: a lone surrogate is a byte that was not UTF-8."""
    if name.isascii():
        return name
    raw = name.encode("utf-8", "surrogateescape")
    text = raw.decode("utf-8", "replace")
    if text != name:
        contents.flag("archive.non-utf8-name", prefix + text, f"not UTF-8: {raw[:80]!r}")
    return text


def _admit(
    path: str, raw_name: str, contents: ArchiveContents, limits: Limits, seen: set[str], *, directory: bool
) -> bool:
    """False when reading must stop (member count); flags names that would escape a directory or repeat."""
    contents.entries += 1
    if contents.entries > limits.members:
        contents.flag(
            "archive.too-many-members", path, f"more than {limits.members:,} members; the rest not read"
        )
        return False
    name = raw_name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        contents.flag("archive.absolute-path", path, "member path is absolute")
    elif ".." in name.split("/"):
        contents.flag("archive.parent-path", path, "member path climbs out with '..'")
    # "pkg/./x.py" and "pkg//x.py" land where "pkg/x.py" does; a directory listed twice is harmless.
    key = posixpath.normpath(name.rstrip("/"))
    if not directory:
        if key in seen:
            contents.flag(
                "archive.duplicate-member", path, "a member of this name came earlier in the archive"
            )
        seen.add(key)
    return True


def _keep(path: str, data: bytes, limits: Limits, contents: ArchiveContents, depth: int) -> None:
    if len(data) > limits.member_bytes:  # the header understated the size
        contents.flag("archive.oversize-member", path, f"more than {limits.member_bytes:,} bytes read")
        return
    if contents.total_bytes + len(data) > limits.total_bytes:
        contents.flag("archive.total-size", path, f"release file expands past {limits.total_bytes:,} bytes")
        return
    contents.total_bytes += len(data)
    if is_archive(path):
        if depth + 1 > limits.depth:
            contents.flag("archive.nested-too-deep", path, f"archive nested deeper than {limits.depth}")
        else:
            _read(data, path, path + "!", limits, contents, depth + 1)
        return
    contents.members.append(Member(path, data))
