"""Spyware and stealer behaviours at the syntax-tree level: clipboard, screenshots, keylogging, browser stores,
chat-token theft, process injection and native libraries side-loaded from temporary folders.

Windows APIs reached through ctypes (``ctypes.windll.user32.GetAsyncKeyState``) are matched by the function's
name, whichever way the library object was reached: the names are distinctive and no honest library renames them.
"""

from __future__ import annotations

import ast
import re

from pypi_platform.lib.scans import credential_stores
from pypi_platform.lib.scans.call_roles import NATIVE_LOADERS, NETWORK, PROCESS
from pypi_platform.lib.scans.syntax_walk import call_arguments

_CLIPBOARD = {"pyperclip.paste", "win32clipboard.GetClipboardData", "clipboard.paste", "klembord.get"}
_SCREENSHOTS = {"PIL.ImageGrab.grab", "pyautogui.screenshot", "mss.mss", "mss.MSS", "pyscreenshot.grab"}
_SCREENSHOTS |= {"ImageGrab.grab", "PIL.ImageGrab.grabclipboard"}
_KEYLOGGERS = {"pynput.keyboard.Listener", "keyboard.on_press", "keyboard.on_release", "keyboard.hook"}
_KEYLOGGERS |= {"keyboard.record", "keyboard.on_press_key"}
_DPAPI = {"win32crypt.CryptUnprotectData"}
_AES = {
    "Crypto.Cipher.AES.new",
    "Cryptodome.Cipher.AES.new",
    "cryptography.hazmat.primitives.ciphers.aead.AESGCM",
}
_DATABASES = {"sqlite3.connect", "shutil.copy", "shutil.copy2", "shutil.copyfile"}
_PATTERNS = {"re.compile", "re.findall", "re.finditer", "re.search", "re.match", "re.fullmatch"}
_TEMP_FUNCTIONS = {
    "tempfile.gettempdir",
    "tempfile.mkdtemp",
    "tempfile.mkstemp",
    "tempfile.NamedTemporaryFile",
}
# Functions reached through a ctypes library object, by name.
_METHOD_RULES = {
    "GetClipboardData": "spyware.clipboard",
    "clipboard_get": "spyware.clipboard",  # tkinter
    "SetWindowsHookExA": "spyware.keylogger",
    "SetWindowsHookExW": "spyware.keylogger",
    "SetWindowsHookEx": "spyware.keylogger",
    "GetAsyncKeyState": "spyware.keylogger",
    "CryptUnprotectData": "credentials.browser-data",
}
# "Cookies" as a whole name (Chromium's store has no extension), not a cookie jar of tests (cookies_test.txt).
_BROWSER_STORES = re.compile(
    r"login data|web data|logins\.json|key4\.db|\bcookies(?:\.sqlite)?\b(?![.\w-])", re.IGNORECASE
)
# Queries of a browser's own tables: saved logins, cookies, cards.
_BROWSER_QUERIES = re.compile(
    r"\b(?:password_value|encrypted_value|card_number_encrypted|moz_logins|moz_cookies)\b", re.IGNORECASE
)
_TEMP_PLACES = re.compile(
    r"[/\\](?:tmp|temp|downloads)[/\\]|%te?mp%|\$env:te?mp|appdata[/\\]local[/\\]temp", re.IGNORECASE
)

# The same behaviours through command-line tools.
_COMMANDS = (
    (
        "spyware.clipboard",
        re.compile(r"\b(?:xclip|xsel)\b.*\s-(?:o|-output)\b|\bpbpaste\b|get-clipboard", re.I),
    ),
    (
        "spyware.screenshot",
        re.compile(
            r"^(?:screencapture|scrot|gnome-screenshot|grim|spectacle)\b|^import\s+-window\s+root", re.I
        ),
    ),
    (
        "exec.native-library-sideload",
        re.compile(
            r"\b(?:regsvr32|rundll32)(?:\.exe)?\b.*(?:%te?mp%|[/\\]te?mp[/\\]|appdata|downloads)", re.I
        ),
    ),
)
_CLIPBOARD_WRITERS = {"pyperclip.copy", "win32clipboard.SetClipboardText", "clipboard.copy"}
_CLIPBOARD_WRITE_METHODS = {"clipboard_append", "SetClipboardData", "SetClipboardText"}
_CLIPBOARD_WRITE_COMMANDS = re.compile(
    r"^(?:xclip|xsel)\b(?!.*\s-(?:o|-output)\b)|^pbcopy\b|^clip(?:\.exe)?$|set-clipboard", re.I
)
# Wallet addresses, or patterns for them: what a clipboard hijacker looks for and puts in their place.
_WALLET_ADDRESSES = re.compile(
    rb"\b(?:bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34}|0x[0-9a-fA-F]{40}|T[1-9A-HJ-NP-Za-km-z]{33})\b"
    rb"|bc1\||\[13\]\["
)
_WALLET_PREFIX_TEST = re.compile(rb"""\.startswith\(\s*\(?\s*["'](?:T|bc1|0x|[13]|4)["']""")
_WALLET_LENGTH_TEST = re.compile(
    rb"\blen\([^()]{1,40}\)\s*(?:==|>=|<=|in)\s*[(\[{]?\s*(?:2[5-9]|3[0-5]|4[24]|95)\b"
)
# Environment variables that make every later process load a library.
_PRELOADS = {"LD_PRELOAD", "DYLD_INSERT_LIBRARIES"}

