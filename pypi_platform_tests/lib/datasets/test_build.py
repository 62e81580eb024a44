"""The dataset builders on hand-written frames, with every expected frame and byte written out, plus a seeded
random mirror checked against a plain Python implementation."""

from __future__ import annotations

import gzip
import json
import random
from collections import defaultdict
from datetime import UTC, date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pypi_platform.lib.datasets.build import (
    _ranks,
    dependency_edges,
    dependency_list_jsonl,
    download_stats_jsonl,
    gzip_bytes,
    mutual_dependencies,
    package_list,
    package_list_text,
    reverse_dependencies,
    reverse_dependencies_json,
)
from pypi_platform.lib.datasets.schema import (
    DEPENDENCY_LIST,
    DOWNLOAD_STATS,
    PACKAGE_LIST,
    PROBLEM_INVALID_REQUIREMENT,
    PROBLEM_NO_METADATA,
    PROBLEM_SELF_DEPENDENCY,
    REVERSE_DEPENDENCIES,
)

SYNCED = datetime(2026, 11, 21, 12, tzinfo=UTC)


def _requirement(
    project: str, name: str | None, *, problem: str | None = None, requirement: str | None = None
) -> dict:
    """A DEPENDENCY_LIST row of ``project`` 1.0 on ``name``."""
    return {
        "project": project,
        "version": "1.0",
        "requirement": requirement if requirement is not None else name,
        "name": name,
        "specifier": "" if name is not None else None,
        "extras": [] if name is not None else None,
        "marker": None,
        "extra": None,
        "source": "wheel",
        "problem": problem,
    }


def _dependencies(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=DEPENDENCY_LIST, orient="row")


def _reverse(rows: dict[str, list[str]]) -> pl.DataFrame:
    return pl.DataFrame({"name": list(rows), "dependents": list(rows.values())}, schema=REVERSE_DEPENDENCIES)


# The mirror of the hand-written cases: a, b, c, d, quiet and selfish are mirrored; outside is not.
MIRRORED = pl.Series(["selfish", "a", "quiet", "d", "b", "c", "a"])  # unsorted, "a" twice
DEPENDENCIES = _dependencies(
    _requirement("a", "b"),
    _requirement("b", "a"),  # a 2-cycle: each is the other's dependent
    _requirement("c", "a"),
    _requirement("c", "a", requirement='a>=2; python_version >= "3.9"'),  # the same dependency twice
    _requirement("c", "b"),
    _requirement("d", "outside"),  # a dependency that is not mirrored
    _requirement(
        "d", None, problem=f"{PROBLEM_INVALID_REQUIREMENT}: expected a version", requirement="a >>= 1"
    ),
    _requirement("d", "c", problem=f"{PROBLEM_NO_METADATA}: ignored even with a name"),
    _requirement("selfish", "selfish", problem=f"{PROBLEM_SELF_DEPENDENCY}: selfish[all]"),
    _requirement("selfish", "selfish"),  # the same without its problem is not an edge either
    _requirement("stray", "b"),  # a depending project outside the mirror: a dependent, not a row
)


def test_package_list_sorts_and_keeps_the_latest_row_of_a_name() -> None:
    projects = pl.DataFrame(
        {
            "name": ["zope-interface", "django", "requests", "django"],
            "display_name": ["zope.interface", "Django", "requests", "django"],
            "latest_version": ["7.2", "5.1.3", None, "5.1.2"],
            "serial": [30, 25, 12, 20],
            "synced_at": [SYNCED] * 4,
            "status": ["ok"] * 4,  # other columns are left out
        }
    )
    expected = pl.DataFrame(
        {
            "name": ["django", "requests", "zope-interface"],
            "display_name": ["Django", "requests", "zope.interface"],
            "latest_version": ["5.1.3", None, "7.2"],
            "serial": [25, 12, 30],
            "synced_at": [SYNCED] * 3,
        },
        schema=PACKAGE_LIST,
    )
    assert_frame_equal(package_list(projects), expected)
    assert_frame_equal(package_list(projects.reverse()), expected)


