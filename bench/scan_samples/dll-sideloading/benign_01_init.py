"""Bindings to the library this wheel ships next to its Python files, loaded by a fixed name."""

import ctypes
import ctypes.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_NAMES = {"win32": "zstdlite.dll", "darwin": "libzstdlite.dylib"}


def _load():
    bundled = os.path.join(_HERE, _NAMES.get(sys.platform, "libzstdlite.so"))
    if os.path.exists(bundled):
        return ctypes.CDLL(bundled)
    system = ctypes.util.find_library("zstd")
    if system is None:
        raise ImportError("no zstd library found")
    return ctypes.CDLL(system)


_lib = _load()
_lib.ZSTD_versionNumber.restype = ctypes.c_uint
VERSION = _lib.ZSTD_versionNumber()
