"""Appending distribution files to a shard: a bare git repository, one deterministic commit per distribution file.

Layout, as py-code.org's shards have it: every kept member of a distribution file lands at
``packages/<project>/<filename>/<path>`` on the branch ``refs/heads/code`` (HEAD points at it, so plain ``git log``
works); nothing is ever deleted, so the tip tree holds the whole shard.

Determinism (§6.6 item 2): a commit's id depends only on its tree, its parent, a fixed author and committer
(``pypi-platform corpus <corpus@pypi-platform.invalid>``), the upload time (whole seconds, +0000) as both dates, and
the message ``"<project> <version>: <filename>\\n"``. The same distributions in the same order give the same ids on
any machine, in one run or across any number of writer instances (each starts from the branch's tip). A
distribution without files still gets its commit, with its parent's tree (an empty tree for the very first one),
so that every distribution file of the plan has a commit to point at.

Writing: libgit2 hashes the blobs and builds each distribution's own subtree (TreeBuilder) and formats the
commits, but no object touches the disk one by one: a Python object-database backend with the highest priority
receives every write and keeps it in memory. Per distribution only three trees above its subtree change:
``packages/<project>``, ``packages`` and the root. The writer keeps those as sorted lists of serialised entries
(``_Directory``), so a commit inserts one entry and joins the list, instead of libgit2 copying, sorting and
re-serialising a ``packages`` tree of thousands of entries; each new version is buffered as a delta against the
previous one (whole every ``MAX_DELTA_DEPTH`` versions, as git's pack depth). ``flush()`` (and, mid-run, a buffer
past ``buffer_bytes``) writes the buffered objects as one pack file and index with ``shard_pack.write_pack``:
blobs, commits and subtrees whole, upper trees as those deltas, deflated on two threads, fsynced, then renamed
into ``objects/pack``. No loose object is ever written. Only ``flush()`` moves the branch, after its pack is
durable; a crash before that leaves unreferenced objects in a pack, and ``reset_to()`` with the head recorded in
the database puts the branch where the caller wants it (unflushed appends are dropped).
"""

from __future__ import annotations

import bisect
import hashlib
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
    """An object-database backend that keeps every object written through it in memory, in write order.

    A new version of an upper tree is kept as a delta against its previous version (``add_version``); only the
    newest version and every version that starts a chain stay whole, so a run of commits against a large
    ``packages`` tree costs memory for its deltas, not for each copy.
    """

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[
            pygit2.Oid, tuple[int, bytes | None, int]
        ] = {}  # kind, content (None: see deltas), size
        self.deltas: dict[pygit2.Oid, tuple[pygit2.Oid, bytes, int]] = {}  # base, delta, chain depth
        self.size = 0

    def write_cb(self, oid: pygit2.Oid, data: bytes, kind: int) -> None:
        if oid not in self.objects:
            self.objects[oid] = (kind, data, len(data))
            self.size += len(data)

    def add_version(self, oid: pygit2.Oid, data: bytes, base: pygit2.Oid | None) -> None:
        """Buffer the tree ``data`` (id ``oid``), a rewrite of the tree ``base``."""
        if oid in self.objects:
            return
        if base is not None and base in self.objects:
            kind, base_data, base_size = self.objects[base]
            depth = self.deltas[base][2] + 1 if base in self.deltas else 1
            if base_data is not None and depth <= shard_pack.MAX_DELTA_DEPTH:
                delta = shard_pack.delta(base_data, data)
                if len(delta) * 2 <= len(
                    data
                ):  # a delta must pay for itself; a rewritten tree is stored whole
                    self.deltas[oid] = (base, delta, depth)
                    self.objects[oid] = (shard_pack.TREE, data, len(data))
                    self.size += len(delta)
                    if base in self.deltas:  # the superseded version is rebuilt from its own delta if read
                        self.objects[base] = (kind, None, base_size)
                    return
        self.objects[oid] = (shard_pack.TREE, data, len(data))
        self.size += len(data)

    def read_cb(self, oid: pygit2.Oid) -> tuple[int, bytes]:
        kind, data, _ = self.objects[oid]  # KeyError is libgit2's "not found"
        if data is None:
            base, delta, _ = self.deltas[oid]
            data = shard_pack.apply_delta(self.read_cb(base)[1], delta)
        return kind, data

    def read_header_cb(self, oid: pygit2.Oid) -> tuple[int, int]:
        kind, _, size = self.objects[oid]
        return kind, size

    def read_prefix_cb(self, prefix: pygit2.Oid) -> tuple[int, bytes, pygit2.Oid]:
        wanted = str(prefix).rstrip("0")
        for oid in self.objects:
            if str(oid).startswith(wanted):
                return (*self.read_cb(oid), oid)
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
        """Every buffered object, in write order (a delta's base comes first), emptying the buffer."""
        taken = []
        for oid, (kind, data, _) in self.objects.items():
            if oid in self.deltas:
                base, delta, _ = self.deltas[oid]
                taken.append(shard_pack.PackObject(oid.raw, kind, delta, base.raw))
            else:
                assert data is not None
                taken.append(shard_pack.PackObject(oid.raw, kind, data))
        self.objects = {}
        self.deltas = {}
        self.size = 0
        return taken


