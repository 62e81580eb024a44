"""The shard writer against git itself: deterministic ids, one commit per distribution, packed and fsck-clean."""

import os
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pygit2
import pytest

from pypi_platform.lib.corpus import shard_pack
from pypi_platform.lib.corpus.shard import BRANCH, DistributionCommit, ShardFile, ShardWriter

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=check)


def _dists(count: int = 6) -> list[DistributionCommit]:
    """Two projects with several releases each, sdist-like (top directory) and wheel-like, with shared content."""
    dists = []
    for number in range(count):
        project = ("Alpha", "beta-pkg")[number % 2]
        version = f"1.{number}"
        filename = f"{project}-{version}.tar.gz" if number % 3 else f"{project}-{version}-py3-none-any.whl"
        top = f"{project}-{version}/" if filename.endswith(".tar.gz") else ""
        files = [
            ShardFile(
                f"{top}setup.py", b"from setuptools import setup\nsetup()\n"
            ),  # the same blob every time
            ShardFile(f"{top}src/{project.lower()}/__init__.py", f"__version__ = '{version}'\n".encode()),
            ShardFile(f"{top}src/{project.lower()}/util/helpers.py", b"def f():\n    return %d\n" % number),
            ShardFile(f"{top}README.md", b"# readme\n" * (number + 1)),
        ]
        dists.append(DistributionCommit(project, version, filename, START + timedelta(hours=number), files))
    return dists


def _write(path: Path, dists: list[DistributionCommit]) -> list[str]:
    writer = ShardWriter(path)
    ids = [writer.append(dist) for dist in dists]
    assert writer.flush() == ids[-1]
    return ids


def _loose_count(repo: Path) -> int:
    lines = _git(repo, "count-objects", "-v").stdout.decode().splitlines()
    return int(dict(line.split(": ") for line in lines)["count"])


def test_same_distributions_give_the_same_commit_ids_in_two_fresh_shards(tmp_path):
    first = _write(tmp_path / "one.git", _dists())
    second = _write(tmp_path / "two.git", _dists())
    assert first == second
    assert len(set(first)) == len(first)


def test_a_writer_reopened_midway_gives_the_ids_of_one_long_run(tmp_path):
    dists = _dists(7)
    whole = _write(tmp_path / "whole.git", dists)
    path = tmp_path / "parts.git"
    parts = _write(path, dists[:3])
    parts += _write(path, dists[3:5])
    writer = ShardWriter(path)
    assert writer.head == parts[-1]
    parts += [writer.append(dist) for dist in dists[5:]]
    writer.flush()
    assert parts == whole
    assert _git(path, "rev-parse", "HEAD").stdout.decode().strip() == whole[-1]


def test_git_log_shows_one_commit_per_distribution_with_upload_times_as_both_dates(tmp_path):
    path = tmp_path / "s.git"
    dists = _dists(5)
    ids = _write(path, dists)
    log = _git(path, "log", "--reverse", "--format=%H|%an <%ae>|%cn <%ce>|%aI|%cI|%s").stdout.decode()
    rows = [line.split("|") for line in log.splitlines()]
    assert [row[0] for row in rows] == ids
    for row, dist in zip(rows, dists, strict=True):
        assert row[1] == row[2] == "pypi-platform corpus <corpus@pypi-platform.invalid>"
        assert row[3] == row[4] == dist.upload_time.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        assert row[5] == f"{dist.project} {dist.version}: {dist.filename}"
    assert _git(path, "symbolic-ref", "HEAD").stdout.decode().strip() == BRANCH


def test_upload_time_in_another_zone_is_committed_in_utc_whole_seconds(tmp_path):
    path = tmp_path / "s.git"
    when = datetime(2024, 3, 1, 14, 30, 5, 987654, tzinfo=timezone(timedelta(hours=2)))
    writer = ShardWriter(path)
    writer.append(DistributionCommit("p", "1", "p-1.tar.gz", when, [ShardFile("a", b"a")]))
    writer.flush()
    assert _git(path, "log", "--format=%aI %cI").stdout.decode().split() == ["2024-03-01T12:30:05+00:00"] * 2
    with pytest.raises(ValueError, match="timezone-aware"):
        writer.append(
            DistributionCommit("p", "2", "p-2.tar.gz", datetime(2024, 3, 1), [ShardFile("a", b"a")])
        )


