"""Rules over the syntax tree of Python source: dynamic code, obfuscation, install hooks, and capabilities.

Hostile files are built to break scanners (REFERENCE.md §5.6): expressions thousands of levels deep, null bytes,
bad encodings, megabyte-long lines. So parsing never raises (a failure is itself a finding), the walk is iterative
with a node cap, nothing recursive runs over the tree, and evidence is cut from a bounded window of the source.
Suppression comments (``# nosec``) are untrusted input and change nothing.

Every rule keys on qualified names (``from subprocess import Popen as P`` makes ``P`` mean ``subprocess.Popen``).
The walk collects imports, assignments and calls in one pass; calls are judged afterwards, once every import of
the file is known, because a function may use a name imported further down. Names live in one flat table for
the whole file: cheaper than real scoping and, for what these rules ask, rarely different.
"""

from __future__ import annotations

import ast
import io
import math
import operator
import re
import tokenize
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator

from pypi_platform.lib.scanner.findings import RULES, Finding

EVIDENCE_CHARS = 120
# A long line is shown from the node onwards; this many bytes are read to fill the excerpt.
_EVIDENCE_WINDOW_BYTES = 4 * EVIDENCE_CHARS
# Embedded data (icons, tables) is common in ordinary packages, so only long literals count, and only above the
# 6.0 bits per symbol that base64 can reach: what is left is raw bytes, escaped bytes or base85-like payloads.
HIGH_ENTROPY_MIN_CHARS = 1_000
HIGH_ENTROPY_MIN_BITS = 6.0
_ENTROPY_SAMPLE_CHARS = 65_536
# Arguments are looked into (for decoders, shell commands, the environment) under these bounds, so that
# inspecting nested calls cannot cost more than the walk itself.
_SUBTREE_NODES = 5_000
_SHELL_TEXT_CHARS = 100_000
_NAME_CHAIN = 64  # a longer chain of attributes is not resolved (a.b.c.d... is no import)
_VALUES_PER_NAME = 8  # assignments remembered per name and scope
# A generated file can repeat one call a million times; a hundred findings per rule say as much.
MAX_FINDINGS_PER_RULE = 100


def _qualified(module: str, *names: str) -> set[str]:
    return {f"{module}.{name}" for name in names}


# --- what calls mean, by qualified name ----------------------------------------------------------------------
_CODE_EVALUATORS = {"eval", "exec", "compile"}
# A code object turned into a function runs as surely as exec does; only decoded input makes it a finding.
_CODE_OBJECT_RUNNERS = {"types.FunctionType"}
_DECODERS = frozenset(
    _qualified(
        "base64",
        "b64decode",
        "b32decode",
        "b32hexdecode",
        "b16decode",
        "b85decode",
        "a85decode",
        "urlsafe_b64decode",
        "standard_b64decode",
        "decodebytes",
        "decodestring",
    )
    | _qualified("binascii", "unhexlify", "a2b_hex", "a2b_base64", "a2b_uu", "a2b_qp", "a2b_hqx")
    | {"codecs.decode", "zlib.decompress", "bz2.decompress", "lzma.decompress", "gzip.decompress"}
    | {"bytes.fromhex", "bytearray.fromhex", "marshal.loads"}
)
# Python 2 codecs still reachable through str.decode in old code: "...".decode("base64").
_DECODING_CODECS = {"base64", "base_64", "hex", "rot13", "rot_13", "zlib", "zip", "bz2", "uu"}
_DYNAMIC_IMPORTERS = {"__import__", "importlib.import_module"}
_NATIVE_LOADERS = _qualified("ctypes", "CDLL", "PyDLL", "WinDLL", "OleDLL", "LibraryLoader") | _qualified(
    "_ctypes", "dlopen", "LoadLibrary"
)
# ctypes.cdll.LoadLibrary(...), ctypes.windll.kernel32.VirtualAlloc(...): any call through a library loader.
_NATIVE_LOADER_PREFIXES = ("ctypes.cdll.", "ctypes.windll.", "ctypes.oledll.", "ctypes.pydll.")
_MARSHAL_LOADERS = {"marshal.loads", "marshal.load"}
_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
_NETWORK = (
    _qualified("socket", "socket", "create_connection")
    | _qualified("urllib.request", "urlopen", "Request", "urlretrieve")
    | _qualified("urllib", "urlopen", "urlretrieve")  # Python 2
    | _qualified("urllib2", "urlopen", "Request")  # Python 2
    | _qualified("http.client", "HTTPConnection", "HTTPSConnection")
    | _qualified("httplib", "HTTPConnection", "HTTPSConnection")  # Python 2
    | _qualified("requests", *_HTTP_VERBS, "Session", "session")
    | _qualified("requests.api", *_HTTP_VERBS)
    | _qualified("requests.sessions", "Session")
    | _qualified("httpx", *_HTTP_VERBS, "stream", "Client", "AsyncClient")
    | _qualified(
        "urllib3", "PoolManager", "ProxyManager", "HTTPConnectionPool", "HTTPSConnectionPool", "request"
    )
    | _qualified("urllib3", "connection_from_url")
    | _qualified("aiohttp", "ClientSession", "request")
    | _qualified("ftplib", "FTP", "FTP_TLS")
    | _qualified("smtplib", "SMTP", "SMTP_SSL", "LMTP")
    | _qualified("telnetlib", "Telnet")
    | _qualified("paramiko", "SSHClient", "Transport")
)
_EXEC_SUFFIXES = ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")
_PROCESS = (
    _qualified(
        "subprocess", "run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput"
    )
    | _qualified(
        "os", "system", "popen", "popen2", "popen3", "popen4", "startfile", "posix_spawn", "posix_spawnp"
    )
    | _qualified("os", *(f"exec{suffix}" for suffix in _EXEC_SUFFIXES))
    | _qualified("os", *(f"spawn{suffix}" for suffix in _EXEC_SUFFIXES))
    | {"pty.spawn", "commands.getoutput", "commands.getstatusoutput"}
    | _qualified("asyncio", "create_subprocess_exec", "create_subprocess_shell")
)
_OPENERS = {"open", "io.open", "codecs.open", "os.fdopen"}
_WRITE_MODE_CHARS = frozenset("wax+")
_WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"}
_SETUP_FUNCTIONS = {"setuptools.setup", "distutils.core.setup", "numpy.distutils.core.setup", "skbuild.setup"}
# Commands that run when the package is installed; build_ext, build_py, sdist and test overrides are routine.
_INSTALL_COMMANDS = {"install", "develop", "egg_info", "bdist_egg", "bdist_wheel"}
_ENVIRONMENT = {"os.environ", "os.environb"}
_SERIALISERS = (
    {"str", "repr", "json.dumps", "json.dump", "pickle.dumps", "pickle.dump", "marshal.dumps"}
    | {"urllib.parse.urlencode", "yaml.dump", "yaml.safe_dump"}
    | _qualified(
        "base64", "b64encode", "b32encode", "b16encode", "b85encode", "a85encode", "urlsafe_b64encode"
    )
    | _qualified("base64", "standard_b64encode", "encodebytes", "encodestring")
)
# Calls that hand their argument over unchanged, so dict(os.environ) is still the whole environment.
_PASS_THROUGH = {"dict", "list", "tuple", "sorted", "set"}
_ENVIRONMENT_VIEWS = {"copy", "items", "values"}
_ENVIRONMENT_STEPS = (
    16  # wrappers looked through: dict(os.environ.copy()) takes three; hostile nesting is cut
)
# Methods on objects we cannot name (a socket, a session): sending the environment through them still counts.
_SENDING_METHODS = {"send", "sendall", "sendto", "post", "put", "patch", "request", "urlopen"}
_PATH_WRITERS = {"write_text", "write_bytes"}

