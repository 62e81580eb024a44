"""Stealer stages around credential stores, at the syntax-tree level: store paths assembled from parts, stores
copied or archived for sending, files searched for tokens and recovery phrases, and the objects of screenshot
and decryption libraries used through a name.

``behaviours_spyware`` merges these roles and checks into its own tables; each check takes the file's scan
(``python_rules._FileScan``), the call, its scope and the call's qualified name (or, for a method, its name).
"""

from __future__ import annotations

import ast
import re

from pypi_platform.lib.scans.indicators import indicator_matches
from pypi_platform.lib.scans.syntax_walk import argument

_JOINERS = {"os.path.join", "posixpath.join", "ntpath.join"}
_JOINERS |= {
    f"pathlib.{name}" for name in ("Path", "PurePath", "PosixPath", "WindowsPath", "PureWindowsPath")
}
_JOINED_PARTS = 16  # parts read of one join; a longer one is no path a stealer writes out
_UNKNOWN_PART = "…"  # a part only known at run time (APPDATA, the home folder)
# Findings on a joined path that name a store: what makes the file's copies and archives a stealer's staging.
_STORE_RULES = {"credentials.sensitive-path", "credentials.client-config"}
_COLLECTING = _STORE_RULES | {
    "credentials.browser-data",
    "credentials.token-theft",
    "credentials.seed-phrase-search",
}
_COPIES = {"shutil.copytree", "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.move"}
_ARCHIVERS = {"shutil.make_archive"}
# Folders and files whose copy is a theft wherever it happens: keys, cloud and client credentials, wallets.
_STORE_SOURCES = re.compile(
    r"(?:^|/)(?:\.ssh|\.aws|\.kube|\.gnupg|\.docker|\.electrum|\.ethereum)(?:/|$)|(?:^|/)\.config/?$"
    r"|\.config/(?:gcloud|solana)|_history$|wallet\.dat|exodus\.wallet|electrum/wallets|/tdata(?:/|$)"
    r"|local extension settings|local storage/leveldb|login data$|(?:^|/)cookies(?:\.sqlite)?$|key4\.db"
    r"|logins\.json",
    re.IGNORECASE,
)
# The shape of chat-client token patterns: three dot-separated base64url runs of fixed length, or "mfa." tokens,
# or the prefix of a client's encrypted token.
TOKEN_PATTERN = re.compile(r"\{2[3-6](?:,\d+)?\}.*\\\.|mfa\\\.|dQw4w9WgXcQ")
# A group of letters or whitespace repeated 11 or 12 times (up to 23 or 24): a 12- or 24-word recovery phrase.
_SEED_PATTERN = re.compile(
    r"(?:\\s|\\w|\[a-z\]|\[a-zA-Z\]|\[A-Za-z\]|\\b)[+*]?(?:\{\d+(?:,\d+)?\})?\)[+*]?\{1[12](?:,\s*2[34])?\}"
)
_SEARCHES = {"findall", "finditer"}
_SEARCH_FUNCTIONS = {"re.findall", "re.finditer"}
_SCREENSHOT_OBJECTS = {"mss.mss", "mss.MSS", "mss.factory.mss"}
_SCREENSHOT_METHODS = {"shot", "grab"}
_CIPHERS = {
    "Crypto.Cipher.AES.new",
    "Cryptodome.Cipher.AES.new",
    "cryptography.hazmat.primitives.ciphers.aead.AESGCM",
}

ROLES = (
    ("path-join", _JOINERS),
    ("staging-copy", _COPIES | _ARCHIVERS),
    ("pattern-search", _SEARCH_FUNCTIONS),
)


def check_path_join(scan, call: ast.Call, scope: int, target: str) -> None:
    """os.path.join(APPDATA, "Electrum", "wallets"): the parts joined and judged like one literal. Only what the
    joined path shows and no part shows alone is reported (a part such as ".pypirc" is reported as it stands)."""
    _judge_joined(scan, call, scope, [])


def check_joinpath(scan, call: ast.Call, scope: int, method: str) -> None:
    """Path.home().joinpath(".config", "solana", "id.json"): the object's own path is known at run time only."""
    _judge_joined(scan, call, scope, [None])


def _judge_joined(scan, call: ast.Call, scope: int, parts: list[str | None]) -> None:
    for given in call.args[:_JOINED_PARTS]:
        text = given.value if given.__class__ is ast.Constant else scan.folded_text(given, scope)
        parts.append(text if text.__class__ is str and len(text) <= 500 else None)
    known = [part for part in parts if part is not None]
    if len(known) < 2:
        return  # one literal among run-time parts shows no more joined than alone
    joined = "/".join(_UNKNOWN_PART if part is None else part.strip("/\\") for part in parts)
    found = {(rule, evidence) for _, rule, evidence in indicator_matches(joined)}
    if not found:
        return
    alone = {rule for part in known for _, rule, _ in indicator_matches(part)}
    for rule, evidence in sorted(found):
        if rule in _STORE_RULES:
            scan.facts.setdefault("stores-named", []).append(call)
        if rule not in alone:
            scan.add(rule, call, evidence=f"joined: {evidence}")