def test_package_list_text_is_one_name_per_line() -> None:
    packages = pl.DataFrame({"name": ["django", "requests", "zope-interface"]})
    assert package_list_text(packages) == b"django\nrequests\nzope-interface\n"
    assert package_list_text(packages.clear()) == b""


def test_dependency_edges_are_the_distinct_good_edges_by_name() -> None:
    expected = pl.DataFrame(
        {"project": ["b", "c", "a", "c", "stray", "d"], "name": ["a", "a", "b", "b", "b", "outside"]}
    )
    assert_frame_equal(dependency_edges(DEPENDENCIES), expected)


def test_reverse_dependencies() -> None:
    expected = _reverse(
        {
            "a": ["b", "c"],  # c requires a twice, and counts once
            "b": ["a", "c", "stray"],
            "c": [],  # d's requirement on c has a problem
            "d": [],
            "outside": ["d"],
            "quiet": [],
            "selfish": [],
        }
    )
    assert_frame_equal(reverse_dependencies(DEPENDENCIES, MIRRORED), expected)


def test_reverse_dependencies_without_requirements() -> None:
    assert_frame_equal(
        reverse_dependencies(DEPENDENCIES.clear(), pl.Series(["b", "a"])), _reverse({"a": [], "b": []})
    )
    assert_frame_equal(
        reverse_dependencies(DEPENDENCIES.clear(), pl.Series([], dtype=pl.String)), _reverse({})
    )


def test_reverse_dependencies_json() -> None:
    document = reverse_dependencies_json(reverse_dependencies(DEPENDENCIES, MIRRORED))
    assert document == (
        b'{"a":["b","c"],"b":["a","c","stray"],"c":[],"d":[],"outside":["d"],"quiet":[],"selfish":[]}'
    )
    assert json.loads(document)["outside"] == ["d"]


def test_reverse_dependencies_json_sorts_keys_and_writes_nothing_as_an_empty_object() -> None:
    assert reverse_dependencies_json(_reverse({"b": [], "a": ["c"]})) == b'{"a":["c"],"b":[]}'
    assert reverse_dependencies_json(_reverse({})) == b"{}"


@pytest.mark.parametrize(
    ("name", "dependent"),
    [
        ('quo"te', "plain"),
        ("plain", 'quo"te'),
        ("back\\slash", "plain"),
        ("plain", "back\\slash"),
        ("new\nline", "tab\there"),
        ("nul\x00", "unit\x1fseparator"),
        ('fake","structure', '"],"x":["'),
        ("café", "naïve"),  # not escaped: UTF-8, as json.dumps(ensure_ascii=False) writes it
    ],
)
def test_reverse_dependencies_json_escapes_any_string(name: str, dependent: str) -> None:
    reverse = _reverse({name: [dependent, "zz"], "other": []}).sort("name")
    document = reverse_dependencies_json(reverse)
    mapping = {name: [dependent, "zz"], "other": []}
    assert json.loads(document) == mapping
    assert (
        document
        == json.dumps(dict(sorted(mapping.items())), ensure_ascii=False, separators=(",", ":")).encode()
    )


def test_dependency_list_jsonl_writes_every_column() -> None:
    rows = _dependencies(
        {
            "project": "requests",
            "version": "2.32.3",
            "requirement": 'PySocks!=1.5.7,>=1.5.6; extra == "socks"',
            "name": "pysocks",
            "specifier": "!=1.5.7,>=1.5.6",
            "extras": ["x", 'q"'],
            "marker": 'extra == "socks"',
            "extra": "socks",
            "source": "sidecar",
            "problem": None,
        },
        _requirement("broken", None, problem=f"{PROBLEM_NO_METADATA}: none", requirement=None),
    )
    lines = dependency_list_jsonl(rows).splitlines(keepends=True)
    assert lines == [
        b'{"project":"requests","version":"2.32.3","requirement":"PySocks!=1.5.7,>=1.5.6; extra == \\"socks\\"",'
        b'"name":"pysocks","specifier":"!=1.5.7,>=1.5.6","extras":["x","q\\""],"marker":"extra == \\"socks\\"",'
        b'"extra":"socks","source":"sidecar","problem":null}\n',
        b'{"project":"broken","version":"1.0","requirement":null,"name":null,"specifier":null,"extras":null,'
        b'"marker":null,"extra":null,"source":"wheel","problem":"no-metadata: none"}\n',
    ]
    assert [json.loads(line) for line in lines] == rows.to_dicts()


