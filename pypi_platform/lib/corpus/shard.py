"""Appending distribution files to a shard: a bare git repository, one deterministic commit per distribution file.

Layout (REFERENCE.md §6.1): every kept member of a distribution file lands at
``packages/<project>/<filename>/<path>`` on the branch ``refs/heads/code`` (HEAD points at it, so plain ``git log``
works); nothing is ever deleted, so the tip tree holds the whole shard.

Determinism (§6.6 item 2): a commit's id depends only on its tree, its parent, a fixed author and committer
(``pypi-platform corpus <corpus@pypi-platform.invalid>``), the upload time (whole seconds, +0000) as both dates, and
the message ``"<project> <version>: <filename>\\n"``. The same distributions in the same order give the same ids on
any machine, in one run or across any number of writer instances (each starts from the branch's tip). A
distribution without files still gets its commit, with its parent's tree (an empty tree for the very first one),
so that every distribution file of the plan has a commit to point at.

Writing: libgit2 hashes blobs, serialises trees (TreeBuilder) and formats commits, but the objects never touch the
disk one by one: a Python object-database backend with the highest priority receives every write and keeps it in
memory. Per distribution only four trees change besides its own subtree: the distribution's directory, its
project's directory, ``packages`` and the root, each rebuilt from its previous version with one entry inserted.
``flush()`` (and a full buffer, see ``buffer_bytes``) writes the buffered objects as one pack file and index with
``shard_pack.write_pack``: blobs whole, the rewritten upper trees as deltas against their previous version in the
same pack, deflated on two threads, fsynced, then renamed into ``objects/pack``. No loose object is ever written.
Only ``flush()`` moves the branch, after its pack is durable; a crash before that leaves unreferenced objects in
a pack, and ``reset_to()`` with the head recorded in the database puts the branch back where the caller wants it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pygit2

from pypi_platform.lib.corpus import shard_pack

BRANCH = "refs/heads/code"
AUTHOR_NAME = "pypi-platform corpus"
AUTHOR_EMAIL = "corpus@pypi-platform.invalid"
BUFFER_BYTES = 256 * 2**20  # object bytes held in memory before they are written out as a pack

_BLOB = pygit2.enums.FileMode.BLOB
_TREE = pygit2.enums.FileMode.TREE
_KIND = {pygit2.enums.ObjectType.COMMIT: 1, pygit2.enums.ObjectType.TREE: 2, pygit2.enums.ObjectType.BLOB: 3}


@dataclass(frozen=True)
class ShardFile:
    path: str  # under the distribution's directory, sanitised by the caller: "/"-separated, no "", ".", "..", ".git"
    data: bytes


@dataclass(frozen=True)
class DistributionCommit:
    project: str  # project name as displayed: the directory under packages/
    version: str
    filename: str  # distribution file name: the directory under packages/<project>/
    upload_time: datetime  # timezone-aware; the commit's author and committer time (whole seconds, UTC)
    files: Sequence[ShardFile]  # may be empty: the commit then keeps its parent's tree


class _MemoryObjects(pygit2.OdbBackend):
    """An object-database backend that keeps every object written through it in memory, in write order."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[pygit2.Oid, tuple[int, bytes]] = {}
        self.bases: dict[pygit2.Oid, pygit2.Oid] = {}  # a rewritten tree -> its previous version
        self.size = 0

    def write_cb(self, oid: pygit2.Oid, data: bytes, kind: int) -> None:
        if oid not in self.objects:
            self.objects[oid] = (kind, data)
            self.size += len(data)

    def read_cb(self, oid: pygit2.Oid) -> tuple[int, bytes]:
        return self.objects[oid]  # KeyError is libgit2's "not found"

    def read_header_cb(self, oid: pygit2.Oid) -> tuple[int, int]:
        kind, data = self.objects[oid]
        return kind, len(data)

    def read_prefix_cb(self, prefix: pygit2.Oid) -> tuple[int, bytes, pygit2.Oid]:
        wanted = str(prefix).rstrip("0")
        for oid, (kind, data) in self.objects.items():
            if str(oid).startswith(wanted):
                return kind, data, oid
        raise KeyError(prefix)

    def exists_cb(self, oid: pygit2.Oid) -> bool:
        return oid in self.objects

    def exists_prefix_cb(self, prefix: pygit2.Oid) -> pygit2.Oid:
        return self.read_prefix_cb(prefix)[2]

    def refresh_cb(self) -> None:
        pass

    def __iter__(self):
        return iter(list(self.objects))

    def take(self) -> list[shard_pack.PackObject]:
        """Every buffered object, in write order, emptying the buffer."""
        bases = self.bases
        taken = [
            shard_pack.PackObject(
                oid.raw,
                _KIND[kind],
                data,
                bases[oid].raw if oid in bases and bases[oid] in self.objects else None,
            )
            for oid, (kind, data) in self.objects.items()
        ]
        self.objects = {}
        self.bases = {}
        self.size = 0
        return taken


