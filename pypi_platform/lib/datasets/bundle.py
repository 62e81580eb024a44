"""The checksum files and the one-archive bundle of every published dataset, as Aura shipped them.

``md5_checksums.txt`` and ``sha256_checksums.txt`` use the ``md5sum``/``sha256sum`` layout (hex digest, two
spaces, file name), so ``md5sum -c`` verifies a downloaded copy. The bundle is a gzip tar of flat regular files
only (no directories, links or devices), with fixed owners, modes and times: a consumer that extracts it without
a filter cannot be led outside its directory, and the same files always give the same archive.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Mapping

BUNDLE_NAME = "aura_dataset.tgz"
MD5_NAME = "md5_checksums.txt"
SHA256_NAME = "sha256_checksums.txt"


def bundle(members: Mapping[str, bytes], mtime: int = 0) -> bytes:
    """A deterministic .tgz holding ``members`` (flat names) as regular files, sorted by name."""
    for name in members:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(f"bundle members must be flat file names, got {name!r}")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(members[name]), 0o644, mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(members[name]))
    return gzip.compress(raw.getvalue(), mtime=0)
