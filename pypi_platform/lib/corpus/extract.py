"""Files out of shards: by a pattern over their path and optionally a regex over their content.

Patterns follow the shell and ``.gitignore``: ``*``, ``?`` and ``[...]`` stay within one path segment, and a
``**`` segment matches any number of segments (none included). A match keeps its exact bytes and its path in the
shard's tree (``packages/<project>/<file name>/<path in the archive>``, unique across shards, since each
distribution file is in one shard): written at that path under a directory, or streamed as JSON lines. With
``unique`` each blob is produced once, at the first path it is found at. Shards are read through their
branch's tip tree, which holds the whole shard.

Writing into a directory refuses what would land outside it: a tree entry named ``..``, ``.`` or with a ``/``
(which the shard writer never makes, but a hand-made or damaged repository can hold), a path through a link
that leads out of the directory, and a link whose target is absolute or climbs with ``..``. A link is written
as a link only when its target stays below its own directory, so no chain of links can climb out either.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pygit2

from pypi_platform.lib.corpus.shard import BRANCH
from pypi_platform.lib.corpus.state import shard_name_of

_LINK = int(pygit2.enums.FileMode.LINK)


class RefusedPath(ValueError):
    """A matching file that would be written outside the output directory: it is refused, never written."""


@dataclass(frozen=True)
class Match:
    shard: str
    parts: tuple[str, ...]  # the tree entry names down to the file, bytes that are not UTF-8 as surrogates
    oid: str  # hex
    mode: int  # git's file mode: 0o100644, 0o100755, or 0o120000 for a link (whose data is its target)
    data: bytes

    @property
    def path(self) -> str:
        return "/".join(self.parts)


@dataclass
class ExtractReport:
    matches: int = 0  # matching files, duplicates included
    unique: int = 0  # distinct blobs among them
    produced: int = 0  # files written or lines streamed
    refused: dict[str, str] = field(default_factory=dict)  # "<shard>:<path>" -> why it was not written


def glob_regex(pattern: str) -> re.Pattern[str]:
    """The regex of a shell/gitignore pattern over a ``/``-separated path, matching the whole path.

    ``*`` and ``?`` never cross ``/``; ``[...]`` (``[!...]`` or ``[^...]`` negated) neither; ``**`` as a whole
    segment matches zero or more segments (at the end: everything below); ``**`` inside a segment is ``*``;
    ``\\x`` is a literal ``x``. A leading ``/`` anchors at the root, as every pattern is; a trailing ``/``
    means everything below that directory. A ValueError for an empty pattern or segment.
    """
    body = pattern.removeprefix("/")
    if not body:
        raise ValueError("the pattern is empty")
    if body.endswith("/"):
        body += "**"
    segments = body.split("/")
    if "" in segments:
        raise ValueError(f"{pattern!r} has an empty path segment (two / in a row)")
    regex = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "**":
            regex.append(".+" if last else "(?:[^/]+/)*")
        else:
            regex.append(_segment_regex(segment) + ("" if last else "/"))
    try:
        return re.compile("".join(regex), re.DOTALL)
    except re.error as error:  # a reversed range such as [z-a]
        raise ValueError(f"{pattern!r}: {error}") from error


def _segment_regex(segment: str) -> str:
    out, i, n = [], 0, len(segment)
    while i < n:
        char = segment[i]
        i += 1
        if char == "*":
            while i < n and segment[i] == "*":
                i += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i < n:
            out.append(re.escape(segment[i]))
            i += 1
        elif char == "[":
            end = i + 1 if i < n and segment[i] in "!^" else i
            end = end + 1 if end < n and segment[end] == "]" else end  # a leading ] is literal
            end = segment.find("]", end)
            if end < 0:
                out.append(re.escape(char))  # no closing bracket: a literal [
                continue
            body = segment[i:end]
            i = end + 1
            negated = body[:1] in ("!", "^")
            body = body[1:] if negated else body
            body = re.sub(r"([\\\[&~|^])", r"\\\1", body)  # literal inside a class, no set operations
            out.append(f"[^/{body}]" if negated else f"(?!/)[{body}]")
        else:
            out.append(re.escape(char))
    return "".join(out)


def matching_files(
    repository: Path, pattern: str | re.Pattern[str], content: re.Pattern[bytes] | None = None
) -> Iterator[Match]:
    """Files of one shard whose path matches `pattern` (see ``glob_regex``) and whose bytes match `content`."""
    repo = pygit2.Repository(str(repository))
    try:
        tip = repo.revparse_single(BRANCH)
    except KeyError:
        return  # an empty shard
    matcher = (glob_regex(pattern) if isinstance(pattern, str) else pattern).fullmatch
    shard = shard_name_of(repository)
    stack: list[tuple[tuple[str, ...], pygit2.Tree]] = [((), tip.peel(pygit2.Tree))]
    while stack:
        parents, tree = stack.pop()
        for entry in tree:
            parts = (*parents, entry.raw_name.decode("utf-8", "surrogateescape"))
            if entry.type_str == "tree":
                stack.append((parts, repo[entry.id]))
            elif entry.type_str == "blob" and matcher("/".join(parts)):
                data = repo[entry.id].data
                if content is None or content.search(data):
                    yield Match(shard, parts, str(entry.id), int(entry.filemode), data)


def extract(
    repositories: Sequence[Path],
    pattern: str,
    content: re.Pattern[bytes] | None = None,
    *,
    out_dir: Path | None = None,
    stream: TextIO | None = None,
    unique: bool = False,
) -> ExtractReport:
    """Every matching file of the shards (each blob once with `unique`): at its path under `out_dir`, or as JSON
    lines on `stream` (see ``json_line``). Files that would land outside `out_dir` are refused and reported."""
    if (out_dir is None) == (stream is None):
        raise ValueError("extract writes to a directory or to a stream: give exactly one")
    regex = glob_regex(pattern)
    report = ExtractReport()
    seen: set[str] = set()
    root = Path(os.path.realpath(out_dir)) if out_dir is not None else None
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    for repository in repositories:
        for match in matching_files(repository, regex, content):
            report.matches += 1
            first = match.oid not in seen
            seen.add(match.oid)
            report.unique += first
            if unique and not first:
                continue
            if root is None:
                stream.write(json.dumps(json_line(match)) + "\n")
            else:
                try:
                    write_match(root, match)
                except RefusedPath as error:
                    report.refused[f"{match.shard}:{_printable(match.path)}"] = str(error)
                    continue
            report.produced += 1
    return report


def json_line(match: Match) -> dict:
    """A match as one JSON object: its bytes exactly, as UTF-8 text when they are valid UTF-8, else base64.

    ``{"shard", "path", "path_encoding", "oid", "mode", "encoding", "contents"}``: ``encoding`` and
    ``path_encoding`` are ``"utf-8"`` or ``"base64"``, ``mode`` git's octal mode (``"120000"``: a link, whose
    contents are its target).
    """
    path_encoding, path = _text(match.path.encode("utf-8", "surrogateescape"))
    encoding, contents = _text(match.data)
    return {
        "shard": match.shard,
        "path": path,
        "path_encoding": path_encoding,
        "oid": match.oid,
        "mode": f"{match.mode:o}",
        "encoding": encoding,
        "contents": contents,
    }


def _text(data: bytes) -> tuple[str, str]:
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        return "base64", base64.b64encode(data).decode("ascii")


def write_match(root: Path, match: Match) -> Path:
    """Write `match` at its path under `root` (a resolved directory); an RefusedPath if it would land outside."""
    for part in match.parts:
        if part in ("", ".", "..") or "/" in part or "\0" in part:
            raise RefusedPath(f"the path holds {part!r}: it would not stay under the output directory")
    directory = root
    for part in match.parts[:-1]:
        directory = directory / part
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
        # One level at a time, checked before going deeper: a link already there (from an earlier file or the
        # user's own) is followed only while it stays inside.
        if not Path(os.path.realpath(directory)).is_relative_to(root):
            raise RefusedPath(
                f"{directory.relative_to(root)} is a link that leads out of the output directory"
            )
        if not directory.is_dir():
            raise RefusedPath(f"{directory.relative_to(root)} is a file, not a directory")
    target = directory / match.parts[-1]
    if match.mode == _LINK:
        _link(target, match.data)
    else:
        _write(target, match.data, match.mode)
    return target


def _link(target: Path, destination: bytes) -> None:
    if (
        destination.startswith(b"/")
        or b".." in destination.split(b"/")
        or not destination
        or b"\0" in destination
    ):
        raise RefusedPath(
            f"a link to {destination.decode('utf-8', 'replace')!r} would lead out of its directory"
        )
    temp = target.with_name(f".extract-{os.getpid()}-{target.name}")
    with contextlib.suppress(FileNotFoundError):  # left by a run that died between the two steps below
        temp.unlink()
    os.symlink(os.fsdecode(destination), temp)
    _replace(temp, target)


def _write(target: Path, data: bytes, mode: int) -> None:
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".extract-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(temp, 0o755 if mode & 0o111 else 0o644)
    _replace(Path(temp), target)


def _replace(temp: Path, target: Path) -> None:
    try:
        os.replace(temp, target)  # replaces a link itself, never writes through it
    except OSError as error:  # a directory already where the file goes
        temp.unlink()
        raise RefusedPath(f"cannot replace {target.name}: {error.strerror}") from error


def _printable(path: str) -> str:
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
