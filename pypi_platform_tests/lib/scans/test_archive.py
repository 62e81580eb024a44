"""The archive reader against real and adversarial archives: every anomaly is a finding, nothing touches disk."""

import gzip
import io
import stat
import tarfile
import zipfile

import pytest

from pypi_platform.lib.scans.archive import Limits, _plain_tar_headers, read_archive
from pypi_platform_testkit.dists import build_sdist, build_wheel


def _tar_gz(*entries: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, **attrs) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in attrs.items():
        setattr(info, key, value)
    return info


def _zip(*entries: tuple[str, bytes], mode: int | None = None) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            archive.writestr(info, data)
    return raw.getvalue()


def _rules(contents) -> list[tuple[str, str]]:
    return sorted((finding.rule, finding.path) for finding in contents.findings)


def test_a_real_wheel_and_sdist_read_cleanly(tmp_path):
    for filename, data in (build_wheel("demo", "1.0"), build_sdist("demo", "1.0")):
        contents = read_archive(data, filename)
        assert contents.findings == []
        assert any(member.path.endswith("__init__.py") for member in contents.members)
    assert list(tmp_path.iterdir()) == [], "nothing was written to disk"


def test_absolute_and_parent_paths_are_findings_and_never_written(tmp_path):
    data = _tar_gz(
        (_member("/etc/evil.py"), b"x = 1\n"),
        (_member("pkg/../../escape.py"), b"x = 2\n"),
        (_member("C:\\windows\\x.py"), b"x = 3\n"),
        (_member("pkg/ok.py"), b"x = 4\n"),
    )
    contents = read_archive(data, "pkg-1.0.tar.gz")
    assert _rules(contents) == [
        ("archive.absolute-path", "/etc/evil.py"),
        ("archive.absolute-path", "C:\\windows\\x.py"),
        ("archive.parent-path", "pkg/../../escape.py"),
    ]
    assert {m.path for m in contents.members} >= {"pkg/ok.py"}  # content is still scanned, in memory
    assert list(tmp_path.iterdir()) == []


def test_links_devices_and_setuid_members_are_findings_and_reading_goes_on():
    data = _tar_gz(
        (_member("pkg/passwd", tarfile.SYMTYPE, linkname="/etc/passwd"), None),
        (_member("pkg/hard", tarfile.LNKTYPE, linkname="pkg/ok.py"), None),
        (_member("pkg/null", tarfile.CHRTYPE, devmajor=1, devminor=3), None),
        (_member("pkg/pipe", tarfile.FIFOTYPE), None),
        (_member("pkg/suid.sh", mode=0o4755), b"#!/bin/sh\n"),
        (_member("pkg/ok.py"), b"x = 1\n"),
    )
    contents = read_archive(data, "pkg-1.0.tar.gz")
    assert _rules(contents) == [
        ("archive.link", "pkg/hard"),
        ("archive.link", "pkg/passwd"),
        ("archive.setuid", "pkg/suid.sh"),
        ("archive.special-file", "pkg/null"),
        ("archive.special-file", "pkg/pipe"),
    ]
    assert sorted(m.path for m in contents.members) == ["pkg/ok.py", "pkg/suid.sh"]


def test_a_zip_symlink_is_a_finding_not_a_file():
    data = _zip(("pkg/link", b"/etc/passwd"), mode=stat.S_IFLNK | 0o777)
    contents = read_archive(data, "pkg-1.0-py3-none-any.whl")
    assert _rules(contents) == [("archive.link", "pkg/link")]
    assert contents.members == []


def test_a_tar_gz_ratio_bomb_stops_reading_without_inflating_it():
    bomb = _tar_gz((_member("pkg/zeros.bin"), bytes(10 * 2**20)), (_member("pkg/after.py"), b"x = 1\n"))
    assert len(bomb) < 20_000
    contents = read_archive(bomb, "pkg-1.0.tar.gz", Limits(member_bytes=64 * 2**20))
    assert _rules(contents) == [("archive.bomb", "pkg/zeros.bin")]
    assert contents.total_bytes == 0


def test_an_oversize_member_is_flagged_from_its_header_in_tar_and_zip():
    big = b"a" * 4096
    limits = Limits(member_bytes=1000)
    tar_contents = read_archive(_tar_gz((_member("pkg/big.py"), big)), "p-1.tar.gz", limits)
    zip_contents = read_archive(_zip(("pkg/big.py", big)), "p-1-py3-none-any.whl", limits)
    assert _rules(tar_contents) == _rules(zip_contents) == [("archive.oversize-member", "pkg/big.py")]


