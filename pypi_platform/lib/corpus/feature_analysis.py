"""One Python source's language features: the syntax-tree walk, the text pre-check that narrows it, and the
token pass for sources the parser rejects. ``features.py`` runs this over a shard's blobs.

Features (``FEATURES``, stable column names; all are read from the syntax tree, never from names at run time):

- ``fstring``: an f-string (``ast.JoinedStr``).
- ``annotations``: an annotated function argument or return value, or an annotated assignment (``x: int = 0``).
  Lambdas cannot carry annotations; string annotations count (they are still annotations).
- ``union_annotation``: a ``X | Y`` union (PEP 604) inside one of those annotations (not inside a string one).
- ``walrus``: an assignment expression ``(x := ...)`` (``ast.NamedExpr``, PEP 572).
- ``match``: a ``match`` statement (PEP 634); ``match`` used as a name does not count.
- ``async``: ``async def``, ``async for``, ``async with``, an async comprehension, or ``await``.
- ``dataclass``: a class decorated with ``dataclass`` or ``<...>.dataclasses.dataclass`` (the name or an attribute
  of a module called ``dataclasses``), called (``@dataclass(frozen=True)``) or not.
- ``type_params``: PEP 695 syntax: ``def f[T]``, ``class C[T]``, a ``type X = ...`` statement (Python 3.12+).
- ``positional_only``: a ``/`` in a parameter list (PEP 570), of a function or a lambda.
- ``except_star``: an ``except*`` clause (PEP 654).
- ``typing_import``: ``import typing`` or ``from typing import ...`` (also ``typing_extensions``, and their
  submodules); a relative import of a local module named ``typing`` does not count.
- ``future_annotations``: ``from __future__ import annotations`` (PEP 563).

Statuses (``STATUSES``, a blob's ``status``):

- ``ok``: parsed; ``features`` are exact.
- ``syntax-error``: the parser rejected the source (including NUL bytes). ``features`` are those a token-level
  pass can tell without a syntax tree (``_token_features``): ``type_params``, ``fstring``, ``walrus``, ``async``
  (``async def/for/with`` only), ``except_star``, ``dataclass``, ``typing_import`` and ``future_annotations``.
- ``too-deep``: the parser gave up on nesting (``RecursionError`` or ``MemoryError``); features as for a syntax
  error.
- ``undecodable``: the bytes do not decode in the source's encoding (UTF-8, or its PEP 263 cookie), or the cookie
  names an unknown encoding; no features.

**PEP 695 on Python 3.11.** Our runtime's parser predates PEP 695 and rejects ``def f[T]``, ``class C[T]`` and
``type X = ...``, so a file using them has status ``syntax-error``. The tokenizer reads that syntax fine, though,
and a file is mostly valid modern Python exactly when it uses it, so after a rejection the token pass looks for
``def NAME [``, ``class NAME [`` and a logical line starting ``type NAME =`` or ``type NAME [``, and reports
``type_params`` beside status ``syntax-error``. Counting "files using type parameters" therefore means counting
the feature whatever the status. On Python 3.12 and later the tree carries it (``type_params``,
``ast.TypeAlias``) and such files are ``ok``.

Speed. Parsing is most of the cost and is the interpreter's; around it:

- a sound text pre-check on the raw bytes (one Aho-Corasick pass for its words) rules features out (no ``:=`` in
  the bytes, no walrus) and notes the lines of the text that may belong to each feature (an ``f"``, a ``:=``,
  an ``async``, a ``typing``, ...), except annotations, which no text shows short of a parse;
- the walk visits statements, and walks a statement's own expressions only if its lines hold a candidate of a
  missing expression-level feature; once an annotation is found, it also skips every statement whose lines hold no candidate of a missing feature, with everything inside it; it stops as
  soon as every possible feature has been found. Every feature sits inside the lines of the statements that
  hold it, so this finds exactly what a full walk finds (tested on real sources);
- the walk is an explicit stack with one table entry per node class: the handler, if any, and a C getter of the
  fields that can hold nodes (taken from each class's grammar line), never ``ast.walk``'s generators.

The pre-check reads bytes, so it is used only when the source's ASCII characters are its ASCII bytes: no
encoding cookie, or a cookie naming UTF-8, Latin-1, an ISO 8859 or Windows code page or a common CJK encoding.
A source in any other declared encoding, or with lone carriage returns as line ends (which the parser counts as
lines and a newline count would not), is walked in full.
"""

