"""The synthetic download logs and the local source that reads them: shape, content, late rows, day windows.

Run as a module (``python -m pypi_platform_tests.lib.downloads.test_sample``) to print the generation rate.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version
from polars.testing import assert_frame_equal

from pypi_platform.lib.downloads.sample import filler_names, sample_projects, write_sample
from pypi_platform.lib.downloads.schema import CORRECTED_MIRRORS, FILE_DOWNLOADS
from pypi_platform.lib.downloads.source import (
    NoSourceFiles,
    SourceSchemaError,
    check_schema,
    scan_window,
    source_files,
)

FIRST, LAST = date(2024, 6, 10), date(2024, 6, 12)
MIDDLE = date(2024, 6, 11)
ROWS = 20_000
PROJECTS = ["Django", "requests", "zope.interface", "typing_extensions"]
# pypistats keeps a python string only when it starts with one digit, a dot and a digit.
PYPISTATS_PYTHON = r"^\d\.\d"

details = pl.col("details")
installer = details.struct.field("installer")


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("downloads")
    write_sample(directory, FIRST, LAST, projects=PROJECTS, rows_per_day=ROWS, seed=7)
    return directory


@pytest.fixture(scope="module")
def rows(sample_dir: Path) -> pl.DataFrame:
    """Every row of the sample, with the arrival day of its file."""
    return pl.concat(
        pl.read_parquet(path).with_columns(arrival=pl.lit(_day_of(path)))
        for path in sorted(sample_dir.glob("*.parquet"))
    )


def _day_of(path: Path) -> date:
    return date.fromisoformat(path.stem.removeprefix("file_downloads-"))


def _at(day: date, **delta: float) -> datetime:
    """Midnight UTC starting ``day``, moved by ``delta`` (timedelta arguments)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(**delta)


def _hand_made(path: Path, timestamps: list[datetime]) -> Path:
    """A tiny file in the FILE_DOWNLOADS schema; only the timestamps vary."""
    n = len(timestamps)
    frame = pl.DataFrame(
        {
            "timestamp": timestamps,
            "project": ["demo"] * n,
            "file": [{"filename": "demo-1.0.tar.gz", "project": "demo", "version": "1.0", "type": "sdist"}]
            * n,
            "details": [{"installer": {"name": "pip", "version": "24.2"}, "python": "3.12.4"}] * n,
        },
        # Built in the schema's own struct types: fields the rows leave out are null, whatever casting allows.
        schema={name: FILE_DOWNLOADS[name] for name in ("timestamp", "project", "file", "details")},
    )
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in FILE_DOWNLOADS.items() if name not in frame]
    frame.with_columns(missing).select(FILE_DOWNLOADS.names()).cast(dict(FILE_DOWNLOADS)).write_parquet(path)
    return path


def test_files_per_arrival_day_in_the_schema(sample_dir: Path) -> None:
    paths = sorted(sample_dir.glob("*.parquet"))

    assert [p.name for p in paths] == [
        f"file_downloads-{FIRST + timedelta(days=i)}.parquet" for i in range(3)
    ]
    for path in paths:
        assert pl.read_parquet_schema(path) == FILE_DOWNLOADS
        assert pl.read_parquet(path).height == ROWS
        check_schema(path)


def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    def day(seed: int, name: str) -> pl.DataFrame:
        (path,) = write_sample(
            tmp_path / name, FIRST, FIRST, projects=PROJECTS, rows_per_day=3_000, seed=seed
        )
        return pl.read_parquet(path)

    assert_frame_equal(day(1, "a"), day(1, "b"))
    assert not day(1, "a").equals(day(2, "c"))


def test_every_category_is_present(rows: pl.DataFrame) -> None:
    def values(expr: pl.Expr) -> set[object]:
        return set(rows.select(expr).to_series().unique().to_list())

    with_details = rows.filter(details.is_not_null())
    assert 0.01 < rows.filter(details.is_null()).height / rows.height < 0.035
    assert with_details.filter(installer.is_null()).height > 0
    assert {*CORRECTED_MIRRORS, "pip", "uv", "poetry", "pdm", "requests", "Browser"} <= values(
        installer.struct.field("name")
    )
    pythons = values(details.struct.field("python"))
    assert {"3.12.4", "2.7.18", "3.13t", "3.12.0rc1", None} <= pythons
    dropped_by_pypistats = {p for p in pythons if p is not None and not re.match(PYPISTATS_PYTHON, p)}
    assert {"", "3", "x.y", "10.1.2"} <= dropped_by_pypistats
    assert {"Linux", "Windows", "Darwin", "FreeBSD", "Emscripten"} <= values(
        details.struct.field("system").struct.field("name")
    )
    assert with_details.filter(details.struct.field("system").is_null()).height > 0
    assert {"CPython", "PyPy"} == values(details.struct.field("implementation").struct.field("name")) - {None}
    assert {"US", "CN", "DE", "GB", "IN", "FR", "JP", "BR", None} <= values(pl.col("country_code"))
    assert 0.12 < with_details.filter(details.struct.field("ci")).height / with_details.height < 0.18
    assert False in values(details.struct.field("ci"))
    assert {"bdist_wheel", "sdist", "bdist_egg"} == values(pl.col("file").struct.field("type"))