def test_a_zip_member_expanding_far_beyond_its_compressed_size_is_a_bomb():
    contents = read_archive(_zip(("pkg/zeros.bin", bytes(8 * 2**20))), "p-1-py3-none-any.whl")
    assert _rules(contents) == [("archive.bomb", "pkg/zeros.bin")]


def test_total_size_and_member_count_caps():
    files = [(_member(f"pkg/m{i}.py"), b"x" * 600) for i in range(5)]
    by_size = read_archive(_tar_gz(*files), "p-1.tar.gz", Limits(total_bytes=2000))
    assert [f.rule for f in by_size.findings] == ["archive.total-size"] * 2
    assert len(by_size.members) == 3
    by_count = read_archive(_tar_gz(*files), "p-1.tar.gz", Limits(members=2))
    assert [f.rule for f in by_count.findings] == ["archive.too-many-members"]
    assert len(by_count.members) == 2


def test_a_corrupt_archive_keeps_what_was_read_and_is_a_finding():
    whole = _tar_gz((_member("pkg/a.py"), b"a = 1\n" * 2000), (_member("pkg/b.py"), b"b = 2\n" * 2000))
    truncated = gzip.compress(gzip.decompress(whole)[:4096])  # the second member's data is cut off
    contents = read_archive(truncated, "p-1.tar.gz")
    assert [f.rule for f in contents.findings] == ["archive.corrupt"]
    not_a_zip = read_archive(b"PK\x03\x04 not really a zip", "p-1-py3-none-any.whl")
    assert _rules(not_a_zip) == [("archive.corrupt", "p-1-py3-none-any.whl")]


def test_overlapping_zip_entries_are_a_finding():
    data = bytearray(_zip(("a.py", b"a" * 100), ("b.py", b"b" * 100)))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        first, second = archive.infolist()
    # Point the second central-directory entry at the first entry's local header: two names, one payload.
    central = data.rfind(b"PK\x01\x02")
    data[central + 42 : central + 46] = first.header_offset.to_bytes(4, "little")
    data[central + 20 : central + 24] = second.compress_size.to_bytes(4, "little")
    contents = read_archive(bytes(data), "p-1-py3-none-any.whl")
    assert "archive.overlapping-entries" in {f.rule for f in contents.findings}


def test_nested_archives_are_read_to_a_depth_and_then_flagged():
    inner = _zip(("evil.py", b"exec(payload)\n"))
    middle = _zip(("inner.zip", inner))
    outer = _tar_gz((_member("pkg/middle.zip"), middle))
    deep = read_archive(outer, "p-1.tar.gz", Limits(depth=2))
    assert [m.path for m in deep.members] == ["pkg/middle.zip!inner.zip!evil.py"]
    shallow = read_archive(outer, "p-1.tar.gz", Limits(depth=1))
    assert _rules(shallow) == [("archive.nested-too-deep", "pkg/middle.zip!inner.zip")]


def _renamed(data: bytes, old: bytes, new: bytes) -> bytes:
    """The archive with a member name's bytes replaced in both zip headers (same length, so offsets hold)."""
    assert len(old) == len(new) and data.count(old) == 2
    return data.replace(old, new)


def test_archive_non_utf8_name_in_a_zip_with_and_without_the_utf8_flag():
    flagged = _renamed(_zip(("pkg/\u00e9.py", b"x = 1\n")), "pkg/\u00e9.py".encode(), b"pkg/\xe9\xff.py")
    unflagged = _renamed(_zip(("pkg/ab.py", b"x = 2\n")), b"pkg/ab.py", b"pkg/\xe9\xff.py")
    for data in (flagged, unflagged):
        contents = read_archive(data, "pkg-1.0-py3-none-any.whl")
        assert _rules(contents) == [("archive.non-utf8-name", "pkg/\ufffd\ufffd.py")]
        assert [m.path for m in contents.members] == ["pkg/\ufffd\ufffd.py"]  # still read, under a text path


