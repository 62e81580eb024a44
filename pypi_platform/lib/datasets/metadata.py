"""The requirements of one release, read from the core metadata the mirror already holds.

Only the object store is read, never the network: the dataset describes the mirror. Sources are tried in order
of cost and trust: a PEP 658 sidecar (a wheel's first, as it is exactly the wheel's METADATA), then the
``.dist-info/METADATA`` inside a wheel, then ``<top>/PKG-INFO`` inside an sdist. The first source that is valid
core metadata wins, so one corrupt file does not hide a good one beside it.

Archives are untrusted input. They are read with zipfile/tarfile from a local seekable file (the store's own file,
or a spooled copy for S3), one member only, never extracted; a member's declared size is checked and the read is
capped at ``MAX_METADATA_BYTES``. Whatever goes wrong with the data becomes a ``problem`` row, never an exception;
errors of the store itself (other than a missing object) do propagate, so a flaky store fails the run instead of
publishing false problems.
"""

from __future__ import annotations

import re
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidName, canonicalize_name

from pypi_platform.lib.datasets.schema import (
    DEPENDENCY_LIST,
    PROBLEM_INVALID_METADATA,
    PROBLEM_INVALID_REQUIREMENT,
    PROBLEM_NO_FILES,
    PROBLEM_NO_METADATA,
    PROBLEM_SELF_DEPENDENCY,
)
from pypi_platform.lib.storage import ObjectNotFound, ObjectStore

__all__ = ["MAX_METADATA_BYTES", "ReleaseFile", "release_dependencies"]

# Real METADATA files are kilobytes (the largest long descriptions a few MB); anything bigger is hostile or broken.
MAX_METADATA_BYTES = 10 * 2**20
_CAP = f"{MAX_METADATA_BYTES // 2**20} MB"
_SPOOL_BYTES = 16 * 2**20  # an S3 object up to this size is copied to memory, a larger one to a temp file
_SDIST_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
_COLUMNS = tuple(DEPENDENCY_LIST.names())
# packaging has no public API to walk a marker, so the extra is read from the marker as packaging prints it:
# always `extra == "<value>"` (or reversed), double-quoted, the value already normalized (PEP 685).
_EXTRA = re.compile(r'\bextra == "([^"]*)"|"([^"]*)" == extra\b')


@dataclass(frozen=True)
class ReleaseFile:
    filename: str
    packagetype: str | None
    object_key: str
    has_sidecar: bool  # metadata_sha256 is not null


_Reader = Callable[[ObjectStore, ReleaseFile], bytes]


class _Unusable(Exception):
    """A source gave no metadata; ``invalid`` tells a corrupt source from one that has none."""

    def __init__(self, reason: str, *, invalid: bool) -> None:
        super().__init__(reason)
        self.invalid = invalid


def release_dependencies(
    store: ObjectStore, project: str, version: str, files: Sequence[ReleaseFile]
) -> list[dict]:
    """Rows (dicts with exactly the DEPENDENCY_LIST columns) for one release."""
    project = canonicalize_name(project)
    if not files:
        detail = "every file of the latest release was skipped by the mirror's filters"
        return [_row(project, version, problem=f"{PROBLEM_NO_FILES}: {detail}")]
    candidates = _candidates(files)
    if not candidates:
        names = ", ".join(f.filename for f in files[:3]) + (", …" if len(files) > 3 else "")
        detail = f"no sidecar, wheel or sdist among {len(files)} file(s) ({names})"
        return [_row(project, version, problem=f"{PROBLEM_NO_METADATA}: {detail}")]

    failures: list[_Unusable] = []
    for source, file, read in candidates:
        try:
            requires = _requires_dist(read(store, file), file.filename)
        except _Unusable as failure:
            failures.append(failure)
            continue
        return [_requirement_row(project, version, source, raw) for raw in requires]

    invalid = [f for f in failures if f.invalid]
    first = (invalid or failures)[0]
    more = f" (and {len(failures) - 1} other source(s) failed)" if len(failures) > 1 else ""
    kind = PROBLEM_INVALID_METADATA if invalid else PROBLEM_NO_METADATA
    return [_row(project, version, problem=f"{kind}: {first}{more}")]


def _row(project: str, version: str, **values: object) -> dict:
    return {**dict.fromkeys(_COLUMNS), "project": project, "version": version, **values}


def _requirement_row(project: str, version: str, source: str, raw: str) -> dict:
    try:
        req = Requirement(raw)
        name = canonicalize_name(req.name, validate=True)
    except (InvalidRequirement, InvalidName) as exc:
        # packaging's next lines point a caret at the error; the first line says what it is.
        problem = f"{PROBLEM_INVALID_REQUIREMENT}: {_first_line(exc)}"
        return _row(project, version, requirement=raw, source=source, problem=problem)
    marker = str(req.marker) if req.marker else None
    # The first extra wins when a marker names several (`extra == "a" or extra == "b"`): the column holds one.
    found = _EXTRA.search(marker) if marker else None
    return _row(
        project,
        version,
        requirement=raw,
        name=name,
        specifier=str(req.specifier),
        # PEP 685: extras compare normalized, so "Socks" and "socks" are the same extra.
        extras=sorted({canonicalize_name(extra) for extra in req.extras}),
        marker=marker,
        extra=canonicalize_name(found.group(1) or found.group(2)) if found else None,
        source=source,
        problem=PROBLEM_SELF_DEPENDENCY if name == project else None,
    )


def _is_wheel(file: ReleaseFile) -> bool:
    return file.filename.lower().endswith(".whl")


def _is_sdist(file: ReleaseFile) -> bool:
    # bdist_dumb files are .tar.gz/.zip too, so a type the index does state must be sdist.
    return file.filename.lower().endswith(_SDIST_SUFFIXES) and file.packagetype in ("sdist", None)


