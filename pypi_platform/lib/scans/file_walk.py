"""The walk over one file's syntax tree: one iterative pass in source order that records imports, assignments,
classes, calls and string operations, to be judged once the whole file is known (``python_rules.py``).

Hot loop: one dict lookup per node to dispatch on its class, the children fetched by a C getter, lists pushed
whole and spread when popped; leaves cost one lookup. Function and class bodies are scopes of their own.
"""

from __future__ import annotations

import ast
import operator

from pypi_platform.lib.scans import rules_code
from pypi_platform.lib.scans.call_roles import BUILTINS
from pypi_platform.lib.scans.resolution import MODULE_SCOPE, VALUES_PER_NAME, NameTable
from pypi_platform.lib.scans.syntax_walk import CHILDREN, push_children, string_value

HIGH_ENTROPY_MIN_CHARS = rules_code.HIGH_ENTROPY_MIN_CHARS


class _ScopeEnd:
    """A stack marker: when popped, the walk is back in the enclosing scope."""


_SCOPE_END = _ScopeEnd()
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_STRING_OPERATORS = (ast.Add, ast.Mod)


class Recorder(NameTable):
    """A file's names (``NameTable``) and what the walk recorded for the judging that follows."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[ast.Call, int]] = []
        self.string_operations: list[tuple[ast.BinOp, int]] = []
        self.classes: dict[str, ast.ClassDef] = {}
        self.item_writes: list[tuple[ast.expr, str, ast.AST]] = []  # (container, key, statement)
        self.functions: dict[str, int] = {}  # module-level function name -> its scope
        # String literals holding non-ASCII text, outside f-strings: where disguised-looking words may hide
        # harmlessly (identifiers.py); collected here, so that no second walk looks for them.
        self.unicode_literals: list[ast.Constant] = []
        self._fstring_parts: set[int] = set()

    def import_time_scopes(self, skipped: tuple[int, int] | None) -> set[int]:
        """The scopes whose code runs when the module is imported: the module's own (outside the lines in
        `skipped`, a __main__ block) and the module-level functions it calls, or hands over as a callback
        (threading.Thread(target=f), atexit.register(f)), followed from function to function."""
        calls_by_scope: dict[int, list[ast.Call]] = {}
        for call, scope in self.calls:
            if scope == MODULE_SCOPE and skipped is not None and skipped[0] <= call.lineno <= skipped[1]:
                continue
            calls_by_scope.setdefault(scope, []).append(call)
        reached, pending = {MODULE_SCOPE}, [MODULE_SCOPE]
        while pending:
            for call in calls_by_scope.get(pending.pop(), ()):
                for node in (call.func, *call.args, *(keyword.value for keyword in call.keywords)):
                    callee = self.functions.get(node.id) if node.__class__ is ast.Name else None
                    if callee is not None and callee not in reached:
                        reached.add(callee)
                        pending.append(callee)
        return reached

    # -- the walk -------------------------------------------------------------------------------------------------
    def _walk(self, tree: ast.AST, max_nodes: int) -> bool:
        """Visit the tree in source order with an explicit stack; True if the node cap stopped the walk."""
        # Hot loop: locals for everything it touches, one dict lookup per node to dispatch on its class, and the
        # children fetched by a C getter. Lists are pushed whole and spread when popped; leaves cost one lookup.
        stack: list = [tree]
        pop, push, extend = stack.pop, stack.append, stack.extend
        steps = _STEPS
        record_call, unicode_literals, fstring_parts = (
            self.calls.append,
            self.unicode_literals,
            self._fstring_parts,
        )
        scope, enclosing, next_scope = MODULE_SCOPE, [], MODULE_SCOPE + 1
        visited = 0
        while stack:
            node = pop()
            try:
                step = steps[type(node)]  # a subscript and type() are cheaper than .get and .__class__
            except KeyError:
                step = _UNLISTED
            if step is None:  # a leaf with nothing to record, or an absent optional child
                continue
            if step is _SPREAD:  # a list field: its items, first on top
                if node:
                    extend(node[::-1])
                continue
            if step is _LEAVE_SCOPE:
                scope = enclosing.pop()
                continue
            if visited == max_nodes:
                return True
            visited += 1
            if step is _UNLISTED:
                push_children(node, push, extend)
                continue
            handler, children, several, opens_scope = step
            if handler is not None:
                # The two most frequent records are made here, without a method call each.
                if handler is _CALL:
                    record_call((node, scope))  # judged after the walk, once every import is known
                elif handler is _CONSTANT:  # no children
                    value = node.value
                    if value.__class__ is str:
                        if len(value) >= HIGH_ENTROPY_MIN_CHARS:
                            rules_code.check_entropy(self, node, value)
                        if not value.isascii() and id(node) not in fstring_parts:
                            unicode_literals.append(node)
                    elif value.__class__ is bytes and len(value) >= HIGH_ENTROPY_MIN_CHARS:
                        rules_code.check_entropy(self, node, value)
                    continue
                else:
                    handler(self, node, scope)
            if opens_scope:
                if scope == MODULE_SCOPE and node.name in BUILTINS:
                    self.shadowed.add(node.name)  # def open(...) at module level hides the builtin
                if scope == MODULE_SCOPE and node.__class__ is not ast.ClassDef:
                    self.functions.setdefault(node.name, next_scope)  # for what runs at import
                push(_SCOPE_END)  # popped after everything inside the body
                enclosing.append(scope)
                scope, next_scope = next_scope, next_scope + 1
            if children is not None:
                if several:
                    extend(children(node))
                else:
                    push(children(node))
        return False

    def _record_fstring(self, node: ast.JoinedStr, scope: int) -> None:
        self._fstring_parts.update(map(id, node.values))  # seen before its parts: the walk goes parent first

    def _record_string_operation(self, node: ast.BinOp, scope: int) -> None:
        """ "a" + "b", "%s" % x: a string built at run time, which the folder may compute."""
        if node.op.__class__ in _STRING_OPERATORS and (
            node.right.__class__ is ast.Constant or node.left.__class__ is ast.Constant
        ):
            self.string_operations.append((node, scope))

    def _record_class(self, node: ast.ClassDef, scope: int) -> None:
        self.classes.setdefault(node.name, node)  # command classes, for what setup(cmdclass=...) runs

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
                if len(assigned) < VALUES_PER_NAME:
                    assigned.append(value)
            elif target.__class__ is ast.Subscript:
                key = string_value(target.slice)
                if key is None:
                    continue
                if target.value.__class__ is ast.Name:  # cmdclass["install"] = ...
                    self.item_keys.setdefault((scope, target.value.id), set()).add(key)
                else:  # os.environ["LD_PRELOAD"] = ...
                    self.item_writes.append((target.value, key, node))

    def _record_for(self, node: ast.For | ast.AsyncFor, scope: int) -> None:
        """`for rc in (".bashrc", ".zshrc")` binds rc to the items: kept as the iterable, which what looks
        at a name's constants reads through."""
        if node.target.__class__ is ast.Name:
            assigned = self.values.setdefault((scope, node.target.id), [])
            if len(assigned) < VALUES_PER_NAME:
                assigned.append(node.iter)

    def _record_with_item(self, node: ast.withitem, scope: int) -> None:
        """`with open(path) as f` binds f to what open returned, as an assignment would."""
        target = node.optional_vars
        if target is not None and target.__class__ is ast.Name:
            assigned = self.values.setdefault((scope, target.id), [])
            if len(assigned) < VALUES_PER_NAME:
                assigned.append(node.context_expr)


