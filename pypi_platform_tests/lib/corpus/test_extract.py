"""Extracting files out of shards: gitignore-style patterns, exact bytes at their paths, and hostile trees refused.

The shards are real bare repositories: written by the shard writer, or, for the trees it never makes (``..``
entries, links), built object by object with pygit2, as a damaged or hand-made repository would hold them.
"""

import base64
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pygit2
import pytest

from pypi_platform.lib.corpus.extract import extract, glob_regex, matching_files
from pypi_platform.lib.corpus.shard import BRANCH, DistributionCommit, ShardFile, ShardWriter

SETUP = b"from setuptools import setup\nsetup()\n"
INIT = b"VERSION = '1.0'\n"
BINARY = b"\x89PNG\r\n\x1a\n\xff\xfe\x00 not UTF-8"
NESTED_SETUP = b"# a vendored project's own setup.py\n"
WHEN = datetime(2026, 1, 5, tzinfo=UTC)


def _paths(pattern: str, candidates: list[str]) -> list[str]:
    regex = glob_regex(pattern)
    return [path for path in candidates if regex.fullmatch(path)]


PATHS = [
    "packages/setup.py",
    "packages/alpha/setup.py",
    "packages/alpha/alpha-1.0.tar.gz/setup.py",
    "packages/alpha/alpha-1.0.tar.gz/alpha-1.0/setup.py",
    "packages/alpha/alpha-1.0.tar.gz/alpha-1.0/vendor/other/setup.py",
    "packages/beta/x.py",
]


def test_a_star_matches_within_one_path_segment_only():
    assert _paths("packages/*/setup.py", PATHS) == ["packages/alpha/setup.py"]
    assert _paths("packages/*/*/*/setup.py", PATHS) == ["packages/alpha/alpha-1.0.tar.gz/alpha-1.0/setup.py"]
    assert _paths("packages/*.py", PATHS) == ["packages/setup.py"]
    assert _paths("packages/?eta/x.py", PATHS) == ["packages/beta/x.py"]
    assert _paths("packages/beta?x.py", PATHS) == []  # ? does not match the /
    assert _paths("packages/alpha**setup.py", PATHS) == []  # ** inside a segment is a plain *
    assert _paths("packages/[ab]*/x.py", PATHS) == ["packages/beta/x.py"]
    assert _paths("packages/[!a]*/x.py", PATHS) == ["packages/beta/x.py"]
    assert _paths("packages/beta[!a]x.py", PATHS) == []  # a negated class does not match the / either
    assert _paths("/packages/setup.py", PATHS) == ["packages/setup.py"]  # a leading / anchors, as all do


def test_a_double_star_segment_matches_any_number_of_segments():
    assert _paths("packages/**/setup.py", PATHS) == [p for p in PATHS if p.endswith("/setup.py")]
    assert _paths("**/vendor/**", PATHS) == [
        "packages/alpha/alpha-1.0.tar.gz/alpha-1.0/vendor/other/setup.py"
    ]
    assert _paths("packages/alpha/**/alpha-1.0/setup.py", PATHS) == [
        "packages/alpha/alpha-1.0.tar.gz/alpha-1.0/setup.py"
    ]
    assert _paths("packages/beta/", PATHS) == ["packages/beta/x.py"]  # a trailing /: all below
    assert _paths("**", PATHS) == PATHS
    assert glob_regex(r"a\*b").fullmatch("a*b") and not glob_regex(r"a\*b").fullmatch("axb")
    assert glob_regex("[]]x").fullmatch("]x")  # a ] first in a class is literal
    assert glob_regex("[x").fullmatch("[x")  # an unclosed [ is literal


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("", "empty"), ("/", "empty"), ("packages//setup.py", "empty path segment"), ("[z-a]", "range")],
)
def test_a_bad_pattern_is_refused_with_its_reason(pattern, message):
    with pytest.raises(ValueError, match=message):
        glob_regex(pattern)


