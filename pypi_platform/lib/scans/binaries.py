"""Executables and native libraries inside an sdist.

A wheel legitimately carries compiled extensions; an sdist is source, so a binary in it is either a vendored
tool or a payload waiting for setup.py to run it (bundled-binary detection is something Aura's users asked
for). Formats are recognised by their headers, never by file name, so a renamed payload is still seen.
"""

from __future__ import annotations

import struct

from pypi_platform.lib.scans.findings import Finding

_MACHO_MAGICS = {
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
}
_FAT_MACHO = b"\xca\xfe\xba\xbe"  # also the magic of a Java class file, told apart by the next word


def executable_format(data: bytes) -> str | None:
    """The executable format whose header `data` starts with, or None."""
    head = data[:4]
    if head == b"\x7fELF":
        return "ELF"
    if head in _MACHO_MAGICS:
        return "Mach-O"
    if head == _FAT_MACHO and len(data) >= 8:
        # A universal binary holds a handful of architectures; a class file has its version (>= 45) here.
        (count,) = struct.unpack(">I", data[4:8])
        return "Mach-O universal" if 0 < count < 20 else None
    if data[:2] == b"MZ" and len(data) >= 0x40:
        # Plenty of text starts with "MZ"; a PE file points at its "PE\0\0" signature from offset 0x3c.
        (offset,) = struct.unpack("<I", data[0x3C:0x40])
        if data[offset : offset + 4] == b"PE\0\0":
            return "PE"
    return None


def binary_findings(path: str, data: bytes, packagetype: str) -> list[Finding]:
    if packagetype != "sdist":
        return []
    kind = executable_format(data)
    if kind is None:
        return []
    return [Finding.of("binary.executable-in-sdist", path, evidence=f"{kind} binary, {len(data):,} bytes")]
