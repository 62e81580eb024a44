"""The shape of Python syntax trees, for walks with an explicit stack (nothing recursive runs over a tree).

The child fields of every node class come from the ASDL signature CPython puts in each class docstring, so a walk
fetches only the fields that can hold nodes, and skips those that never hold anything a rule looks at.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Iterator

# Field types that never hold anything a rule looks at: contexts, operators, import aliases, type ignores.
_SKIPPED_FIELD_TYPES = {"expr_context", "operator", "unaryop", "boolop", "cmpop", "alias", "type_ignore"}
_SIGNATURE = re.compile(r"^\w+(?:\((.*)\))?$")  # "Call(expr func, expr* args, ...)", "Pass"


def _child_fields(cls: type) -> tuple[tuple[str, bool], ...] | None:
    """(field, holds a list) for the fields of a node class that can hold nodes, last field first.

    Reversed, so that a stack pops children in source order. A class without a signature (None) is walked
    generically, by value.
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


CHILDREN: dict[type, tuple[tuple[str, bool], ...]] = {
    cls: fields
    for cls in vars(ast).values()
    if isinstance(cls, type) and issubclass(cls, ast.AST)
    for fields in [_child_fields(cls)]
    if fields is not None
}


def _getter(fields: tuple[tuple[str, bool], ...]) -> tuple[operator.attrgetter, bool] | None:
    names = [name for name, _ in fields]
    return (operator.attrgetter(*names), len(names) > 1) if names else None


# For hot walks: per node class, a C getter of its child fields (last first) and whether it returns several, or
# None for a class without children. What it fetches can be a node, a list of nodes or None.
CHILD_GETTERS: dict[type, tuple[operator.attrgetter, bool] | None] = {
    cls: _getter(fields) for cls, fields in CHILDREN.items()
}


def push_children(node: ast.AST, push, extend) -> None:
    """Push a node's children for an explicit-stack walk (a class missing from the table is walked generically)."""
    fields = CHILDREN.get(node.__class__)
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


_GENERIC = object()


def push_node_children(node: ast.AST, cls: type, push, extend) -> None:
    """Push a node's children through its C getter in ``CHILD_GETTERS``, or generically for a class missing
    there; a class whose entry is None holds no node."""
    getter = CHILD_GETTERS.get(cls, _GENERIC)
    if getter is _GENERIC:
        push_children(node, push, extend)
    elif getter is not None:
        children, several = getter
        if several:
            extend(children(node))
        else:
            push(children(node))


def binary_operations_under(root: ast.AST) -> list[ast.BinOp]:
    """Every BinOp under root (itself included), in no particular order; a C getter per node, not ast.walk."""
    found = []
    stack: list = [root]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        cls = node.__class__
        if cls is list:
            extend(node)
            continue
        if node is None:
            continue
        if cls is ast.BinOp:
            found.append(node)
        push_node_children(node, cls, push, extend)
    return found


def nodes_under(roots: list[ast.AST], limit: int) -> Iterator[ast.AST]:
    """The nodes under roots in source order, at most `limit` of them."""
    stack: list = list(reversed(roots))
    seen = 0
    while stack and seen < limit:
        node = stack.pop()
        if node is None:
            continue
        seen += 1
        yield node
        push_children(node, stack.append, stack.extend)


# --- small readers of nodes ------------------------------------------------------------------------------------
def argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    """An argument given by position or by keyword, or None."""
    if len(call.args) > position:
        return call.args[position]
    return next((given.value for given in call.keywords if given.arg == keyword), None)


def identifier(node: ast.AST) -> str | None:
    """The last name in `os.O_WRONLY` or `O_WRONLY`: enough for flags, whichever way they were imported."""
    if node.__class__ is ast.Attribute:
        return node.attr
    if node.__class__ is ast.Name:
        return node.id
    return None


def string_value(expr: ast.AST | None) -> str | None:
    """The value of a string literal, or None for anything else."""
    if expr is not None and expr.__class__ is ast.Constant and expr.value.__class__ is str:
        return expr.value
    return None


def reverses(subscript: ast.Subscript) -> bool:
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


def is_literal_text(expr: ast.expr) -> bool:
    return expr.__class__ is ast.Constant and expr.value.__class__ in (str, bytes)


def call_arguments(call: ast.Call) -> list[ast.expr]:
    """Positional and keyword argument values, in order."""
    return [*call.args, *(keyword.value for keyword in call.keywords)]
