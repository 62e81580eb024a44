"""Distribution files -> corpus member rows, against real archives built in memory, hostile ones included."""

import bz2
import gzip
import hashlib
import io
import lzma
import os
import subprocess
import tarfile
import zipfile

import pygit2
import pytest

from pypi_platform.lib.corpus import skip_rules
from pypi_platform.lib.corpus.members import (
    RULES_VERSION,
    Distribution,
    Limits,
    MemberRow,
    blob_oid,
    read_distribution,
)
from pypi_platform_testkit.dists import build_sdist, build_wheel

SDIST = "demo-1.0.tar.gz"
WHEEL = "demo-1.0-py3-none-any.whl"
KIB = 1024
MIB = 1024 * KIB


# ---- building archives -------------------------------------------------------------------------------------


def _file(name: str, data: bytes = b"x = 1\n", **attrs) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 315532800
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def _special(name: str, kind: bytes, **attrs) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, None


def _raw_tar(*entries: tuple[tarfile.TarInfo, bytes | None], tar_format: int = tarfile.PAX_FORMAT) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(
        fileobj=raw, mode="w", format=tar_format, encoding="utf-8", errors="surrogateescape"
    ) as archive:
        for info, data in entries:
            if data is None and info.isreg() and info.size:
                # A header declaring content that is not there, which addfile refuses from Python 3.13 on.
                header = info.tobuf(archive.format, archive.encoding, archive.errors)
                archive.fileobj.write(header)
                archive.offset += len(header)
                archive.members.append(info)
            else:
                archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def _tar_gz(*entries: tuple[tarfile.TarInfo, bytes | None], tar_format: int = tarfile.PAX_FORMAT) -> bytes:
    return gzip.compress(_raw_tar(*entries, tar_format=tar_format), mtime=0)


def _zip(*members: tuple[str, bytes], modes: dict[str, int] | None = None, utf8: bool = True) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (modes or {}).get(name, 0o100644) << 16
            archive.writestr(info, data)
    return raw.getvalue()


def _zip_with_raw_name(stored: bytes, data: bytes = b"x = 1\n") -> bytes:
    """A zip whose one member's name is exactly ``stored``, without the UTF-8 flag (zipfile reads cp437)."""
    placeholder = "Q" * len(stored)
    built = _zip((placeholder, data))
    assert built.count(placeholder.encode()) == 2  # the local and the central header
    return built.replace(placeholder.encode(), stored)


def _read(filename: str, data: bytes, **limits: int) -> Distribution:
    result = (
        read_distribution(filename, data, limits=Limits(**limits))
        if limits
        else read_distribution(filename, data)
    )
    if result.failure:
        assert result.rows == []
    return result


def _rows(filename: str, data: bytes, **limits: int) -> list[MemberRow]:
    result = _read(filename, data, **limits)
    assert result.failure == "", result.detail
    return result.rows


def _one(filename: str, data: bytes, **limits: int) -> MemberRow:
    (row,) = _rows(filename, data, **limits)
    return row


def _git_hash_object(data: bytes) -> bytes:
    out = subprocess.run(["git", "hash-object", "--stdin"], input=data, capture_output=True, check=True)
    return bytes.fromhex(out.stdout.decode().strip())


def _assert_failed(result: Distribution, failure: str) -> None:
    assert result.failure == failure, (result.failure, result.detail)
    assert result.rows == []
    assert result.detail
    assert len(result.detail) <= 200


# ---- ordinary distributions --------------------------------------------------------------------------------


def test_sdist_members_keep_their_top_directory_and_are_committed_with_their_content():
    modules = {"demo/__init__.py": "VERSION = 1\n", "demo/util.py": "def f():\n    return 2\n"}
    filename, data = build_sdist("demo", "1.0", modules=modules)
    rows = _rows(filename, data)
    by_path = {row.path: row for row in rows}
    for module, text in modules.items():
        row = by_path[f"demo-1.0/{module}"]
        assert row.archive_path == f"demo-1.0/{module}"
        assert (row.skip_reason, row.data, row.size) == ("", text.encode(), len(text.encode()))
    assert {row.path.split("/")[0] for row in rows} == {"demo-1.0"}


