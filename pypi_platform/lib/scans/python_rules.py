"""Rules over the syntax tree of Python source: dynamic code, obfuscation, install hooks, and capabilities.

Hostile files are built to break scanners: expressions thousands of levels deep, null bytes,
bad encodings, megabyte-long lines. So parsing never raises (a failure is itself a finding), the walk is iterative
with a node cap, nothing recursive runs over the tree, and evidence is cut from a bounded window of the source.
Suppression comments (``# nosec``) are untrusted input and change nothing.

Every rule keys on qualified names (``resolution.py``), whatever the import style. The walk collects imports,
assignments, calls and string operations in one pass; calls are judged afterwards, once every import of the file
is known, because a function may use a name imported further down. What a call means is decided by its roles
(``call_roles.py``) and the checks of the ``rules_*`` and ``behaviours_*`` modules; constants are folded
(``folding.py``) so that hidden names, commands and hosts are seen as the code would see them, and code handed to
exec as a constant is scanned as code.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections import Counter

from pypi_platform.lib.scans import (
    behaviours_exfiltration,
    behaviours_injection,
    behaviours_network,
    behaviours_persistence,
    behaviours_recon,
    behaviours_spyware,
    rules_code,
    rules_install,
    rules_system,
)
from pypi_platform.lib.scans.call_roles import (
    CORE_ROLES,
    NATIVE_LOADER_PREFIXES,
    call_roles,
    known_names,
)
from pypi_platform.lib.scans.evidence import EVIDENCE_CHARS, EVIDENCE_WINDOW_BYTES, SourceLines, shortened
from pypi_platform.lib.scans.file_walk import Recorder
from pypi_platform.lib.scans.findings import RULES, Finding
from pypi_platform.lib.scans.identifiers import homoglyph_identifiers
from pypi_platform.lib.scans.indicators import indicator_findings  # applied to strings the folder computes
from pypi_platform.lib.scans.parsing import parse_python
from pypi_platform.lib.scans.pth_hooks import is_known_hook
from pypi_platform.lib.scans.resolution import MODULE_SCOPE
from pypi_platform.lib.scans.syntax_walk import binary_operations_under, string_value

__all__ = ["EVIDENCE_CHARS", "MAX_FINDINGS_PER_RULE", "pth_findings", "python_findings"]

# A generated file can repeat one call a million times; a hundred findings per rule say as much.
MAX_FINDINGS_PER_RULE = 100
# Code handed to exec as a constant is scanned too: this deep (exec of exec of ...), this much per file.
EMBEDDED_DEPTH = 3
EMBEDDED_CHARS_PER_FILE = 1_000_000
_FOLDED_MIN_CHARS = 6  # shorter computed strings name nothing an indicator knows

_BEHAVIOURS = (
    behaviours_network,
    behaviours_exfiltration,
    behaviours_spyware,
    behaviours_persistence,
    behaviours_injection,
    behaviours_recon,
)
CALL_ROLES = call_roles(CORE_ROLES, *(module.ROLES for module in _BEHAVIOURS))
Recorder.known_names = known_names(CALL_ROLES)
_ROLE_CHECKS = {**rules_code.CHECKS, **rules_system.CHECKS, **rules_install.CHECKS}
for _module in _BEHAVIOURS:
    assert not _ROLE_CHECKS.keys() & _module.CHECKS.keys()  # a role belongs to one module
    _ROLE_CHECKS.update(_module.CHECKS)
assert all(role in _ROLE_CHECKS for roles in CALL_ROLES.values() for role in roles)
# Checks by method name, for calls on objects that cannot be named (sock.connect, windll.kernel32.X).
_METHOD_CHECKS: dict[str, list] = {}
for _module in _BEHAVIOURS:
    for _method, _check in getattr(_module, "METHOD_CHECKS", {}).items():
        _METHOD_CHECKS.setdefault(_method, []).append(_check)
_FINISHERS = [module.finish for module in _BEHAVIOURS if hasattr(module, "finish")]

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
    "obfuscation.homoglyph-identifier",
    "install.pth-known-hook",
    "install.cmdclass-runs-code",
    "obfuscation.indirect-call",
):
    assert _rule in RULES, _rule  # every rule here has a severity and a score


# --- the public API ------------------------------------------------------------------------------------------
def python_findings(path: str, source: bytes, *, max_nodes: int = 1_000_000) -> list[Finding]:
    """Findings of the syntax-tree rules in one Python member, given as the raw bytes of the file."""
    # A file that does not parse whole is recovered statement by statement, each failing part a finding.
    parsed = parse_python(path, source)
    return parsed.findings + _FileScan(path, source).run(parsed.tree, max_nodes)


def pth_findings(path: str, text: str) -> list[Finding]:
    """Findings in a ``.pth`` file: its ``import`` lines run at every interpreter start (``site.addpackage``)."""
    findings = []
    for number, line in enumerate(_PTH_LINES.split(text), start=1):
        if not line.startswith(("import ", "import\t")):
            continue  # any other line is a path entry or a comment
        # Encoded with replacement: a lone surrogate from a lenient decode must not reach evidence or the parser.
        code = line.encode("utf-8", errors="replace")
        evidence = _shortened(code[:_EVIDENCE_WINDOW_BYTES].decode("utf-8", errors="replace").strip())
        rule = "install.pth-known-hook" if is_known_hook(path, line) else "install.pth-executes-code"
        findings.append(Finding.of(rule, path, line=number, evidence=evidence))
        for finding in python_findings(path, code):
            findings.append(Finding.of(finding.rule, path, line=number, evidence=finding.evidence))
    return findings


# site.py reads .pth files with universal newlines; str.splitlines would also split on form feeds and the like.
_PTH_LINES = re.compile(r"\r\n|\r|\n")


_shortened = shortened
_EVIDENCE_WINDOW_BYTES = EVIDENCE_WINDOW_BYTES


# --- one file --------------------------------------------------------------------------------------------------


class _FileScan(Recorder):
    """The state of one file's scan: names bound by imports and assignments, the calls to judge, the findings."""

    def __init__(self, path: str, source: bytes, *, depth: int = 0, outer: _FileScan | None = None) -> None:
        super().__init__()
        self.path = path
        self.source = source
        self.depth = depth  # 0 for the file, 1 for code it hands exec, ...
        self.embedded_chars = 0 if outer is None else outer.embedded_chars
        if outer is not None:  # exec'd code runs in its caller's namespace
            self.aliases.update(outer.aliases)
        self.command_texts: dict[int, str] = {}
        self.facts: dict[str, list | set] = {}  # what behaviours made of several calls collect
        self.import_time_calls: set[int] = set()  # calls at a module's top level, outside a __main__ block
        # rule, line, column, the evidence (None for an excerpt of the line), whether it runs at import
        self.raw: list[tuple[str, int, int, str | None, bool]] = []
        self._lines: SourceLines | None = None
        self._at_import = False
        self._main_guard: tuple[int, int] | None = None

    def run(self, tree: ast.AST, max_nodes: int) -> list[Finding]:
        self.tree = tree
        self.subtree_budget = max_nodes  # looking into arguments costs at most as much as the walk
        try:
            cut_short = self._walk(tree, max_nodes)
            self.bind_assigned_aliases()
            self._judge()
            findings = self._findings()
        finally:
            # The folder holds this scan's bound methods, a cycle that refcounting cannot free; a release file
            # is scanned with the cycle collector paused, so every file's tree would stay in memory until the
            # last member is done (an OOM on large sdists). Breaking it frees the tree as the scan returns.
            self.folder = None
            self.tree = None
        if cut_short:
            findings.append(
                Finding.of(
                    "parse.node-limit", self.path, evidence=f"stopped after {max_nodes:,} syntax nodes"
                )
            )
        return findings

    # -- judging --------------------------------------------------------------------------------------------------
    def _judge(self) -> None:
        self._main_guard = _main_guard_lines(self.tree)
        at_import = self.import_time_scopes(self._main_guard) if self.depth == 0 else set()
        for call, scope in self.calls:
            self.scope_now = scope
            self._at_import = scope in at_import and not (
                scope == MODULE_SCOPE and self._under_main_guard(call)
            )
            if self._at_import:
                self.import_time_calls.add(id(call))
            self._judge_call(call, scope)
        self._at_import = False
        for finish in _FINISHERS:
            finish(self)
        if self.depth == 0:
            for line, column, evidence in homoglyph_identifiers(self.source, self.unicode_literals):
                self.raw.append(("obfuscation.homoglyph-identifier", line, column, evidence, False))
        consumed: set[int] = set()
        for operation, scope in self.string_operations:
            if id(operation) in consumed:
                continue  # part of a longer expression already folded
            consumed.update(map(id, binary_operations_under(operation)))
            self.scope_now = scope
            self.fold_and_check(operation, scope)

    def _under_main_guard(self, node: ast.AST) -> bool:
        guard = self._main_guard
        return guard is not None and guard[0] <= node.lineno <= guard[1]

    def _judge_call(self, call: ast.Call, scope: int) -> None:
        func = call.func
        target = self.resolve(func)
        roles = CALL_ROLES.get(target) if target is not None else None
        if roles is None and target is not None and target.startswith(NATIVE_LOADER_PREFIXES):
            roles = ("native",)
        if roles is not None:
            for role in roles:
                _ROLE_CHECKS[role](self, call, scope, target)
            rules_code.check_indirect_call(self, call, roles)
        if func.__class__ is not ast.Attribute or (roles is not None and roles != ("native",)):
            return
        method = func.attr
        for check in _METHOD_CHECKS.get(method, ()):
            check(self, call, scope, method)
        if roles is None:
            rules_system.check_method(self, call, scope, method)
            if func.value.__class__ is ast.Constant:  # "".join(...), "...".decode("rot13")
                self.fold_and_check(call, scope)

    # -- constants --------------------------------------------------------------------------------------------
    @staticmethod
    def roles_of(target: str) -> tuple[str, ...]:
        return CALL_ROLES.get(target, ())

    def folded_text(self, expr: ast.AST, scope: int) -> str | None:
        return self.folder.text(expr, scope)

    def command_text(self, call: ast.Call, scope: int) -> str:
        return rules_system.command_text(self, call, scope)

    def constant_code(self, expr: ast.AST, scope: int) -> str | None:
        """The code an exec is handed, when it is a constant or folds to one."""
        if expr.__class__ is ast.Constant:
            value = expr.value
            if value.__class__ is bytes:
                return value.decode("utf-8", errors="replace")
            return value if value.__class__ is str else None
        return self.folder.text(expr, scope)

    def fold_and_check(self, expr: ast.AST, scope: int) -> None:
        """A computed string (never a single literal, which the raw-text rules see) through the indicators."""
        text = self.folder.text(expr, scope)
        if text is None or len(text) < _FOLDED_MIN_CHARS:
            return
        for finding in indicator_findings(self.path, text, expr.lineno):
            self.add(finding.rule, expr, evidence=shortened(f"computed: {finding.evidence}"))

    def scan_code(self, text: str, call: ast.Call) -> None:
        """Code handed to exec: parsed and scanned as a file of its own, its findings put on the call's line."""
        if self.depth >= EMBEDDED_DEPTH or self.embedded_chars + len(text) > EMBEDDED_CHARS_PER_FILE:
            return
        self.embedded_chars += len(text)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(text, filename="<exec>")
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
            return  # not code (a template, a fragment): the call is judged as it stands
        inner = _FileScan(self.path, text.encode("utf-8", "replace"), depth=self.depth + 1, outer=self)
        for finding in inner.run(tree, max(1, self.subtree_budget)):
            if finding.rule != "parse.node-limit":
                self.add(finding.rule, call, evidence=shortened(f"exec'd code: {finding.evidence}"))
        self.embedded_chars = inner.embedded_chars

    # -- findings -------------------------------------------------------------------------------------------------
    def add(self, rule: str, node: ast.AST, *, evidence: str | None = None) -> None:
        at_import = self._at_import or id(node) in self.import_time_calls
        self.raw.append((rule, node.lineno, node.col_offset, evidence, at_import))

    def _findings(self) -> list[Finding]:
        findings: list[Finding] = []
        seen: set[tuple[str, int, str]] = set()
        per_rule: Counter[str] = Counter()
        for rule, line, column, evidence, at_import in sorted(
            self.raw, key=lambda raw: (raw[1], raw[2], raw[0])
        ):
            if per_rule[rule] >= MAX_FINDINGS_PER_RULE:
                continue
            text = evidence if evidence is not None else self._source_lines().excerpt(line, column)
            if (rule, line, text) in seen:
                continue  # two calls on one line with the same excerpt say nothing more than one
            seen.add((rule, line, text))
            per_rule[rule] += 1
            findings.append(Finding.of(rule, self.path, line=line, evidence=text, at_import=at_import))
        return findings

    def _source_lines(self) -> SourceLines:
        if self._lines is None:
            self._lines = SourceLines(self.source)
        return self._lines


def _main_guard_lines(tree: ast.AST | None) -> tuple[int, int] | None:
    """The lines of a top-level `if __name__ == "__main__":` block: code there runs as a script, not at import."""
    for statement in getattr(tree, "body", ()):
        if statement.__class__ is ast.If:
            test = statement.test
            if (
                test.__class__ is ast.Compare
                and test.left.__class__ is ast.Name
                and test.left.id == "__name__"
                and len(test.comparators) == 1
                and string_value(test.comparators[0]) == "__main__"
            ):
                return statement.lineno, statement.end_lineno or statement.lineno
    return None
