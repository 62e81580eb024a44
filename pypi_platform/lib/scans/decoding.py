"""Pure conversions for the constant folder (``folding.py``): codecs, base64 and friends, bounded
decompression, and %- and {}-formatting of constants, each refusing anything that could grow without bound.
"""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import codecs
import lzma
import re
import zlib

MAX_VALUE = 100_000  # characters or bytes in any folded value
_MAX_INT = 2**64

# Charset codecs: pure table lookups whose output is a few times the input at most; the EBCDIC pages (cp037,
# cp500, cp1026, ...) are what payloads use to look like noise.
_CHARSETS = re.compile(
    r"(?:cp\d{3,5}|utf_?(?:8|16|32)(?:_[lb]e)?(?:_sig)?|latin_?1|iso_?8859_\d{1,2}|ascii|us_ascii|mac_[a-z]+"
    r"|koi8_[a-z]|unicode_escape|raw_unicode_escape|utf_7|punycode)"
)
_FORMAT_FIELD = re.compile(r"\{(\d*|[A-Za-z_]\w*)\}")
_FORMAT_SPEC_FIELD = re.compile(r"\{[^{}]*[:!][^{}]*\}")
_PERCENT_FIELD = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d{0,3}(?:\.\d{0,3})?[sdirfxXoc%]|%")

B64_FUNCTIONS = {
    "base64.b64decode": base64.b64decode,
    "base64.standard_b64decode": base64.standard_b64decode,
    "base64.urlsafe_b64decode": base64.urlsafe_b64decode,
    "base64.decodebytes": base64.decodebytes,
    "base64.decodestring": base64.decodebytes,
    "base64.b32decode": base64.b32decode,
    "base64.b16decode": lambda data: base64.b16decode(data, casefold=True),
    "base64.b85decode": base64.b85decode,
    "base64.a85decode": base64.a85decode,
    "binascii.a2b_base64": binascii.a2b_base64,
    "binascii.unhexlify": binascii.unhexlify,
    "binascii.a2b_hex": binascii.a2b_hex,
    "bytes.fromhex": bytes.fromhex,
    "bytearray.fromhex": bytes.fromhex,
}
DECOMPRESSORS = {"zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress"}


class Exhausted(Exception):
    """The budget of a fold (or of the file) ran out: the value is unknown."""


# What a conversion of hostile constants may raise (bad padding, bad data streams, codec errors, big numbers).
FAILURES = (Exhausted, ValueError, TypeError, LookupError, OverflowError, zlib.error, lzma.LZMAError)
FAILURES += (OSError, EOFError, MemoryError, RecursionError)


def decompress(name: str, data: bytes) -> bytes:
    """At most MAX_VALUE bytes of the decompressed data: a bomb stops at the cap."""
    if name in ("zlib.decompress", "gzip.decompress", "zlib"):
        return zlib.decompressobj(47).decompress(data, MAX_VALUE)  # 47: zlib or gzip header, detected
    if name in ("bz2.decompress", "bz2"):
        return bz2.BZ2Decompressor().decompress(data, MAX_VALUE)
    return lzma.LZMADecompressor().decompress(data, MAX_VALUE)


def convert(value: str | bytes, codec: str, *, decoding: bool) -> str | bytes | None:
    """value.decode(codec), value.encode(codec) or codecs.decode/encode, for the codecs known to be pure."""
    name = codec.lower().replace("-", "_").replace(" ", "_")
    if name in ("rot13", "rot_13") and isinstance(value, str):
        return codecs.decode(value, "rot13")
    raw = value.encode("latin-1", "replace") if isinstance(value, str) else value
    if name in ("base64", "base_64"):
        return base64.decodebytes(raw) if decoding else base64.encodebytes(raw)
    if name in ("hex", "hex_codec"):
        return binascii.unhexlify(raw) if decoding else binascii.hexlify(raw)
    if name in ("zlib", "zip", "bz2"):
        return decompress(name if name != "zip" else "zlib", raw) if decoding else None
    if not _CHARSETS.fullmatch(name):
        return None
    if decoding:
        return raw.decode(name) if isinstance(value, bytes) else None
    return value.encode(name) if isinstance(value, str) else None


def sized(value):
    if len(value) > MAX_VALUE:
        raise Exhausted
    return value


def small(number: int) -> int:
    if -_MAX_INT < number < _MAX_INT:
        return number
    raise Exhausted


def integer(op: type, left: int, right: int) -> int | None:
    if op is ast.Sub:
        return small(left - right)
    if op is ast.BitXor:
        return left ^ right
    if op is ast.BitAnd:
        return left & right
    if op is ast.BitOr:
        return left | right
    if op is ast.Mod and right:
        return left % right
    if op is ast.FloorDiv and right:
        return left // right
    if op is ast.LShift and 0 <= right <= 64:
        return small(left << right)
    if op is ast.RShift and right >= 0:
        return left >> right
    return None


def percent(template: str, arguments: str | bytes | int | list) -> str | None:
    """template % arguments, when every field is a plain one (a width of at most three digits)."""
    fields = _PERCENT_FIELD.findall(template)
    if any(field == "%" or "(" in field for field in fields):
        return None  # a lone percent sign (an error) or a mapping key
    values = tuple(arguments) if arguments.__class__ is list else (arguments,)
    if any(value.__class__ is list for value in values):
        return None
    return sized(template % values)


def format_fields(template: str, args: list, node: ast.Call) -> str | None:
    """ "{}-{}".format(a, b) with plain fields only (no conversion or format spec, which can ask for any width)."""
    # A ":" or "!" outside the braces is text ("http://{}:{}/x"); inside, a spec or conversion refuses the fold.
    if node.keywords or _FORMAT_SPEC_FIELD.search(template.replace("{{", "").replace("}}", "")):
        return None
    counter = iter(range(len(args) + 1))

    def field(match: re.Match[str]) -> str:
        key = match.group(1)
        index = int(key) if key.isdigit() else next(counter) if key == "" else None
        if index is None or index >= len(args) or args[index].__class__ is list:
            raise Exhausted
        return str(args[index])

    return (
        sized(_FORMAT_FIELD.sub(field, template.replace("{{", "\0").replace("}}", "\1")))
        .replace("\0", "{")
        .replace("\1", "}")
    )
