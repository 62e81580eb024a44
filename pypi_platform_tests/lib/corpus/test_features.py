"""The language-feature engine: each feature and its near misses, unparseable sources, and the process pool."""

from __future__ import annotations

import gc
import sys
from multiprocessing import get_context
from pathlib import Path

import pygit2
import pytest

from pypi_platform.lib.corpus import features as engine
from pypi_platform.lib.corpus.feature_analysis import FEATURES, analyse
from pypi_platform.lib.corpus.features import (
    PARSER,
    BlobFeatures,
    features_of_blobs,
    source_features,
)

PROJECT = Path(__file__).resolve().parents[3]
ON_312 = sys.version_info >= (3, 12)

# (feature, a source using it, a near miss that must not count)
CASES = [
    ("fstring", 'name = "x"\nprint(f"hello {name}")\n', 'print("self", \'if\', "f" + "oo")\n'),
    ("fstring", 'x = (rf"\\d{n}" "")\n', 'x = r"\\d" + str(b"f")\n'),
    ("annotations", "def f(x: int) -> None:\n    pass\n", 'd = {"a": 1}\ng = lambda x: x\ny = d["a":"b"]\n'),
    ("annotations", "count: int = 0\n", "count = 0  # count: int\n"),
    (
        "union_annotation",
        "def f(x: int | None): pass\n",
        "def f(x: Optional[int]) -> int:\n    return a | b\n",
    ),
    ("union_annotation", "x: list[int | str] = []\n", 'x: "int | str" = a | b\n'),
    ("walrus", "if (n := len(a)) > 10:\n    pass\n", 'f(a=1)\nd = {"a": 1}\nx = "a := b"\n'),
    ("match", "match command:\n    case [x]:\n        pass\n", "match = re.match(p, s)\nmatch(x)\nm.match\n"),
    ("async", "async def main():\n    await x\n", 'text = "async and await"\nasyncio.run(main())\n'),
    (
        "async",
        "def f():\n    return [y async for y in z]\n",
        "def f():\n    return [y for y in async_source]\n",
    ),
    ("async", "await x\n", "# await x\n"),
    ("dataclass", "@dataclass\nclass A:\n    pass\n", "from dataclasses import dataclass\n"),
    (
        "dataclass",
        "@dataclasses.dataclass(frozen=True)\nclass A:\n    pass\n",
        "@dataclass_json\nclass A: pass\n",
    ),
    (
        "dataclass",
        "@pydantic.dataclasses.dataclass\nclass A: pass\n",
        "@attrs.define\ndef dataclass(): pass\n",
    ),
    ("positional_only", "def f(a, /, b):\n    pass\n", "def f(a, *, b):\n    return a / b\n"),
    ("positional_only", "g = lambda a, /: a\n", "g = lambda a, *b: a / 2\nh = x[1:] / y\n"),
    (
        "except_star",
        "try:\n    pass\nexcept* ValueError:\n    pass\n",
        "try:\n    pass\nexcept (A, B):\n    x * y\n",
    ),
    ("typing_import", "from typing import Any\n", "from .typing import Any\nimport typing_inspect\n"),
    ("typing_import", "import os, typing_extensions as te\n", "x = 'import typing'\n"),
    ("future_annotations", "from __future__ import annotations\n", "from __future__ import division\n"),
]


def test_feature_names_are_stable_and_include_the_required_ones():
    required = {"fstring", "annotations", "walrus", "match", "async", "dataclass", "type_params"}
    assert required <= set(FEATURES)
    assert len(FEATURES) == len(set(FEATURES)) == 12
    assert f"cpython-{sys.version_info.major}.{sys.version_info.minor}" == PARSER


@pytest.mark.parametrize(("feature", "source", "near_miss"), CASES)
def test_each_feature_is_found_in_its_source_and_not_in_a_near_miss(feature, source, near_miss):
    status, found = source_features(source.encode())
    assert status == "ok"
    assert feature in found
    status, found = source_features(near_miss.encode())
    assert status == "ok"
    assert feature not in found


