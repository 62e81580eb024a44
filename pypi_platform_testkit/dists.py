"""Build real wheels and sdists in memory, byte-for-byte deterministic.

The fake upstream index serves these, so mirror tests exercise real hashes, real zip/tar parsing and real
core metadata instead of placeholder bytes. Fixed timestamps, ordering and permissions make the same inputs
produce the same bytes, so sha256 digests (and therefore storage keys) are stable across runs.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import Iterable

from packaging.version import InvalidVersion, Version

__all__ = ["build_sdist", "build_wheel", "core_metadata", "normalize_dist_name", "wheel_metadata"]

# 1980-01-01 is the earliest date zip can store; any fixed value works, this one is obviously synthetic.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_TAR_MTIME = 315532800  # the same instant, for tar members
_GENERATOR = "pypi-platform-tests"


def normalize_dist_name(name: str) -> str:
    """The file-name form of a project name: runs of -_. become one underscore, lower case (wheel spec)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _normalize_version(version: str) -> str:
    # File names carry the normalized version; keep an invalid one as-is so tests can build odd files.
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def core_metadata(
    name: str,
    version: str,
    *,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
    summary: str | None = None,
) -> bytes:
    """METADATA / PKG-INFO content (Metadata-Version 2.1)."""
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines.append(f"Summary: {summary if summary is not None else f'Test package {name}'}")
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires]
    return ("\n".join(lines) + "\n\n").encode()


def _default_modules(name: str, version: str) -> dict[str, str]:
    return {f"{normalize_dist_name(name)}/__init__.py": f'__version__ = "{version}"\n'}


def _record_digest(data: bytes) -> str:
    # RECORD uses urlsafe base64 without padding (wheel spec, "The .dist-info directory").
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _wheel_tag(platform_tag: str) -> str:
    # A full tag triple ("cp311-cp311-win_amd64") is taken as-is; a bare platform becomes py3-none-<platform>.
    return platform_tag if platform_tag.count("-") == 2 else f"py3-none-{platform_tag}"


def build_wheel(
    name: str,
    version: str,
    *,
    modules: dict[str, str] | None = None,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
    platform_tag: str = "any",
    summary: str | None = None,
) -> tuple[str, bytes]:
    """Return (filename, bytes) of a wheel; installable by pip when platform_tag is "any"."""
    dist, ver, tag = normalize_dist_name(name), _normalize_version(version), _wheel_tag(platform_tag)
    dist_info = f"{dist}-{ver}.dist-info"
    pure = tag.endswith("-any")
    members: list[tuple[str, bytes]] = [
        (path, text.encode()) for path, text in sorted((modules or _default_modules(name, version)).items())
    ]
    members.append(
        (
            f"{dist_info}/METADATA",
            core_metadata(name, version, requires=requires, requires_python=requires_python, summary=summary),
        )
    )
    wheel_file = (
        f"Wheel-Version: 1.0\nGenerator: {_GENERATOR}\nRoot-Is-Purelib: {'true' if pure else 'false'}\n"
        f"Tag: {tag}\n\n"
    )
    members.append((f"{dist_info}/WHEEL", wheel_file.encode()))
    record = "".join(f"{path},{_record_digest(data)},{len(data)}\n" for path, data in members)
    members.append((f"{dist_info}/RECORD", (record + f"{dist_info}/RECORD,,\n").encode()))

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, data in members:
            info = zipfile.ZipInfo(path, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # regular file, rw-r--r--; otherwise unzip sees mode 0
            zf.writestr(info, data)
    return f"{dist}-{ver}-{tag}.whl", buf.getvalue()


def wheel_metadata(wheel_bytes: bytes) -> bytes:
    """The wheel's .dist-info/METADATA: exactly what a PEP 658 `.metadata` sidecar serves."""
    with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as zf:
        for path in zf.namelist():
            top, _, rest = path.partition("/")
            if top.endswith(".dist-info") and rest == "METADATA":
                return zf.read(path)
    raise ValueError("wheel has no .dist-info/METADATA")


def _pyproject(name: str, version: str, requires: list[str], requires_python: str | None) -> str:
    deps = ", ".join(f'"{req}"' for req in requires)
    text = (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\ndependencies = [{deps}]\n'
    )
    if requires_python:
        text += f'requires-python = "{requires_python}"\n'
    return text


def build_sdist(
    name: str,
    version: str,
    *,
    modules: dict[str, str] | None = None,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
    summary: str | None = None,
) -> tuple[str, bytes]:
    """Return (filename, bytes) of a `.tar.gz` sdist buildable with the setuptools backend."""
    requires = list(requires)
    stem = f"{normalize_dist_name(name)}-{_normalize_version(version)}"
    members: list[tuple[str, bytes]] = [
        (
            "PKG-INFO",
            core_metadata(name, version, requires=requires, requires_python=requires_python, summary=summary),
        ),
        ("pyproject.toml", _pyproject(name, version, requires, requires_python).encode()),
    ]
    members += [(p, t.encode()) for p, t in sorted((modules or _default_modules(name, version)).items())]

    buf = io.BytesIO()
    # gzip stores a timestamp and the file name in its header; pin both for reproducible bytes.
    with (
        gzip.GzipFile(filename="", fileobj=buf, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf,
    ):
        for path, data in members:
            info = tarfile.TarInfo(f"{stem}/{path}")
            info.size, info.mtime, info.mode = len(data), _TAR_MTIME, 0o644
            tf.addfile(info, io.BytesIO(data))
    return f"{stem}.tar.gz", buf.getvalue()