# Builtins the rules care about: a bare name resolves to one of these unless the file rebinds it.
_BUILTINS = {"eval", "exec", "compile", "open", "__import__", "getattr", "chr", "bytes", "bytearray"} | {
    "str",
    "repr",
    "__builtins__",
    *_PASS_THROUGH,
}
_BUILTIN_MODULES = {"builtins", "__builtin__", "__builtins__"}

# Roles a qualified call target plays; one target can have several (marshal.loads decodes and loads code).
_ROLES: dict[str, set[str]] = {}
for _role, _targets in (
    ("evaluate", _CODE_EVALUATORS),
    ("code-object", _CODE_OBJECT_RUNNERS),
    ("import", _DYNAMIC_IMPORTERS),
    ("native", _NATIVE_LOADERS),
    ("marshal", _MARSHAL_LOADERS),
    ("network", _NETWORK),
    ("process", _PROCESS),
    ("open", _OPENERS),
    ("os-open", {"os.open"}),
    ("setup", _SETUP_FUNCTIONS),
    ("serialise", _SERIALISERS),
):
    for _target in _targets:
        _ROLES.setdefault(_target, set()).add(_role)
CALL_ROLES: dict[str, tuple[str, ...]] = {target: tuple(sorted(roles)) for target, roles in _ROLES.items()}
# Every dotted prefix of a name the rules know: what a `from m import *` or an alias may usefully stand for.
_KNOWN_NAMES = frozenset(
    ".".join(parts[:end])
    for name in [
        *CALL_ROLES,
        *_DECODERS,
        *_ENVIRONMENT,
        *(prefix.rstrip(".") for prefix in _NATIVE_LOADER_PREFIXES),
    ]
    for parts in [name.split(".")]
    for end in range(1, len(parts) + 1)
)

# Downloads that are run: each entry is a set of patterns that must all match the command text.
_SHELL_DOWNLOADS: tuple[tuple[re.Pattern[str], ...], ...] = tuple(
    tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)
    for patterns in (
        (
            r"\b(?:curl|wget)\b",
            r"(?:\||&&|;|\$\(|`|<\()\s*(?:sudo\s+)?(?:(?:(?:ba|z|da|k)?sh|python[0-9.]*|perl|ruby)\b"
            r"|\.?/[\w.]|chmod\s+(?:[ugoa]*\+x|[0-7]{3,4}))",
        ),
        (r"\b(?:ba|z|da|k)?sh\b[^|;&]*(?:\$\(|<\(|`)\s*(?:curl|wget)\b",),
        (
            r"\b(?:powershell|pwsh)(?:\.exe)?\b",
            r"(?:\s[-/]e(?:c|nc?[a-z]*)?(?:\s|$)|\biex\b|invoke-expression|downloadstring|downloadfile"
            r"|invoke-webrequest|\biwr\b|net\.webclient|start-bitstransfer)",
        ),
        (r"\bcertutil(?:\.exe)?\b", r"[-/]urlcache\b"),
        (r"\bbitsadmin(?:\.exe)?\b", r"[-/]transfer\b"),
    )
)

