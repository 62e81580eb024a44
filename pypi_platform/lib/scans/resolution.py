"""Qualified names: what an expression in one file stands for, however the module was reached.

``from subprocess import Popen as P`` makes ``P`` mean ``subprocess.Popen``; so do ``__import__("subprocess")``,
``importlib.import_module("sub" + "process")``, ``getattr(module, "name")``, ``module.__dict__["name"]``,
``module.__getattribute__("name")``, ``vars(module)[...]``, ``globals()["name"]`` and ``sys.modules["name"]``.
A well-known module used with no import at all (a snippet, code run by exec) is taken for that module when the file
binds the name nowhere. Names live in one flat table per file plus one level of scopes: cheaper than real
scoping and, for what these rules ask, rarely different. Nothing here is recursive over the tree.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from pypi_platform.lib.scans.call_roles import BUILTIN_MODULES, BUILTINS
from pypi_platform.lib.scans.folding import Folder
from pypi_platform.lib.scans.syntax_walk import push_children

MODULE_SCOPE = 0
NAME_CHAIN = 64  # a longer chain of attributes is not resolved (a.b.c.d... is no import)
VALUES_PER_NAME = 8  # assignments remembered per name and scope
SUBTREE_NODES = 5_000  # nodes looked at under one call's arguments
# Modules a snippet uses without importing (the import sits in code we do not see, or exec'd code relies on the
# caller's): resolved by name when the file never binds the name otherwise.
IMPLICIT_MODULES = frozenset(
    {
        "os",
        "subprocess",
        "socket",
        "requests",
        "urllib",
        "urllib2",
        "httpx",
        "sys",
        "base64",
        "zlib",
        "marshal",
    }
    | {
        "ctypes",
        "pty",
        "platform",
        "getpass",
        "shutil",
        "codecs",
        "importlib",
        "builtins",
        "winreg",
        "_winreg",
    }
    | {
        "pyperclip",
        "pyautogui",
        "pynput",
        "keyboard",
        "win32clipboard",
        "win32crypt",
        "sqlite3",
        "webbrowser",
    }
)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler)
# What a qualified name can be read from; anything else resolves to nothing.
_CHAINS = frozenset({ast.Attribute, ast.Name, ast.Subscript, ast.Call})
# Calls that return a namespace: globals()["eval"] is eval, vars(os)["system"] is os.system.
_NAMESPACES = {"globals", "locals", "vars"}


def canonical(name: str) -> str:
    """One spelling per callable: builtins.eval is eval, posix.system is os.system, sys.modules["os"] is os."""
    for _ in range(3):
        if ".__dict__" in name:
            name = name.replace(".__dict__", "")
        head, dot, rest = name.partition(".")
        if not dot:
            return name
        if head in BUILTIN_MODULES:
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


class NameTable:
    """The names one file binds (imports, assignments) and the qualified names its expressions stand for."""

    known_names: frozenset[str] = frozenset()  # set by python_rules.py from every rule module's call targets

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}  # local name -> qualified name
        self.star_modules: list[str] = []
        self.shadowed: set[str] = set()  # builtins the module rebinds (def open(...): ...)
        self.values: dict[tuple[int, str], list[ast.expr]] = {}  # (scope, name) -> expressions assigned to it
        self.item_keys: dict[tuple[int, str], set[str]] = {}  # (scope, name) -> keys set by name["key"] = ...
        self.subtree_budget = 0
        self.scope_now = MODULE_SCOPE  # the scope of the call being judged, for folding names it uses
        self.folder = Folder(self.resolve, self.assigned)
        self._bound: set[str] | None = None
        self.tree: ast.AST | None = None

    # -- binding --------------------------------------------------------------------------------------------------
    def bind_assigned_aliases(self) -> None:
        """`run = subprocess.run` makes `run` an alias; `open = my_open` at module level hides the builtin."""
        for (scope, name), values in self.values.items():
            if name in self.aliases:
                continue  # an import of the name is the stronger evidence
            resolved = [self.resolve(value) for value in values]
            known = next((target for target in resolved if target in self.known_names), None)
            if known is not None:
                self.aliases[name] = known
            elif scope == MODULE_SCOPE and name in BUILTINS:
                self.shadowed.add(name)

    def resolve_name(self, name: str) -> str | None:
        target = self.aliases.get(name)
        if target is not None:
            return target
        if name in self.shadowed:
            return None
        if name in BUILTINS:
            return name
        for module in self.star_modules:
            candidate = f"{module}.{name}"
            if candidate in self.known_names:
                return candidate
        if name in IMPLICIT_MODULES and name not in self._bound_names():
            return name
        return None

    def _bound_names(self) -> set[str]:
        """Every name the file binds anywhere (assignment targets, parameters, loop variables, definitions):
        computed once, and only for a file that uses a well-known module name it never imported."""
        if self._bound is None:
            self._bound = {name for _, name in self.values}
            if self.tree is not None:
                for node in ast.walk(self.tree):  # iterative (a queue), so safe on deep trees
                    cls = node.__class__
                    if cls is ast.Name and node.ctx.__class__ is not ast.Load:
                        self._bound.add(node.id)
                    elif cls is ast.arg:
                        self._bound.add(node.arg)
                    elif cls in _DEFINITIONS and node.name:
                        self._bound.add(node.name)
        return self._bound

    # -- resolving ------------------------------------------------------------------------------------------------
    def resolve(self, expr: ast.AST) -> str | None:
        """The qualified name an expression stands for, or None: os.system, subprocess.Popen, eval, ...

        Follows attributes, literal (or folded) subscripts, getattr and __getattribute__ with a constant
        attribute, namespaces (globals(), vars(x)) and imports by a constant name, without recursion.
        """
        cls = expr.__class__
        if cls is ast.Name or (cls is ast.Attribute and expr.value.__class__ is ast.Name):
            # Most calls are f(...) or obj.method(...): answered without building a chain.
            base = self.resolve_name(expr.id if cls is ast.Name else expr.value.id)
            if base is None:
                return None
            return canonical(base if cls is ast.Name else f"{base}.{expr.attr}")
        if cls not in _CHAINS:  # a constant, an operation, a literal: what most assigned values are
            return None
        parts: list[str] = []
        base: str | None = None
        for _ in range(NAME_CHAIN):
            cls = expr.__class__
            if cls is ast.Attribute:
                parts.append(expr.attr)
                expr = expr.value
            elif cls is ast.Name:
                base = self.resolve_name(expr.id)
                break
            elif cls is ast.Subscript:
                key = self.constant_text(expr.slice)
                if key is None:
                    return None
                parts.append(key)
                expr = expr.value
            elif cls is ast.Call:
                step = self._literal_lookup(expr)
                if step is None:
                    return None
                if isinstance(step, str):  # a module imported by a constant name
                    base = step
                    break
                expr, attribute = step  # getattr(obj, "attribute")
                if attribute is not None:
                    parts.append(attribute)
                elif expr is None:  # globals()[...]: the next part is a name of the module itself
                    if not parts:
                        return None
                    base = self.resolve_name(parts.pop())
                    break
            else:
                return None
        else:
            return None
        if base is None:
            return None
        if parts:
            parts.append(base)
            base = ".".join(reversed(parts))
        return canonical(base)

    def constant_text(self, expr: ast.AST | None) -> str | None:
        """A string literal, or the string a constant expression folds to."""
        if expr is None:
            return None
        if expr.__class__ is ast.Constant:
            return expr.value if expr.value.__class__ is str else None
        if expr.__class__ in (ast.Name, ast.BinOp, ast.Call, ast.JoinedStr, ast.Subscript):
            value = self.folder.value(expr, self.scope_now)
            return value if value.__class__ is str else None
        return None

    def _literal_lookup(self, call: ast.Call) -> str | tuple[ast.expr | None, str | None] | None:
        """A module for __import__("os") and import_module("os"); (obj, attribute) for getattr(obj, "attribute")
        and obj.__getattribute__("attribute"); (obj, None) for vars(obj); (None, None) for globals()/locals()."""
        func, args = call.func, call.args
        if func.__class__ is ast.Attribute and func.attr == "__getattribute__" and len(args) == 1:
            attribute = self.constant_text(args[0])
            return (func.value, attribute) if attribute is not None else None
        function = self._simple_target(func)
        if function == "getattr" and len(args) >= 2:
            attribute = self.constant_text(args[1])
            return (args[0], attribute) if attribute is not None else None
        if function in _NAMESPACES:
            if not args:
                return (None, None)
            return (args[0], None) if function == "vars" and len(args) == 1 else None
        if function not in ("importlib.import_module", "__import__"):
            return None
        name = self.constant_text(args[0]) if args else None
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
            return self.resolve_name(func.id)
        if func.__class__ is ast.Attribute and func.value.__class__ is ast.Name:
            base = self.resolve_name(func.value.id)
            return canonical(f"{base}.{func.attr}") if base else None
        return None

    # -- values ---------------------------------------------------------------------------------------------------
    def assigned(self, scope: int, name: str) -> list[ast.expr]:
        """What a name was assigned in this scope, or else at module level (one level of name tracking)."""
        values = self.values.get((scope, name))
        if values is None and scope != MODULE_SCOPE:
            values = self.values.get((MODULE_SCOPE, name))
        return values or []

    def subtree(
        self, roots: Iterable[ast.AST | None], scope: int, *, follow_names: bool
    ) -> Iterator[ast.AST]:
        """The nodes under roots, iteratively and within budget; with follow_names, also under the values the
        names found there were assigned (one level: names inside those values are not followed again)."""
        stack: list = [(root, follow_names) for root in reversed(list(roots))]
        followed: set[str] = set()
        allowed = min(SUBTREE_NODES, self.subtree_budget)
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
                    stack.extend((value, False) for value in reversed(self.assigned(scope, node.id)))
                children: list = []
                push_children(node, children.append, children.extend)
                stack.extend((child, follow) for child in children)
        finally:  # also when the caller stops early, having found what it looked for
            self.subtree_budget -= visited