def test_wheel_members_have_no_top_directory():
    filename, data = build_wheel("demo", "1.0", modules={"demo/__init__.py": "A = 1\n"})
    paths = [row.path for row in _rows(filename, data)]
    assert paths[0] == "demo/__init__.py"
    assert "demo-1.0.dist-info/METADATA" in paths
    assert all(not path.startswith("demo-1.0/") for path in paths)


def test_rows_follow_archive_order_not_name_order():
    data = _zip(("z.py", b"z = 1\n"), ("a.py", b"a = 1\n"), ("m/b.py", b"b = 1\n"))
    assert [row.path for row in _rows(WHEEL, data)] == ["z.py", "a.py", "m/b.py"]


@pytest.mark.parametrize(
    ("filename", "compress"),
    [
        ("demo-1.0.tar.gz", lambda raw: gzip.compress(raw, mtime=0)),
        ("demo-1.0.tgz", lambda raw: gzip.compress(raw, mtime=0)),
        ("demo-1.0.tar.bz2", bz2.compress),
        ("demo-1.0.tar.xz", lzma.compress),
        ("demo-1.0.tar", lambda raw: raw),
        ("demo-1.0.tar.gz", lambda raw: raw),  # misnamed: plain tar behind a .tar.gz name still reads
    ],
)
def test_every_tar_compression_reads(filename, compress):
    data = compress(_raw_tar(_file("demo-1.0/a.py", b"a = 1\n"), _file("demo-1.0/b.txt", b"b\n")))
    rows = _rows(filename, data)
    assert [(row.path, row.data) for row in rows] == [
        ("demo-1.0/a.py", b"a = 1\n"),
        ("demo-1.0/b.txt", b"b\n"),
    ]


@pytest.mark.parametrize("filename", ["demo-1.0.zip", "demo-1.0.egg", "DEMO-1.0-PY3-NONE-ANY.WHL"])
def test_zip_based_formats_read(filename):
    assert _one(filename, _zip(("demo/a.py", b"a = 1\n"))).data == b"a = 1\n"


def test_directory_members_get_no_row():
    data = _tar_gz(
        _special("demo-1.0", tarfile.DIRTYPE),
        _special("demo-1.0/pkg", tarfile.DIRTYPE),
        _file("demo-1.0/pkg/a.py"),
    )
    assert [row.path for row in _rows(SDIST, data)] == ["demo-1.0/pkg/a.py"]
    zipped = _zip(("pkg/", b""), ("pkg/a.py", b"a\n"), ("other", b""), modes={"other": 0o040755})
    assert [row.path for row in _rows(WHEEL, zipped)] == ["pkg/a.py"]


def test_an_archive_inside_the_archive_is_an_ordinary_member():
    inner = _zip(("payload.py", b"print('inside')\n"))
    row = _one(SDIST, _tar_gz(_file("demo-1.0/vendor/inner.zip", inner)))
    assert (row.path, row.size, row.oid) == ("demo-1.0/vendor/inner.zip", len(inner), blob_oid(inner))
    assert row.skip_reason == "binary"  # a zip's headers hold NUL bytes


# ---- oids, sizes, lines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"x = 1\n",
        b"no newline at the end",
        "é = 'ü'\n".encode(),
        b"\0\1\2binary" * 100,
        os.urandom(5000),
    ],
)
def test_oid_equals_git_hash_object(content):
    assert blob_oid(content) == _git_hash_object(content)
    assert len(blob_oid(content)) == 20


def test_every_read_member_has_its_git_oid_skipped_or_not():
    contents = {"a.py": b"a = 1\n", "empty.txt": b"", "lib.so": b"\x7fELF\0\0" + os.urandom(300)}
    rows = _rows(WHEEL, _zip(*contents.items()))
    assert {row.path: row.oid for row in rows} == {
        name: _git_hash_object(data) for name, data in contents.items()
    }
    assert {row.path: row.skip_reason for row in rows} == {
        "a.py": "",
        "empty.txt": "empty",
        "lib.so": "binary",
    }
    assert {row.path: row.size for row in rows} == {name: len(data) for name, data in contents.items()}