# Markers the walk's loop tells apart by identity: a list field, the end of a scope, a class missing from the table,
# and the two most frequent records, made inside the loop (calls; long or non-ASCII string constants).
_SPREAD, _LEAVE_SCOPE, _UNLISTED, _CALL, _CONSTANT = object(), object(), object(), object(), object()
# How the walk steps over each node class: (what records something there, a Recorder method or a marker above, a
# getter of the child fields, last first so that a stack pops them in source order, whether it returns several,
# whether the node opens a scope). None for a class with neither record nor children.
_NODE_HANDLERS: dict[type, object] = {
    ast.Call: _CALL,
    ast.ClassDef: Recorder._record_class,
    ast.Constant: _CONSTANT,
    ast.JoinedStr: Recorder._record_fstring,
    ast.BinOp: Recorder._record_string_operation,
    ast.Assign: Recorder._record_assignment,
    ast.AnnAssign: Recorder._record_assignment,
    ast.NamedExpr: Recorder._record_assignment,
    ast.withitem: Recorder._record_with_item,
    ast.For: Recorder._record_for,
    ast.AsyncFor: Recorder._record_for,
    ast.Import: Recorder._record_import,
    ast.ImportFrom: Recorder._record_import_from,
}


def _step(cls: type, fields: tuple[tuple[str, bool], ...]):
    handler = _NODE_HANDLERS.get(cls)
    names = [name for name, _ in fields]
    children = operator.attrgetter(*names) if names else None
    if handler is None and children is None and cls not in _SCOPES:
        return None
    return (handler, children, len(names) > 1, cls in _SCOPES)


_STEPS: dict[type, object] = {cls: _step(cls, fields) for cls, fields in CHILDREN.items()}
_STEPS.update({type(None): None, list: _SPREAD, _ScopeEnd: _LEAVE_SCOPE})
assert all(cls in _STEPS for cls in _NODE_HANDLERS) and all(cls in _STEPS for cls in _SCOPES)