def test_projects_files_and_popularity(rows: pl.DataFrame) -> None:
    file = pl.col("file")
    assert rows.filter(pl.col("project") != file.struct.field("project")).is_empty()
    assert {"django", "requests", "zope-interface", "typing-extensions"} <= set(rows["project"])
    assert set(rows["project"]) <= set(sample_projects(PROJECTS, seed=7))
    paths = rows.select(pl.col("url").str.extract(r"^/packages/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{60}/(.+)$"))
    assert paths.to_series().equals(rows.select(file.struct.field("filename")).to_series(), check_names=False)

    counts = rows["project"].value_counts(sort=True)["count"]
    assert counts[0] > 20 * counts.median()  # a few very popular projects, a long tail
    top = rows.filter(pl.col("project") == rows["project"].mode().first())
    by_version = top.group_by(file.struct.field("version")).len().sort("len", descending=True)
    assert by_version["version"][0] == max(by_version["version"], key=Version)  # newest downloaded most


def test_the_given_projects_are_downloaded_most_every_day(rows: pl.DataFrame) -> None:
    given = {canonicalize_name(name) for name in PROJECTS}
    per_day = rows.group_by(pl.col("timestamp").dt.date().alias("day"), "project").len()
    for (day,), counts in per_day.group_by("day"):
        ranked = counts.sort("len", descending=True)["project"].to_list()
        assert set(ranked[: len(given)]) == given, day  # the API's /top starts with the mirrored projects
    fillers = set(rows["project"]) - given
    assert len(fillers) > 100  # and a long tail of filler behind them


def test_filler_names_look_like_project_names() -> None:
    names = filler_names(5_000, seed=3, exclude=["aio-yaml"])

    assert len(set(names)) == 5_000 and "aio-yaml" not in names
    # Normalised project names (PEP 503), in the shape of the index's: letters and digits joined by hyphens.
    assert all(name == canonicalize_name(name) for name in names)
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name) for name in names)
    # Made up rather than numbered, and never a host name (no dot, nothing of an index's name in them).
    assert not any(re.search(r"\d{3}|\.|pypi|pythonhosted", name) for name in names)
    assert sum("-" in name for name in names) > 1_000 and sum("-" not in name for name in names) > 1_000
    assert 6 < sum(map(len, names)) / len(names) < 20
    assert filler_names(50, seed=3) == filler_names(50, seed=3) != filler_names(50, seed=4)


def test_sample_projects_puts_the_given_names_first() -> None:
    ranked = sample_projects(["Zope.Interface", "six", "six"], extra_projects=20, seed=1)

    assert sorted(ranked[:2]) == ["six", "zope-interface"]
    assert len(ranked) == len(set(ranked)) == 22
    assert ranked[2:] == filler_names(20, seed=1, exclude=["six", "zope-interface"])


def test_sample_projects_refuses_nothing_and_too_much() -> None:
    with pytest.raises(ValueError, match="no projects to sample"):
        sample_projects([], extra_projects=0)
    with pytest.raises(ValueError, match=r"at most [\d,]+ filler project names .* 10,000,000 were asked for"):
        filler_names(10_000_000)


def test_late_rows_belong_to_the_day_before(rows: pl.DataFrame) -> None:
    day = pl.col("timestamp").dt.date()
    per_file = rows.group_by("arrival").agg(
        late=(day < pl.col("arrival")).mean(),
        outside=(day > pl.col("arrival")).sum() + (day < pl.col("arrival") - timedelta(days=1)).sum(),
    )

    assert per_file["outside"].to_list() == [0, 0, 0]
    assert all(0.03 < share < 0.07 for share in per_file["late"])