def test_cat_file_returns_every_file_at_its_shard_path_and_the_tip_holds_the_whole_shard(tmp_path):
    path = tmp_path / "s.git"
    dists = _dists()
    ids = _write(path, dists)
    for commit, dist in zip(ids, dists, strict=True):
        for item in dist.files:
            spec = f"{commit}:packages/{dist.project}/{dist.filename}/{item.path}"
            assert _git(path, "cat-file", "-p", spec).stdout == item.data
    listed = set(_git(path, "ls-tree", "-r", "--name-only", "HEAD").stdout.decode().splitlines())
    assert listed == {f"packages/{d.project}/{d.filename}/{f.path}" for d in dists for f in d.files}


def test_each_commit_adds_exactly_its_distribution(tmp_path):
    path = tmp_path / "s.git"
    dists = _dists(4)
    ids = _write(path, dists)
    for commit, dist in zip(ids[1:], dists[1:], strict=True):
        changed = _git(path, "diff-tree", "--no-commit-id", "-r", "--name-status", commit).stdout.decode()
        assert sorted(changed.splitlines()) == sorted(
            f"A\tpackages/{dist.project}/{dist.filename}/{item.path}" for item in dist.files
        )


def test_fsck_full_is_clean_and_a_clone_checks_out_the_files(tmp_path):
    path = tmp_path / "s.git"
    dists = _dists()
    _write(path, dists[:3])
    _write(path, dists[3:])  # two packs, the second's trees based on trees of the first
    fsck = _git(path, "fsck", "--full", "--strict", "--no-dangling")
    assert fsck.returncode == 0 and fsck.stdout == b"" and fsck.stderr == b"", fsck
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", "--branch", "code", str(path), str(checkout)], check=True)
    for dist in dists:
        for item in dist.files:
            assert (
                checkout / "packages" / dist.project / dist.filename / item.path
            ).read_bytes() == item.data
    assert _git(checkout, "rev-list", "--count", "HEAD").stdout.strip() == b"6"


def test_after_flush_no_loose_objects_remain_and_the_packs_verify(tmp_path):
    path = tmp_path / "s.git"
    writer = ShardWriter(path)
    for dist in _dists():
        writer.append(dist)
        assert _loose_count(path) == 0  # nothing reaches the disk one object at a time, not even before flush
    writer.flush()
    assert _loose_count(path) == 0
    packs = sorted((path / "objects" / "pack").glob("*.pack"))
    assert len(packs) == 1
    assert not list((path / "objects" / "pack").glob("tmp_*"))
    verify = _git(path, "verify-pack", "-v", str(packs[0].with_suffix(".idx")))
    assert verify.returncode == 0, verify.stderr
    # The rewritten upper trees are stored as deltas against their previous versions.
    assert b"chain length = 1" in verify.stdout


def test_a_small_buffer_writes_several_packs_and_the_branch_moves_only_at_flush(tmp_path):
    path = tmp_path / "s.git"
    writer = ShardWriter(path, buffer_bytes=200)
    ids = [writer.append(dist) for dist in _dists()]
    assert len(list((path / "objects" / "pack").glob("*.pack"))) > 1
    assert _git(path, "rev-parse", "--verify", "-q", BRANCH, check=False).returncode != 0
    writer.flush()
    assert _git(path, "rev-parse", BRANCH).stdout.decode().strip() == ids[-1]
    assert ids == _write(tmp_path / "plain.git", _dists())
    assert _git(path, "fsck", "--full", "--strict").returncode == 0