from __future__ import annotations

import ast
import codecs
import io
import operator
import re
import sys
import token
from bisect import bisect_left
from collections.abc import Callable

import ahocorasick_rs

FEATURES: tuple[str, ...] = (
    "fstring",
    "annotations",
    "union_annotation",
    "walrus",
    "match",
    "async",
    "dataclass",
    "type_params",
    "positional_only",
    "except_star",
    "typing_import",
    "future_annotations",
)
STATUSES = ("ok", "syntax-error", "too-deep", "undecodable")

_BIT = {name: 1 << i for i, name in enumerate(FEATURES)}
FSTRING, ANNOTATIONS, UNION, WALRUS, MATCH, ASYNC = (_BIT[n] for n in FEATURES[:6])
DATACLASS, TYPE_PARAMS, POSONLY, EXCEPT_STAR, TYPING, FUTURE = (_BIT[n] for n in FEATURES[6:])
ALL = (1 << len(FEATURES)) - 1
# Features that may sit inside an expression; every other one is found from statements alone.
_IN_EXPRESSIONS = FSTRING | WALRUS | ASYNC | POSONLY
_TREE_HAS_TYPE_PARAMS = sys.version_info >= (3, 12)


_NAMES: dict[int, frozenset[str]] = {}


def feature_names(mask: int) -> frozenset[str]:
    """The names of the features set in ``mask``."""
    names = _NAMES.get(mask)
    if names is None:
        names = _NAMES[mask] = frozenset(name for name in FEATURES if mask & _BIT[name])
    return names


# ----------------------------------------------------------------------------------------------------------------
# One source


def analyse(source: bytes, *, precheck: bool) -> tuple[str, int]:
    """The status and the feature mask of one source; ``precheck`` lets the text pre-check narrow the walk."""
    try:
        tree = ast.parse(source)
    except (RecursionError, MemoryError):
        return "too-deep", _token_features(source)
    except (SyntaxError, ValueError):  # ValueError: NUL bytes on 3.11
        if not _decodable(source):
            return "undecodable", 0
        return "syntax-error", _token_features(source)
    if not (precheck and _ascii_transparent(source)):
        return "ok", _walk_all([tree], _ALL_IN_TREE)
    wanted, offsets, unlisted = _possible(source)
    lines = _lines_of(source, offsets)
    if lines is None:  # line ends the offsets cannot be mapped through
        return "ok", _walk_all([tree], wanted)
    return "ok", _walk_focused(tree, wanted, lines, unlisted | ANNOTATIONS)


def _decodable(source: bytes) -> bool:
    import tokenize  # only for rejected sources: a worker imports it only if it meets one

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        source.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return False
    return True


# ----------------------------------------------------------------------------------------------------------------
# Text pre-check: a feature is ruled out only if the bytes make it impossible.

_ALL_IN_TREE = ALL if _TREE_HAS_TYPE_PARAMS else ALL & ~TYPE_PARAMS
_GAP = rb"(?:[ \t\f\r\n\\]++|#[^\r\n]*+)*+"  # possessive: a run of '#' must not be split every way
_POSONLY_TEXT = re.compile(rb"/" + _GAP + rb"[,):]")
_IDENTIFIER_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_STAR_AFTER_EXCEPT = re.compile(rb"[ \t\f\r\n\\]*\*")
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE)
# Encodings in which every ASCII character of the text is the same byte of the source, and no other character
# is made of ASCII bytes alone.
_TRANSPARENT = {
    "utf-8",
    "ascii",
    "latin-1",
    "koi8-r",
    "koi8-u",
    "gbk",
    "gb2312",
    "gb18030",
    "big5",
    "big5hkscs",
}
_TRANSPARENT.update(f"iso8859-{n}" for n in range(1, 17))
_TRANSPARENT.update(f"cp{n}" for n in (*range(1250, 1259), 437, 850, 852, 866, 932, 936, 949, 950))
_TRANSPARENT.update(("shift_jis", "euc_jp", "euc_kr", "mac-roman", "mac-latin2", "mac-cyrillic"))