@pytest.mark.parametrize(
    ("content", "lines"),
    [(b"a\nb\nc\n", 3), (b"a\nb\nc", 2), (b"one line", 0), (b"\n\n\n\n", 4), (b"a\r\nb\r\n", 2)],
)
def test_lines_count_newlines(content, lines):
    row = _one(WHEEL, _zip(("t.txt", content)))
    assert row.lines == lines == content.count(b"\n")


# ---- content rules, in py-code.org's order -----------------------------------------------------------------


def test_a_nul_in_the_first_kilobyte_is_binary_with_no_lines():
    content = b"line\n" * 10 + b"\0" + b"more\n" * 10
    row = _one(WHEEL, _zip(("blob.dat", content)))
    assert (row.skip_reason, row.lines, row.data) == ("binary", 0, None)
    assert row.oid == _git_hash_object(content)


def test_a_nul_after_the_first_kilobyte_is_text():
    content = b"a" * 1023 + b"\n" + b"\0tail\n"
    row = _one(WHEEL, _zip(("late.txt", content)))
    assert (row.skip_reason, row.lines, row.data) == ("", 2, content)


def test_binary_wins_over_every_later_rule():
    # Large, NUL-bearing, under a .git directory: rule 1 comes first.
    content = b"\0" + b"x" * (300 * KIB)
    assert _one(WHEEL, _zip((".git/objects/pack.dat", content))).skip_reason == "binary"


def test_an_empty_member_is_empty():
    row = _one(SDIST, _tar_gz(_file("demo-1.0/empty.py", b"")))
    assert (row.skip_reason, row.size, row.lines, row.data) == ("empty", 0, 0, None)
    assert row.oid == _git_hash_object(b"")


def test_pyarmor_bundles_are_binary():
    content = b"__pyarmor__(__name__, __file__, b'PY00" + b"A" * 100 + b"')\n"
    row = _one(WHEEL, _zip(("demo/core.py", content)))
    assert (row.skip_reason, row.lines, row.data) == ("binary", 0, None)
    assert row.oid == _git_hash_object(content)


def test_git_lfs_pointers_are_version_control():
    header = b"version https://" + b"git-lfs." + b"example/spec/v1\n"
    content = header + b"oid sha256:" + b"0" * 64 + b"\nsize 12345\n"
    row = _one(WHEEL, _zip(("data/model.bin", content)))
    assert (row.skip_reason, row.data) == ("version-control", None)
    assert row.lines == 3