def check_staging(scan, call: ast.Call, scope: int, target: str) -> None:
    """A copy or archive of a store (shutil.make_archive(..., root_dir="~/.config")) is staging by itself; any
    other copy or archive is, once the file turns out to name stores (``finish``)."""
    source = argument(call, 2, "root_dir") if target in _ARCHIVERS else argument(call, 0, "src")
    if source is None:
        return
    text = _path_text(scan, source, scope)
    match = _STORE_SOURCES.search(text)
    if match is not None:
        scan.add("exfiltration.staging", call, evidence=f"{target} of {text[-60:]}")
    else:
        scan.facts.setdefault("staging-copies", []).append((call, target))


def finish(scan) -> None:
    """Copies and archives in a file that names browser, wallet, chat or key stores, or searches them."""
    copies = scan.facts.get("staging-copies")
    if not copies:
        return
    if not scan.facts.get("stores-named") and not any(raw[0] in _COLLECTING for raw in scan.raw):
        return
    for call, target in copies:
        scan.add("exfiltration.staging", call, evidence=f"{target} in a file that names credential stores")


def _path_text(scan, expr: ast.expr, scope: int) -> str:
    folded = expr.value if expr.__class__ is ast.Constant else scan.folded_text(expr, scope)
    if folded.__class__ is str:
        return folded.replace("\\", "/")
    pieces = [
        node.value
        for node in scan.subtree([expr], scope, follow_names=True)
        if node.__class__ is ast.Constant and node.value.__class__ is str and len(node.value) < 500
    ]
    return "/".join(pieces).replace("\\", "/")


def check_pattern_search(scan, call: ast.Call, scope: int, target: str) -> None:
    """re.findall(r"(?:[a-z]{3,8}\\s+){11,23}[a-z]{3,8}", text): a recovery phrase hunted in text."""
    if call.args:  # a token pattern given to re.findall is behaviours_spyware's check_pattern
        _judge_search(scan, call, scan.constant_text(call.args[0]), target, tokens=False)


def check_compiled_search(scan, call: ast.Call, scope: int, method: str) -> None:
    """SEED.findall(text), TOKEN.findall(text) with SEED and TOKEN compiled from a phrase or a token pattern."""
    receiver = call.func.value
    values = scan.assigned(scope, receiver.id) if receiver.__class__ is ast.Name else [receiver]
    for value in values:
        if value.__class__ is not ast.Call or not value.args or scan.resolve(value.func) != "re.compile":
            continue
        if _judge_search(scan, call, scan.constant_text(value.args[0]), f"a compiled pattern's {method}"):
            return


def _judge_search(scan, call: ast.Call, pattern: str | None, how: str, *, tokens: bool = True) -> bool:
    if pattern is None or len(pattern) > 2_000:
        return False
    if _SEED_PATTERN.search(pattern):
        scan.add("credentials.seed-phrase-search", call, evidence=f"{how} with a recovery-phrase pattern")
        return True
    if tokens and b"leveldb" in scan.source and TOKEN_PATTERN.search(pattern):
        scan.add("credentials.token-theft", call, evidence=f"{how} with a token pattern over leveldb stores")
        return True
    return False


def _constructors(scan, receiver: ast.expr, scope: int) -> set[str]:
    """What built the object a method is called on: the call itself, or what the name was assigned."""
    values = scan.assigned(scope, receiver.id) if receiver.__class__ is ast.Name else [receiver]
    return {
        target
        for value in values
        if value.__class__ is ast.Call
        for target in [scan.resolve(value.func)]
        if target is not None
    }


def check_screenshot_object(scan, call: ast.Call, scope: int, method: str) -> None:
    """with mss.mss() as sct: sct.shot(...), sct.grab(monitor)."""
    if _constructors(scan, call.func.value, scope) & _SCREENSHOT_OBJECTS:
        scan.add("spyware.screenshot", call)


def check_cipher_decrypt(scan, call: ast.Call, scope: int, method: str) -> None:
    """cipher.decrypt(blob) with the cipher keyed from a browser's Local State: the saved secret recovered."""
    if b"Local State" not in scan.source or b"encrypted_key" not in scan.source:
        return
    if _constructors(scan, call.func.value, scope) & _CIPHERS:
        scan.add("credentials.browser-data", call, evidence="a browser's saved secret decrypted")


CHECKS = {
    "path-join": check_path_join,
    "staging-copy": check_staging,
    "pattern-search": check_pattern_search,
}
METHOD_CHECKS = {
    **dict.fromkeys(_SEARCHES, check_compiled_search),
    **dict.fromkeys(_SCREENSHOT_METHODS, check_screenshot_object),
    "decrypt": check_cipher_decrypt,
    "joinpath": check_joinpath,
}