def _ascii_transparent(source: bytes) -> bool:
    head = source[:2048].split(b"\n", 2)
    match = _COOKIE.search(b"\n".join(head[:2]))
    if match is None:
        return True  # UTF-8, the default
    try:
        return codecs.lookup(match.group(1).decode("ascii")).name in _TRANSPARENT
    except (LookupError, UnicodeDecodeError):
        return False


def _possible(source: bytes) -> tuple[int, list[int], int]:
    """The features `source` may use; where the text that may belong to one of them is (offsets shifted left by
    _TAG_BITS, the feature's index in the low bits; every feature but annotations); and the features among them
    whose text was too frequent to list (so they block pruning).

    The words are found in one Aho-Corasick pass (``_ANCHOR_SEARCH``: a dozen literal searches over the bytes
    took four times as long); the positional-only marker and the ``|`` are searched for on their own, the one
    needing a pattern and the other too frequent to pass through the list of matches."""
    mask = ANNOTATIONS  # nothing short of a parse tells an annotation's ':' from any other
    offsets = []
    end_of_source = len(source)
    for pattern, at, end in _ANCHOR_SEARCH.find_matches_as_indexes(source, overlapping=True):
        tag, check = _ANCHORS[pattern][1:]
        if check == _WORD:
            if (at and source[at - 1] in _IDENTIFIER_BYTES) or (
                end < end_of_source and source[end] in _IDENTIFIER_BYTES
            ):
                continue  # 'asyncio' holds no 'async'
        elif check == _LINE_START:
            # A compound statement starts a logical line (';' and ':' are followed by simple statements only).
            start = max(source.rfind(b"\n", 0, at), source.rfind(b"\r", 0, at)) + 1
            if source[start:at].strip(b" \t\f") not in (b"", b"\xef\xbb\xbf"):
                continue
        elif check == _STAR_NEXT and _STAR_AFTER_EXCEPT.match(source, end) is None:
            continue
        offsets.append(at << _TAG_BITS | tag)
        mask |= 1 << tag
    more = [m.start() << _TAG_BITS | _POSONLY_TAG for m in _POSONLY_TEXT.finditer(source)]
    if more:
        mask |= POSONLY
        offsets += more
    unlisted = 0
    if b"|" in source:
        mask |= UNION
        if not _find_all(source, b"|", offsets, _UNION_TAG, limit=_MAX_BARS):
            unlisted |= UNION  # a file of tables or bit masks: not worth listing
    if _TREE_HAS_TYPE_PARAMS and (b"[" in source or b"type" in source):
        mask |= TYPE_PARAMS
        unlisted |= TYPE_PARAMS  # '[' is everywhere
    return mask, offsets, unlisted


_TAG_BITS = 4
# A candidate's tag is its feature's index in FEATURES.
_FSTRING_TAG, _UNION_TAG, _WALRUS_TAG, _MATCH_TAG, _ASYNC_TAG, _DATACLASS_TAG = (
    FEATURES.index(n) for n in ("fstring", "union_annotation", "walrus", "match", "async", "dataclass")
)
_POSONLY_TAG, _EXCEPT_STAR_TAG, _TYPING_TAG, _FUTURE_TAG = (
    FEATURES.index(n) for n in ("positional_only", "except_star", "typing_import", "future_annotations")
)
_MAX_BARS = 256
# How a word found by the anchor search is checked before it counts.
_ANYWHERE, _WORD, _LINE_START, _STAR_NEXT = range(4)
# (word, feature index, check). An f-string's prefix holds an f (with or without an r, in any case and order)
# right before its quote: f" and rf" hold f", fr" is f then r then the quote. (Also excluding an identifier
# character before the f, as in 'self', would cost more than the few candidates it saves.)
_ANCHORS: tuple[tuple[bytes, int, int], ...] = (
    *(
        (f + r + q, _FSTRING_TAG, _ANYWHERE)
        for f in (b"f", b"F")
        for r in (b"", b"r", b"R")
        for q in (b'"', b"'")
    ),
    (b":=", _WALRUS_TAG, _ANYWHERE),
    (b"async", _ASYNC_TAG, _WORD),
    (b"await", _ASYNC_TAG, _WORD),
    (b"except", _EXCEPT_STAR_TAG, _STAR_NEXT),
    (b"match", _MATCH_TAG, _LINE_START),
    (b"dataclass", _DATACLASS_TAG, _ANYWHERE),
    (b"typing", _TYPING_TAG, _ANYWHERE),
    (b"__future__", _FUTURE_TAG, _WORD),
)
# Overlapping matches, so that no word hides another that shares its letters.
_ANCHOR_SEARCH = ahocorasick_rs.BytesAhoCorasick(
    [word for word, _, _ in _ANCHORS], implementation=ahocorasick_rs.Implementation.DFA
)