for _rule in (
    "exec.dynamic-code",
    "exec.dynamic-import",
    "exec.native-library",
    "obfuscation.decode-and-exec",
    "obfuscation.high-entropy-literal",
    "obfuscation.marshal-load",
    "install.cmdclass-override",
    "install.pth-executes-code",
    "network.connection",
    "process.spawn",
    "process.shell-download",
    "file.write",
    "credentials.environment-dump",
    "parse.failed",
    "parse.node-limit",
):
    assert _rule in RULES, _rule  # every rule here has a severity and a score


# --- the shape of the tree -----------------------------------------------------------------------------------
# Field types that never hold anything a rule looks at: contexts, operators, import aliases, type ignores.
_SKIPPED_FIELD_TYPES = {"expr_context", "operator", "unaryop", "boolop", "cmpop", "alias", "type_ignore"}
_SIGNATURE = re.compile(r"^\w+(?:\((.*)\))?$")  # "Call(expr func, expr* args, ...)", "Pass"


def _child_fields(cls: type) -> tuple[tuple[str, bool], ...] | None:
    """(field, holds a list) for the fields of a node class that can hold nodes, last field first.

    Reversed, so that a stack pops children in source order. The node types come from the ASDL signature that
    CPython puts in each class docstring; a class without one (None) is walked generically, by value.
    """
    match = _SIGNATURE.match(cls.__doc__ or "")
    if match is None:
        return None
    fields = []
    for declaration in filter(None, (part.strip() for part in (match.group(1) or "").split(","))):
        type_name, _, name = declaration.rpartition(" ")
        base_type = type_name.rstrip("*?")
        node_type = getattr(ast, base_type, None)
        if not (isinstance(node_type, type) and issubclass(node_type, ast.AST)):
            continue  # identifier, string, constant, int
        if base_type not in _SKIPPED_FIELD_TYPES:
            fields.append((name, type_name.endswith("*")))
    return tuple(reversed(fields))


_CHILDREN: dict[type, tuple[tuple[str, bool], ...]] = {
    cls: fields
    for cls in vars(ast).values()
    if isinstance(cls, type) and issubclass(cls, ast.AST)
    for fields in [_child_fields(cls)]
    if fields is not None
}


def _push_children(node: ast.AST, push, extend) -> None:
    """Push a node's children for an explicit-stack walk (a class missing from the table is walked generically)."""
    fields = _CHILDREN.get(node.__class__)
    if fields is not None:
        for name, holds_list in fields:
            if holds_list:
                extend(reversed(getattr(node, name)))
            else:
                push(getattr(node, name))
        return
    for name in reversed(node._fields):
        value = getattr(node, name, None)
        if isinstance(value, list):
            extend(reversed([item for item in value if isinstance(item, ast.AST)]))
        elif isinstance(value, ast.AST):
            push(value)


# The node classes the walk records something at, and the _FileScan method that does it; every other class is
# only passed through. Function and class bodies are scopes of their own (for name tracking).
_NODE_HANDLERS: dict[type, str] = {
    ast.Call: "_record_call",
    ast.Constant: "_record_constant",
    ast.Assign: "_record_assignment",
    ast.AnnAssign: "_record_assignment",
    ast.NamedExpr: "_record_assignment",
    ast.withitem: "_record_with_item",
    ast.Import: "_record_import",
    ast.ImportFrom: "_record_import_from",
}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class _ScopeEnd:
    """A stack marker: when popped, the walk is back in the enclosing scope."""


_SCOPE_END = _ScopeEnd()
_MODULE_SCOPE = 0


# --- the public API ------------------------------------------------------------------------------------------
def python_findings(path: str, source: bytes, *, max_nodes: int = 1_000_000) -> list[Finding]:
    """Findings of the syntax-tree rules in one Python member, given as the raw bytes of the file."""
    try:
        tree = _parse(source)
    # Too deep or too big for the parser: a finding, not a crash (named, as neither is a parse error proper).
    except (RecursionError, MemoryError) as error:
        return [_parse_failure(path, error)]
    except Exception as error:  # SyntaxError, ValueError (null bytes), UnicodeDecodeError, OverflowError, ...
        return [_parse_failure(path, error)]
    return _FileScan(path, source).run(tree, max_nodes)


def pth_findings(path: str, text: str) -> list[Finding]:
    """Findings in a ``.pth`` file: its ``import`` lines run at every interpreter start (``site.addpackage``)."""
    findings = []
    for number, line in enumerate(_PTH_LINES.split(text), start=1):
        if not line.startswith(("import ", "import\t")):
            continue  # any other line is a path entry or a comment
        # Encoded with replacement: a lone surrogate from a lenient decode must not reach evidence or the parser.
        code = line.encode("utf-8", errors="replace")
        evidence = _shortened(code[:_EVIDENCE_WINDOW_BYTES].decode("utf-8", errors="replace").strip())
        findings.append(Finding.of("install.pth-executes-code", path, line=number, evidence=evidence))
        for finding in python_findings(path, code):
            findings.append(Finding.of(finding.rule, path, line=number, evidence=finding.evidence))
    return findings


# site.py reads .pth files with universal newlines; str.splitlines would also split on form feeds and the like.
_PTH_LINES = re.compile(r"\r\n|\r|\n")


def _parse(source: bytes) -> ast.AST:
    # Bytes, so that an encoding cookie is honoured. Invalid escape sequences warn on every parse; a warning
    # turned into an error by the caller's filters must not turn into a parse failure.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source, filename="<scanned>")


