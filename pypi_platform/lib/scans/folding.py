"""Constant folding: the string an expression computes, when the file alone decides it, without running anything.

Payloads hide names and commands from patterns at rest: "sy" + "stem", "".join(chr(c) for c in [...]), text stored
backwards, hex, base64, rot13, EBCDIC code pages, compressed blobs. Folding computes such values from constants
so that name resolution, the command checks and the string indicators see what the code would see.

Everything is bounded, because the input is hostile: each fold has a step budget, the file has another, every value
has a size cap (a decompressor is stopped at it), recursion is cut at a small depth (a long "a" + "b" + ... chain
is flattened first, so depth only grows with real nesting), and only conversions known to be pure run:
marshal data is never loaded, no codec outside a fixed list is looked up.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from pypi_platform.lib.scans.decoding import (
    B64_FUNCTIONS,
    DECOMPRESSORS,
    FAILURES,
    MAX_VALUE,
    Exhausted,
    convert,
    decompress,
    format_fields,
    integer,
    percent,
    sized,
    small,
)

MAX_DEPTH = 24
STEPS_PER_FOLD = 4_000
STEPS_PER_FILE = 400_000
__all__ = ["MAX_VALUE", "Folder"]

Value = str | bytes | int | list


class Folder:
    """Folds expressions of one file. `resolve` gives a call target's qualified name; `assigned` what a name in a
    scope was assigned."""

    def __init__(
        self,
        resolve: Callable[[ast.AST], str | None],
        assigned: Callable[[int, str], list[ast.expr]],
    ) -> None:
        self.resolve = resolve
        self.assigned = assigned
        self.file_steps = STEPS_PER_FILE
        self.steps = 0
        self.cache: dict[tuple[int, int], Value | None] = {}

    def value(self, expr: ast.AST | None, scope: int) -> Value | None:
        """The folded value of an expression, or None if it depends on anything but constants."""
        if expr is None:
            return None
        if expr.__class__ is ast.Constant:
            value = expr.value
            return value if value.__class__ in (str, bytes, int) else None
        key = (id(expr), scope)
        if key in self.cache:
            return self.cache[key]
        self.steps = min(STEPS_PER_FOLD, self.file_steps)
        try:
            result = self._fold(expr, scope, {}, 0)
        except FAILURES:
            result = None
        finally:
            self.file_steps -= min(STEPS_PER_FOLD, self.file_steps) - self.steps
        self.cache[key] = result
        return result

    def text(self, expr: ast.AST | None, scope: int) -> str | None:
        """The folded value as text (bytes read as UTF-8, else Latin-1), or None."""
        value = self.value(expr, scope)
        if value.__class__ is bytes:
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                return value.decode("latin-1")
        return value if value.__class__ is str else None

    # -- the fold -------------------------------------------------------------------------------------------------
    def _fold(self, node: ast.AST, scope: int, names: dict[str, Value], depth: int) -> Value | None:
        self.steps -= 1
        if self.steps < 0 or depth > MAX_DEPTH:
            raise Exhausted
        cls = node.__class__
        if cls is ast.Constant:
            value = node.value
            return value if value.__class__ in (str, bytes, int) else None
        if cls is ast.Name:
            return self._name(node.id, scope, names, depth)
        if cls is ast.BinOp:
            return self._binary(node, scope, names, depth)
        if cls is ast.UnaryOp and node.op.__class__ is ast.USub:
            operand = self._fold(node.operand, scope, names, depth + 1)
            return -operand if operand.__class__ is int else None
        if cls is ast.List or cls is ast.Tuple:
            items = [self._fold(item, scope, names, depth + 1) for item in node.elts]
            return None if any(item is None for item in items) else sized(items)
        if cls is ast.JoinedStr:
            return self._joined(node, scope, names, depth)
        if cls is ast.Subscript:
            return self._subscript(node, scope, names, depth)
        if cls is ast.Call:
            return self._call(node, scope, names, depth)
        if cls in (ast.GeneratorExp, ast.ListComp):
            return self._comprehension(node, scope, names, depth)
        return None

    def _name(self, name: str, scope: int, names: dict[str, Value], depth: int) -> Value | None:
        if name in names:
            return names[name]
        values = self.assigned(scope, name)
        if len(values) != 1:
            return None  # reassigned: which value a use sees depends on the flow
        return self._fold(values[0], scope, {}, depth + 1)

    def _binary(self, node: ast.BinOp, scope: int, names: dict[str, Value], depth: int) -> Value | None:
        op = node.op.__class__
        if op is ast.Add:  # a + b + c + ... : flattened, so a long chain costs no depth
            operands = [node.right]
            left = node.left
            while left.__class__ is ast.BinOp and left.op.__class__ is ast.Add:
                operands.append(left.right)
                left = left.left
                self.steps -= 1
            operands.append(left)
            values = [self._fold(operand, scope, names, depth + 1) for operand in reversed(operands)]
            first = values[0]
            if first is None or any(value.__class__ is not first.__class__ for value in values):
                return None
            if first.__class__ is int:
                return small(sum(values))
            return sized(sum(values[1:], first) if first.__class__ is list else first[:0].join(values))
        left = self._fold(node.left, scope, names, depth + 1)
        if left is None:
            return None
        right = self._fold(node.right, scope, names, depth + 1)
        if right is None:
            return None
        if op is ast.Mod and left.__class__ is str:
            return percent(left, right)
        if op is ast.Mult:
            count, sequence = (right, left) if right.__class__ is int else (left, right)
            if count.__class__ is not int:
                return None
            if sequence.__class__ is int:
                return small(sequence * count)
            if len(sequence) * count > MAX_VALUE:
                raise Exhausted
            return sequence * count
        if left.__class__ is int and right.__class__ is int:
            return integer(op, left, right)
        return None

    def _joined(self, node: ast.JoinedStr, scope: int, names: dict[str, Value], depth: int) -> str | None:
        pieces = []
        for part in node.values:
            if part.__class__ is ast.Constant:
                pieces.append(part.value)
                continue
            if part.format_spec is not None or part.conversion not in (-1, 115):  # 115: !s
                return None
            value = self._fold(part.value, scope, names, depth + 1)
            if value is None or value.__class__ is list:
                return None
            pieces.append(str(value))
        return sized("".join(pieces))

    def _subscript(
        self, node: ast.Subscript, scope: int, names: dict[str, Value], depth: int
    ) -> Value | None:
        value = self._fold(node.value, scope, names, depth + 1)
        if value is None or value.__class__ is int:
            return None
        index = node.slice
        if index.__class__ is ast.Slice:
            bounds = []
            for part in (index.lower, index.upper, index.step):
                bound = None if part is None else self._fold(part, scope, names, depth + 1)
                if part is not None and bound.__class__ is not int:
                    return None
                bounds.append(bound)
            if bounds[2] == 0:
                return None
            return value[slice(*bounds)]
        position = self._fold(index, scope, names, depth + 1)
        return value[position] if position.__class__ is int else None

    def _comprehension(self, node, scope: int, names: dict[str, Value], depth: int) -> list | None:
        """[f(c) for c in constants] and (f(c) for c in ...): one generator, no conditions."""
        if len(node.generators) != 1:
            return None
        generator = node.generators[0]
        if generator.ifs or generator.is_async or generator.target.__class__ is not ast.Name:
            return None
        items = self._fold(generator.iter, scope, names, depth + 1)
        if items is None or items.__class__ is int:
            return None
        variable = generator.target.id
        result = []
        for item in items:
            value = self._fold(node.elt, scope, {**names, variable: item}, depth + 1)
            if value is None:
                return None
            result.append(value)
        return result

    def _call(self, node: ast.Call, scope: int, names: dict[str, Value], depth: int) -> Value | None:
        if node.keywords and any(keyword.arg not in ("encoding", "errors") for keyword in node.keywords):
            return None
        func = node.func
        target = self.resolve(func)
        if target is None:  # a method on a value: "".join(...), "...".decode("rot13")
            return self._method(node, func, scope, names, depth) if func.__class__ is ast.Attribute else None
        if target == "map" and len(node.args) == 2 and self.resolve(node.args[0]) == "chr":
            codes = self._fold(node.args[1], scope, names, depth + 1)
            return [chr(code) for code in codes] if codes.__class__ is list else None
        args = [self._fold(argument, scope, names, depth + 1) for argument in node.args[:3]]
        if any(argument is None for argument in args) or not args:
            return None
        first = args[0]
        if target == "chr" and first.__class__ is int:
            return chr(first)
        if target in ("str", "list", "tuple") and len(args) == 1:
            return first if first.__class__ is str or (target != "str" and first.__class__ is list) else None
        if target in ("bytes", "bytearray"):
            if first.__class__ is list:
                return bytes(first)
            if first.__class__ is str and len(args) >= 2 and args[1].__class__ is str:
                return convert(first, args[1], decoding=False)
            return None
        if target == "reversed" and first.__class__ in (str, bytes, list):
            return list(reversed(first))
        if target in ("codecs.decode", "codecs.encode") and len(args) >= 2 and args[1].__class__ is str:
            return convert(first, args[1], decoding=target == "codecs.decode")
        if first.__class__ not in (str, bytes):
            return None
        if target in B64_FUNCTIONS:
            return sized(B64_FUNCTIONS[target](first))
        if target in DECOMPRESSORS and first.__class__ is bytes:
            return decompress(target, first)
        return None  # marshal.loads among others: never run, only detected

    def _method(self, node: ast.Call, func: ast.Attribute, scope: int, names, depth: int) -> Value | None:
        method = func.attr
        owner = self._fold(func.value, scope, names, depth + 1)
        if owner is None or owner.__class__ in (int, list):
            return None
        args = [self._fold(argument, scope, names, depth + 1) for argument in node.args[:2]]
        if any(argument is None for argument in args):
            return None
        codec = next((keyword.value for keyword in node.keywords if keyword.arg == "encoding"), None)
        if codec is not None:
            codec = self._fold(codec, scope, names, depth + 1)
            args = [codec]
        if method == "join" and len(args) == 1:
            parts = args[0]
            if parts.__class__ is owner.__class__:
                parts = list(parts) if owner.__class__ is str else [bytes([byte]) for byte in parts]
            return sized(owner.join(parts)) if parts.__class__ is list else None
        if method in ("decode", "encode"):
            if not args:
                return owner.decode() if method == "decode" and owner.__class__ is bytes else owner.encode()
            return convert(owner, args[0], decoding=method == "decode") if args[0].__class__ is str else None
        if method in ("upper", "lower", "strip", "lstrip", "rstrip", "swapcase", "title") and not args:
            return getattr(owner, method)()
        if method == "replace" and len(args) == 2 and all(arg.__class__ is owner.__class__ for arg in args):
            if args[0] and len(owner) // len(args[0]) * len(args[1]) > MAX_VALUE:
                raise Exhausted
            return owner.replace(*args)
        if method == "format" and owner.__class__ is str:
            return format_fields(owner, args, node)
        return None