def _find_all(
    source: bytes, word: bytes, offsets: list[int], tag: int, whole: bool = True, limit: int = -1
) -> bool:
    """Add to `offsets` (tagged) where `word` occurs (standing alone if `whole` and a word: 'asyncio' holds no
    'async'); whether it did. With a `limit`, False once more than that many were found."""
    found = False
    letters = whole and word[0] in _IDENTIFIER_BYTES
    at = source.find(word)
    while at >= 0:
        end = at + len(word)
        if not letters or (
            (at == 0 or source[at - 1] not in _IDENTIFIER_BYTES)
            and (end == len(source) or source[end] not in _IDENTIFIER_BYTES)
        ):
            offsets.append(at << _TAG_BITS | tag)
            found = True
            limit -= 1
            if not limit:
                return False
        at = source.find(word, end)
    return found


def _lines_of(source: bytes, offsets: list[int]) -> dict[int, list[int]] | None:
    """The (1-based, sorted) line numbers of the tagged `offsets`, by feature bit, as the parser counts lines; None
    if the source ends a line with a lone carriage return, which the parser counts and a newline count would not."""
    if b"\r" in source and source.count(b"\r") != source.count(b"\r\n"):
        return None
    offsets.sort()
    lines: dict[int, list[int]] = {}
    line, previous = 1, 0
    count = source.count
    low = (1 << _TAG_BITS) - 1
    for tagged in offsets:
        at = tagged >> _TAG_BITS
        line += count(b"\n", previous, at)
        previous = at
        bit = 1 << (tagged & low)
        if bit in lines:
            lines[bit].append(line)
        else:
            lines[bit] = [line]
    return lines


def _merged(lines: dict[int, list[int]], missing: int) -> list[int]:
    """The sorted candidate lines of the features in `missing`."""
    parts = [part for bit, part in lines.items() if bit & missing]
    if len(parts) == 1:
        return parts[0]
    return sorted(line for part in parts for line in part)


# ----------------------------------------------------------------------------------------------------------------
# The walk


def _walk_all(roots: list, wanted: int) -> int:
    """The features of `wanted` present in the trees `roots`, stopping once all are found."""
    table = _FULL if wanted & _IN_EXPRESSIONS else _STATEMENTS
    found = 0
    stack = roots
    pop, push, extend = stack.pop, stack.append, stack.extend
    lookup = table.get
    while stack:
        node = pop()
        entry = lookup(node.__class__)
        if entry is None:  # a leaf, None, an identifier, or an expression while only statements matter
            continue
        handler, children, kind = entry
        if handler is not None:
            hit = handler(node, wanted & ~found) & wanted
            if hit:
                found |= hit
                if found == wanted:
                    break
                if table is _FULL and not wanted & _IN_EXPRESSIONS & ~found:
                    table = _STATEMENTS  # expressions can no longer add anything
                    lookup = table.get
                    entry = lookup(node.__class__)
                    if entry is None:
                        continue
                    children, kind = entry[1], entry[2]
        if kind == 1:
            push(children(node))
        elif kind == 2:
            extend(children(node))
        elif kind == 3:
            for value in children(node):
                if value.__class__ is list:
                    extend(value)
                else:
                    push(value)
    return found