def _parse_failure(path: str, error: BaseException) -> Finding:
    line = error.lineno if isinstance(error, SyntaxError) else None
    if not isinstance(line, int) or line < 1:
        line = None  # an encoding problem is reported on line 0
    message = (error.msg if isinstance(error, SyntaxError) else None) or str(error)
    evidence = (
        type(error).__name__ + (f": {message}" if message else "") + (f" (line {line})" if line else "")
    )
    return Finding.of("parse.failed", path, line=line, evidence=_shortened(evidence))


def _shortened(text: str, limit: int = EVIDENCE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- one file --------------------------------------------------------------------------------------------------
class _FileScan:
    """The state of one file's scan: names bound by imports and assignments, the calls to judge, the findings."""

    def __init__(self, path: str, source: bytes) -> None:
        self.path = path
        self.source = source
        self.aliases: dict[str, str] = {}  # local name -> qualified name
        self.star_modules: list[str] = []
        self.shadowed: set[str] = set()  # builtins the module rebinds (def open(...): ...)
        self.values: dict[tuple[int, str], list[ast.expr]] = {}  # (scope, name) -> expressions assigned to it
        self.item_keys: dict[tuple[int, str], set[str]] = {}  # (scope, name) -> keys set by name["key"] = ...
        self.calls: list[tuple[ast.Call, int]] = []
        # rule, line, column, and the evidence, or None for an excerpt of the line
        self.raw: list[tuple[str, int, int, str | None]] = []
        self.subtree_budget = 0
        self._lines: _SourceLines | None = None

    def run(self, tree: ast.AST, max_nodes: int) -> list[Finding]:
        self.subtree_budget = max_nodes  # looking into arguments costs at most as much as the walk
        cut_short = self._walk(tree, max_nodes)
        self._bind_assigned_aliases()
        for call, scope in self.calls:
            self._judge_call(call, scope)
        findings = self._findings()
        if cut_short:
            findings.append(
                Finding.of(
                    "parse.node-limit", self.path, evidence=f"stopped after {max_nodes:,} syntax nodes"
                )
            )
        return findings

    # -- the walk -------------------------------------------------------------------------------------------------
    def _walk(self, tree: ast.AST, max_nodes: int) -> bool:
        """Visit the tree in source order with an explicit stack; True if the node cap stopped the walk."""
        # Hot loop: locals for everything it touches, one dict lookup per node to dispatch on its class, and the
        # children fetched by a C getter. Lists are pushed whole and spread when popped; leaves cost one lookup.
        stack: list = [tree]
        pop, push, extend = stack.pop, stack.append, stack.extend
        steps = _STEPS
        scope, enclosing, next_scope = _MODULE_SCOPE, [], _MODULE_SCOPE + 1
        visited = 0
        while stack:
            node = pop()
            step = steps.get(node.__class__, _UNLISTED)
            if step is None:  # a leaf with nothing to record, or an absent optional child
                continue
            if step is _SPREAD:  # a list field: its items, first on top
                extend(node[::-1])
                continue
            if step is _LEAVE_SCOPE:
                scope = enclosing.pop()
                continue
            if visited == max_nodes:
                return True
            visited += 1
            if step is _UNLISTED:
                _push_children(node, push, extend)
                continue
            handler, children, several, opens_scope = step
            if handler is not None:
                handler(self, node, scope)
            if opens_scope:
                if scope == _MODULE_SCOPE and node.name in _BUILTINS:
                    self.shadowed.add(node.name)  # def open(...) at module level hides the builtin
                push(_SCOPE_END)  # popped after everything inside the body
                enclosing.append(scope)
                scope, next_scope = next_scope, next_scope + 1
            if children is not None:
                if several:
                    extend(children(node))
                else:
                    push(children(node))
        return False

    def _record_call(self, node: ast.Call, scope: int) -> None:
        self.calls.append((node, scope))  # judged after the walk, once every import is known

    def _record_constant(self, node: ast.Constant, scope: int) -> None:
        value = node.value
        if (value.__class__ is str or value.__class__ is bytes) and len(value) >= HIGH_ENTROPY_MIN_CHARS:
            self._check_entropy(node, value)

    def _record_import(self, node: ast.Import, scope: int) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:  # import urllib.request binds urllib
                top = alias.name.partition(".")[0]
                self.aliases[top] = top

    def _record_import_from(self, node: ast.ImportFrom, scope: int) -> None:
        # A relative import gets a leading dot: it names the package's own module, never the standard one.
        module = "." * (node.level or 0) + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                if not node.level and node.module:
                    self.star_modules.append(node.module)
                continue
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}" if module else alias.name

    def _record_assignment(self, node: ast.Assign | ast.AnnAssign | ast.NamedExpr, scope: int) -> None:
        value = node.value
        if value is None:  # x: int
            return
        for target in node.targets if node.__class__ is ast.Assign else (node.target,):
            if target.__class__ is ast.Name:
                assigned = self.values.setdefault((scope, target.id), [])
                if len(assigned) < _VALUES_PER_NAME:
                    assigned.append(value)
            elif target.__class__ is ast.Subscript and target.value.__class__ is ast.Name:
                key = _string(target.slice)
                if key is not None:  # cmdclass["install"] = ...
                    self.item_keys.setdefault((scope, target.value.id), set()).add(key)

    def _record_with_item(self, node: ast.withitem, scope: int) -> None:
        """`with open(path) as f` binds f to what open returned, as an assignment would."""
        target = node.optional_vars
        if target is not None and target.__class__ is ast.Name:
            assigned = self.values.setdefault((scope, target.id), [])
            if len(assigned) < _VALUES_PER_NAME:
                assigned.append(node.context_expr)

    def _bind_assigned_aliases(self) -> None:
        """`run = subprocess.run` makes `run` an alias; `open = my_open` at module level hides the builtin."""
        for (scope, name), values in self.values.items():
            if name in self.aliases:
                continue  # an import of the name is the stronger evidence
            resolved = [self._resolve(value) for value in values]
            known = next((target for target in resolved if target in _KNOWN_NAMES), None)
            if known is not None:
                self.aliases[name] = known
            elif scope == _MODULE_SCOPE and name in _BUILTINS:
                self.shadowed.add(name)

    # -- names ----------------------------------------------------------------------------------------------------
    def _resolve_name(self, name: str) -> str | None:
        target = self.aliases.get(name)
        if target is not None:
            return target
        if name in self.shadowed:
            return None
        if name in _BUILTINS:
            return name
        for module in self.star_modules:
            candidate = f"{module}.{name}"
            if candidate in _KNOWN_NAMES:
                return candidate
        return None

    def _resolve(self, expr: ast.AST) -> str | None:
        """The qualified name an expression stands for, or None: os.system, subprocess.Popen, eval, ...

        Follows attributes, literal subscripts (sys.modules["os"], __builtins__["exec"]), getattr with a literal
        attribute and __import__/import_module with a literal module, without recursion.
        """
        cls = expr.__class__
        if cls is ast.Name or (cls is ast.Attribute and expr.value.__class__ is ast.Name):
            # Most calls are f(...) or obj.method(...): answered without building a chain.
            base = self._resolve_name(expr.id if cls is ast.Name else expr.value.id)
            if base is None:
                return None
            return _canonical(base if cls is ast.Name else f"{base}.{expr.attr}")
        parts: list[str] = []
        for _ in range(_NAME_CHAIN):
            cls = expr.__class__
            if cls is ast.Attribute:
                parts.append(expr.attr)
                expr = expr.value
            elif cls is ast.Name:
                base = self._resolve_name(expr.id)
                break
            elif cls is ast.Subscript:
                key = _string(expr.slice)
                if key is None:
                    return None
                parts.append(key)
                expr = expr.value
            elif cls is ast.Call:
                step = self._literal_lookup(expr)
                if step is None:
                    return None
                if isinstance(step, str):  # a module imported by a literal name
                    base = step
                    break
                expr, attribute = step  # getattr(obj, "attribute")
                parts.append(attribute)
            else:
                return None
        else:
            return None
        if base is None:
            return None
        if parts:
            parts.append(base)
            base = ".".join(reversed(parts))
        return _canonical(base)

    def _literal_lookup(self, call: ast.Call) -> str | tuple[ast.expr, str] | None:
        """A module for __import__("os") and import_module("os"); (obj, attribute) for getattr(obj, "attribute")."""
        function = self._simple_target(call.func)
        args = call.args
        if function == "getattr" and len(args) >= 2:
            attribute = _string(args[1])
            return (args[0], attribute) if attribute is not None else None
        name = _string(args[0]) if args else None
        if not name or name.startswith("."):
            return None  # computed, or relative to a package we cannot name
        if function == "importlib.import_module":
            return name
        if function == "__import__":
            # Without a fromlist, __import__("os.path") returns the top package, os.
            has_fromlist = len(args) >= 4 or any(keyword.arg == "fromlist" for keyword in call.keywords)
            return name if has_fromlist else name.partition(".")[0]
        return None

    def _simple_target(self, func: ast.expr) -> str | None:
        """`getattr`, `__import__`, `importlib.import_module`: one name or one attribute on a name."""
        if func.__class__ is ast.Name:
            return self._resolve_name(func.id)
        if func.__class__ is ast.Attribute and func.value.__class__ is ast.Name:
            base = self._resolve_name(func.value.id)
            return _canonical(f"{base}.{func.attr}") if base else None
        return None

    def _assigned(self, scope: int, name: str) -> list[ast.expr]:
        """What a name was assigned in this scope, or else at module level (one level of name tracking)."""
        values = self.values.get((scope, name))
        if values is None and scope != _MODULE_SCOPE:
            values = self.values.get((_MODULE_SCOPE, name))
        return values or []

    def _subtree(
        self, roots: Iterable[ast.AST | None], scope: int, *, follow_names: bool
    ) -> Iterator[ast.AST]:
        """The nodes under roots, iteratively and within budget; with follow_names, also under the values the
        names found there were assigned (one level: names inside those values are not followed again)."""
        stack: list = [(root, follow_names) for root in reversed(list(roots))]
        followed: set[str] = set()
        allowed = min(_SUBTREE_NODES, self.subtree_budget)
        visited = 0
        try:
            while stack and visited < allowed:
                node, follow = stack.pop()
                if node is None:
                    continue
                visited += 1
                yield node
                if follow and node.__class__ is ast.Name and node.id not in followed:
                    followed.add(node.id)
                    stack.extend((value, False) for value in reversed(self._assigned(scope, node.id)))
                children: list = []
                _push_children(node, children.append, children.extend)
                stack.extend((child, follow) for child in children)
        finally:  # also when the caller stops early, having found what it looked for
            self.subtree_budget -= visited

    # -- calls ----------------------------------------------------------------------------------------------------
    def _judge_call(self, call: ast.Call, scope: int) -> None:
        func = call.func
        target = self._resolve(func)
        roles = CALL_ROLES.get(target) if target is not None else None
        if roles is None and target is not None and target.startswith(_NATIVE_LOADER_PREFIXES):
            roles = ("native",)
        if roles is not None:
            for role in roles:
                self._ROLE_CHECKS[role](self, call, scope, target)
        elif func.__class__ is ast.Attribute:
            self._judge_method(call, scope, func.attr)

    def _judge_method(self, call: ast.Call, scope: int, method: str) -> None:
        """Calls on objects we cannot name: Path(...).write_text, sock.sendall, session.post."""
        if method in _PATH_WRITERS:
            self._add("file.write", call)
        elif method in _SENDING_METHODS:
            self._check_environment_sent(call, scope, everything=True)

    def _check_evaluation(self, call: ast.Call, scope: int, target: str) -> None:
        code = self._code_argument(call)
        if code is None or _is_literal_text(code):
            return  # exec("print(1)") is as static as the code around it
        if self._contains_decoder(code, scope):
            self._add("obfuscation.decode-and-exec", call)
        elif (
            target in _CODE_EVALUATORS
            and not self._only_parses(call, scope, target)
            and not self._reads_a_file(code, scope)
        ):
            self._add("exec.dynamic-code", call)

    def _reads_a_file(self, code: ast.expr, scope: int) -> bool:
        """exec(open("pkg/version.py").read()): the classic setup.py version read. The file it runs is in the
        release and is scanned itself, so this is as static as an import; a network read is not exempt."""
        if code.__class__ is not ast.Call or code.func.__class__ is not ast.Attribute:
            return False
        if code.func.attr not in ("read", "read_text", "read_bytes"):
            return False
        opened = code.func.value
        if opened.__class__ is ast.Name:
            values = self._assigned(scope, opened.id)
            return bool(values) and all(self._opens_a_file(value) for value in values)
        return self._opens_a_file(opened)

    def _opens_a_file(self, expr: ast.expr) -> bool:
        if expr.__class__ is not ast.Call:
            return False
        target = self._resolve(expr.func)
        return target in _OPENERS or target in ("pathlib.Path", "pathlib.PurePath")

    def _only_parses(self, call: ast.Call, scope: int, target: str) -> bool:
        """compile(source, name, mode, ast.PyCF_ONLY_AST) returns a syntax tree, as ast.parse does: nothing runs."""
        flags = _argument(call, 3, "flags") if target == "compile" else None
        if flags is None:
            return False
        return any(
            _identifier(node) == "PyCF_ONLY_AST"
            or (node.__class__ is ast.Constant and node.value == ast.PyCF_ONLY_AST)
            for node in self._subtree([flags], scope, follow_names=True)
        )

    @staticmethod
    def _code_argument(call: ast.Call) -> ast.expr | None:
        if call.args:
            return call.args[0]
        return next((keyword.value for keyword in call.keywords if keyword.arg in ("source", "code")), None)

    def _contains_decoder(self, expr: ast.expr, scope: int) -> bool:
        """Whether a decoder feeds the expression: base64/zlib/marshal..., "".join(chr(...)), "...".decode("hex"),
        or text reversed with a [::-1] slice."""
        for node in self._subtree([expr], scope, follow_names=True):
            if node.__class__ is ast.Subscript and _reverses(node):
                return True
            if node.__class__ is not ast.Call:
                continue
            if self._resolve(node.func) in _DECODERS:
                return True
            method = node.func.attr if node.func.__class__ is ast.Attribute else None
            if method == "decode" and self._decodes_with_codec(node):
                return True
            if method == "join" and self._joins_characters(node, scope):
                return True
        return False

    def _joins_characters(self, join: ast.Call, scope: int) -> bool:
        """ "".join(chr(c) for c in codes) or "".join(map(chr, codes)): text spelled out as numbers."""
        return any(
            self._resolve(node) == "chr" for node in self._subtree(join.args, scope, follow_names=False)
        )

    @staticmethod
    def _decodes_with_codec(call: ast.Call) -> bool:
        codec = _string(_argument(call, 0, "encoding"))
        return codec is not None and codec.lower() in _DECODING_CODECS

    def _check_dynamic_import(self, call: ast.Call, scope: int, target: str) -> None:
        name = _argument(call, 0, "name")
        if name is not None and _string(name) is None:
            self._add("exec.dynamic-import", call)

    def _check_native(self, call: ast.Call, scope: int, target: str) -> None:
        self._add("exec.native-library", call)

    def _check_marshal(self, call: ast.Call, scope: int, target: str) -> None:
        self._add("obfuscation.marshal-load", call)

    def _check_network(self, call: ast.Call, scope: int, target: str) -> None:
        self._add("network.connection", call)
        self._check_environment_sent(call, scope, everything=True)

    def _check_process(self, call: ast.Call, scope: int, target: str) -> None:
        self._add("process.spawn", call)
        command = self._literal_text(call, scope)
        if command and any(all(p.search(command) for p in patterns) for patterns in _SHELL_DOWNLOADS):
            self._add("process.shell-download", call)

    def _literal_text(self, call: ast.Call, scope: int) -> str:
        """The string literals in a call's arguments (and in what the names there were assigned), joined."""
        roots = [*call.args, *(keyword.value for keyword in call.keywords)]
        pieces: list[str] = []
        size = 0
        for node in self._subtree(roots, scope, follow_names=True):
            if node.__class__ is ast.Constant and node.value.__class__ in (str, bytes):
                value = node.value[: _SHELL_TEXT_CHARS - size]
                pieces.append(value.decode("latin-1") if isinstance(value, bytes) else value)
                size += len(value) + 1
                if size >= _SHELL_TEXT_CHARS:
                    break
        return " ".join(pieces)

    def _check_open(self, call: ast.Call, scope: int, target: str) -> None:
        mode = _string(_argument(call, 1, "mode"))
        if mode is not None and not _WRITE_MODE_CHARS.isdisjoint(mode):
            self._add("file.write", call)

    def _check_os_open(self, call: ast.Call, scope: int, target: str) -> None:
        flags = _argument(call, 1, "flags")
        if flags is not None and any(
            _identifier(node) in _WRITE_FLAGS for node in self._subtree([flags], scope, follow_names=False)
        ):
            self._add("file.write", call)

    def _check_setup(self, call: ast.Call, scope: int, target: str) -> None:
        commands = self._overridden_install_commands(call, scope)
        if commands:
            self._add("install.cmdclass-override", call, evidence=f"cmdclass replaces {', '.join(commands)}")

    def _overridden_install_commands(self, call: ast.Call, scope: int) -> list[str]:
        cmdclass = None
        for keyword in call.keywords:
            if keyword.arg == "cmdclass":
                cmdclass = keyword.value
            elif keyword.arg is None:  # setup(**options) with options = {"cmdclass": ...}
                cmdclass = self._dict_entries(keyword.value, scope).get("cmdclass", cmdclass)
        if cmdclass is None:
            return []
        keys = self._dict_entries(cmdclass, scope)
        return sorted(_INSTALL_COMMANDS.intersection(keys))

    def _dict_entries(self, expr: ast.expr, scope: int) -> dict[str, ast.expr | None]:
        """Literal keys of a dict display or dict(...) call, following a name once; values where known."""
        entries: dict[str, ast.expr | None] = {}
        candidates = [expr]
        if expr.__class__ is ast.Name:
            candidates = self._assigned(scope, expr.id)
            entries.update(dict.fromkeys(self.item_keys.get((scope, expr.id), ())))
        for candidate in candidates:
            if candidate.__class__ is ast.Dict:
                for key, value in zip(candidate.keys, candidate.values, strict=True):
                    name = _string(key)
                    if name is not None:
                        entries[name] = value
            elif candidate.__class__ is ast.Call and self._resolve(candidate.func) == "dict":
                entries.update((keyword.arg, keyword.value) for keyword in candidate.keywords if keyword.arg)
        return entries

    def _check_serialiser(self, call: ast.Call, scope: int, target: str) -> None:
        self._check_environment_sent(call, scope, everything=False)

    def _check_environment_sent(self, call: ast.Call, scope: int, *, everything: bool) -> None:
        """The whole environment as an argument (or, for senders, a keyword such as data= or json=)."""
        arguments = (
            [*call.args, *(keyword.value for keyword in call.keywords)] if everything else call.args[:1]
        )
        if any(self._is_whole_environment(argument, scope) for argument in arguments):
            self._add("credentials.environment-dump", call)

    def _is_whole_environment(self, expr: ast.expr, scope: int) -> bool:
        """os.environ, os.environ.copy(), dict(os.environ), os.environ.items(), {**os.environ}, os.environ.__dict__,
        or a name assigned one of those; never os.environ["HOME"] or os.environ.get(...), which every program uses."""
        pending = [(expr, True)]  # (expression, whether a name in it may still be followed to its value)
        for _ in range(_ENVIRONMENT_STEPS):
            if not pending:
                return False
            node, follow = pending.pop()
            cls = node.__class__
            if cls is ast.Call:
                func = node.func
                if func.__class__ is ast.Attribute and func.attr in _ENVIRONMENT_VIEWS and not node.args:
                    pending.append((func.value, follow))
                elif self._resolve(func) in _PASS_THROUGH:
                    unwrapped = [
                        *node.args[:1],
                        *(keyword.value for keyword in node.keywords if keyword.arg is None),
                    ]
                    pending.extend((argument, follow) for argument in unwrapped)
            elif cls is ast.Dict:
                pending.extend(
                    (value, follow) for key, value in zip(node.keys, node.values, strict=True) if key is None
                )
            elif cls is ast.Attribute and node.attr == "__dict__":
                pending.append((node.value, follow))
            elif self._resolve(node) in _ENVIRONMENT:
                return True
            elif cls is ast.Name and follow:
                pending.extend((value, False) for value in self._assigned(scope, node.id))
        return False

    _ROLE_CHECKS = {
        "evaluate": _check_evaluation,
        "code-object": _check_evaluation,
        "import": _check_dynamic_import,
        "native": _check_native,
        "marshal": _check_marshal,
        "network": _check_network,
        "process": _check_process,
        "open": _check_open,
        "os-open": _check_os_open,
        "setup": _check_setup,
        "serialise": _check_serialiser,
    }

    # -- literals -------------------------------------------------------------------------------------------------
    def _check_entropy(self, node: ast.Constant, value: str | bytes) -> None:
        if isinstance(value, str) and not value.isascii() and max(value) > "\xff":
            return  # text in a script beyond Latin-1 (CJK, emoji) is language, not a payload
        sample = value[:_ENTROPY_SAMPLE_CHARS]
        bits = _shannon_entropy(sample)
        if bits >= HIGH_ENTROPY_MIN_BITS:
            unit = "bytes" if isinstance(value, bytes) else "characters"
            evidence = f"{len(value):,} {unit}, {bits:.2f} bits per symbol, starts {value[:24]!r}"
            self._add("obfuscation.high-entropy-literal", node, evidence=_shortened(evidence))

    # -- findings -------------------------------------------------------------------------------------------------
    def _add(self, rule: str, node: ast.AST, *, evidence: str | None = None) -> None:
        self.raw.append((rule, node.lineno, node.col_offset, evidence))

    def _findings(self) -> list[Finding]:
        findings: list[Finding] = []
        seen: set[tuple[str, int, str]] = set()
        per_rule: Counter[str] = Counter()
        for rule, line, column, evidence in sorted(self.raw, key=lambda raw: (raw[1], raw[2], raw[0])):
            if per_rule[rule] >= MAX_FINDINGS_PER_RULE:
                continue
            text = evidence if evidence is not None else self._source_lines().excerpt(line, column)
            if (rule, line, text) in seen:
                continue  # two calls on one line with the same excerpt say nothing more than one
            seen.add((rule, line, text))
            per_rule[rule] += 1
            findings.append(Finding.of(rule, self.path, line=line, evidence=text))
        return findings

    def _source_lines(self) -> _SourceLines:
        if self._lines is None:
            self._lines = _SourceLines(self.source)
        return self._lines