def test_download_stats_jsonl_keeps_the_order_and_two_keys() -> None:
    stats = pl.DataFrame(
        {
            "package_name": ["urllib3", "boto3", "requests"],
            "downloads": [65_405_956, 60_000_000, 61_000_000],  # not sorted: the caller's order is kept
            "window_start": [date(2026, 10, 22)] * 3,
            "window_end": [date(2026, 11, 20)] * 3,
        },
        schema=DOWNLOAD_STATS,
    )
    assert download_stats_jsonl(stats) == (
        b'{"package_name":"urllib3","downloads":65405956}\n'
        b'{"package_name":"boto3","downloads":60000000}\n'
        b'{"package_name":"requests","downloads":61000000}\n'
    )


def test_gzip_bytes_is_deterministic_and_round_trips() -> None:
    data = b"django\nrequests\n" * 1000
    compressed = gzip_bytes(data)
    assert compressed == gzip_bytes(bytes(data))
    assert gzip.decompress(compressed) == data
    # Header: magic, deflate, no flags (so no file name), modification time 0.
    assert compressed[:8] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00"
    assert gzip.decompress(gzip_bytes(b"")) == b""


def test_ranks_merge_the_unsorted_names_into_the_sorted_ones() -> None:
    strings = pl.Series(["b", "d", "f", "e", "a", "c", "g"])  # the first 3 sorted, the rest not
    expected = [1, 3, 5, 4, 0, 2, 6]
    assert _ranks(strings, 3).to_list() == expected
    assert _ranks(strings, 0).to_list() == expected


def test_reverse_dependencies_match_a_plain_python_build() -> None:
    """A seeded random mirror with every kind of row, against a dict-of-sets implementation."""
    rng = random.Random(42)
    alphabet = 'ab-é"\\\n'
    universe = sorted({"".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(400)})
    mirrored = rng.sample(universe, len(universe) * 2 // 3)
    rows = []
    for _ in range(3000):
        project, name = rng.choice(universe), rng.choice(universe)
        problem = rng.choice([None] * 8 + [f"{PROBLEM_NO_METADATA}: x"])
        rows.append(_requirement(project, rng.choice([name] * 20 + [None]), problem=problem))
    dependencies = _dependencies(*rows)

    dependents = defaultdict(set, {name: set() for name in mirrored})
    for row in rows:
        if row["problem"] is None and row["name"] is not None and row["name"] != row["project"]:
            dependents[row["name"]].add(row["project"])
    expected = {name: sorted(projects) for name, projects in sorted(dependents.items())}

    reverse = reverse_dependencies(dependencies, pl.Series(mirrored))
    assert_frame_equal(reverse, _reverse(expected))
    assert json.loads(reverse_dependencies_json(reverse)) == expected
    edges = sorted((project, name) for name, projects in expected.items() for project in projects)
    assert sorted(dependency_edges(dependencies).iter_rows()) == edges


def test_mutual_dependencies_lists_each_two_project_cycle_once():
    edges = pl.DataFrame(
        {"project": ["a", "b", "b", "c", "d"], "name": ["b", "a", "c", "d", "c"]},
        schema={"project": pl.String, "name": pl.String},
    )
    assert mutual_dependencies(edges).rows() == [("a", "b"), ("c", "d")]