def _candidates(files: Sequence[ReleaseFile]) -> list[tuple[str, ReleaseFile, _Reader]]:
    """(source, file, reader) in the order to try them."""
    # sorted() is stable: wheels' sidecars first, otherwise in the order given.
    sidecars = sorted((f for f in files if f.has_sidecar), key=lambda f: not _is_wheel(f))
    return [
        *(("sidecar", f, _read_sidecar) for f in sidecars),
        *(("wheel", f, _read_wheel) for f in files if _is_wheel(f)),
        *(("sdist", f, _read_sdist) for f in files if _is_sdist(f)),
    ]


def _requires_dist(data: bytes, filename: str) -> list[str]:
    try:
        raw, unparsed = parse_email(data)
    except Exception as exc:  # the email parser's failures on arbitrary bytes are not a documented set
        raise _Unusable(f"{filename}: metadata does not parse: {_short(exc)}", invalid=True) from None
    if not raw.get("metadata_version") or not raw.get("name"):
        raise _Unusable(f"{filename}: not core metadata (no Metadata-Version or Name field)", invalid=True)
    if "requires-dist" in unparsed:  # packaging leaves a field here when a value is not valid UTF-8
        raise _Unusable(f"{filename}: Requires-Dist is not valid UTF-8", invalid=True)
    return list(raw.get("requires_dist", []))


def _read_sidecar(store: ObjectStore, file: ReleaseFile) -> bytes:
    key = file.object_key + ".metadata"
    try:
        reader = store.open(key)
    except ObjectNotFound:
        raise _Unusable(f"{file.filename}: the .metadata sidecar is missing", invalid=False) from None
    with reader:
        data = reader.read(MAX_METADATA_BYTES + 1)
    if len(data) > MAX_METADATA_BYTES:
        raise _Unusable(f"{file.filename}: the .metadata sidecar is over {_CAP}", invalid=True)
    return data


def _read_wheel(store: ObjectStore, file: ReleaseFile) -> bytes:
    with _local_copy(store, file) as archive:
        try:
            with zipfile.ZipFile(archive) as zf:
                members = [
                    info
                    for info in zf.infolist()
                    if _top_level(info.filename, "METADATA", ".dist-info") and not info.is_dir()
                ]
                if not members:
                    raise _Unusable(f"{file.filename}: no .dist-info/METADATA in the wheel", invalid=False)
                return _capped(zf.open(members[0]), members[0].file_size, file.filename, "METADATA")
        except _Unusable:
            raise
        except Exception as exc:  # zipfile/zlib raise an open set of types on hostile input (see docstring)
            raise _Unusable(f"{file.filename}: corrupt zip archive: {_short(exc)}", invalid=True) from None


def _read_sdist(store: ObjectStore, file: ReleaseFile) -> bytes:
    with _local_copy(store, file) as archive:
        try:
            if file.filename.lower().endswith(".zip"):
                with zipfile.ZipFile(archive) as zf:
                    for info in zf.infolist():
                        if _top_level(info.filename, "PKG-INFO") and not info.is_dir():
                            return _capped(zf.open(info), info.file_size, file.filename, "PKG-INFO")
            else:
                # Iterating stops at the member found: the rest of the archive is never decompressed.
                with tarfile.open(fileobj=archive, mode="r:*") as tf:
                    for member in tf:
                        # Only a regular file: a link would resolve to another member (never to a local path).
                        if member.isfile() and _top_level(member.name, "PKG-INFO"):
                            reader = tf.extractfile(member)
                            return _capped(reader, member.size, file.filename, "PKG-INFO")
        except _Unusable:
            raise
        except Exception as exc:  # tarfile/gzip/bz2/lzma/zipfile raise an open set of types on hostile input
            raise _Unusable(f"{file.filename}: corrupt archive: {_short(exc)}", invalid=True) from None
    raise _Unusable(f"{file.filename}: no <top>/PKG-INFO in the sdist", invalid=False)


def _top_level(name: str, leaf: str, dir_suffix: str = "") -> bool:
    """Whether a member is ``<dir>/<leaf>`` with ``<dir>`` a single, ordinary top-level directory."""
    parts = name.removeprefix("./").split("/")
    return (
        len(parts) == 2
        and parts[1] == leaf
        and parts[0] not in ("", ".", "..")
        and parts[0].endswith(dir_suffix)
    )


def _capped(reader: BinaryIO, declared: int, filename: str, member: str) -> bytes:
    # The declared size refuses early; the capped read holds even if the header lies about it.
    with reader:
        data = reader.read(MAX_METADATA_BYTES + 1) if declared <= MAX_METADATA_BYTES else b""
    if declared > MAX_METADATA_BYTES or len(data) > MAX_METADATA_BYTES:
        raise _Unusable(f"{filename}: {member} is over {_CAP}, refused", invalid=True)
    return data


@contextmanager
def _local_copy(store: ObjectStore, file: ReleaseFile) -> Iterator[BinaryIO]:
    """The archive as a seekable local file: zip needs seeks, and parsing never waits on the network."""
    try:
        remote = store.open(file.object_key)
    except ObjectNotFound:
        raise _Unusable(f"{file.filename}: the file is not in the store", invalid=False) from None
    if store.local_path(file.object_key) is not None:  # a local store's reader is the file itself
        with remote:
            yield remote
        return
    with remote, tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        shutil.copyfileobj(remote, spool, 2**20)
        spool.seek(0)
        yield spool


def _first_line(exc: Exception) -> str:
    # One line: tarfile's ReadError, for one, goes on to list every compression it tried.
    return (str(exc).splitlines() or [""])[0].rstrip(": ")[:160] or type(exc).__name__


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {_first_line(exc)}"
