"""Reading a release file's members in memory, under hard caps, turning every archive anomaly into a finding.

Nothing is ever written to disk, so no extraction filter is relied on (PEP 706's have been bypassed repeatedly,
REFERENCE.md §5.6): links, devices, absolute or ``..`` paths are reported and never followed. Sizes are checked
twice, from the headers before reading and while reading (a header can lie), so a bomb costs at most the caps:
bytes per member, bytes per release file, member count, expansion ratio, and the depth of archives inside
archives. A corrupt archive keeps the members read before the damage and adds a finding.
"""

from __future__ import annotations

import io
import itertools
import stat
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field

from pypi_platform.lib.scanner.findings import Finding

ZIP_SUFFIXES = (".whl", ".zip", ".egg")
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar")
_ZIP_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # signature ... name length, extra length
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
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        _check_zip_overlap(data, infos, prefix, contents)
        for info in infos:
            path = prefix + info.filename
            if not _admit(path, info.filename, contents, limits):
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
    declared = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for info in archive:  # headers one by one: nothing is extracted, no filter is involved
            path = prefix + info.name
            if not _admit(path, info.name, contents, limits):
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
            if declared > _SMALL and declared > limits.ratio * max(len(data), 1):
                # Skipping further members would still inflate the stream, so reading stops here.
                contents.flag(
                    "archive.bomb", path, f"{declared:,} bytes declared in a {len(data):,}-byte file"
                )
                return
            stream = archive.extractfile(info)
            if stream is not None:
                _keep(path, stream.read(limits.member_bytes + 1), limits, contents, depth)


def _admit(path: str, raw_name: str, contents: ArchiveContents, limits: Limits) -> bool:
    """False when reading must stop (member count); flags names that would escape a directory."""
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