def test_a_source_with_no_modern_syntax_has_no_features():
    assert source_features(b"import os\n\nprint(os.getcwd())\n") == ("ok", frozenset())
    assert source_features(b"") == ("ok", frozenset())


def test_several_features_of_one_source_are_all_found():
    source = b"""from __future__ import annotations
import typing
from dataclasses import dataclass

@dataclass
class Point:
    x: int | None

async def main(a, /):
    if (n := await fetch()):
        print(f"{n}")
    match n:
        case _:
            pass
"""
    status, found = source_features(source)
    assert status == "ok"
    assert found == set(FEATURES) - {"type_params", "except_star"}


def test_a_syntax_error_is_counted_with_its_status():
    status, found = source_features(b"print 'hello'\n")
    assert (status, found) == ("syntax-error", frozenset())


def test_a_syntax_error_keeps_the_features_its_tokens_show():
    source = b'from typing import Any\nasync def f():\n    x = f"{a}"\n    if (y := 1) print(y)\n'
    status, found = source_features(source)
    assert status == "syntax-error"
    assert found == {"typing_import", "async", "fstring", "walrus"}


@pytest.mark.parametrize(
    "source",
    [
        "def first[T](items: list[T]) -> T:\n    return items[0]\n",
        "class Box[T]:\n    pass\n",
        "type Vector = list[float]\n",
        "type Pair[T] = tuple[T, T]\n",
        "if True:\n    type Alias = int\n",
    ],
)
def test_pep695_syntax_is_reported_as_type_params(source):
    status, found = source_features(source.encode())
    assert "type_params" in found
    # Python 3.11's parser rejects the syntax, so the feature comes from the token pass.
    assert status == ("ok" if ON_312 else "syntax-error")


def test_type_as_a_name_is_not_type_params():
    source = b"x = type(a)\ntype = 3\nclass C(list[int]):\n    pass\ndef f(x=list[int]):\n    pass\n"
    assert source_features(source) == ("ok", frozenset())
    # Nor in a source the parser rejects.
    assert source_features(b"print 'x'\nx = type(a)[0]\ntype = 3\n") == ("syntax-error", frozenset())


@pytest.mark.parametrize(
    "source",
    [
        b"-" * 100_000 + b"1\n",
        b"x = 1" + b" + 1" * 200_000 + b"\n",
        b"a" + b".b" * 100_000 + b"\n",
        b"f" + b"()" * 100_000 + b"\n",
    ],
)
def test_deep_nesting_is_too_deep_not_a_crash(source):
    status, found = source_features(source)
    assert status == "too-deep"
    assert found == frozenset()


def test_too_many_nested_brackets_is_a_syntax_error():
    assert source_features(b"x = " + b"(" * 300 + b"1" + b")" * 300 + b"\n")[0] == "syntax-error"


@pytest.mark.parametrize(
    "source",
    [
        b'x = "caf\xe9"\n',  # Latin-1 bytes without a cookie: not UTF-8
        b"# -*- coding: no-such-codec -*-\nx = 1\n",
        b"\xff\xfe\x00\x00garbage",
    ],
)
def test_undecodable_bytes_are_counted_as_undecodable(source):
    assert source_features(source) == ("undecodable", frozenset())


def test_a_declared_encoding_is_honoured():
    source = '# -*- coding: latin-1 -*-\nname = "café"\nprint(f"{name}")\n'.encode("latin-1")
    assert source_features(source) == ("ok", frozenset({"fstring"}))


def test_nul_bytes_are_a_syntax_error():
    assert source_features(b"x = 1\x00\n")[0] == "syntax-error"


