"""Files out of shards: by a pattern over their path and optionally a regex over their content.

Each unique blob is produced once, however many releases hold it: written to a directory under its git blob id,
or streamed as JSON lines (``{"oid", "shard", "path", "contents"}``, the first path it was found at) for a
script to consume. Shards are read through their branch's tip tree, which holds the whole shard.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pygit2

from pypi_platform.lib.corpus.shard import BRANCH
from pypi_platform.lib.corpus.state import shard_name_of


@dataclass(frozen=True)
class Match:
    shard: str
    path: str
    oid: str  # hex
    data: bytes


@dataclass
class ExtractReport:
    matches: int = 0  # matching files, duplicates included
    unique: int = 0  # distinct blobs produced


def matching_files(
    repository: Path, pattern: str, content: re.Pattern[bytes] | None = None
) -> Iterator[Match]:
    """Files of one shard whose path matches `pattern` (shell-style, ``*`` also crosses ``/``) and `content`."""
    repo = pygit2.Repository(str(repository))
    try:
        tip = repo.revparse_single(BRANCH)
    except KeyError:
        return  # an empty shard
    matcher = re.compile(fnmatch.translate(pattern)).match
    shard = shard_name_of(repository)
    stack: list[tuple[str, pygit2.Tree]] = [("", tip.peel(pygit2.Tree))]
    while stack:
        prefix, tree = stack.pop()
        for entry in tree:
            path = prefix + entry.name
            if entry.type_str == "tree":
                stack.append((path + "/", repo[entry.id]))
            elif entry.type_str == "blob" and matcher(path):
                data = repo[entry.id].data
                if content is None or content.search(data):
                    yield Match(shard, path, str(entry.id), data)


def extract(
    repositories: Sequence[Path],
    pattern: str,
    content: re.Pattern[bytes] | None = None,
    *,
    out_dir: Path | None = None,
    stream: TextIO | None = None,
) -> ExtractReport:
    """Every unique matching blob of the shards, once: into `out_dir/<oid>` or as JSON lines on `stream`."""
    if (out_dir is None) == (stream is None):
        raise ValueError("extract writes to a directory or to a stream: give exactly one")
    report = ExtractReport()
    seen: set[str] = set()
    for repository in repositories:
        for match in matching_files(repository, pattern, content):
            report.matches += 1
            if match.oid in seen:
                continue
            seen.add(match.oid)
            report.unique += 1
            if out_dir is not None:
                _write_once(out_dir / match.oid, match.data)
            else:
                line = {
                    "oid": match.oid,
                    "shard": match.shard,
                    "path": match.path,
                    "contents": match.data.decode("utf-8", errors="replace"),
                }
                stream.write(json.dumps(line, ensure_ascii=False) + "\n")
    return report


def _write_once(target: Path, data: bytes) -> None:
    if target.exists():  # named by content: an existing file already holds these bytes
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".extract-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temp, target)