# How the walk steps over each node class: (the _FileScan method that records something there, a getter of the
# child fields, last first so that a stack pops them in source order, whether it returns several, whether the
# node opens a scope). None for a class with neither handler nor children; the markers below for the rest.
_SPREAD, _LEAVE_SCOPE, _UNLISTED = object(), object(), object()


def _step(cls: type, fields: tuple[tuple[str, bool], ...]):
    handler_name = _NODE_HANDLERS.get(cls)
    handler = getattr(_FileScan, handler_name) if handler_name else None
    names = [name for name, _ in fields]
    children = operator.attrgetter(*names) if names else None
    if handler is None and children is None and cls not in _SCOPES:
        return None
    return (handler, children, len(names) > 1, cls in _SCOPES)


_STEPS: dict[type, object] = {cls: _step(cls, fields) for cls, fields in _CHILDREN.items()}
_STEPS.update({type(None): None, list: _SPREAD, _ScopeEnd: _LEAVE_SCOPE})
assert all(cls in _STEPS for cls in _NODE_HANDLERS) and all(cls in _STEPS for cls in _SCOPES)


def _canonical(name: str) -> str:
    """One spelling per callable: builtins.eval is eval, posix.system is os.system, sys.modules["os"] is os."""
    for _ in range(3):
        if ".__dict__" in name:
            name = name.replace(".__dict__", "")
        head, dot, rest = name.partition(".")
        if not dot:
            return name
        if head in _BUILTIN_MODULES:
            name = rest
        elif head in ("posix", "nt"):
            name = f"os.{rest}"
        elif head == "sys" and rest.startswith("modules."):
            name = rest[len("modules.") :]
        elif name == "importlib.__import__":
            return "__import__"
        else:
            return name
    return name


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    """An argument given by position or by keyword, or None."""
    if len(call.args) > position:
        return call.args[position]
    return next((given.value for given in call.keywords if given.arg == keyword), None)