def test_reset_to_rewinds_the_branch_and_appends_continue_from_there(tmp_path):
    path = tmp_path / "s.git"
    dists = _dists(5)
    ids = _write(path, dists[:3])
    writer = ShardWriter(path)
    writer.append(dists[3])  # never flushed: dropped by the reset
    writer.reset_to(ids[0])
    assert writer.head == ids[0]
    assert _git(path, "rev-parse", BRANCH).stdout.decode().strip() == ids[0]
    assert writer.append(dists[1]) == ids[1]  # the same distribution again gives the same commit
    writer.flush()
    reopened = ShardWriter(path)
    assert reopened.head == ids[1]
    reopened.reset_to(None)
    assert reopened.head is None
    assert _git(path, "rev-parse", "--verify", "-q", BRANCH, check=False).returncode != 0
    assert reopened.append(dists[0]) == ids[0]
    reopened.flush()
    assert ShardWriter(path).head == ids[0]
    with pytest.raises(ValueError):
        reopened.reset_to(_git(path, "rev-parse", "HEAD^{tree}").stdout.decode().strip())


def test_a_distribution_without_files_gets_a_commit_with_its_parents_tree(tmp_path):
    path = tmp_path / "s.git"
    writer = ShardWriter(path)
    empty_first = writer.append(DistributionCommit("e", "0", "e-0.zip", START, []))
    dists = _dists(2)
    writer.append(dists[0])
    empty = writer.append(DistributionCommit("e", "1", "e-1.zip", START + timedelta(days=1), []))
    writer.append(dists[1])
    writer.flush()
    empty_tree = b"4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"  # git's empty tree
    assert _git(path, "rev-parse", f"{empty_first}^{{tree}}").stdout == empty_tree
    assert (
        _git(path, "rev-parse", f"{empty}^{{tree}}").stdout
        == _git(path, "rev-parse", f"{empty}^^{{tree}}").stdout
    )
    assert _git(path, "log", "--format=%s", "-1", empty).stdout == b"e 1: e-1.zip\n"
    assert _git(path, "rev-list", "--count", "HEAD").stdout.strip() == b"4"
    assert _git(path, "fsck", "--full", "--strict").returncode == 0


def test_binary_content_round_trips_byte_for_byte(tmp_path):
    path = tmp_path / "s.git"
    blobs = {
        "bin/all-bytes": bytes(range(256)) * 64,
        "bin/random": os.urandom(300_000),
        "bin/nul": b"\0" * 1000,
        "bin/crlf.txt": b"a\r\nb\r\n\xff\xfe",
        "empty": b"",
        "dir with space/ünïcödé.py": "print('ü')\n".encode(),
    }
    writer = ShardWriter(path)
    files = [ShardFile(name, data) for name, data in blobs.items()]
    commit = writer.append(DistributionCommit("bin", "1", "bin-1-py3-none-any.whl", START, files))
    writer.flush()
    for name, data in blobs.items():
        assert (
            _git(path, "cat-file", "blob", f"{commit}:packages/bin/bin-1-py3-none-any.whl/{name}").stdout
            == data
        )


def test_a_later_member_replaces_an_earlier_one_at_the_same_path_or_of_the_same_name(tmp_path):
    path = tmp_path / "s.git"
    writer = ShardWriter(path)
    files = [ShardFile("a", b"1"), ShardFile("a", b"2"), ShardFile("d", b"file"), ShardFile("d/x", b"dir")]
    commit = writer.append(DistributionCommit("p", "1", "p-1.tar", START, files))
    writer.flush()
    names = _git(path, "ls-tree", "-r", "--name-only", commit).stdout.decode().split()
    assert names == ["packages/p/p-1.tar/a", "packages/p/p-1.tar/d/x"]
    assert _git(path, "cat-file", "blob", f"{commit}:packages/p/p-1.tar/a").stdout == b"2"