@pytest.fixture
def shard(tmp_path) -> Path:
    """A shard of two distributions: alpha's sdist (a setup.py, a vendored one, a binary file) and beta's wheel,
    whose __init__.py has the same bytes as alpha's (one blob at two paths)."""
    repository = tmp_path / "corpus" / "pypi-mirror-1.git"
    writer = ShardWriter(repository)
    writer.append(
        DistributionCommit(
            "alpha",
            "1.0",
            "alpha-1.0.tar.gz",
            WHEN,
            [
                ShardFile("alpha-1.0/setup.py", SETUP),
                ShardFile("alpha-1.0/alpha/__init__.py", INIT),
                ShardFile("alpha-1.0/alpha/logo.png", BINARY),
                ShardFile("alpha-1.0/vendor/other/setup.py", NESTED_SETUP),
            ],
        )
    )
    writer.append(
        DistributionCommit(
            "beta", "2.0", "beta-2.0-py3-none-any.whl", WHEN, [ShardFile("beta/__init__.py", INIT)]
        )
    )
    writer.flush()
    return repository


def _tree(tmp: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(tmp)): path.read_bytes()
        for path in sorted(tmp.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def test_out_writes_each_matching_file_at_its_path_with_its_exact_bytes(shard, tmp_path):
    out = tmp_path / "out"
    report = extract([shard], "packages/**/*", out_dir=out)

    assert _tree(out) == {
        "packages/alpha/alpha-1.0.tar.gz/alpha-1.0/setup.py": SETUP,
        "packages/alpha/alpha-1.0.tar.gz/alpha-1.0/alpha/__init__.py": INIT,
        "packages/alpha/alpha-1.0.tar.gz/alpha-1.0/alpha/logo.png": BINARY,
        "packages/alpha/alpha-1.0.tar.gz/alpha-1.0/vendor/other/setup.py": NESTED_SETUP,
        "packages/beta/beta-2.0-py3-none-any.whl/beta/__init__.py": INIT,
    }
    assert (report.matches, report.unique, report.produced, report.refused) == (5, 4, 5, {})

    # The gitignore pattern picks the top-level setup.py of each distribution, not the vendored one.
    top = tmp_path / "top"
    extract([shard], "packages/*/*/*/setup.py", out_dir=top)
    assert _tree(top) == {"packages/alpha/alpha-1.0.tar.gz/alpha-1.0/setup.py": SETUP}


def test_unique_produces_each_blob_once_at_the_first_path_found(shard, tmp_path):
    out = tmp_path / "out"
    report = extract([shard], "packages/**/__init__.py", out_dir=out, unique=True)
    assert (report.matches, report.unique, report.produced) == (2, 1, 1)
    assert list(_tree(out).values()) == [INIT]


def test_jsonl_carries_utf8_as_text_and_other_bytes_as_base64_with_their_paths(shard):
    stream = io.StringIO()
    report = extract([shard], "packages/alpha/**", stream=stream)
    lines = {line["path"]: line for line in map(json.loads, stream.getvalue().splitlines())}
    assert report.produced == len(lines) == 4

    setup = lines["packages/alpha/alpha-1.0.tar.gz/alpha-1.0/setup.py"]
    assert setup["encoding"] == "utf-8" and setup["contents"].encode() == SETUP
    assert (
        setup["shard"] == "pypi-mirror-1" and setup["mode"] == "100644" and setup["path_encoding"] == "utf-8"
    )
    logo = lines["packages/alpha/alpha-1.0.tar.gz/alpha-1.0/alpha/logo.png"]
    assert logo["encoding"] == "base64" and base64.b64decode(logo["contents"]) == BINARY
    assert logo["oid"] == str(pygit2.hash(BINARY))


def _raw_shard(repository: Path, entries: dict[tuple[bytes, ...], tuple[int, bytes]]) -> Path:
    """A bare repository whose branch holds exactly `entries` (name parts -> (mode, data)), names unchecked."""
    repo = pygit2.init_repository(str(repository), bare=True)

    def write(level: dict) -> pygit2.Oid:
        raw = b""
        for name in sorted(level):
            mode, value = level[name]
            oid = write(value) if mode == 0o40000 else repo.create_blob(value)
            raw += b"%o %s\0%s" % (mode, name, oid.raw)
        return repo.odb.write(pygit2.enums.ObjectType.TREE, raw)

    root: dict = {}
    for parts, (mode, data) in entries.items():
        level = root
        for part in parts[:-1]:
            level = level.setdefault(part, (0o40000, {}))[1]
        level[parts[-1]] = (mode, data)
    signature = pygit2.Signature("test", "test@invalid", 0, 0)
    repo.create_commit(BRANCH, signature, signature, "hostile\n", write(root), [])
    return repository


LINK, FILE = 0o120000, 0o100644
DIST = (b"packages", b"evil", b"evil-1.0.tar.gz")


def test_a_dotdot_entry_is_refused_and_nothing_is_written_outside(tmp_path):
    shard = _raw_shard(
        tmp_path / "corpus" / "pypi-mirror-1.git",
        {(*DIST, b"..", b"..", b"..", b"escaped.txt"): (FILE, b"out"), (*DIST, b"ok.txt"): (FILE, b"in")},
    )
    out = tmp_path / "out"
    report = extract([shard], "**", out_dir=out)

    assert report.refused == {
        "pypi-mirror-1:packages/evil/evil-1.0.tar.gz/../../../escaped.txt": (
            "the path holds '..': it would not stay under the output directory"
        )
    }
    assert _tree(out) == {"packages/evil/evil-1.0.tar.gz/ok.txt": b"in"}
    assert not any(path.name == "escaped.txt" for path in tmp_path.rglob("*"))


def test_an_entry_named_with_a_slash_is_refused_as_an_absolute_path(tmp_path):
    shard = _raw_shard(tmp_path / "s" / "pypi-mirror-1.git", {(*DIST, b"/tmp"): (FILE, b"abs")})
    report = extract([shard], "**", out_dir=tmp_path / "out")
    [reason] = report.refused.values()
    assert "'/tmp'" in reason and report.produced == 0


def test_links_that_escape_are_refused_and_links_that_stay_below_are_kept(tmp_path):
    shard = _raw_shard(
        tmp_path / "corpus" / "pypi-mirror-1.git",
        {
            (*DIST, b"absolute"): (LINK, b"/etc/passwd"),
            (*DIST, b"climbing"): (LINK, b"../../../../outside"),
            (*DIST, b"sub", b"target.txt"): (FILE, b"target"),
            (*DIST, b"below"): (LINK, b"sub/target.txt"),
        },
    )
    out = tmp_path / "out"
    report = extract([shard], "**", out_dir=out)

    assert sorted(report.refused) == [
        "pypi-mirror-1:packages/evil/evil-1.0.tar.gz/absolute",
        "pypi-mirror-1:packages/evil/evil-1.0.tar.gz/climbing",
    ]
    assert all("would lead out of its directory" in reason for reason in report.refused.values())
    below = out / "packages/evil/evil-1.0.tar.gz/below"
    assert below.is_symlink() and os.readlink(below) == "sub/target.txt" and below.read_bytes() == b"target"

    # A link is matched and streamed like a file, its target as its contents.
    stream = io.StringIO()
    extract([shard], "**/below", stream=stream)
    line = json.loads(stream.getvalue())
    assert line["mode"] == "120000" and line["contents"] == "sub/target.txt"


def test_a_link_already_in_the_output_directory_is_not_followed_out_of_it(shard, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "packages").symlink_to(outside)  # left by the user, or by an earlier extraction

    report = extract([shard], "packages/beta/**", out_dir=out)

    assert report.refused == {
        "pypi-mirror-1:packages/beta/beta-2.0-py3-none-any.whl/beta/__init__.py": (
            "packages is a link that leads out of the output directory"
        )
    }
    assert list(outside.iterdir()) == []


def test_matching_reads_a_shard_without_commits_as_empty(tmp_path):
    pygit2.init_repository(str(tmp_path / "pypi-mirror-1.git"), bare=True)
    assert list(matching_files(tmp_path / "pypi-mirror-1.git", "**")) == []