class _Directory:
    """A tree kept as its serialised entries in git's order, so that setting one entry is a list insertion.

    libgit2's TreeBuilder copies, sorts and re-serialises every entry of ``packages`` for each commit, which made
    the writer slower than fast-import once a shard held a few thousand projects.
    """

    __slots__ = ("entries", "keys", "oid")

    def __init__(self, tree: pygit2.Tree | None = None) -> None:
        self.oid = tree.id if tree is not None else None
        self.keys: list[bytes] = []  # git orders a directory as if its name ended in "/"
        self.entries: list[bytes] = []
        for item in tree or ():
            raw = item.raw_name
            self.keys.append(raw + b"/" if item.filemode == _TREE else raw)
            self.entries.append(b"%o %s\0%s" % (item.filemode, raw, item.id.raw))

    def find(self, name: str) -> pygit2.Oid | None:
        key = name.encode() + b"/"
        at = bisect.bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            return pygit2.Oid(raw=self.entries[at][-20:])
        return None

    def set(self, name: str, child: pygit2.Oid) -> tuple[pygit2.Oid, bytes]:
        """Point the subdirectory ``name`` at ``child``; returns the new tree's id and content."""
        raw = name.encode()
        key = raw + b"/"
        entry = b"40000 %s\0%s" % (raw, child.raw)
        at = bisect.bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            self.entries[at] = entry
        else:
            self.keys.insert(at, key)
            self.entries.insert(at, entry)
        data = b"".join(self.entries)
        self.oid = pygit2.Oid(raw=hashlib.sha1(b"tree %d\0" % len(data) + data).digest())
        return self.oid, data


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
        project = self._project(dist.project)
        if project is not None and project.find(dist.filename) is not None:
            raise ValueError(f"packages/{dist.project}/{dist.filename} is already in the shard")
        repo = self._repo
        if dist.files:
            release = self._write_files(dist.files)
            if project is None:
                project = self._projects[dist.project] = _Directory()
            if self._packages is None:
                self._packages = _Directory()
            project_id = self._store(project, dist.filename, release)
            packages_id = self._store(self._packages, dist.project, project_id)
            root = self._store(self._root, "packages", packages_id)
        elif self._root.oid is None:
            root = self._root.oid = repo.TreeBuilder().write()  # the empty tree
        else:
            root = self._root.oid
        when = math.floor(dist.upload_time.astimezone(UTC).timestamp())
        signature = pygit2.Signature(AUTHOR_NAME, AUTHOR_EMAIL, when, 0)
        message = f"{dist.project} {dist.version}: {dist.filename}\n"
        parents = [self._tip] if self._tip is not None else []
        self._tip = repo.create_commit(None, signature, signature, message, root, parents)
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
        root = self._repo[tip].peel(pygit2.Tree) if tip is not None else None
        self._root = _Directory(root)
        packages = self._root.find("packages")
        self._packages = _Directory(self._repo[packages]) if packages is not None else None
        self._projects: dict[str, _Directory] = {}  # loaded on first use

    def _project(self, name: str) -> _Directory | None:
        project = self._projects.get(name)
        if project is None and self._packages is not None:
            found = self._packages.find(name)
            if found is not None:
                project = self._projects[name] = _Directory(self._repo[found])
        return project

    def _store(self, directory: _Directory, name: str, child: pygit2.Oid) -> pygit2.Oid:
        base = directory.oid
        oid, data = directory.set(name, child)
        self._buffer.add_version(oid, data, base)
        return oid

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

    def _write_pack(self) -> None:
        objects = self._buffer.take()
        if objects:
            shard_pack.write_pack(Path(self._repo.path) / "objects" / "pack", objects)


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