class ShardWriter:
    """Appends distributions to the shard at ``path`` (a bare repository, created if missing)."""

    def __init__(self, path: Path, *, buffer_bytes: int = BUFFER_BYTES) -> None:
        path = Path(path)
        if not (path / "HEAD").exists():
            pygit2.init_repository(str(path), bare=True, initial_head=BRANCH.removeprefix("refs/heads/"))
        self.path = path
        self._repo = pygit2.Repository(str(path))
        self._buffer = _MemoryObjects()
        # Above libgit2's loose (1) and pack (2) backends, so every write lands here and nowhere else.
        self._repo.odb.add_backend(self._buffer, 1000)
        self._buffer_bytes = buffer_bytes
        reference = self._repo.references.get(BRANCH)
        self._set_tip(reference.target if reference is not None else None)

    @property
    def head(self) -> str | None:
        """The last appended commit (flushed or not); None for an empty branch."""
        return None if self._tip is None else str(self._tip)

    def reset_to(self, commit: str | None) -> None:
        """Move the branch to ``commit`` (None: no commit at all), dropping appends not flushed yet."""
        self._buffer.take()
        if commit is None:
            reference = self._repo.references.get(BRANCH)
            if reference is not None:
                reference.delete()
            self._set_tip(None)
            return
        target = self._repo.get(commit)
        if not isinstance(target, pygit2.Commit):
            raise ValueError(f"{commit} is not a commit of {self.path}")
        self._repo.references.create(BRANCH, target.id, force=True)
        self._set_tip(target.id)

    def append(self, dist: DistributionCommit) -> str:
        """Commit ``dist`` on top of the tip; returns the commit id. The branch moves at the next ``flush()``."""
        for name in (dist.project, dist.filename):
            _check_component(name)
        if dist.upload_time.tzinfo is None:
            raise ValueError("upload_time must be timezone-aware")
        repo = self._repo
        packages = repo[self._packages] if self._packages is not None else None
        project_entry = _entry(packages, dist.project)
        project = repo[project_entry.id] if project_entry is not None else None
        if _entry(project, dist.filename) is not None:
            raise ValueError(f"packages/{dist.project}/{dist.filename} is already in the shard")
        root = self._root
        if dist.files:
            release = self._write_files(dist.files)
            project_id = self._rewrite(project, dist.filename, release)
            packages_id = self._rewrite(packages, dist.project, project_id)
            root_tree = repo[self._root] if self._root is not None else None
            root = self._rewrite(root_tree, "packages", packages_id)
            self._packages = packages_id
        elif root is None:
            root = repo.TreeBuilder().write()
        when = math.floor(dist.upload_time.astimezone(UTC).timestamp())
        signature = pygit2.Signature(AUTHOR_NAME, AUTHOR_EMAIL, when, 0)
        message = f"{dist.project} {dist.version}: {dist.filename}\n"
        parents = [self._tip] if self._tip is not None else []
        self._tip = repo.create_commit(None, signature, signature, message, root, parents)
        self._root = root
        if self._buffer.size >= self._buffer_bytes:
            self._write_pack()
        return str(self._tip)

    def flush(self) -> str | None:
        """Write everything appended as a pack, then point the branch at the last commit; returns the head."""
        self._write_pack()
        if self._tip is not None:
            reference = self._repo.references.get(BRANCH)
            if reference is None or reference.target != self._tip:
                self._repo.references.create(BRANCH, self._tip, force=True)
                _fsync_file(self.path / BRANCH)
        return self.head

    def _set_tip(self, tip: pygit2.Oid | None) -> None:
        self._tip = tip
        self._root = None
        self._packages = None
        if tip is not None:
            root = self._repo[tip].peel(pygit2.Tree)
            self._root = root.id
            entry = _entry(root, "packages")
            self._packages = entry.id if entry is not None else None

    def _write_files(self, files: Sequence[ShardFile]) -> pygit2.Oid:
        # Nested dicts, one per directory; a later member replaces an earlier one at the same path, and a file
        # and a directory of the same name keep whichever came last (tar semantics, as git fast-import does).
        top: dict[str, object] = {}
        create_blob = self._repo.create_blob
        for item in files:
            *folders, name = item.path.split("/")
            node = top
            for folder in folders:
                child = node.get(folder)
                if not isinstance(child, dict):
                    child = node[folder] = {}
                node = child
            node[name] = create_blob(item.data)
        return self._write_dir(top)

    def _write_dir(self, node: dict[str, object]) -> pygit2.Oid:
        builder = self._repo.TreeBuilder()
        for name, value in node.items():
            if isinstance(value, dict):
                builder.insert(name, self._write_dir(value), _TREE)
            else:
                builder.insert(name, value, _BLOB)
        return builder.write()

    def _rewrite(self, tree: pygit2.Tree | None, name: str, child: pygit2.Oid) -> pygit2.Oid:
        """``tree`` with the subtree ``name`` set to ``child``; the pack stores it as a delta against ``tree``."""
        builder = self._repo.TreeBuilder(tree) if tree is not None else self._repo.TreeBuilder()
        builder.insert(name, child, _TREE)
        new = builder.write()
        if tree is not None and new != tree.id:
            self._buffer.bases[new] = tree.id
        return new

    def _write_pack(self) -> None:
        objects = self._buffer.take()
        if objects:
            shard_pack.write_pack(Path(self._repo.path) / "objects" / "pack", objects)


def _entry(tree: pygit2.Tree | None, name: str) -> pygit2.Object | None:
    if tree is None:
        return None
    try:
        return tree[name]
    except KeyError:
        return None


def _check_component(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\0" in name or name.lower() == ".git":
        raise ValueError(f"{name!r} cannot be a directory name in the shard")


def _fsync_file(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except (
        FileNotFoundError
    ):  # the ref went to packed-refs; libgit2 wrote that file through a lock and rename
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