def _walk_focused(tree: ast.Module, wanted: int, lines: dict[int, list[int]], unlisted: int) -> int:
    """The features of `wanted` in `tree`, where `lines` has the sorted lines of every piece of text that may
    belong to a feature, by feature bit, except for the features of `unlisted` (annotations at least). Only the
    lines of the features still missing count: a file's first f-string leaves its others without interest.

    Every feature sits in some statement's own fields (its "head": a simple statement whole, a compound one's test,
    decorators, arguments, ...), and that statement's lines, from its first decorator to its end, hold the text
    that gave the candidate line; so do the lines of every statement around it. Hence:

    - a statement's expressions are walked only if its lines hold a candidate (while an expression-level feature
      is still wanted);
    - once no unlisted feature is still wanted (typically: the first annotation was seen), a statement whose lines
      hold no candidate is skipped with everything in it.
    """
    found = 0
    stack = [tree]
    pop, push, extend = stack.pop, stack.append, stack.extend
    lookup = _FOCUS.get
    by_feature = lines
    # Recomputed only when a feature is found (a dozen times at most), not per statement.
    missing = wanted
    lines = _merged(by_feature, missing)
    count = len(lines)
    pruning = not missing & unlisted
    in_expressions = missing & _IN_EXPRESSIONS
    while stack:
        node = pop()
        handler, children, kind, head, head_kind, place = lookup(node.__class__, _NOTHING)
        inside = None
        if pruning and place:
            start = node.lineno
            if place == 2 and node.decorator_list:
                start = node.decorator_list[0].lineno
            at = bisect_left(lines, start)
            inside = at < count and lines[at] <= node.end_lineno
            if not inside:
                continue  # nothing wanted can be in here
        hit = 0
        if handler is not None:
            hit = handler(node, missing) & missing
        if head_kind and in_expressions:
            if inside is None:
                if place == 0:  # a match case: no position of its own
                    inside = True
                else:
                    start = node.lineno
                    if place == 2 and node.decorator_list:
                        start = node.decorator_list[0].lineno
                    at = bisect_left(lines, start)
                    inside = at < count and lines[at] <= node.end_lineno
            if inside and in_expressions & ~hit:
                roots = [head(node)] if head_kind == 1 else list(head(node)) if head_kind == 2 else []
                if head_kind == 3:
                    for value in head(node):
                        if value.__class__ is list:
                            roots.extend(value)
                        else:
                            roots.append(value)
                hit |= _walk_all(roots, in_expressions & ~hit)
        if hit:
            found |= hit
            if found == wanted:
                break
            missing = wanted & ~found
            lines = _merged(by_feature, missing)
            count = len(lines)
            pruning = not missing & unlisted
            in_expressions = missing & _IN_EXPRESSIONS
        if kind == 2:
            extend(children(node))
        elif kind == 3:
            for value in children(node):
                if value.__class__ is list:
                    extend(value)
                else:
                    push(value)
        elif kind == 1:
            push(children(node))
    return found


def _annotation_mask(annotation: ast.AST | None, wanted: int) -> int:
    if annotation is None:
        return 0
    if wanted & UNION:
        stack = [annotation]
        while stack:
            node = stack.pop()
            if node.__class__ is ast.BinOp and node.op.__class__ is ast.BitOr:
                return ANNOTATIONS | UNION
            stack.extend(child for child in ast.iter_child_nodes(node))
    return ANNOTATIONS


def _arguments_mask(args: ast.arguments, wanted: int) -> int:
    mask = POSONLY if args.posonlyargs else 0
    for group in (args.posonlyargs, args.args, args.kwonlyargs):
        for arg in group:
            if arg.annotation is not None:
                mask |= _annotation_mask(arg.annotation, wanted)
    for arg in (args.vararg, args.kwarg):
        if arg is not None and arg.annotation is not None:
            mask |= _annotation_mask(arg.annotation, wanted)
    return mask


def _on_function(node: ast.FunctionDef, wanted: int) -> int:
    if not wanted & (ANNOTATIONS | UNION | POSONLY | TYPE_PARAMS):
        return 0  # the common case once a file's first annotated function is seen
    mask = _arguments_mask(node.args, wanted) | _annotation_mask(node.returns, wanted)
    if getattr(node, "type_params", None):
        mask |= TYPE_PARAMS
    return mask