def test_a_filename_already_in_the_shard_or_an_unusable_name_is_refused(tmp_path):
    path = tmp_path / "s.git"
    dists = _dists(2)
    _write(path, dists)
    writer = ShardWriter(path)
    with pytest.raises(ValueError, match="already in the shard"):
        writer.append(dists[1])
    for project, filename in (("a/b", "x.whl"), ("..", "x.whl"), ("p", ""), ("p", ".git"), ("p", "a\0b")):
        with pytest.raises(ValueError):
            writer.append(DistributionCommit(project, "1", filename, START, [ShardFile("f", b"")]))
    assert writer.flush() == _git(path, "rev-parse", "HEAD").stdout.decode().strip()


def test_deltas_rebuild_their_target():
    base = b"".join(b"100644 f%05d\0" % n + bytes(20) for n in range(3000))
    for target in (
        base[:4000] + b"40000 inserted\0" + bytes(20) + base[4000:],
        base[:10] + b"X" * 300 + base[10:],
        base + b"tail",
        b"head" + base,
        base[:-5],
        b"",
    ):
        assert _apply(base, shard_pack.delta(base, target)) == target
        assert shard_pack.apply_delta(base, shard_pack.delta(base, target)) == target


def _apply(base: bytes, delta: bytes) -> bytes:
    """A straightforward reading of git's patch-delta, to check the encoder independently of git."""
    position = 0
    for _ in range(2):  # base size, result size
        while delta[position] & 0x80:
            position += 1
        position += 1
    out = bytearray()
    while position < len(delta):
        command = delta[position]
        position += 1
        if command & 0x80:
            offset = size = 0
            for shift in range(4):
                if command & (1 << shift):
                    offset |= delta[position] << (8 * shift)
                    position += 1
            for shift in range(3):
                if command & (0x10 << shift):
                    size |= delta[position] << (8 * shift)
                    position += 1
            out += base[offset : offset + (size or 0x10000)]
        else:
            out += delta[position : position + command]
            position += command
    return bytes(out)


def test_directories_sort_as_git_sorts_them_across_prefixes_and_punctuation(tmp_path):
    path = tmp_path / "s.git"
    names = ["foo", "foo-bar", "foo.bar", "foo0", "foo_bar", "Foo", "fo", "foobar", "z", "a"]
    writer = ShardWriter(path)
    for number, name in enumerate(names):
        for filename in (f"{name}-1.zip", f"{name}.zip", f"{name}-1.tar.gz"):
            files = [ShardFile("m", name.encode())]
            writer.append(DistributionCommit(name, "1", filename, START + timedelta(minutes=number), files))
    writer.flush()
    fsck = _git(path, "fsck", "--full", "--strict")
    assert fsck.returncode == 0 and not fsck.stdout and not fsck.stderr, fsck
    listed = _git(path, "ls-tree", "--name-only", "HEAD:packages").stdout.decode().split()
    assert sorted(listed) == sorted(names)
    # git's own tree writer, fed the same entries in its listing order, gives the same id.
    listing = _git(path, "ls-tree", "HEAD:packages").stdout
    rebuilt = subprocess.run(
        ["git", "-C", str(path), "mktree"], input=listing, capture_output=True, check=True
    ).stdout.decode()
    assert rebuilt.strip() == _git(path, "rev-parse", "HEAD:packages").stdout.decode().strip()


def test_earlier_trees_still_in_memory_read_back_through_their_deltas(tmp_path):
    path = tmp_path / "s.git"
    writer = ShardWriter(path)
    dists = [
        DistributionCommit(
            "p", str(n), f"p-{n}.whl", START + timedelta(minutes=n), [ShardFile("f", b"%d" % n)]
        )
        for n in range(8)
    ]
    ids = [writer.append(dist) for dist in dists]
    for number, commit in enumerate(ids):  # before flush: superseded project trees are held as deltas
        project = writer._repo[commit].peel(pygit2.Tree)["packages"]["p"]
        assert sorted(entry.name for entry in writer._repo[project.id]) == [
            f"p-{n}.whl" for n in range(number + 1)
        ]
    writer.flush()
    assert _git(path, "ls-tree", "--name-only", f"{ids[3]}:packages/p").stdout.decode().split() == [
        f"p-{n}.whl" for n in range(4)
    ]