def _identifier(node: ast.AST) -> str | None:
    """The last name in `os.O_WRONLY` or `O_WRONLY`: enough for flags, whichever way they were imported."""
    if node.__class__ is ast.Attribute:
        return node.attr
    if node.__class__ is ast.Name:
        return node.id
    return None


def _string(expr: ast.AST | None) -> str | None:
    """The value of a string literal, or None for anything else."""
    if expr is not None and expr.__class__ is ast.Constant and expr.value.__class__ is str:
        return expr.value
    return None


def _reverses(subscript: ast.Subscript) -> bool:
    """code[::-1]: a payload stored backwards so that no pattern matches it at rest."""
    index = subscript.slice
    if index.__class__ is not ast.Slice or index.lower is not None or index.upper is not None:
        return False
    step = index.step
    return (
        step is not None
        and step.__class__ is ast.UnaryOp
        and step.op.__class__ is ast.USub
        and step.operand.__class__ is ast.Constant
        and step.operand.value == 1
    )


def _is_literal_text(expr: ast.expr) -> bool:
    return expr.__class__ is ast.Constant and expr.value.__class__ in (str, bytes)


def _shannon_entropy(sample: str | bytes) -> float:
    total = len(sample)
    return -sum(count / total * math.log2(count / total) for count in Counter(sample).values())


class _SourceLines:
    """Excerpts of source lines by line number and column, as the parser counts them.

    The parser reads the text as UTF-8 with universal newlines and counts columns in UTF-8 bytes, so the source
    is brought to that form once; an excerpt then reads a bounded window, however long the line.
    """

    def __init__(self, source: bytes) -> None:
        text = self._as_utf8(source)
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        self.text = text
        self.starts = [0, *(match.end() for match in re.finditer(b"\n", text))]

    @staticmethod
    def _as_utf8(source: bytes) -> bytes:
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        except SyntaxError:
            encoding = "utf-8"
        if encoding == "utf-8":
            return source
        return source.decode(encoding, errors="replace").encode("utf-8")  # also drops a byte-order mark

    def excerpt(self, line: int, column: int) -> str:
        if not 1 <= line <= len(self.starts):
            return ""
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        prefix = ""
        if end - start > _EVIDENCE_WINDOW_BYTES and column > 0:
            start, prefix = start + column, "…"  # a long line is shown from the node, not from its start
        window = self.text[start : min(end, start + _EVIDENCE_WINDOW_BYTES)]
        return _shortened(prefix + window.decode("utf-8", errors="replace").strip())
