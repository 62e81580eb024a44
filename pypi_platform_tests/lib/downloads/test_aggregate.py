"""The daily aggregation: a hand-made day with its expected result written out, the same day through the
transpiled BigQuery SQL on DuckDB, both paths on a generated sample, and the ``__all__`` rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlglot
from polars.testing import assert_frame_equal
from sqlglot import exp

from pypi_platform.lib.downloads.aggregate import DailyResult, add_all_rows, aggregate_day
from pypi_platform.lib.downloads.bigquery_sql import render_daily_sql, run_on_duckdb, to_duckdb
from pypi_platform.lib.downloads.sample import write_sample
from pypi_platform.lib.downloads.schema import DAILY_FRAME, DIMENSIONS, FILE_DOWNLOADS, LEAVES_READ
from pypi_platform.lib.downloads.source import scan_window
from pypi_platform.lib.names import ALL_PACKAGES

START = datetime(2024, 6, 11, tzinfo=UTC)
END = START + timedelta(days=1)
TABLE = "project.dataset.file_downloads"
TOO_LONG = "a" * 129  # dropped: longer than 128 once normalised
# 129 characters as uploaded, 128 once '._' collapses to '-': normalised first, so it is kept.
JUST_FITS = "B" * 126 + "._" + "c"
JUST_FITS_PACKAGE = "b" * 126 + "-c"
ORDER = ["dimension", "package", "category"]


def _row(
    at: datetime,
    project: str | None = "requests",
    *,
    version: str = "2.32.3",
    installer: str | None = "pip",
    python: str | None = "3.12.4",
    system: str | None = "Linux",
    country: str | None = "US",
    ci: bool | None = None,
    details: bool = True,
) -> dict[str, object]:
    """One log row; ``installer=None`` and ``system=None`` make those whole records NULL, as linehaul does."""
    return {
        "timestamp": at,
        "country_code": country,
        "url": "/packages/00/11/2233/file",
        "project": project,
        "file": {"filename": "file", "project": project, "version": version, "type": "bdist_wheel"},
        "details": {
            "installer": None if installer is None else {"name": installer, "version": "1"},
            "python": python,
            "implementation": {"name": "CPython", "version": python},
            "system": None if system is None else {"name": system, "release": "1"},
            "cpu": "x86_64",
            "ci": ci,
        }
        if details
        else None,
        "tls_protocol": "TLSv1.3",
        "tls_cipher": "TLS_AES_128_GCM_SHA256",
    }


def _hour(hours: float) -> datetime:
    return START + timedelta(hours=hours)


HAND_MADE = [
    # requests: rows 1-5 count, 6-8 fall to the python rule.
    _row(START, ci=True),  # 1: exactly at start, kept
    _row(_hour(1), installer="bandersnatch", python="3.11.9", ci=False),  # 2: a mirror in both definitions
    _row(_hour(2), installer="Nexus", python="3.12.0", system="Windows", country="DE"),  # 3: corrected mirror
    _row(_hour(3), version="2.31.0", installer=None, python="3.13t", system="Darwin", country=None),  # 4
    _row(_hour(4), details=False),  # 5: unparseable user agent
    _row(_hour(5), python="3"),
    _row(_hour(6), python="x.y"),
    _row(_hour(7), python="10.1"),
    # foo-bar-baz
    _row(
        _hour(8),
        "Foo_Bar.baz",
        version="0.1",
        installer="uv",
        python="3.12rc1",
        system="FreeBSD",
        country="FR",
        ci=True,
    ),
    _row(_hour(9), "Foo_Bar.baz", version="0.1", python=None, system=None, country="FR"),
    # Dropped for the package, before the python rule is looked at.
    _row(_hour(10), TOO_LONG, python="garbage"),
    _row(_hour(11), None),
    _row(_hour(12), JUST_FITS, version="1"),
    # Outside the window.
    _row(END),
    _row(START - timedelta(microseconds=1)),
]

# Rows that both definitions agree on.
EXPECTED_COMMON = [
    ("overall", "requests", "with_mirrors", 5),
    ("installer", "requests", "pip", 1),
    ("installer", "requests", "bandersnatch", 1),
    ("installer", "requests", "Nexus", 1),
    ("installer", "requests", "null", 2),
    ("country", "requests", "US", 3),
    ("country", "requests", "DE", 1),
    ("country", "requests", "null", 1),
    ("version", "requests", "2.32.3", 4),
    ("version", "requests", "2.31.0", 1),
    ("ci", "requests", "true", 1),
    ("ci", "requests", "false", 1),
    ("ci", "requests", "null", 3),
    ("overall", "foo-bar-baz", "with_mirrors", 2),
    ("overall", "foo-bar-baz", "without_mirrors", 2),
    ("python_major", "foo-bar-baz", "3", 1),
    ("python_major", "foo-bar-baz", "null", 1),
    ("python_minor", "foo-bar-baz", "3.12", 1),
    ("python_minor", "foo-bar-baz", "null", 1),
    ("system", "foo-bar-baz", "other", 1),
    ("system", "foo-bar-baz", "null", 1),
    ("installer", "foo-bar-baz", "uv", 1),
    ("installer", "foo-bar-baz", "pip", 1),
    ("country", "foo-bar-baz", "FR", 2),
    ("version", "foo-bar-baz", "0.1", 2),
    ("ci", "foo-bar-baz", "true", 1),
    ("ci", "foo-bar-baz", "null", 1),
    *(
        (dimension, JUST_FITS_PACKAGE, category, 1)
        for dimension, category in [
            ("overall", "with_mirrors"),
            ("overall", "without_mirrors"),
            ("python_major", "3"),
            ("python_minor", "3.12"),
            ("system", "Linux"),
            ("installer", "pip"),
            ("country", "US"),
            ("version", "1"),
            ("ci", "null"),
        ]
    ),
]
# Without mirrors, requests keeps rows 1 and 3 for pypistats (NULL installers never pass NOT IN, Nexus is no
# mirror) and rows 1, 4 and 5 for the corrected definition.
EXPECTED_WITHOUT_MIRRORS = {
    "pypistats": [
        ("overall", "requests", "without_mirrors", 2),
        ("python_major", "requests", "3", 2),
        ("python_minor", "requests", "3.12", 2),
        ("system", "requests", "Linux", 1),
        ("system", "requests", "Windows", 1),
    ],
    "corrected": [
        ("overall", "requests", "without_mirrors", 3),
        ("python_major", "requests", "3", 2),
        ("python_major", "requests", "null", 1),
        ("python_minor", "requests", "3.12", 1),
        ("python_minor", "requests", "3.13", 1),
        ("python_minor", "requests", "null", 1),
        ("system", "requests", "Linux", 1),
        ("system", "requests", "Darwin", 1),
        ("system", "requests", "null", 1),
    ],
}


def _expected(semantics: str) -> pl.DataFrame:
    rows = EXPECTED_COMMON + EXPECTED_WITHOUT_MIRRORS[semantics]
    return pl.DataFrame(rows, schema=DAILY_FRAME, orient="row").sort(ORDER)


def _check(result: DailyResult, expected: pl.DataFrame, rows: int, package: int, python: int) -> None:
    assert_frame_equal(result.frame.sort(ORDER), expected)
    assert (result.rows_in_window, result.dropped_package, result.dropped_python) == (rows, package, python)


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hand-made") / "day.parquet"
    pl.DataFrame(HAND_MADE, schema=FILE_DOWNLOADS).write_parquet(path)
    return path


@pytest.mark.parametrize("semantics", ["pypistats", "corrected"])
def test_hand_made_day_on_polars(semantics: str) -> None:
    result = aggregate_day(pl.DataFrame(HAND_MADE, schema=FILE_DOWNLOADS).lazy(), START, END, semantics)
    _check(result, _expected(semantics), rows=13, package=2, python=3)
    assert result.rows_counted == 8
    assert result.frame.schema == DAILY_FRAME


@pytest.mark.parametrize("semantics", ["pypistats", "corrected"])
def test_hand_made_day_on_duckdb(hand_made: Path, semantics: str) -> None:
    """The BigQuery SQL, transpiled, gives the very same result."""
    _check(
        run_on_duckdb([hand_made], START, END, semantics), _expected(semantics), rows=13, package=2, python=3
    )


@pytest.mark.parametrize("semantics", ["pypistats", "corrected"])
def test_window_without_rows(hand_made: Path, semantics: str) -> None:
    later = (END + timedelta(days=3), END + timedelta(days=4))
    empty = pl.DataFrame(schema=DAILY_FRAME)
    for result in (
        aggregate_day(pl.scan_parquet(hand_made), *later, semantics),
        run_on_duckdb([hand_made], *later, semantics),
    ):
        _check(result, empty, rows=0, package=0, python=0)


def test_naive_window_is_utc() -> None:
    frame = pl.DataFrame(HAND_MADE, schema=FILE_DOWNLOADS)
    naive = aggregate_day(frame, START.replace(tzinfo=None), END.replace(tzinfo=None))
    assert_frame_equal(naive.frame.sort(ORDER), aggregate_day(frame, START, END).frame.sort(ORDER))


def test_bad_arguments() -> None:
    frame = pl.DataFrame(HAND_MADE, schema=FILE_DOWNLOADS)
    with pytest.raises(ValueError, match="semantics"):
        aggregate_day(frame, START, END, "pepy")
    with pytest.raises(ValueError, match="empty window"):
        aggregate_day(frame, END, START)


# --- the SQL text ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("semantics", ["pypistats", "corrected"])
def test_sql_reads_only_the_leaves_it_needs(semantics: str) -> None:
    tree = sqlglot.parse_one(render_daily_sql(TABLE, semantics), read="bigquery")
    (leaves,) = [cte for cte in tree.find_all(exp.CTE) if cte.alias == "leaves"]
    assert {".".join(part.name for part in column.parts) for column in leaves.find_all(exp.Column)} == set(
        LEAVES_READ
    )
    assert [
        ".".join(part.name for part in table.parts) for table in tree.find_all(exp.Table) if table.db
    ] == [TABLE]
    # One grouping set per dimension, the drop reasons and the grand total; never a cube.
    (grouping_sets,) = list(tree.find_all(exp.GroupingSets))
    assert len(grouping_sets.expressions) == len(DIMENSIONS) + 3
    assert not list(tree.find_all(exp.Cube))


def test_sql_parameters_and_mirrors() -> None:
    pypistats, corrected = render_daily_sql(TABLE, "pypistats"), render_daily_sql(TABLE, "corrected")
    for sql in (pypistats, corrected):
        assert "@start" in sql and "@end" in sql and "$" not in sql
    assert "'Nexus'" in corrected and "'Nexus'" not in pypistats
    duckdb_sql = to_duckdb(pypistats, ["/data/it's here.parquet"])
    assert "$start" in duckdb_sql and "$end" in duckdb_sql
    assert "read_parquet(['/data/it''s here.parquet'])" in duckdb_sql.lower()


@pytest.mark.parametrize(
    "table",
    ["dataset.table", "p.d.t.x", "p.d.t`; DROP TABLE x; --", "p.d.t x", "p.d.`t`", "", "p..t"],
)
def test_sql_rejects_odd_table_names(table: str) -> None:
    with pytest.raises(ValueError, match=r"project\.dataset\.table"):
        render_daily_sql(table, "corrected")


def test_sql_rejects_unknown_semantics() -> None:
    with pytest.raises(ValueError, match="semantics"):
        render_daily_sql(TABLE, "clickpy")


# --- a generated sample ---------------------------------------------------------------------------------------

DAY = date(2024, 6, 11)


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two arrival days: day D's rows are in D's file and, arriving late, in D+1's."""
    directory = tmp_path_factory.mktemp("sample")
    projects = ["Django", "requests", "zope.interface", "typing_extensions", "numpy"]
    return write_sample(
        directory, DAY, DAY + timedelta(days=1), projects=projects, rows_per_day=20_000, seed=3
    )