ROLES = (
    ("clipboard-write", _CLIPBOARD_WRITERS),
    ("spy-command", PROCESS),
    ("clipboard", _CLIPBOARD),
    ("screenshot", _SCREENSHOTS),
    ("keylogger", _KEYLOGGERS),
    ("dpapi", _DPAPI),
    ("aes", _AES),
    ("database", _DATABASES),
    ("pattern", _PATTERNS),
    ("library", NATIVE_LOADERS),
    ("preload", {"os.putenv", "os.environ.setdefault"}),
    ("browser-key", {"base64.b64decode"}),
    *credential_stores.ROLES,
)


def check_clipboard(scan, call: ast.Call, scope: int, target: str) -> None:
    scan.add("spyware.clipboard", call)
    scan.facts.setdefault("clipboard-read", []).append(call)


def check_clipboard_write(scan, call: ast.Call, scope: int, target: str) -> None:
    scan.facts.setdefault("clipboard-write", []).append(call)


def check_command(scan, call: ast.Call, scope: int, target: str) -> None:
    command = scan.command_text(call, scope).strip()
    for rule, pattern in _COMMANDS:
        if pattern.search(command):
            scan.add(rule, call)
            if rule == "spyware.clipboard":
                scan.facts.setdefault("clipboard-read", []).append(call)
    if _CLIPBOARD_WRITE_COMMANDS.search(command):
        scan.facts.setdefault("clipboard-write", []).append(call)


def finish(scan) -> None:
    """The clipboard read and written in a file that knows wallet addresses: a clipboard hijacker. And a
    library forced into every later process through the environment."""
    credential_stores.finish(scan)
    if scan.facts.get("clipboard-read"):
        for call in scan.facts.get("clipboard-open", ()):  # the OpenClipboard of a reader is part of the read
            scan.add("spyware.clipboard", call)
    if scan.facts.get("clipboard-read") and scan.facts.get("clipboard-write") and _knows_wallets(scan.source):
        for call in scan.facts["clipboard-write"]:
            scan.add("spyware.clipboard-hijack", call)
    for container, key, statement in scan.item_writes:
        if key in _PRELOADS and scan.resolve(container) in ("os.environ", "os.environb"):
            scan.add(
                "exec.native-library-sideload", statement, evidence=f"{key} set: every later process loads it"
            )


def _knows_wallets(source: bytes) -> bool:
    """Wallet addresses or patterns for them in the file, or text tested for a wallet's prefix and length
    (`seen.startswith("T") and len(seen) == 34`): what a hijacker checks before swapping the clipboard."""
    if _WALLET_ADDRESSES.search(source):
        return True
    return _WALLET_PREFIX_TEST.search(source) is not None and _WALLET_LENGTH_TEST.search(source) is not None


def check_clipboard_open(scan, call: ast.Call, scope: int, method: str) -> None:
    scan.facts.setdefault("clipboard-open", []).append(call)


def check_preload(scan, call: ast.Call, scope: int, target: str) -> None:
    """os.putenv("LD_PRELOAD", ...), os.environ.setdefault("LD_PRELOAD", ...)."""
    if call.args and scan.constant_text(call.args[0]) in _PRELOADS:
        scan.add("exec.native-library-sideload", call, evidence=f"{target} of a preload variable")


def check_screenshot(scan, call: ast.Call, scope: int, target: str) -> None:
    scan.add("spyware.screenshot", call)


def check_keylogger(scan, call: ast.Call, scope: int, target: str) -> None:
    scan.add("spyware.keylogger", call)


def check_dpapi(scan, call: ast.Call, scope: int, target: str) -> None:
    """DPAPI protects every Windows application's secrets (and its bindings' tests call it); undoing it is a
    browser-data theft in a file that names a browser's stores, its tables or its encrypted key."""
    if _BROWSER_STORES.search(scan.source.decode("utf-8", "replace")) or b"encrypted_key" in scan.source:
        scan.add("credentials.browser-data", call, evidence=f"{target}: a browser's saved secrets decrypted")


def check_aes(scan, call: ast.Call, scope: int, target: str) -> None:
    """AES-GCM keyed from a browser's "Local State" file: how Chromium's cookies and passwords are decrypted."""
    if b"Local State" in scan.source and b"encrypted_key" in scan.source:
        scan.add(
            "credentials.browser-data", call, evidence=f"{target} with the key of a browser's Local State"
        )