# Sources where a feature hides in an unusual place: in a decorator, a default, a guard, a header of a compound
# statement, across lines, after a continuation line, with \r\n or lone \r line ends, in a declared encoding.
TRICKY = [
    b'@register(f"x")\ndef f():\n    pass\n',
    b'x = ("a"\n     f"{b}")\n',
    b'x = 1 + \\\n    f"{y}"\n',
    b"def f(a=lambda x, /: x):\n    pass\n",
    b"class A(metaclass=M, key=(y := 2)):\n    pass\n",
    b"match x:\n    case 1 if (y := 2):\n        pass\n",
    b"for x in (y := z):\n    pass\nelse:\n    pass\n",
    b"try:\n    pass\nexcept E if (z := 1) else F:\n    pass\n",
    b'if a:\n    pass\nelif f"{b}":\n    pass\n',
    b"async def f():\n    return {k: v async for k, v in y}\n",
    b"def f():\n    return (await_ for await_ in x)\n",
    b'x = 1\r\ny = f"{x}"\r\nz = (w := 2)\r\n',
    b'x = 1\ry = f"{x}"\rz = (w := 2)\r',
    b'x = 1\ry = 2\r\nz = f"{y}"\n',
    b'with open(f"{p}") as h, lock:\n    pass\n',
    b"while (line := read()):\n    pass\n",
    b'del x[f"{k}"]\nassert y, f"{y}"\nraise E(f"x")\nglobal g\n',
    b"lambda: (yield)\nclass B[T]: pass\n",
    "# coding: cp037\nx = 1\n".encode("cp037"),
    b'# -*- coding: utf-16 -*-\nx = f"{1}"\n',
    b"\xef\xbb\xbfmatch x:\n    case _:\n        pass\n",
    b"def f(a,  # first\n      /,  # the marker\n      b): pass\n",
    b"x = [\n    1,\n]\nmatch (\n    x\n):\n    case _:\n        pass\n",
]


def _sources() -> list[bytes]:
    sources = [case[1].encode() for case in CASES] + [case[2].encode() for case in CASES] + TRICKY
    for root in ("pypi_platform", "pypi_platform_tests", "bench"):
        sources += [path.read_bytes() for path in sorted((PROJECT / root).rglob("*.py"))]
    return sources


def test_the_pre_check_never_changes_a_result():
    """With and without the text pre-check (and the walk it focuses), every source gets the same result."""
    sources = _sources()
    assert len(sources) > 100
    for source in sources:
        assert analyse(source, precheck=True) == analyse(source, precheck=False), source[:200]


def test_tricky_placements_are_found():
    expected = [
        {"fstring"},
        {"fstring"},
        {"fstring"},
        {"positional_only"},
        {"walrus"},
        {"match", "walrus"},
        {"walrus"},
        {"walrus"},
        {"fstring"},
        {"async"},
        set(),
    ]
    for source, features in zip(TRICKY, expected, strict=False):
        assert source_features(source) == ("ok", features), source


def test_lines_count_newlines_and_a_last_unterminated_line():
    assert engine._line_count(b"") == 0
    assert engine._line_count(b"a\n") == 1
    assert engine._line_count(b"a\nb") == 2
    assert engine._line_count(b"\n\n") == 2


def test_chunks_put_the_largest_blobs_first_and_balance_bytes():
    sized = sorted([(1000, b"big"), *((10, bytes([i])) for i in range(100))], reverse=True)
    chunks = list(engine._chunks(sized, chunk=64, workers=2))
    assert chunks[0] == [b"big"]
    assert sorted(oid for part in chunks for oid in part) == sorted(oid for _, oid in sized)
    assert all(len(part) <= 64 for part in chunks)


def _shard(tmp_path: Path, sources: list[bytes]) -> tuple[Path, list[bytes]]:
    path = tmp_path / "shard.git"
    repo = pygit2.init_repository(str(path), bare=True)
    oids = list(dict.fromkeys(repo.create_blob(source).raw for source in sources))
    return path, oids


