"""The Python language features each unique ``.py`` blob of a corpus shard uses, each blob parsed once.

A shard is a bare git repository; a blob is named by its 20-byte git object id, and every archive member with the
same bytes shares it, so results computed here fan out to members, releases and project-months by a join on that
id (REFERENCE.md §6.3 "Derived", §6.6 item 7). Every result records its ``status`` and the parser that produced it
(``PARSER``), so a dataset can say which files it could not read rather than silently dropping them.

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

Statuses (``BlobFeatures.status``):

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

``lines`` counts newline characters, plus one for a last line without one (0 for an empty blob).

Speed. Parsing is the cost (about four fifths of a worker's time), so the work runs in a pool of worker
processes that each open the repository once and read blobs by id (no blob content crosses a pipe), the largest
blobs first so that no big one is left for the end. Inside a worker:

- the cycle collector is paused while a chunk is parsed and walked: parsing allocates a node object per token or
  so, every few hundred allocations woke the collector, which traversed the growing trees again (about a fifth of
  the parse time), and a syntax tree holds no cycle, so refcounting frees it;
- libgit2 does not re-hash each blob it reads (git does not either, outside fsck);
- a sound text pre-check on the raw bytes rules features out (no ``:=`` in the bytes, no walrus) and notes the
  lines of the text that may belong to each feature (an ``f"``, a ``:=``, an ``async``, a ``typing``, ...),
  except annotations, which no text shows short of a parse;
- the walk visits statements, and walks a statement's own expressions only if its lines hold a candidate of a
  missing expression-level feature; once an annotation is found, it also skips
  every statement whose lines hold no candidate of a missing feature, with everything inside it; it stops as
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
import gc
import io
import operator
import re
import sys
import token
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

PARSER = f"cpython-{sys.version_info.major}.{sys.version_info.minor}"

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


@dataclass(frozen=True)
class BlobFeatures:
    oid: bytes  # 20-byte git blob id
    status: str  # one of STATUSES
    features: frozenset[str]
    lines: int


def source_features(source: bytes) -> tuple[str, frozenset[str]]:
    """The status and the features of one Python source (bytes, decoded as Python would)."""
    status, mask = _analyse(source, precheck=True)
    return status, _names(mask)


def features_of_blobs(
    repository: Path,
    oids: Sequence[bytes],
    *,
    workers: int = 2,
    chunk: int = 64,
    sizes: Sequence[int] | None = None,
) -> Iterator[BlobFeatures]:
    """The features of every blob in `oids` (20-byte ids, unique) of the git repository at `repository`.

    Each id comes back exactly once, in no particular order, chunk by chunk as the workers finish them. `workers`
    processes (spawned, so this is safe in a threaded caller) each open the repository themselves; a chunk holds at
    most `chunk` blobs and, so that the cores stay evenly busy, at most a small share of all the bytes, and the
    largest blobs go first. ``workers=0`` works in this process instead (for debugging).

    `sizes` (bytes of each blob, in the order of `oids`; a shard's index has them) saves reading every blob's
    header here first. Without them a missing id raises ``KeyError`` before any work starts; with them, when a
    worker meets it.
    """
    oids = list(oids)
    if not oids:
        return
    if sizes is not None and len(sizes) != len(oids):
        raise ValueError(f"{len(sizes)} sizes for {len(oids)} blobs")
    if workers <= 0:
        _open_repository(str(repository))
        for part in _chunks(_sizes(repository, oids, sizes), max(1, chunk), 1):
            yield from _results(_run_chunk(part))
        return
    context = get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_open_repository,
        initargs=(str(repository), True),
    ) as pool:
        # Start every worker now: a spawned interpreter takes ~0.1 s to boot and import, time enough to read
        # the sizes here.
        for _ in range(workers):
            pool.submit(_ready)
        pending = _chunks(_sizes(repository, oids, sizes), max(1, chunk), workers)
        # A bounded window of chunks in flight keeps memory flat on a shard of millions of blobs.
        running = {pool.submit(_run_chunk, part) for part in _take(pending, workers * 3)}
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            running |= {pool.submit(_run_chunk, part) for part in _take(pending, len(done))}
            for future in done:
                yield from _results(future.result())


def _sizes(repository: Path, oids: list[bytes], sizes: Sequence[int] | None) -> list[tuple[int, bytes]]:
    """(size, id) of every blob, largest first; KeyError for a missing one if the sizes are read here."""
    if sizes is not None:
        return sorted(zip(sizes, oids, strict=True), reverse=True)
    import pygit2  # the engine itself needs no git; only callers with a repository pay for the import

    header = pygit2.Repository(str(repository)).odb.read_header
    sized = []
    for oid in oids:
        kind, size = header(pygit2.Oid(raw=oid))  # a pack entry's header, not the blob
        if kind != pygit2.enums.ObjectType.BLOB:
            raise ValueError(f"{oid.hex()} is not a blob")
        sized.append((size, oid))
    sized.sort(reverse=True)
    return sized


def _ready() -> None:
    """A job that only makes the pool start a worker."""


def _take(iterator: Iterator, count: int) -> list:
    return [part for _, part in zip(range(count), iterator, strict=False)]


def _chunks(sized: list[tuple[int, bytes]], chunk: int, workers: int) -> Iterator[list[bytes]]:
    """Consecutive runs of `sized` (largest first) of at most `chunk` blobs and about 1/(16 x workers) of the
    bytes: the first chunks are single large blobs, the last ones many small ones, so both cores finish together."""
    budget = max(1, sum(size for size, _ in sized) // (16 * workers))
    part: list[bytes] = []
    held = 0
    for size, oid in sized:
        if part and (len(part) >= chunk or held + size > budget):
            yield part
            part, held = [], 0
        part.append(oid)
        held += size
    if part:
        yield part


_NAMES: dict[int, frozenset[str]] = {}


def _names(mask: int) -> frozenset[str]:
    names = _NAMES.get(mask)
    if names is None:
        names = _NAMES[mask] = frozenset(name for name in FEATURES if mask & _BIT[name])
    return names


def _results(rows: list[tuple[bytes, str, int, int]]) -> Iterator[BlobFeatures]:
    for oid, status, mask, lines in rows:
        yield BlobFeatures(oid, status, _names(mask), lines)


# ----------------------------------------------------------------------------------------------------------------
# Worker side

_repository = None


def _open_repository(path: str, worker: bool = False) -> None:
    global _repository
    import pygit2

    if worker:
        # libgit2 hashes every object it reads to check its id (git itself does not, outside fsck): a fifth of a
        # loose blob's read. A worker process only reads blobs by id, so the setting is its own to change.
        pygit2.option(pygit2.enums.Option.ENABLE_STRICT_HASH_VERIFICATION, 0)
    _repository = pygit2.Repository(path)


def _run_chunk(oids: list[bytes]) -> list[tuple[bytes, str, int, int]]:
    import pygit2

    read = _repository.odb.read
    rows = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for oid in oids:
            data = read(pygit2.Oid(raw=oid))[1]
            status, mask = _analyse(data, precheck=True)
            rows.append((oid, status, mask, _line_count(data)))
    finally:
        if enabled:
            gc.enable()
    return rows


def _line_count(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


# ----------------------------------------------------------------------------------------------------------------
# One source


def _analyse(source: bytes, *, precheck: bool) -> tuple[str, int]:
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
# An f-string's prefix holds an f (with or without an r, in any case and order) right before its quote: f"
# and rf" hold f", fr" is f then r then the quote. One pattern per case, because a pattern starting with a literal
# is searched for far faster than one starting with a character class ([fF]...: 2.7 times slower here). (Also
# excluding an identifier character before the f, as in 'self', would halve the speed for little.)
_FSTRING_TEXTS = (re.compile(rb"""f[rR]?['"]"""), re.compile(rb"""F[rR]?['"]"""))
# A positional-only marker precedes ',' or ')' (or ':' in a lambda), with only blanks, comments and continuation
# lines between. (Also asking for the parameter's ',' before it would halve the few candidates but double the
# time: the pattern would start with the commonest of the two.)
_GAP = rb"(?:[ \t\f\r\n\\]++|#[^\r\n]*+)*+"  # possessive: a run of '#' must not be split every way
_POSONLY_TEXT = re.compile(rb"/" + _GAP + rb"[,):]")
_IDENTIFIER_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_EXCEPT_STAR_TEXT = re.compile(rb"except[ \t\f\r\n\\]*\*")
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