def test_archive_non_utf8_name_in_a_tar():
    name = b"pkg/\xe9.py".decode("utf-8", "surrogateescape")
    contents = read_archive(
        _tar_gz((_member(name), b"x = 1\n"), (_member("pkg/ok.py"), b"")), "pkg-1.0.tar.gz"
    )
    assert _rules(contents) == [("archive.non-utf8-name", "pkg/\ufffd.py")]
    assert sorted(m.path for m in contents.members) == ["pkg/ok.py", "pkg/\ufffd.py"]


def test_utf8_names_without_the_zip_flag_are_read_as_utf8_and_not_flagged():
    data = _renamed(_zip(("pkg/abcd.py", b"x = 1\n")), b"pkg/abcd.py", "pkg/\u00e9\u00e8.py".encode())
    contents = read_archive(data, "pkg-1.0-py3-none-any.whl")
    assert contents.findings == []
    assert [m.path for m in contents.members] == ["pkg/\u00e9\u00e8.py"]


def test_archive_duplicate_member_in_zip_and_tar():
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile warns, and writes it all the same
        zipped = _zip(("pkg/__init__.py", b"safe = True\n"), ("pkg/__init__.py", b"import os\n"))
    tarred = _tar_gz(
        (_member("pkg/setup.py"), b"a = 1\n"),
        (_member("pkg/./setup.py"), b"b = 2\n"),  # lands on the same file when extracted
    )
    assert _rules(read_archive(zipped, "pkg-1.0-py3-none-any.whl")) == [
        ("archive.duplicate-member", "pkg/__init__.py")
    ]
    contents = read_archive(tarred, "pkg-1.0.tar.gz")
    assert _rules(contents) == [("archive.duplicate-member", "pkg/./setup.py")]
    assert len(contents.members) == 2  # both copies are scanned


def test_a_directory_listed_twice_and_same_names_in_nested_archives_are_not_duplicates():
    inner = _zip(("pkg/__init__.py", b"x = 1\n"))
    data = _tar_gz(
        (_member("pkg", tarfile.DIRTYPE), None),
        (_member("pkg", tarfile.DIRTYPE), None),
        (_member("pkg/__init__.py"), b"x = 2\n"),
        (_member("pkg/inner.zip"), inner),
    )
    assert read_archive(data, "pkg-1.0.tar.gz").findings == []


