"""Well-known ``.pth`` start-up hooks: lines that run code at every interpreter start on behalf of a packaging or
testing tool. Each is recognised by the file name and the exact shape of its line, so the same name with other
code (or the same code under another name, where it says so) is still reported as code run at start-up.
"""

from __future__ import annotations

import posixpath
import re

# (file names it ships under, or None for any; the shape of its line)
_KNOWN_HOOKS: tuple[tuple[re.Pattern[str] | None, re.Pattern[str]], ...] = (
    (  # setuptools: prefer its bundled distutils unless the environment says otherwise
        re.compile(r"distutils-precedence\.pth"),
        re.compile(
            r"import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os\.environ\.get\(var, '(?:local|stdlib)'\)"
            r" == 'local'; enabled and __import__\('_distutils_hack'\)\.add_shim\(\); ?"
        ),
    ),
    (
        None,
        re.compile(r"import coverage; coverage\.process_startup\(\)"),
    ),  # coverage in subprocesses
    (re.compile(r"_virtualenv\.pth"), re.compile(r"import _virtualenv")),  # virtualenv's own patches
    (  # an editable install's import finder (setuptools)
        re.compile(r"__editable__\.[\w.+-]+\.pth"),
        re.compile(r"import (__editable___[\w]+_finder); \1\.install\(\)"),
    ),
)


def is_known_hook(path: str, line: str) -> bool:
    """Whether a .pth line is one of the well-known hooks, under a name it ships with."""
    name = posixpath.basename(path.rsplit("!", 1)[-1])
    stripped = line.strip()
    return any(
        (names is None or names.fullmatch(name)) and shape.fullmatch(stripped)
        for names, shape in _KNOWN_HOOKS
    )