def _line_starts(source: bytes, word: bytes, offsets: list[int], tag: int) -> bool:
    """Add to `offsets` (tagged) where `word` follows nothing but blanks on its line (a compound statement starts
    a logical line: ``;`` and ``:`` are followed by simple statements only); whether it did."""
    found = False
    at = source.find(word)
    while at >= 0:
        start = max(source.rfind(b"\n", 0, at), source.rfind(b"\r", 0, at)) + 1
        if source[start:at].strip(b" \t\f") in (b"", b"\xef\xbb\xbf"):
            offsets.append(at << _TAG_BITS | tag)
            found = True
        at = source.find(word, at + len(word))
    return found


def _possible(source: bytes) -> tuple[int, list[int], int]:
    """The features `source` may use; where the text that may belong to one of them is (offsets shifted left by
    _TAG_BITS, the feature's index in the low bits; every feature but annotations); and the features among them
    whose text was too frequent to list (so they block pruning).

    Each check is one pass over the bytes, a literal search where it can be (a regex alternation of the same
    words is several times slower)."""
    mask = ANNOTATIONS  # nothing short of a parse tells an annotation's ':' from any other
    offsets = [
        m.start() << _TAG_BITS | _FSTRING_TAG for text in _FSTRING_TEXTS for m in text.finditer(source)
    ]
    if offsets:
        mask |= FSTRING
    if _find_all(source, b":=", offsets, _WALRUS_TAG):
        mask |= WALRUS
    if _find_all(source, b"async", offsets, _ASYNC_TAG) | _find_all(source, b"await", offsets, _ASYNC_TAG):
        mask |= ASYNC
    more = [m.start() << _TAG_BITS | _POSONLY_TAG for m in _POSONLY_TEXT.finditer(source)]
    if more:
        mask |= POSONLY
        offsets += more
    more = [m.start() << _TAG_BITS | _EXCEPT_STAR_TAG for m in _EXCEPT_STAR_TEXT.finditer(source)]
    if more:
        mask |= EXCEPT_STAR
        offsets += more
    if _line_starts(source, b"match", offsets, _MATCH_TAG):
        mask |= MATCH
    if _find_all(source, b"dataclass", offsets, _DATACLASS_TAG, whole=False):
        mask |= DATACLASS
    if _find_all(source, b"typing", offsets, _TYPING_TAG, whole=False):
        mask |= TYPING
    if _find_all(source, b"__future__", offsets, _FUTURE_TAG):
        mask |= FUTURE
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