@pytest.mark.parametrize("semantics", ["pypistats", "corrected"])
def test_sample_polars_equals_duckdb(sample_files: list[Path], semantics: str) -> None:
    polars_result = aggregate_day(scan_window(sample_files, START, END), START, END, semantics)
    duckdb_result = run_on_duckdb(sample_files, START, END, semantics)
    assert_frame_equal(polars_result.frame.sort(ORDER), duckdb_result.frame.sort(ORDER))
    assert polars_result.rows_in_window == duckdb_result.rows_in_window
    assert polars_result.dropped_package == duckdb_result.dropped_package
    assert polars_result.dropped_python == duckdb_result.dropped_python

    in_window = pl.scan_parquet(sample_files).filter(
        pl.col("timestamp").is_between(START, END, closed="left")
    )
    assert polars_result.rows_in_window == in_window.select(pl.len()).collect().item()
    assert polars_result.dropped_python > 0  # the sample draws python strings pypistats drops
    # Every dimension is present, and each over the base set sums to with_mirrors.
    totals = dict(polars_result.frame.group_by("dimension").agg(pl.col("downloads").sum()).iter_rows())
    assert set(totals) == set(DIMENSIONS)
    with_mirrors = polars_result.frame.filter(pl.col("category") == "with_mirrors")["downloads"].sum()
    assert with_mirrors == polars_result.rows_counted
    for dimension in ("installer", "country", "version", "ci"):
        assert totals[dimension] == with_mirrors
    without = polars_result.frame.filter(pl.col("category") == "without_mirrors")["downloads"].sum()
    for dimension in ("python_major", "python_minor", "system"):
        assert totals[dimension] == without