def _on_async_function(node: ast.AsyncFunctionDef, wanted: int) -> int:
    return ASYNC | _on_function(node, wanted)


def _is_dataclass_decorator(node: ast.expr) -> bool:
    if node.__class__ is ast.Call:
        node = node.func
    if node.__class__ is ast.Name:
        return node.id == "dataclass"
    if node.__class__ is ast.Attribute and node.attr == "dataclass":
        owner = node.value
        return (owner.__class__ is ast.Name and owner.id == "dataclasses") or (
            owner.__class__ is ast.Attribute and owner.attr == "dataclasses"
        )
    return False


def _on_class(node: ast.ClassDef, wanted: int) -> int:
    mask = TYPE_PARAMS if getattr(node, "type_params", None) else 0
    if wanted & DATACLASS and any(_is_dataclass_decorator(d) for d in node.decorator_list):
        mask |= DATACLASS
    return mask


_TYPING_MODULES = ("typing", "typing_extensions")


def _is_typing(module: str | None) -> bool:
    return module is not None and (module in _TYPING_MODULES or module.split(".", 1)[0] in _TYPING_MODULES)


def _on_import(node: ast.Import, wanted: int) -> int:
    return TYPING if any(_is_typing(alias.name) for alias in node.names) else 0


def _on_import_from(node: ast.ImportFrom, wanted: int) -> int:
    if node.level:
        return 0
    if node.module == "__future__":
        return FUTURE if any(alias.name == "annotations" for alias in node.names) else 0
    return TYPING if _is_typing(node.module) else 0


def _constant(mask: int) -> Callable[[ast.AST, int], int]:
    return lambda node, wanted: mask


_HANDLERS: dict[str, Callable[[ast.AST, int], int]] = {
    "JoinedStr": _constant(FSTRING),
    "NamedExpr": _constant(WALRUS),
    "Await": _constant(ASYNC),
    "comprehension": lambda node, wanted: ASYNC if node.is_async else 0,
    "Lambda": lambda node, wanted: POSONLY if node.args.posonlyargs else 0,
    "FunctionDef": _on_function,
    "AsyncFunctionDef": _on_async_function,
    "ClassDef": _on_class,
    "AnnAssign": lambda node, wanted: _annotation_mask(node.annotation, wanted),
    "Match": _constant(MATCH),
    "AsyncFor": _constant(ASYNC),
    "AsyncWith": _constant(ASYNC),
    "TryStar": _constant(EXCEPT_STAR),
    "Import": _on_import,
    "ImportFrom": _on_import_from,
    "TypeAlias": _constant(TYPE_PARAMS),
}
# Grammar types that never hold a node the walk needs: primitives, and the operator and context singletons.
_NOT_NODES = {
    "identifier",
    "string",
    "int",
    "constant",
    "expr_context",
    "operator",
    "unaryop",
    "cmpop",
    "boolop",
}
_NOT_NODES.add("type_ignore")
_STATEMENT_LISTS = {"stmt", "excepthandler", "match_case"}
_SIGNATURE = re.compile(r"^\w+\((.*)\)$")


def _node_fields(cls: type) -> list[tuple[str, str, bool]] | None:
    """(field, grammar type, is a list) for each field of `cls`, from its grammar line ``Name(type field, ...)``;
    None if that line is missing or unexpected, in which case every field is fetched and sorted out at run time."""
    line = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
    match = _SIGNATURE.match(line)
    if match is None:
        return None if cls._fields else []
    fields = []
    for part in filter(None, (p.strip() for p in match.group(1).split(","))):
        kind, _, name = part.rpartition(" ")
        fields.append((name, kind.rstrip("*?"), kind.endswith("*")))
    if [name for name, _, _ in fields] != list(cls._fields):
        return None
    return fields


