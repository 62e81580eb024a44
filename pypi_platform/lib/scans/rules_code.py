"""What calls that make or load code mean: eval/exec/compile, decoders feeding them, dynamic imports, native
libraries, marshal. Code that exec is handed as a constant (or as something that folds to one) is itself parsed
and scanned, and what it does is reported on the exec call's line.

Each check takes the file's scan (``python_rules._FileScan``), the call, its scope and the call's qualified name.
"""

from __future__ import annotations

import ast
import math
from collections import Counter

from pypi_platform.lib.scans.call_roles import CODE_EVALUATORS, DECODERS, OPENERS
from pypi_platform.lib.scans.evidence import shortened
from pypi_platform.lib.scans.syntax_walk import (
    argument,
    identifier,
    is_literal_text,
    reverses,
    string_value,
)

# Python 2 codecs still reachable through str.decode in old code ("...".decode("base64")), and the EBCDIC code
# pages that turn a payload into noise at rest.
DECODING_CODECS = {"base64", "base_64", "hex", "rot13", "rot_13", "zlib", "zip", "bz2", "uu"} | {
    "cp037",
    "cp273",
    "cp424",
    "cp500",
    "cp875",
    "cp1026",
    "cp1140",
}


_FETCHES_REPORTED = 4


def check_evaluation(scan, call: ast.Call, scope: int, target: str) -> None:
    code = _code_argument(call)
    if code is None:
        return
    text = None if target not in CODE_EVALUATORS else scan.constant_code(code, scope)
    if text is not None:
        scan.scan_code(text, call)  # what the code does, reported on this line
    if is_literal_text(code):
        return  # exec("print(1)") is as static as the code around it
    _check_fetched_code(scan, call, code, scope)
    if contains_decoder(scan, code, scope):
        scan.add("obfuscation.decode-and-exec", call)
    elif (
        target in CODE_EVALUATORS
        and text is None
        and not only_parses(scan, call, scope, target)
        and not reads_a_file(scan, code, scope)
    ):
        scan.add("exec.dynamic-code", call)


def _check_fetched_code(scan, call: ast.Call, code: ast.expr, scope: int) -> None:
    """exec(urlopen(url).read()), or code = requests.get(url).text then exec(code): code fetched and run in
    memory, a download-and-run without a file. Reported at the fetch too, where the payload comes from."""
    fetches = [
        node
        for node in scan.subtree([code], scope, follow_names=True)
        if node.__class__ is ast.Call and "network" in scan.roles_of(scan.resolve(node.func) or "")
    ]
    if fetches:
        scan.add("dropper.download-and-run", call, evidence="fetched code run in memory")
        for fetch in fetches[:_FETCHES_REPORTED]:
            scan.add("dropper.download-and-run", fetch, evidence="code fetched here is run in memory")


def reads_a_file(scan, code: ast.expr, scope: int) -> bool:
    """exec(open("pkg/version.py").read()): the classic setup.py version read. The file it runs is in the
    release and is scanned itself, so this is as static as an import; a network read is not exempt."""
    if code.__class__ is not ast.Call or code.func.__class__ is not ast.Attribute:
        return False
    if code.func.attr not in ("read", "read_text", "read_bytes"):
        return False
    opened = code.func.value
    if opened.__class__ is ast.Name:
        values = scan.assigned(scope, opened.id)
        return bool(values) and all(_opens_a_file(scan, value) for value in values)
    return _opens_a_file(scan, opened)


def _opens_a_file(scan, expr: ast.expr) -> bool:
    if expr.__class__ is not ast.Call:
        return False
    target = scan.resolve(expr.func)
    return target in OPENERS or target in ("pathlib.Path", "pathlib.PurePath")


def only_parses(scan, call: ast.Call, scope: int, target: str) -> bool:
    """compile(source, name, mode, ast.PyCF_ONLY_AST) returns a syntax tree, as ast.parse does: nothing runs."""
    flags = argument(call, 3, "flags") if target == "compile" else None
    if flags is None:
        return False
    return any(
        identifier(node) == "PyCF_ONLY_AST"
        or (node.__class__ is ast.Constant and node.value == ast.PyCF_ONLY_AST)
        for node in scan.subtree([flags], scope, follow_names=True)
    )


