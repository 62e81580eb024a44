"""One UTC day of download logs aggregated with polars, with exactly the semantics of daily.sql.

The rules (pypistats.org's and our corrected variant) are spelt out in daily.sql; both paths must return the
same ``DailyResult`` for the same rows, and the tests hold them to it.

How the polars plan stays cheap on tens of millions of rows:

- One scan, with the needed leaves projected in a single select. The Parquet reader still decodes the whole
  ``file`` and ``details`` structs (polars 2.1 does not prune struct leaves, even given a narrower schema), and
  that decoding is most of the time and of the peak memory; the rest of the plan adds little to either.
- Every string leaf is turned into a dictionary code (a Categorical with its own mapping, dropped afterwards),
  and each dimension is one group-by on a single 64-bit key: project code in the high half, the dimension's code
  in the low half. Grouping on one integer is several times cheaper than on two strings.
- Only two row-level flags are computed per row: the python rule (a regex on the short python string) and "the
  installer is not a mirror". Everything that depends on a value alone (package normalisation and its length
  limit, python major/minor, system buckets) is applied afterwards to the few hundred thousand groups, then the
  groups are summed again, since several raw values can map to one package or one category.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from pypi_platform.lib.downloads.schema import CORRECTED_MIRRORS, DAILY_FRAME, PYPISTATS_MIRRORS
from pypi_platform.lib.names import ALL_PACKAGES, MAX_NAME_LENGTH

# Bookkeeping rows both paths return beside the dimensions, split off by split_counts.
COUNTS_DIMENSION = "_counts"
SEMANTICS = ("pypistats", "corrected")
MAX_PACKAGE_LENGTH = MAX_NAME_LENGTH  # pypistats' VARCHAR(128)
PYTHON_RULE = r"^[0-9]\.[0-9]+"  # one digit, a dot, at least one digit; anything may follow
SYSTEMS_KEPT = ("Windows", "Linux", "Darwin")

_CODED = ("project", "version", "country", "installer", "python", "system")
_NULL_CODE = 2**32 - 1  # stands for a NULL value in the low half of a key; dictionary codes never reach it
_HALF = 2**32
_CI_CODES = {0: "false", 1: "true", 2: "null"}


@dataclass(frozen=True)
class DailyResult:
    frame: pl.DataFrame  # DAILY_FRAME, without __all__ rows
    rows_in_window: int
    dropped_package: int  # NULL project, or a normalised name over 128 characters
    dropped_python: int  # among the rest: details.python set but not like 3.12…

    @property
    def rows_counted(self) -> int:
        """Rows in the base set, i.e. ``overall``/``with_mirrors`` summed over packages."""
        return self.rows_in_window - self.dropped_package - self.dropped_python


def mirrors_for(semantics: str) -> tuple[str, ...]:
    if semantics == "pypistats":
        return PYPISTATS_MIRRORS
    if semantics == "corrected":
        return CORRECTED_MIRRORS
    raise ValueError(f"unknown semantics {semantics!r}, expected one of {SEMANTICS}")


def utc_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window as aware UTC datetimes (naive ones are taken as UTC, like ``source.scan_window``)."""
    start, end = (t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC) for t in (start, end))
    if not start < end:
        raise ValueError(f"empty window: {start} .. {end}")
    return start, end


def aggregate_day(
    frame_or_lazy: pl.LazyFrame | pl.DataFrame,
    start: datetime,
    end: datetime,
    semantics: str = "corrected",
) -> DailyResult:
    """Aggregate the log rows (``FILE_DOWNLOADS`` schema) with start <= timestamp < end."""
    start, end = utc_window(start, end)
    groups, categories = _group_plan(
        frame_or_lazy.lazy(), start, end, _not_mirror(pl.col("installer"), semantics)
    )
    # The streaming engine reads the source once and feeds every group-by from it without holding the rows.
    raw = _dimensions(groups.collect(engine="streaming"), categories, semantics)
    return split_counts(raw)