def _entry(cls: type, handler: Callable | None, part: str) -> tuple | None:
    """(handler, getter, kind) for `cls`: the getter fetches the fields of `part` ("all" that can hold nodes, the
    "statements" lists of a statement, or its "head", every other field); kind 1 a node, 2 a list, 3 a tuple of
    both. None if there is neither handler nor field."""
    fields = _node_fields(cls)
    if fields is None:
        chosen = [(name, "", True) for name in cls._fields]  # a superset is only slower
        generic = True
    else:
        chosen = [f for f in fields if f[1] not in _NOT_NODES]
        body = [f for f in chosen if f[1] in _STATEMENT_LISTS and f[2]]
        chosen = (
            body
            if part == "statements"
            else [f for f in chosen if f not in body]
            if part == "head"
            else chosen
        )
        generic = False
    if not chosen:
        return None if handler is None else (handler, None, 0)
    names = [name for name, _, _ in chosen]
    if generic or len(chosen) > 1:
        return handler, operator.attrgetter(*names), 3  # a tuple of lists and nodes
    return handler, operator.attrgetter(names[0]), 2 if chosen[0][2] else 1


def _tables() -> tuple[dict, dict, dict]:
    full, statements, focus = {}, {}, {}
    skipped = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
    statement_like = (ast.stmt, ast.mod, ast.excepthandler, ast.match_case)
    for name in dir(ast):
        cls = getattr(ast, name)
        if not (isinstance(cls, type) and issubclass(cls, ast.AST)) or issubclass(cls, skipped):
            continue
        handler = _HANDLERS.get(name)
        if (entry := _entry(cls, handler, "all")) is not None:
            full[cls] = entry
        if issubclass(cls, statement_like):
            body = _entry(cls, handler, "statements") or (handler, None, 0)
            if body[0] is not None or body[2]:
                statements[cls] = body
            head = _entry(cls, None, "head") or (None, None, 0)
            place = 2 if "decorator_list" in cls._fields else 1 if "lineno" in cls._attributes else 0
            focus[cls] = (*body, head[1], head[2], place)
    return full, statements, focus


_FULL, _STATEMENTS, _FOCUS = _tables()
_NOTHING = (None, None, 0, None, 0, 0)


# ----------------------------------------------------------------------------------------------------------------
# Tokens, for sources the parser rejected

_FSTRING_STARTS = {token.STRING}
if hasattr(token, "FSTRING_START"):  # 3.12+: an f-string is a run of tokens
    _FSTRING_STARTS.add(token.FSTRING_START)
_LINE_BREAKS = {token.NEWLINE, token.INDENT, token.DEDENT, token.ENCODING}
_SKIPPED = {token.NL, token.COMMENT}


def _token_features(source: bytes) -> int:
    """What the tokens alone show of the features: syntax that no older Python accepted, so a hit cannot be a
    name used some other way. Reads up to the first token error and keeps what it found by then."""
    import tokenize  # only for rejected sources: a worker imports it only if it meets one

    found = 0
    line: list[str] = []  # significant tokens of the current logical line
    try:
        for item in tokenize.tokenize(io.BytesIO(source).readline):
            kind = item.type
            if kind in _LINE_BREAKS:
                line.clear()
                continue
            if kind in _SKIPPED:
                continue
            text = item.string
            if kind in _FSTRING_STARTS:
                prefix = text[: len(text) - len(text.lstrip("rRbBuUfF"))]
                if "f" in prefix or "F" in prefix:
                    found |= FSTRING
            elif text == ":=":
                found |= WALRUS
            elif text == "[" and len(line) >= 2 and line[-2] in ("def", "class"):
                found |= TYPE_PARAMS  # def NAME [ / class NAME [
            elif text in ("=", "[") and len(line) == 2 and line[0] == "type" and line[1].isidentifier():
                found |= TYPE_PARAMS  # type NAME = / type NAME [ at the start of a logical line
            elif text == "*" and line == ["except"]:
                found |= EXCEPT_STAR
            elif kind == token.NAME and line:
                if line[-1] == "async" and text in ("def", "for", "with"):
                    found |= ASYNC
                elif text in _TYPING_MODULES and line in (["import"], ["from"]):
                    found |= TYPING
                elif text == "annotations" and line[:3] == ["from", "__future__", "import"]:
                    found |= FUTURE
                elif (
                    text == "dataclass"
                    and line[0] == "@"
                    and (line == ["@"] or line[-2:] == ["dataclasses", "."])
                ):
                    found |= DATACLASS
            line.append(text)
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError, ValueError):
        pass
    return found
