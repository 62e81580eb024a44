"""Hostile archives on their way into a shard: skipped or kept with reasons, nothing escapes, git stays clean.

The scanner's adversarial releases (links, `..` and absolute paths, devices, bombs, corrupt and truncated
archives, invalid names, nested archives) go through the corpus reader and the shard writer, as a batch would
take them; the shard must then pass `git fsck --full --strict`, and its tree must hold only the paths of rows
that were committed, all under the distribution's directory.
"""

import subprocess
from datetime import UTC, datetime, timedelta

import pygit2

from pypi_platform.lib.corpus.members import read_distribution
from pypi_platform.lib.corpus.shard import BRANCH, DistributionCommit, ShardFile, ShardWriter
from pypi_platform_testkit.scanner_evalset import build_evalset


def _tree_paths(repository) -> set[str]:
    repo = pygit2.Repository(str(repository))
    paths, stack = set(), [("", repo.revparse_single(BRANCH).peel(pygit2.Tree))]
    while stack:
        prefix, tree = stack.pop()
        for entry in tree:
            if entry.type_str == "tree":
                stack.append((f"{prefix}{entry.name}/", repo[entry.id]))
            else:
                paths.add(prefix + entry.name)
    return paths


def test_every_hostile_archive_is_recorded_and_the_shard_stays_valid(tmp_path):
    hostile = [(case, file) for case in build_evalset() if case.adversarial for file in case.files]
    assert len(hostile) >= 10
    writer = ShardWriter(tmp_path / "pypi-mirror-1.git")
    expected: set[str] = set()
    reasons: set[str] = set()
    when = datetime(2026, 1, 1, tzinfo=UTC)
    for number, (case, file) in enumerate(hostile):
        distribution = read_distribution(file.filename, file.data)
        if distribution.failure:
            assert distribution.rows == []  # nothing partial
            reasons.add(distribution.failure)
            continue
        kept = [row for row in distribution.rows if not row.skip_reason]
        reasons.update(row.skip_reason for row in distribution.rows if row.skip_reason)
        for row in distribution.rows:
            components = row.path.split("/") if row.path else []
            assert ".." not in components and "" not in components and not row.path.startswith("/")
        writer.append(
            DistributionCommit(
                case.name,
                case.version,
                file.filename,
                when + timedelta(minutes=number),
                [ShardFile(row.path, row.data) for row in kept],
            )
        )
        expected.update(f"packages/{case.name}/{file.filename}/{row.path}" for row in kept)
    writer.flush()

    assert _tree_paths(tmp_path / "pypi-mirror-1.git") == expected
    fsck = subprocess.run(
        ["git", "fsck", "--full", "--strict"],
        cwd=tmp_path / "pypi-mirror-1.git",
        capture_output=True,
        text=True,
    )
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    # The hostile set exercises links, escaping paths and broken archives, each with its own reason.
    assert {"link", "unsafe-path"} <= reasons
    assert reasons & {"corrupt-archive", "archive-bomb"}