def _not_mirror(installer: pl.Expr, semantics: str) -> pl.Expr:
    """The installer condition of ``without_mirrors``, true or false, never NULL."""
    mirrors = mirrors_for(semantics)
    if semantics == "pypistats":
        # pypistats writes NOT IN, which is NULL for a NULL installer: those rows never count without mirrors.
        return installer.is_not_null() & ~installer.is_in(mirrors)
    return installer.is_null() | ~installer.is_in(mirrors)


def _group_plan(
    lazy: pl.LazyFrame, start: datetime, end: datetime, not_mirror: pl.Expr
) -> tuple[pl.LazyFrame, dict[str, pl.Categories]]:
    details, file = pl.col("details"), pl.col("file")
    leaves = lazy.filter(pl.col("timestamp").is_between(start, end, closed="left")).select(
        project=file.struct.field("project"),
        version=file.struct.field("version"),
        country=pl.col("country_code"),
        installer=details.struct.field("installer").struct.field("name"),
        python=details.struct.field("python"),
        system=details.struct.field("system").struct.field("name"),
        ci=details.struct.field("ci"),
    )
    # A fresh mapping per column and per call: codes stay dense and the mapping dies with this aggregation.
    categories = {name: pl.Categories.random() for name in _CODED}
    python = pl.col("python")
    coded = leaves.select(
        *(pl.col(name).cast(pl.Categorical(categories[name])).to_physical() for name in _CODED),
        ci=pl.col("ci").cast(pl.UInt32).fill_null(2),
        # Row-level flags: in the base set as far as python goes, and not fetched by a mirror. Both are
        # decided again per group below for the dimensions keyed by python or installer themselves.
        python_ok=python.is_null() | python.str.contains(PYTHON_RULE),
        not_mirror=not_mirror,
    )

    def by(column: str, **counts: pl.Expr) -> pl.LazyFrame:
        """Per (project, value of ``column``): the given counts. Sums of flags rather than filters, so that
        every group-by takes every row, which the engine fans out best."""
        low = pl.col(column).cast(pl.UInt64).fill_null(_NULL_CODE)
        key = pl.col("project").cast(pl.UInt64) * _HALF + low  # NULL when the project is NULL
        return coded.group_by(key.alias("key")).agg(
            **{name: count.cast(pl.Int64) for name, count in counts.items()}
        )

    ok = pl.col("python_ok").sum()
    parts = {
        # Every row in the window: also overall and the two drop counts.
        "installer": by("installer", rows=pl.len(), base=ok),
        "python": by("python", not_mirror=pl.col("not_mirror").sum()),  # python_major and python_minor
        "system": by("system", without=(pl.col("python_ok") & pl.col("not_mirror")).sum()),
        "country": by("country", base=ok),
        "version": by("version", base=ok),
        "ci": by("ci", base=ok),
    }
    groups = pl.concat(
        [part.with_columns(part=pl.lit(name)) for name, part in parts.items()], how="diagonal_relaxed"
    )
    return groups, categories


def _decode(codes: pl.Expr, categories: pl.Categories) -> pl.Expr:
    values = categories.to_series()
    return pl.lit(values).gather(pl.when(codes != _NULL_CODE).then(codes.cast(pl.UInt32)))


def normalize_package(name: pl.Expr) -> pl.Expr:
    """PEP 503: lowercase, runs of '-', '_' and '.' become one '-'."""
    return name.str.to_lowercase().str.replace_all(r"[-_.]+", "-")


