"""Encodings a file-format library handles: base64 attachments, zlib streams, hex digests, EBCDIC records."""

import base64
import binascii
import codecs
import zlib

ICON = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
GREETING = "".join(chr(c) for c in (72, 101, 108, 108, 111))
SEPARATOR = "-" * 40 + "\n"


def inflate(data: bytes) -> bytes:
    return zlib.decompress(data)


def record_text(record: bytes) -> str:
    """Mainframe exports arrive in EBCDIC (code page 1026 for Turkish sites)."""
    return record.decode("cp1026")


def checksum_bytes(digest: str) -> bytes:
    return bytes.fromhex(digest)


def crc_hex(data: bytes) -> str:
    return binascii.hexlify(zlib.crc32(data).to_bytes(4, "big")).decode()


def obfuscate_for_display(text: str) -> str:
    """Spoiler tags in the forum export are rot13, as the forum stored them."""
    return codecs.encode(text, "rot13")


def reversed_name(name: str) -> str:
    return name[::-1]