def _plain_tar(*entries: tuple[str, bytes], format: int = tarfile.PAX_FORMAT) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=format) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _as_tarfile_reads_it(data: bytes) -> list[tuple[str, bytes]]:
    """The oracle: each regular member as tarfile reads it from the gzip stream, one member at a time."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        return [(info.name, tar.extractfile(info).read()) for info in tar if info.isreg()]


def test_members_sliced_from_the_whole_stream_match_tarfiles_reading_long_names_pax_and_gnu_headers():
    long_name = "pkg/" + "d" * 120 + "/module.py"
    entries = [("pkg/a.py", b"a = 1\n" * 300), (long_name, b"b = 2\n"), ("pkg/caf\u00e9.py", b"c = 3\n")]
    entries.append(("pkg/empty.py", b""))
    for format in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT):
        usable = entries if format != tarfile.USTAR_FORMAT else [e for e in entries if e[0] != long_name]
        data = gzip.compress(_plain_tar(*usable, format=format))
        contents = read_archive(data, "p-1.tar.gz")
        assert contents.findings == []
        assert [(m.path, m.data) for m in contents.members] == _as_tarfile_reads_it(data)


def test_a_tar_gz_in_two_gzip_members_with_bytes_after_it_or_a_wrong_crc_is_read_as_tarfile_reads_it():
    tar = _plain_tar(("pkg/a.py", b"a = 1\n" * 100), ("pkg/b.py", b"b = 2\n" * 100))
    two_members = gzip.compress(tar[:1024]) + gzip.compress(tar[1024:])
    trailing_bytes = gzip.compress(tar) + b"not gzip"
    wrong_crc = bytearray(gzip.compress(tar))
    # The trailer's CRC-32: tarfile stops at the end-of-archive blocks, before gzip would check it.
    wrong_crc[-8] ^= 0xFF
    for data in (two_members, trailing_bytes, bytes(wrong_crc)):
        contents = read_archive(data, "p-1.tar.gz")
        assert contents.findings == []
        assert [(m.path, m.data) for m in contents.members] == _as_tarfile_reads_it(data)
        assert [m.path for m in contents.members] == ["pkg/a.py", "pkg/b.py"]


def test_a_tar_gz_cut_inside_its_gzip_stream_keeps_the_members_before_the_cut():
    tar = _plain_tar(("pkg/a.py", b"a = 1\n"), ("pkg/b.py", bytes(range(256)) * 400))
    contents = read_archive(gzip.compress(tar)[:-200], "p-1.tar.gz")
    assert [m.path for m in contents.members] == ["pkg/a.py"]
    assert [f.rule for f in contents.findings] == ["archive.corrupt"]


def test_a_member_whose_header_claims_more_bytes_than_the_tar_holds_is_corrupt_and_earlier_members_kept():
    tar = _plain_tar(("pkg/a.py", b"a = 1\n"), ("pkg/b.py", b"b = 2\n" * 1000))
    cut = gzip.compress(tar[: 512 * 4])  # a clean gzip stream around a tar cut inside pkg/b.py's data
    contents = read_archive(cut, "p-1.tar.gz")
    assert [m.path for m in contents.members] == ["pkg/a.py"]
    assert [f.rule for f in contents.findings] == ["archive.corrupt"]


def _tar_of(*infos: tuple[tarfile.TarInfo, bytes | None], format: int = tarfile.PAX_FORMAT) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=format) as tar:
        for info, data in infos:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def test_the_plain_tar_reader_reads_prefixes_directories_and_pax_headers_as_tarfile_does():
    deep = (
        "pkg/" + "/".join(["sub" * 10] * 4) + "/module.py"
    )  # over 100 characters: split into ustar's prefix
    old_style_directory = _member("pkg/data/", kind=tarfile.AREGTYPE)  # a regular file named with a slash
    fractional = _member("pkg/when.py", mtime=1.5)  # a fractional time needs a pax header
    for format in (tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT):
        tar = _tar_of(
            (_member("pkg/", kind=tarfile.DIRTYPE), None),
            (old_style_directory, b""),
            (_member(deep), b"deep = 1\n"),
            (fractional, b"x = 1\n" * 200),
            (_member("pkg/empty.py"), b""),
            format=format,
        )
        assert _plain_tar_headers(tar) is not None, "read without tarfile"
        data = gzip.compress(tar)
        contents = read_archive(data, "p-1.tar.gz")
        assert contents.findings == []
        assert [(m.path, m.data) for m in contents.members] == _as_tarfile_reads_it(data)
        assert [m.path for m in contents.members] == [deep, "pkg/when.py", "pkg/empty.py"]


def test_a_tar_header_with_a_bad_checksum_after_the_first_ends_the_archive_as_in_tarfile():
    tar = bytearray(_tar_of((_member("pkg/a.py"), b"a = 1\n"), (_member("pkg/b.py"), b"b = 2\n")))
    tar[1024 + 148 : 1024 + 156] = b"0000000\0"  # pkg/b.py's header checksum, now wrong
    data = gzip.compress(bytes(tar))
    contents = read_archive(data, "p-1.tar.gz")
    assert (
        [(m.path, m.data) for m in contents.members]
        == _as_tarfile_reads_it(data)
        == [("pkg/a.py", b"a = 1\n")]
    )


def test_tars_the_plain_reader_leaves_to_tarfile_are_read_as_tarfile_reads_them():
    gnu_long_name = "pkg/" + "n" * 120 + ".py"  # a GNU longname member ahead of the real header
    symlink = _member("pkg/link.py", kind=tarfile.SYMTYPE, linkname="a.py")
    cases = {
        "gnu longname": _tar_of((_member(gnu_long_name), b"x = 1\n"), format=tarfile.GNU_FORMAT),
        "non-ascii pax path": _tar_of((_member("pkg/caf\u00e9.py"), b"x = 1\n")),
        "pax linkpath": _tar_of((_member("pkg/a.py"), b"a = 1\n"), (_member("pkg/l", kind=tarfile.SYMTYPE,
                                linkname="d" * 120), None)),
        "symlink": _tar_of((_member("pkg/a.py"), b"a = 1\n"), (symlink, None)),
    }  # fmt: skip
    for case, tar in cases.items():
        assert _plain_tar_headers(tar) is None, case
        data = gzip.compress(tar)
        contents = read_archive(data, "p-1.tar.gz")
        assert [(m.path, m.data) for m in contents.members] == _as_tarfile_reads_it(data), case