def _dimensions(groups: pl.DataFrame, categories: dict[str, pl.Categories], semantics: str) -> pl.DataFrame:
    """From the coded groups to (dimension, package, category, downloads) plus the ``_counts`` rows."""
    key = pl.col("key")
    groups = groups.with_columns(
        package=normalize_package(_decode(key // _HALF, categories["project"])), low=key % _HALF
    ).with_columns(
        package=pl.when(pl.col("package").str.len_chars() <= MAX_PACKAGE_LENGTH).then("package"),
    )
    kept = groups.filter(pl.col("package").is_not_null())

    def part(name: str) -> pl.DataFrame:
        return kept.filter(pl.col("part") == name)

    def value(name: str) -> pl.Expr:
        return _decode(pl.col("low"), categories[name])

    frames = []

    def emit(frame: pl.DataFrame, dimension: str, category: pl.Expr, downloads: str) -> None:
        frames.append(
            frame.select(
                dimension=pl.lit(dimension), package="package", category=category, downloads=downloads
            )
        )

    installer = part("installer").with_columns(installer=value("installer"))
    name = pl.col("installer")
    emit(installer, "overall", pl.lit("with_mirrors"), "base")
    emit(installer.filter(_not_mirror(name, semantics)), "overall", pl.lit("without_mirrors"), "base")
    emit(installer, "installer", name.fill_null("null"), "base")

    py = pl.col("python")
    python = (
        part("python")
        .with_columns(python=value("python"))
        .filter(py.is_null() | py.str.contains(PYTHON_RULE))
    )
    major = py.str.extract(r"^([^.]*)", 1)  # the text before the first dot
    minor = py.str.extract(r"^([0-9]+\.[0-9]+)", 1)  # 3.12 from 3.12.4, 3.13 from 3.13t
    emit(python, "python_major", major.fill_null("null"), "not_mirror")
    emit(python, "python_minor", minor.fill_null("null"), "not_mirror")

    system = value("system")
    bucket = pl.when(system.is_in(SYSTEMS_KEPT)).then(system).when(system.is_null()).then(pl.lit("null"))
    emit(part("system"), "system", bucket.otherwise(pl.lit("other")), "without")
    for dimension in ("country", "version"):
        emit(part(dimension), dimension, value(dimension).fill_null("null"), "base")
    ci = pl.col("low").replace_strict(_CI_CODES, return_dtype=pl.String)
    emit(part("ci"), "ci", ci, "base")

    dims = (
        pl.concat(frames)
        .group_by("dimension", "package", "category")
        .agg(pl.col("downloads").sum())
        .filter(
            pl.col("downloads") > 0,
            # pypistats discards these python categories (they cannot pass the python rule anyway).
            ~(
                pl.col("dimension").is_in(["python_major", "python_minor"])
                & pl.col("category").is_in(["", "."])
            ),
        )
    )

    # The installer groups see every row in the window, dropped packages included.
    everything = groups.filter(pl.col("part") == "installer")
    counts = pl.DataFrame(
        {
            "dimension": COUNTS_DIMENSION,
            "package": ALL_PACKAGES,
            "category": ["rows_in_window", "dropped_package", "dropped_python"],
            "downloads": [
                everything["rows"].sum(),
                everything.filter(pl.col("package").is_null())["rows"].sum(),
                (part("installer")["rows"] - part("installer")["base"]).sum(),
            ],
        }
    )
    return pl.concat([dims.cast(DAILY_FRAME), counts.cast(DAILY_FRAME)])


def split_counts(raw: pl.DataFrame) -> DailyResult:
    """Separate the ``_counts`` rows a query returns from the dimension rows."""
    is_count = pl.col("dimension") == COUNTS_DIMENSION
    counts = dict(raw.filter(is_count).select("category", "downloads").iter_rows())
    return DailyResult(
        frame=raw.filter(~is_count).cast(DAILY_FRAME),
        rows_in_window=int(counts.get("rows_in_window") or 0),
        dropped_package=int(counts.get("dropped_package") or 0),
        dropped_python=int(counts.get("dropped_python") or 0),
    )


def add_all_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Append, per (dimension, category), the sum over packages as package ``__all__``.

    Existing ``__all__`` rows are replaced, so applying it twice changes nothing.
    """
    packages = frame.filter(pl.col("package") != ALL_PACKAGES)
    totals = (
        packages.group_by("dimension", "category")
        .agg(pl.col("downloads").sum())
        .select("dimension", package=pl.lit(ALL_PACKAGES), category="category", downloads="downloads")
        .sort("dimension", "category")
    )
    return pl.concat([packages, totals]).cast(DAILY_FRAME)
