"""Well-known ``.pth`` start-up hooks: lines that run code at every interpreter start on behalf of a packaging or
testing tool. Each is recognised by the file name and the exact shape of its line, so the same name with other
code (or the same code under another name, where it says so) is still reported as code run at start-up.
"""

from __future__ import annotations

import posixpath
import re

# The statements of a setuptools namespace-package line (*-nspkg.pth), in the variants it generated over the years:
# each only finds the package's directory beside the .pth file and puts it on the namespace's __path__.
_NAME = r"'[\w.]+'"
_NSPKG_STATEMENTS = (
    r"import sys, types, os",
    r"has_mfs = sys\.version_info > \(3, 5\)",
    rf"p = os\.path\.join\(sys\._getframe\(1\)\.f_locals\['sitedir'\], \*\({_NAME}(?:, ?{_NAME})*,?\)\)",
    r"ie = os\.path\.exists\(os\.path\.join\(p, ?'__init__\.py'\)\)",
    r"importlib = (?:has_mfs and )?__import__\('importlib\.util'\)",
    r"(?:has_mfs and )?__import__\('importlib\.machinery'\)",
    rf"m = (?:has_mfs and )?sys\.modules\.setdefault\({_NAME}, importlib\.util\.module_from_spec\("
    rf"importlib\.machinery\.PathFinder\.find_spec\({_NAME}, \[os\.path\.dirname\(p\)\]\)\)\)",
    rf"m = (?:m or|not ie and) sys\.modules\.setdefault\({_NAME}, types\.ModuleType\({_NAME}\)\)",
    r"mp = \(m or \[\]\) and m\.__dict__\.setdefault\('__path__', ?\[\]\)",
    r"\(p not in mp\) and mp\.append\(p\)",
    rf"m and setattr\(sys\.modules\[{_NAME}\], {_NAME}, m\)",
)
_NSPKG_STATEMENT = "(?:" + "|".join(_NSPKG_STATEMENTS) + ")"
# coverage's current hook: starts measuring in a subprocess when the environment asks for it. The .pth line holds
# the code as one string with escaped newlines, handed to exec.
_COVERAGE_EXEC = (
    r"""import sys; exec\('import os\\n\\nif os\.getenv\("COVERAGE_PROCESS_START"\)"""
    r"""(?: or os\.getenv\("COVERAGE_PROCESS_CONFIG"\))?:\\n try:\\n  import coverage\\n except:\\n  pass"""
    r"""\\n else:\\n  coverage\.process_startup\((?:slug="pth")?\)'\)"""
)

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
    (re.compile(r"a\d*_coverage\.pth|coverage\.pth"), re.compile(_COVERAGE_EXEC)),
    (re.compile(r"_virtualenv\.pth"), re.compile(r"import _virtualenv")),  # virtualenv's own patches
    # pywin32: loads its DLLs when its post-install script was not run
    (re.compile(r"pywin32\.pth"), re.compile(r"import pywin32_bootstrap")),
    (re.compile(r"[\w.+-]+-nspkg\.pth"), re.compile(rf"{_NSPKG_STATEMENT}(?:; ?{_NSPKG_STATEMENT})*;?")),
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