@pytest.mark.parametrize(
    ("name", "size", "reason"),
    [
        ("big.py", 5 * MIB, ""),
        ("big.py", 5 * MIB + 1, "too-large"),
        ("big.txt", 200 * KIB, ""),
        ("big.txt", 200 * KIB + 1, "too-large"),
        ("big.pyi", 200 * KIB + 1, "too-large"),  # only .py gets the larger limit
    ],
)
def test_too_large_has_a_python_limit_and_a_text_limit(name, size, reason):
    line = b"value = 1234567890\n"
    content = (line * (size // len(line) + 1))[:size]
    row = _one(WHEEL, _zip((name, content)))
    assert (row.skip_reason, row.size, row.oid) == (reason, size, blob_oid(content))
    assert row.lines == content.count(b"\n")
    assert (row.data is None) == bool(reason)


@pytest.mark.parametrize("filename", [SDIST, WHEEL])
def test_a_member_above_the_read_cap_is_not_read(filename):
    content = b"a = 1\n" * 1000
    data = _tar_gz(_file("demo-1.0/big.py", content)) if filename == SDIST else _zip(("demo/big.py", content))
    row = _one(filename, data, member_read_bytes=4 * KIB)
    assert (row.skip_reason, row.size, row.oid, row.lines, row.data) == (
        "too-large",
        len(content),
        b"",
        0,
        None,
    )


@pytest.mark.parametrize(
    "name",
    ["pkg/.git/config", "pkg/.hg/store/data", "pkg/.svn/entries", ".GIT/HEAD", "pkg/.git", "pkg/.Git. /x"],
)
def test_version_control_directories_are_version_control(name):
    row = _one(WHEEL, _zip((name, b"[core]\n")))
    assert (row.skip_reason, row.data) == ("version-control", None)
    assert row.oid == blob_oid(b"[core]\n")


def test_version_control_names_as_files_are_not_directories():
    rows = _rows(WHEEL, _zip(("pkg/.hg", b"x\n"), ("pkg/.svn", b"y\n")))
    assert [row.skip_reason for row in rows] == ["", ""]


@pytest.mark.parametrize("name", ["app/.venv/bin/activate", "venv/lib/x.py", "a/lib/site-packages/six.py"])
def test_virtualenv_directories_are_virtualenv(name):
    row = _one(WHEEL, _zip((name, b"x = 1\n")))
    assert (row.skip_reason, row.data, row.lines) == ("virtualenv", None, 1)


def test_a_file_named_venv_is_not_a_virtualenv():
    assert _one(WHEEL, _zip(("tools/venv", b"#!/bin/sh\n"))).skip_reason == ""


@pytest.mark.parametrize(
    ("size", "newlines", "reason"),
    [
        (50 * KIB, 4, "text-long-lines"),
        (50 * KIB, 5, ""),
        (50 * KIB - 1, 0, ""),
        (150 * KIB, 0, "text-long-lines"),
    ],
)
def test_few_newlines_in_a_large_file_are_text_long_lines(size, newlines, reason):
    content = b"\n" * newlines + b"x" * (size - newlines)
    row = _one(WHEEL, _zip(("obfuscated.py", content)))
    assert (row.skip_reason, row.lines) == (reason, newlines)


# ---- our rules: links, special files, names, duplicates -----------------------------------------------------


def test_symbolic_and_hard_links_are_links_and_never_followed():
    data = _tar_gz(
        _file("demo-1.0/target.py", b"t = 1\n"),
        _special("demo-1.0/sym.py", tarfile.SYMTYPE, linkname="target.py"),
        _special("demo-1.0/passwd", tarfile.SYMTYPE, linkname="/etc/passwd"),
        _special("demo-1.0/hard.py", tarfile.LNKTYPE, linkname="demo-1.0/target.py"),
    )
    rows = _rows(SDIST, data)
    assert [(row.path, row.skip_reason) for row in rows] == [
        ("demo-1.0/target.py", ""),
        ("demo-1.0/sym.py", "link"),
        ("demo-1.0/passwd", "link"),
        ("demo-1.0/hard.py", "link"),
    ]
    assert all((row.oid, row.data, row.lines) == (b"", None, 0) for row in rows[1:])


def test_zip_symlinks_are_links():
    data = _zip(
        ("demo/link.py", b"../../etc/passwd"), ("demo/a.py", b"a\n"), modes={"demo/link.py": 0o120777}
    )
    rows = _rows(WHEEL, data)
    assert [row.skip_reason for row in rows] == ["link", ""]
    assert (rows[0].oid, rows[0].data, rows[0].size) == (b"", None, len(b"../../etc/passwd"))


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_devices_and_fifos_are_special_files(kind):
    row = _one(SDIST, _tar_gz(_special("demo-1.0/dev", kind, devmajor=1, devminor=3)))
    assert (row.skip_reason, row.oid, row.data) == ("special-file", b"", None)


def test_zip_fifo_is_a_special_file():
    row = _one(WHEEL, _zip(("demo/pipe", b""), modes={"demo/pipe": 0o010644}))
    assert row.skip_reason == "special-file"


@pytest.mark.parametrize(
    "name",
    [
        "../evil.py",
        "demo-1.0/../../evil.py",
        "/etc/cron.d/evil",
        "C:/evil.py",
        "c:evil.py",
        "demo\\..\\..\\evil.py",
    ],
)
def test_paths_that_escape_are_unsafe(name):
    for filename, data in (
        (WHEEL, _zip((name, b"evil = 1\n"))),
        (SDIST, _tar_gz(_file(name, b"evil = 1\n"))),
    ):
        row = _one(filename, data)
        assert (row.archive_path, row.path, row.skip_reason, row.data) == (name, "", "unsafe-path", None)
        assert row.oid == blob_oid(b"evil = 1\n")  # the content is still identified, never written


def test_a_name_that_is_not_utf8_in_a_tar_is_invalid_and_keeps_its_bytes():
    name = b"demo-1.0/\xff\xfe.py".decode("utf-8", "surrogateescape")
    row = _one(SDIST, _tar_gz(_file(name, b"x = 1\n"), tar_format=tarfile.GNU_FORMAT))
    assert (row.path, row.skip_reason, row.data) == ("", "invalid-name", None)
    assert row.archive_path.encode("utf-8", "surrogateescape") == b"demo-1.0/\xff\xfe.py"
    assert row.oid == blob_oid(b"x = 1\n")


def test_zip_names_without_the_utf8_flag_are_taken_as_their_stored_bytes():
    # UTF-8 written by a tool that never set the flag: the stored bytes are UTF-8, so the name is right.
    row = _one(WHEEL, _zip_with_raw_name("demo/café.py".encode()))
    assert (row.archive_path, row.path, row.skip_reason) == ("demo/café.py", "demo/café.py", "")
    # A legacy code page (cp437's é is 0x82): not UTF-8, so not guessed at.
    row = _one(WHEEL, _zip_with_raw_name(b"demo/caf\x82.py"))
    assert (row.path, row.skip_reason) == ("", "invalid-name")
    assert row.archive_path.encode("utf-8", "surrogateescape") == b"demo/caf\x82.py"
    # With the flag set, zipfile decodes UTF-8 itself.
    assert _one(WHEEL, _zip(("demo/naïve.py", b"n\n"))).path == "demo/naïve.py"


@pytest.mark.parametrize(
    "stored", [b"demo/a\x00b.py", b"demo/tab\there.py", b"demo/cr\r.py", b"demo/esc\x1b.py"]
)
def test_control_characters_make_an_invalid_name(stored):
    row = _one(WHEEL, _zip_with_raw_name(stored))
    assert (row.path, row.skip_reason, row.data) == ("", "invalid-name", None)


def test_a_newline_in_a_name_becomes_newline_text():
    row = _one(SDIST, _tar_gz(_file("demo-1.0/odd\nname.py", b"x = 1\n")))
    assert (row.archive_path, row.path, row.skip_reason) == (
        "demo-1.0/odd\nname.py",
        "demo-1.0/odd_newlinename.py",
        "",
    )


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("demo-1.0/vendor/foo.git/x.py", "demo-1.0/vendor/foo.git_/x.py"),
        ("demo-1.0/Repo.GIT/x.py", "demo-1.0/Repo.GIT_/x.py"),
        ("demo-1.0/tools/check.git", "demo-1.0/tools/check.git_"),
    ],
)
def test_components_ending_in_git_are_renamed(name, path):
    row = _one(SDIST, _tar_gz(_file(name, b"x = 1\n")))
    assert (row.path, row.skip_reason) == (path, "")


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("demo-1.0/.git/HEAD", "demo-1.0/.git_/HEAD"),
        ("demo-1.0/.GIT/HEAD", "demo-1.0/.GIT_/HEAD"),
        ("demo-1.0/.git. /HEAD", "demo-1.0/.git. _/HEAD"),  # NTFS drops trailing dots and spaces
        ("demo-1.0/.g\u200cit/HEAD", "demo-1.0/.g\u200cit_/HEAD"),  # HFS+ ignores the zero-width non-joiner
        ("demo-1.0/GIT~1/HEAD", "demo-1.0/GIT~1_/HEAD"),  # NTFS's short name for .git
    ],
)
def test_a_component_git_reads_as_dot_git_is_skipped_and_its_path_still_renamed(name, path):
    row = _one(SDIST, _tar_gz(_file(name, b"ref: refs/heads/main\n")))
    assert (row.path, row.skip_reason) == (path, "version-control")


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("./demo-1.0/a.py", "demo-1.0/a.py"),
        ("demo-1.0//pkg///a.py", "demo-1.0/pkg/a.py"),
        ("demo-1.0/./pkg/./a.py", "demo-1.0/pkg/a.py"),
        ("demo-1.0\\pkg\\a.py", "demo-1.0/pkg/a.py"),
    ],
)
def test_dot_and_empty_components_vanish_and_backslashes_separate(name, path):
    assert _one(WHEEL, _zip((name, b"a = 1\n"))).path == path