def _code_argument(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((keyword.value for keyword in call.keywords if keyword.arg in ("source", "code")), None)


def contains_decoder(scan, expr: ast.expr, scope: int) -> bool:
    """Whether a decoder feeds the expression: base64/zlib/marshal..., "".join(chr(...)), "...".decode("hex"),
    or text reversed with a [::-1] slice."""
    for node in scan.subtree([expr], scope, follow_names=True):
        if node.__class__ is ast.Subscript and reverses(node):
            return True
        if node.__class__ is not ast.Call:
            continue
        if scan.resolve(node.func) in DECODERS:
            return True
        method = node.func.attr if node.func.__class__ is ast.Attribute else None
        if method in ("decode", "encode") and _uses_decoding_codec(node):
            return True
        if method == "join" and _joins_characters(scan, node, scope):
            return True
    return False


def _joins_characters(scan, join: ast.Call, scope: int) -> bool:
    """ "".join(chr(c) for c in codes) or "".join(map(chr, codes)): text spelled out as numbers."""
    return any(scan.resolve(node) == "chr" for node in scan.subtree(join.args, scope, follow_names=False))


def _uses_decoding_codec(call: ast.Call) -> bool:
    codec = string_value(argument(call, 0, "encoding"))
    return codec is not None and codec.lower().replace("-", "_") in DECODING_CODECS


def check_dynamic_import(scan, call: ast.Call, scope: int, target: str) -> None:
    name = argument(call, 0, "name")
    if name is not None and string_value(name) is None:
        scan.add("exec.dynamic-import", call)


def check_native(scan, call: ast.Call, scope: int, target: str) -> None:
    scan.add("exec.native-library", call)


def check_marshal(scan, call: ast.Call, scope: int, target: str) -> None:
    scan.add("obfuscation.marshal-load", call)


def check_decoded(scan, call: ast.Call, scope: int, target: str) -> None:
    """A decoder applied to constants: what it decodes to is looked at as the string it is (a host, a path)."""
    scan.fold_and_check(call, scope)


# Embedded data (icons, tables) is common in ordinary packages, so only long literals count, and only above the
# 6.0 bits per symbol that base64 can reach: what is left is raw bytes, escaped bytes or base85-like payloads.
HIGH_ENTROPY_MIN_CHARS = 1_000
HIGH_ENTROPY_MIN_BITS = 6.0
_ENTROPY_SAMPLE_CHARS = 65_536


def check_entropy(scan, node: ast.Constant, value: str | bytes) -> None:
    if isinstance(value, str) and not value.isascii() and max(value) > "\xff":
        return  # text in a script beyond Latin-1 (CJK, emoji) is language, not a payload
    sample = value[:_ENTROPY_SAMPLE_CHARS]
    bits = _shannon_entropy(sample)
    if bits >= HIGH_ENTROPY_MIN_BITS:
        unit = "bytes" if isinstance(value, bytes) else "characters"
        evidence = f"{len(value):,} {unit}, {bits:.2f} bits per symbol, starts {value[:24]!r}"
        scan.add("obfuscation.high-entropy-literal", node, evidence=shortened(evidence))


def _shannon_entropy(sample: str | bytes) -> float:
    total = len(sample)
    return -sum(count / total * math.log2(count / total) for count in Counter(sample).values())


# Roles whose calls are hidden by malware: fetching, spawning, running code.
_HIDDEN_ROLES = {"network", "process", "evaluate"}


def check_indirect_call(scan, call: ast.Call, roles: tuple[str, ...]) -> None:
    """getattr(importlib.import_module("urllib.request"), "urlretrieve")(...), globals()["system"](...): a
    fetch, spawn or exec reached through a lookup by constant names. Honest code imports what it calls; a
    plugin loader looks names up, but computed ones, which do not resolve here."""
    if _HIDDEN_ROLES.isdisjoint(roles):
        return
    func = call.func
    for _ in range(8):  # the chain of attributes down to where the name was looked up
        if func.__class__ is ast.Attribute:
            func = func.value
        elif func.__class__ in (ast.Call, ast.Subscript):
            scan.add(
                "obfuscation.indirect-call",
                call,
                evidence=shortened(f"{scan.resolve(call.func)} reached by lookup"),
            )
            return
        else:
            return


CHECKS = {
    "evaluate": check_evaluation,
    "code-object": check_evaluation,
    "import": check_dynamic_import,
    "native": check_native,
    "marshal": check_marshal,
    "decode": check_decoded,
}