def test_a_day_window_reads_the_late_rows_of_the_next_file(sample_dir: Path, rows: pl.DataFrame) -> None:
    files = source_files(sample_dir, MIDDLE, MIDDLE)
    assert [_day_of(p) for p in files] == [MIDDLE, MIDDLE + timedelta(days=1)]

    scanned = scan_window(files, _at(MIDDLE), _at(MIDDLE, days=1)).collect()
    expected = rows.filter(pl.col("timestamp").dt.date() == MIDDLE)
    assert scanned.height == expected.height
    assert expected.filter(pl.col("arrival") > MIDDLE).height > 0  # late rows, found in the next day's file
    assert_frame_equal(scanned.sort("timestamp", "url"), expected.drop("arrival").sort("timestamp", "url"))


def test_the_window_is_half_open(tmp_path: Path) -> None:
    day = MIDDLE
    stamps = [
        _at(day, microseconds=-1),
        _at(day),
        _at(day, days=1, microseconds=-1),
        _at(day, days=1),
    ]
    files = [_hand_made(tmp_path / "file_downloads-2024-06-11.parquet", stamps)]

    kept = scan_window(files, _at(day), _at(day, days=1)).collect()["timestamp"].to_list()
    assert kept == stamps[1:3]
    naive = scan_window(files, datetime(2024, 6, 11), datetime(2024, 6, 12)).collect()  # naive means UTC
    assert naive["timestamp"].to_list() == stamps[1:3]


def test_check_schema_names_the_column(tmp_path: Path) -> None:
    good = _hand_made(tmp_path / "good.parquet", [_at(MIDDLE)])
    frame = pl.read_parquet(good)
    no_python = frame.with_columns(details=pl.struct(details.struct.field("installer", "system", "ci")))
    no_python.write_parquet(tmp_path / "no_python.parquet")
    frame.with_columns(pl.col("timestamp").cast(pl.String)).write_parquet(tmp_path / "text_time.parquet")
    frame.with_columns(details=pl.lit(None, pl.String)).write_parquet(tmp_path / "flat_details.parquet")
    frame.with_columns(pl.col("timestamp").dt.replace_time_zone(None)).write_parquet(
        tmp_path / "naive.parquet"
    )

    check_schema(good)
    with pytest.raises(SourceSchemaError, match=r"column details\.python is missing"):
        check_schema(tmp_path / "no_python.parquet")
    with pytest.raises(SourceSchemaError, match=r"column timestamp is String"):
        check_schema(tmp_path / "text_time.parquet")
    with pytest.raises(SourceSchemaError, match=r"details\.installer\.name is missing \(details is String"):
        check_schema(tmp_path / "flat_details.parquet")
    with pytest.raises(SourceSchemaError, match=r"column timestamp"):
        check_schema(tmp_path / "naive.parquet")
    with pytest.raises(SourceSchemaError, match=r"details\.python"):
        scan_window([good, tmp_path / "no_python.parquet"], _at(MIDDLE), _at(MIDDLE, days=1))


def test_source_files(tmp_path: Path) -> None:
    with pytest.raises(NoSourceFiles, match=r"no download files in .* for 2024-06-11 \.\. 2024-06-11"):
        source_files(tmp_path, MIDDLE, MIDDLE)
    with pytest.raises(NoSourceFiles, match="does not exist"):
        source_files(tmp_path / "nowhere", MIDDLE, MIDDLE)

    for offset in range(-2, 4):
        _hand_made(tmp_path / f"file_downloads-{MIDDLE + timedelta(days=offset)}.parquet", [_at(MIDDLE)])
    (tmp_path / "notes.parquet").write_bytes(b"")
    days = [_day_of(p) for p in source_files(tmp_path, MIDDLE - timedelta(days=1), MIDDLE)]
    assert days == [MIDDLE + timedelta(days=offset) for offset in (-1, 0, 1)]
    assert [_day_of(p) for p in source_files(str(tmp_path / "file_downloads-*.parquet"), MIDDLE, MIDDLE)] == [
        MIDDLE,
        MIDDLE + timedelta(days=1),
    ]
    single = tmp_path / "file_downloads-2024-06-09.parquet"
    assert source_files(single, MIDDLE, MIDDLE) == [single]
    with pytest.raises(ValueError, match="before start"):
        source_files(tmp_path, MIDDLE, FIRST)


if __name__ == "__main__":
    import resource
    import tempfile

    rows_wanted = 2_000_000
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        write_sample(Path(directory), FIRST, FIRST, projects=PROJECTS, rows_per_day=rows_wanted)
        elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{rows_wanted:,} rows in {elapsed:.1f} s: {rows_wanted / elapsed:,.0f} rows/s, peak RSS {peak:,.0f} MiB"
    )