def test_a_regular_file_with_no_name_left_is_invalid():
    row = _one(SDIST, _tar_gz(_file("./", b"x\n")))
    assert (row.path, row.skip_reason) == ("", "invalid-name")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("demo-1.0/" + "a" * 255 + ".py", "path-too-long"),
        ("demo-1.0/" + "a" * 252 + ".py", ""),  # a 255-byte component is the limit, not over it
        ("demo-1.0/" + "/".join(["d" * 100] * 11) + "/x.py", "path-too-long"),
        ("demo-1.0/" + "é" * 128 + ".py", "path-too-long"),  # bytes, not characters: 259 bytes
    ],
)
def test_long_paths_are_path_too_long(name, reason):
    row = _one(SDIST, _tar_gz(_file(name, b"x = 1\n")))
    assert row.skip_reason == reason
    assert row.path == ("" if reason else name)


def test_a_duplicate_member_loses_to_the_first():
    data = _raw_tar(_file("demo-1.0/a.py", b"first = 1\n"), _file("demo-1.0/a.py", b"second = 2\n"))
    rows = _rows("demo-1.0.tar", data)
    assert [(row.path, row.skip_reason, row.data) for row in rows] == [
        ("demo-1.0/a.py", "", b"first = 1\n"),
        ("demo-1.0/a.py", "duplicate", None),
    ]
    assert rows[1].oid == _git_hash_object(b"second = 2\n")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_names_that_sanitise_to_the_same_path_are_duplicates():
    rows = _rows(
        WHEEL,
        _zip(
            ("pkg/a.py", b"1\n"),
            ("./pkg/a.py", b"2\n"),
            ("pkg//a.py", b"3\n"),
            ("x.git", b"4\n"),
            ("x.git_", b"5\n"),
        ),
    )
    assert [row.skip_reason for row in rows] == ["", "duplicate", "duplicate", "", "duplicate"]


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_skipped_first_member_still_keeps_its_path():
    rows = _rows(WHEEL, _zip(("pkg/a.py", b"\0binary"), ("pkg/a.py", b"text = 1\n")))
    assert [row.skip_reason for row in rows] == ["binary", "duplicate"]