def test_features_of_blobs_returns_every_oid_once_with_source_features_results(tmp_path):
    sources = [
        *(case[1].encode() for case in CASES),
        *TRICKY,
        b"print 'py2'\n",
        b"-" * 100_000 + b"1\n",
        b'x = "caf\xe9"\n',
        b"",
        b"type Alias = int\n",
        *(path.read_bytes() for path in sorted((PROJECT / "pypi_platform" / "lib").rglob("*.py"))[:40]),
    ]
    repo, oids = _shard(tmp_path, sources)
    results = list(features_of_blobs(repo, oids, workers=2, chunk=5))
    assert all(isinstance(r, BlobFeatures) for r in results)
    assert sorted(r.oid for r in results) == sorted(oids)
    by_oid = {r.oid: r for r in results}
    for source in sources:
        oid = pygit2.hash(source).raw
        status, found = source_features(source)
        assert (by_oid[oid].status, by_oid[oid].features) == (status, found)
        assert by_oid[oid].lines == engine._line_count(source)
    assert {r.status for r in results} == {"ok", "syntax-error", "too-deep", "undecodable"}


def test_features_of_blobs_in_process_restores_the_cycle_collector(tmp_path):
    repo, oids = _shard(tmp_path, [b"x: int = 1\n", b"y = 2\n"])
    assert gc.isenabled()
    results = {r.oid: r.features for r in features_of_blobs(repo, oids, workers=0)}
    assert gc.isenabled()
    assert sorted(results.values(), key=len) == [frozenset(), frozenset({"annotations"})]


def test_features_of_blobs_of_nothing_is_nothing(tmp_path):
    repo, _ = _shard(tmp_path, [])
    assert list(features_of_blobs(repo, [], workers=2)) == []


def test_a_missing_blob_is_refused_before_any_work(tmp_path):
    repo, oids = _shard(tmp_path, [b"x = 1\n"])
    with pytest.raises(KeyError):
        list(features_of_blobs(repo, [*oids, b"\x01" * 20], workers=2))


def test_features_of_blobs_with_given_sizes_needs_no_header_reads(tmp_path):
    sources = [b"x: int = 1\n", b"y = 2\n" * 100, b'z = f"{y}"\n']
    repo, oids = _shard(tmp_path, sources)
    sizes = [len(source) for source in sources]
    results = {r.oid: r for r in features_of_blobs(repo, oids, workers=2, sizes=sizes)}
    assert sorted(results) == sorted(oids)
    assert results[oids[2]].features == {"fstring"}
    with pytest.raises(ValueError, match="sizes"):
        list(features_of_blobs(repo, oids, workers=2, sizes=sizes[:2]))


def test_claims_from_both_ends_hand_out_every_chunk_once_and_meet():
    ends = get_context("spawn").Array("q", [0, 5])
    claimed = [engine._claim(ends, from_back=i % 2 == 0) for i in range(7)]
    assert claimed == [4, 0, 3, 1, 2, None, None]
    ends = get_context("spawn").Array("q", [0, 3])
    engine._claim_all(ends)
    assert engine._claim(ends, from_back=False) is None


def test_three_processes_share_the_chunks_and_return_every_blob_once(tmp_path):
    sources = [f"x{i}: int = {i}\n".encode() * (i + 1) for i in range(40)]
    repo, oids = _shard(tmp_path, sources)
    results = list(features_of_blobs(repo, oids, workers=3, chunk=2))
    assert sorted(r.oid for r in results) == sorted(oids)
    assert all(r.features == {"annotations"} for r in results)


def test_a_missing_blob_met_while_parsing_raises_and_ends_the_pool(tmp_path):
    sources = [f"y{i} = {i}\n".encode() for i in range(20)]
    repo, oids = _shard(tmp_path, sources)
    missing = b"\x01" * 20
    # Given sizes, nothing is read before the work starts; the largest size puts the missing blob on the workers'
    # end, where whichever process claims it last meets it.
    sizes = [len(source) for source in sources]
    with pytest.raises(KeyError):
        list(features_of_blobs(repo, [missing, *oids], workers=2, chunk=1, sizes=[10**6, *sizes]))