# --- __all__ ----------------------------------------------------------------------------------------------------


def test_add_all_rows_sums_over_packages(sample_files: list[Path]) -> None:
    frame = aggregate_day(scan_window(sample_files, START, END), START, END).frame
    with_all = add_all_rows(frame)
    assert with_all.schema == DAILY_FRAME
    assert_frame_equal(with_all.filter(pl.col("package") != ALL_PACKAGES), frame)
    totals = with_all.filter(pl.col("package") == ALL_PACKAGES)
    expected = frame.group_by("dimension", "category").agg(pl.col("downloads").sum())
    assert_frame_equal(
        totals.select("dimension", "category", "downloads").sort("dimension", "category"),
        expected.sort("dimension", "category"),
    )
    assert totals.select("dimension", "category").is_unique().all()
    # Applying it again replaces the __all__ rows instead of adding to them.
    assert_frame_equal(add_all_rows(with_all), with_all)


def test_add_all_rows_hand_made() -> None:
    frame = aggregate_day(pl.DataFrame(HAND_MADE, schema=FILE_DOWNLOADS), START, END, "pypistats").frame
    totals = add_all_rows(frame).filter(pl.col("package") == ALL_PACKAGES)
    by_category = {(d, c): n for d, _, c, n in totals.iter_rows()}
    assert by_category[("overall", "with_mirrors")] == 5 + 2 + 1
    assert by_category[("overall", "without_mirrors")] == 2 + 2 + 1
    assert by_category[("installer", "null")] == 2
    assert by_category[("system", "other")] == 1
