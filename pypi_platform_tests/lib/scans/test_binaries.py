"""Binaries in an sdist: recognised by header whatever their name; wheels may carry them; look-alikes pass."""

import struct

from pypi_platform.lib.scans.binaries import binary_findings, executable_format

ELF = b"\x7fELF\x02\x01\x01" + bytes(57)
PE = b"MZ" + bytes(0x3A) + struct.pack("<I", 0x80) + bytes(0x40) + b"PE\0\0" + bytes(16)


def test_an_elf_renamed_to_a_text_file_in_an_sdist_is_found():
    [finding] = binary_findings("pkg-1.0/data/readme.txt", ELF, "sdist")
    assert finding.rule == "binary.executable-in-sdist"
    assert finding.path == "pkg-1.0/data/readme.txt"
    assert finding.evidence.startswith("ELF binary")


def test_windows_and_mac_executables_are_recognised():
    assert executable_format(PE) == "PE"
    assert executable_format(b"\xcf\xfa\xed\xfe" + bytes(28)) == "Mach-O"
    assert executable_format(b"\xca\xfe\xba\xbe" + struct.pack(">I", 2) + bytes(40)) == "Mach-O universal"


def test_look_alikes_are_not_executables():
    assert executable_format(b"MZ is how this text file starts" + bytes(64)) is None
    java_class = b"\xca\xfe\xba\xbe" + struct.pack(">HH", 0, 61) + bytes(40)
    assert executable_format(java_class) is None


def test_a_compiled_extension_in_a_wheel_is_not_a_finding():
    assert binary_findings("pkg/_speedups.cpython-311-x86_64-linux-gnu.so", ELF, "wheel") == []