def test_a_file_and_a_directory_cannot_share_a_path():
    rows = _rows(
        WHEEL,
        _zip(
            ("pkg/data", b"file\n"), ("pkg/data/x.py", b"x\n"), ("pkg/sub/y.py", b"y\n"), ("pkg/sub", b"s\n")
        ),
    )
    assert [(row.path, row.skip_reason) for row in rows] == [
        ("pkg/data", ""),
        ("pkg/data/x.py", "duplicate"),
        ("pkg/sub/y.py", ""),
        ("pkg/sub", "duplicate"),
    ]


def test_encrypted_or_undecodable_zip_members_are_unreadable():
    data = bytearray(
        _zip(("demo/secret.py", b"s = 1\n"), ("demo/odd.py", b"o = 1\n"), ("demo/fine.py", b"f = 1\n"))
    )
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        secret, odd = archive.getinfo("demo/secret.py"), archive.getinfo("demo/odd.py")
    central = {
        name: bytes(data).rfind(b"PK\x01\x02", 0, bytes(data).rfind(name.encode()))
        for name in ("demo/secret.py", "demo/odd.py")
    }
    # demo/secret.py claims encryption (flag bit 0), demo/odd.py method 9 (deflate64, which Python cannot
    # decode); both headers of each say so. Neither may be decoded, and the rest of the wheel still reads.
    data[secret.header_offset + 6] |= 0x1
    data[central["demo/secret.py"] + 8] |= 0x1
    data[odd.header_offset + 8 : odd.header_offset + 10] = (9).to_bytes(2, "little")
    data[central["demo/odd.py"] + 10 : central["demo/odd.py"] + 12] = (9).to_bytes(2, "little")
    rows = _rows(WHEEL, bytes(data))
    assert [(row.path, row.skip_reason, row.oid) for row in rows] == [
        ("demo/secret.py", "unreadable", b""),
        ("demo/odd.py", "unreadable", b""),
        ("demo/fine.py", "", blob_oid(b"f = 1\n")),
    ]