def check_database(scan, call: ast.Call, scope: int, target: str) -> None:
    text = " ".join(_constant_texts(scan, call, scope))
    match = _BROWSER_STORES.search(text)
    if match is not None:
        scan.add("credentials.browser-data", call, evidence=f"{target} on a browser store ({match.group(0)})")


def check_query(scan, call: ast.Call, scope: int, method: str) -> None:
    """cursor.execute("SELECT origin_url, username_value, password_value FROM logins")."""
    query = scan.constant_text(call.args[0]) if call.args else None
    if query is not None and _BROWSER_QUERIES.search(query):
        scan.add("credentials.browser-data", call, evidence="a query of a browser's saved secrets")


def check_browser_key(scan, call: ast.Call, scope: int, target: str) -> None:
    """base64.b64decode(state["os_crypt"]["encrypted_key"]): the key that protects a browser's secrets."""
    for node in scan.subtree(call.args[:1], scope, follow_names=True):
        if node.__class__ is ast.Subscript and scan.constant_text(node.slice) == "encrypted_key":
            scan.add("credentials.browser-data", call, evidence="the key of a browser's Local State decoded")
            return


def check_pattern(scan, call: ast.Call, scope: int, target: str) -> None:
    """A token-shaped pattern in a file that reads leveldb stores: the chat-token stealer."""
    if b"leveldb" not in scan.source or not call.args:
        return
    pattern = scan.constant_text(call.args[0])
    if pattern is not None and credential_stores.TOKEN_PATTERN.search(pattern):
        scan.add("credentials.token-theft", call, evidence="a token pattern run over leveldb stores")


def check_library(scan, call: ast.Call, scope: int, target: str) -> None:
    """CDLL/WinDLL/LoadLibrary of a temporary or download folder, or of a name built so no pattern sees it."""
    if not call.args:
        return
    name = call.args[0]
    texts = _constant_texts(scan, call, scope)
    hidden = None
    if name.__class__ in (ast.BinOp, ast.Call, ast.JoinedStr, ast.Subscript):
        hidden = scan.folded_text(name, scope)
    for node in scan.subtree([name], scope, follow_names=True):
        if node.__class__ is ast.Call:
            called = scan.resolve(node.func)
            if called in _TEMP_FUNCTIONS or called in NETWORK:
                scan.add("exec.native-library-sideload", call, evidence=f"library from {called}()")
                return
    place = _TEMP_PLACES.search("/".join(texts))
    if place is not None:
        scan.add("exec.native-library-sideload", call, evidence=f"library from {place.group(0)}")
    elif hidden is not None and "/" not in hidden and "\\" not in hidden:
        scan.add("exec.native-library-sideload", call, evidence=f"library name computed: {hidden[:60]}")


def check_clipboard_write_method(scan, call: ast.Call, scope: int, method: str) -> None:
    scan.facts.setdefault("clipboard-write", []).append(call)


def check_method(scan, call: ast.Call, scope: int, method: str) -> None:
    rule = _METHOD_RULES[method]
    if rule == "spyware.clipboard":
        scan.facts.setdefault("clipboard-read", []).append(call)
    scan.add(rule, call, evidence=None)
    if method.startswith("LoadLibrary"):
        check_library(scan, call, scope, method)


def check_load_library(scan, call: ast.Call, scope: int, method: str) -> None:
    check_library(scan, call, scope, method)


def _constant_texts(scan, call: ast.Call, scope: int) -> list[str]:
    texts = []
    for node in scan.subtree(call_arguments(call)[:3], scope, follow_names=True):
        if node.__class__ is ast.Constant and node.value.__class__ is str and len(node.value) <= 1_000:
            texts.append(node.value)
    for root in call.args[:2]:
        if root.__class__ is not ast.Constant:
            folded = scan.folded_text(root, scope)
            if folded is not None:
                texts.append(folded[:1_000])
    return texts


CHECKS = {
    "clipboard-write": check_clipboard_write,
    "spy-command": check_command,
    "preload": check_preload,
    "browser-key": check_browser_key,
    "clipboard": check_clipboard,
    "screenshot": check_screenshot,
    "keylogger": check_keylogger,
    "dpapi": check_dpapi,
    "aes": check_aes,
    "database": check_database,
    "pattern": check_pattern,
    "library": check_library,
    **credential_stores.CHECKS,
}
METHOD_CHECKS = dict.fromkeys(_METHOD_RULES, check_method)
METHOD_CHECKS.update(credential_stores.METHOD_CHECKS)
METHOD_CHECKS.update(dict.fromkeys(_CLIPBOARD_WRITE_METHODS, check_clipboard_write_method))
METHOD_CHECKS.update({"execute": check_query, "OpenClipboard": check_clipboard_open})
METHOD_CHECKS.update(
    dict.fromkeys(("LoadLibrary", "LoadLibraryA", "LoadLibraryW", "LoadLibraryExW"), check_load_library)
)