# ---- archive-level failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename", ["setup.exe", "demo-1.0.msi", "demo-1.0.rpm", "demo-1.0.tar.zst", "demo.dmg"]
)
def test_files_that_are_not_zip_or_tar_by_name_are_unsupported(filename):
    _assert_failed(_read(filename, _zip(("a.py", b"a\n"))), "unsupported-format")


@pytest.mark.parametrize("filename", [SDIST, WHEEL, "demo-1.0.tar.bz2", "demo-1.0.tar.xz", "demo-1.0.tar"])
def test_random_bytes_are_a_corrupt_archive(filename):
    _assert_failed(_read(filename, hashlib.sha512(filename.encode()).digest() * 40), "corrupt-archive")


def test_a_truncated_tar_gz_is_corrupt_and_yields_nothing():
    members = [_file(f"demo-1.0/m{n}.py", os.urandom(2000)) for n in range(6)]
    data = _tar_gz(*members)
    assert len(_rows(SDIST, data)) == 6
    _assert_failed(_read(SDIST, data[: len(data) // 2]), "corrupt-archive")


@pytest.mark.parametrize("cut", [1024 + 100, 1024 + 512 + 300, 2048, 3072])
def test_a_plain_tar_cut_anywhere_is_corrupt(cut):
    # Three members of one header block and one data block each, at 0, 1024 and 2048; zero blocks from 3072.
    data = _raw_tar(*(_file(f"d/m{n}.py", b"x" * 500) for n in range(3)), tar_format=tarfile.USTAR_FORMAT)
    assert len(_rows("demo-1.0.tar", data)) == 3
    _assert_failed(_read("demo-1.0.tar", data[:cut]), "corrupt-archive")


def test_a_garbled_header_after_the_first_is_corrupt_not_an_early_end():
    data = bytearray(
        _raw_tar(*(_file(f"d/m{n}.py", b"x" * 500) for n in range(3)), tar_format=tarfile.USTAR_FORMAT)
    )
    data[2048 : 2048 + 100] = b"\xaa" * 100  # the third header: checksum no longer matches
    _assert_failed(_read("demo-1.0.tar", bytes(data)), "corrupt-archive")


def test_a_zip_member_with_a_bad_crc_is_corrupt():
    data = bytearray(_zip(("a.py", b"a = 1\n"), ("b.txt", b"b" * 100)))
    position = bytes(data).find(b"PK\x01\x02") + 16  # the first central record's CRC-32
    data[position] ^= 0xFF
    _assert_failed(_read(WHEEL, bytes(data)), "corrupt-archive")


def test_a_gzip_bomb_is_an_archive_bomb():
    data = _tar_gz(_file("demo-1.0/zeros.txt", bytes(4 * MIB)))
    assert len(data) < 16 * KIB
    _assert_failed(_read(SDIST, data, ratio=100, ratio_floor=MIB), "archive-bomb")
    assert _read(SDIST, data, ratio=100, ratio_floor=8 * MIB).failure == ""  # below the floor any ratio reads


def test_many_small_members_add_up_to_a_bomb():
    data = _tar_gz(*(_file(f"demo-1.0/z{n}.txt", bytes(64 * KIB)) for n in range(40)))
    _assert_failed(_read(SDIST, data, ratio=50, ratio_floor=MIB), "archive-bomb")


def test_a_header_declaring_gigabytes_is_refused_before_inflating():
    info = tarfile.TarInfo("demo-1.0/huge.bin")
    info.size = 50 * 1024 * MIB
    data = gzip.compress(_raw_tar((info, None), tar_format=tarfile.GNU_FORMAT), mtime=0)
    _assert_failed(_read(SDIST, data), "archive-bomb")


def test_an_oversized_pax_header_is_refused():
    info, content = _file("demo-1.0/a.py", b"a = 1\n")
    info.pax_headers = {"comment": "c" * 8 * KIB}
    _assert_failed(_read(SDIST, _tar_gz((info, content)), member_read_bytes=KIB), "archive-bomb")
    assert _read(SDIST, _tar_gz((info, content))).failure == ""


def test_the_absolute_expansion_cap_holds_for_incompressible_data():
    data = _tar_gz(_file("demo-1.0/noise.bin", os.urandom(2 * MIB)))
    _assert_failed(_read(SDIST, data, unpacked_bytes=MIB), "archive-bomb")


def test_a_zip_declaring_more_than_the_caps_is_a_bomb_before_anything_inflates():
    data = bytearray(_zip(("a.py", b"a = 1\n")))
    position = bytes(data).find(b"PK\x01\x02") + 24  # the central directory's uncompressed size
    data[position : position + 4] = (0xFFFFFFF0).to_bytes(4, "little")
    _assert_failed(_read(WHEEL, bytes(data)), "archive-bomb")
    zeros = _zip(*((f"z{n}.bin", bytes(256 * KIB)) for n in range(8)))
    _assert_failed(_read(WHEEL, zeros, ratio=10, ratio_floor=MIB), "archive-bomb")


@pytest.mark.parametrize("filename", [SDIST, WHEEL])
def test_too_many_members(filename):
    names = [f"demo-1.0/m{n}.py" for n in range(6)]
    data = (
        _tar_gz(*(_file(name) for name in names))
        if filename == SDIST
        else _zip(*((n, b"x\n") for n in names))
    )
    _assert_failed(_read(filename, data, members=5), "too-many-members")
    assert len(_rows(filename, data, members=6)) == 6


# ---- the promise to the shard writer -----------------------------------------------------------------------

_HOSTILE_NAMES = [
    "ok.py",
    ".git/config",
    ".GIT/config",
    "a/.git",
    "a/.Git ./b",
    "a/.git\u200c/b",
    "a/GIT~1/b",
    "a/foo.git/b",
    "a/foo.git",
    "line\nbreak.py",
    "./dot/./x",
    "sl//ash",
    "back\\slash\\x.py",
    "..x/ok",
    "x../ok",
    "...",
    "....py",
    "a/.",
    "trailing/",
]


def test_every_committed_path_is_accepted_by_git(tmp_path):
    rows = _rows(WHEEL, _zip(*((name, f"{n}\n".encode()) for n, name in enumerate(_HOSTILE_NAMES))))
    for row in rows:
        if row.path:
            parts = row.path.split("/")
            assert all(part not in ("", ".", "..") and "\0" not in part for part in parts), row.path
            assert all(not part.lower().rstrip(". ").endswith(".git") for part in parts), row.path
    committed = [row for row in rows if not row.skip_reason]
    assert committed
    repository = pygit2.init_repository(str(tmp_path / "shard.git"), bare=True)

    def tree(entries: dict) -> pygit2.Oid:
        builder = repository.TreeBuilder()
        for name, value in sorted(entries.items()):
            if isinstance(value, dict):
                builder.insert(name, tree(value), pygit2.enums.FileMode.TREE)
            else:
                builder.insert(name, repository.create_blob(value), pygit2.enums.FileMode.BLOB)
        return builder.write()

    nested: dict = {}
    for row in committed:
        *parents, leaf = row.path.split("/")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = row.data
    root = repository.get(tree(nested))
    for row in committed:
        assert root[row.path].id == pygit2.Oid(raw=row.oid)


def test_the_rules_have_a_version():
    assert RULES_VERSION == skip_rules.RULES_VERSION
    assert RULES_VERSION.count(".") == 2


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_skipped_rows_hold_no_content():
    data = _zip(
        ("a.py", b"a\n"), ("b.bin", b"\0\0"), ("c.txt", b""), ("venv/x.py", b"x\n"), ("a.py", b"dup\n")
    )
    rows = _rows(WHEEL, data)
    assert [row.skip_reason for row in rows] == ["", "binary", "empty", "virtualenv", "duplicate"]
    assert [row.data is None for row in rows] == [False, True, True, True, True]
