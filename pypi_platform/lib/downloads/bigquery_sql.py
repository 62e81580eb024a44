"""The daily aggregation as BigQuery SQL, and the same query run locally on DuckDB over Parquet.

BigQuery is the production engine; DuckDB runs the very same text after sqlglot has transpiled it, so the SQL is
tested against the polars path (aggregate.py) without a cloud account. Only the table name, the mirror list and
one boolean are rendered into the template, all validated; the window is bound as query parameters on both
engines (``@start``/``@end`` on BigQuery, ``$start``/``$end`` on DuckDB after transpiling).
"""

from __future__ import annotations

import re
import string
import tempfile
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path

import polars as pl

from pypi_platform.lib.downloads.aggregate import DailyResult, mirrors_for, split_counts, utc_window
from pypi_platform.lib.downloads.schema import DAILY_FRAME

# project.dataset.table, each part letters, digits, '-' or '_': nothing that could close the backquotes.
_TABLE_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_INSTALLER_RE = re.compile(r"[A-Za-z0-9._-]+")
# Where DuckDB reads local Parquet, the query names this table; to_duckdb swaps it for read_parquet.
LOCAL_TABLE = "local.downloads.file_downloads"


def render_daily_sql(table: str, semantics: str = "corrected") -> str:
    """The BigQuery Standard SQL for one day of ``table``; bind ``@start`` and ``@end`` as TIMESTAMP parameters."""
    if not _TABLE_RE.fullmatch(table):
        raise ValueError(f"table must look like project.dataset.table, got {table!r}")
    mirrors = mirrors_for(semantics)
    for name in mirrors:
        # The constants are trusted, but a quote slipping in would change the query, so check anyway.
        if not _INSTALLER_RE.fullmatch(name):
            raise ValueError(f"unexpected mirror installer name {name!r}")
    template = resources.files(__package__).joinpath("daily.sql").read_text(encoding="utf-8")
    return string.Template(template).substitute(
        table=table,
        mirrors=", ".join(f"'{name}'" for name in mirrors),
        null_installer_is_not_mirror="TRUE" if semantics == "corrected" else "FALSE",
    )


def _parquet_paths(files: str | Path | Sequence[str | Path]) -> list[str]:
    paths = [files] if isinstance(files, str | Path) else list(files)
    if not paths:
        raise ValueError("no Parquet files given")
    return [str(path) for path in paths]


def to_duckdb(sql: str, files: str | Path | Sequence[str | Path]) -> str:
    """Transpile BigQuery ``sql`` to DuckDB, reading its one real table from ``files`` (paths or globs).

    The parameters come out as ``$start`` and ``$end``, to be bound by DuckDB.
    """
    # sqlglot is needed only to run the query locally (tests, benchmarks), not to send it to BigQuery.
    import sqlglot
    from sqlglot import exp

    (tree,) = sqlglot.parse(sql, read="bigquery")
    # CTE references are tables without a dataset; the source table is the only qualified one.
    sources = [table for table in tree.find_all(exp.Table) if table.args.get("db") is not None]
    if len(sources) != 1:
        raise ValueError(f"expected exactly one source table, found {[s.sql('bigquery') for s in sources]}")
    paths = exp.Array(expressions=[exp.Literal.string(path) for path in _parquet_paths(files)])
    sources[0].replace(exp.Table(this=exp.Anonymous(this="read_parquet", expressions=[paths])))
    return tree.sql(dialect="duckdb", pretty=True)


def run_on_duckdb(
    files: str | Path | Sequence[str | Path],
    start: datetime,
    end: datetime,
    semantics: str = "corrected",
    *,
    threads: int | None = None,
) -> DailyResult:
    """Run the BigQuery query locally on DuckDB over Parquet files in the ``FILE_DOWNLOADS`` schema."""
    import duckdb  # only the local path and the tests need it

    start, end = utc_window(start, end)
    sql = to_duckdb(render_daily_sql(LOCAL_TABLE, semantics), files)
    with duckdb.connect(":memory:") as con:
        # A source whose timestamps are naive would be compared in the session's zone: make that UTC.
        con.execute("SET TimeZone = 'UTC'")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        # The result goes through a Parquet file rather than Arrow: .pl() needs pyarrow, and handing polars
        # DuckDB's Arrow C stream works but makes DuckDB 2.0 report leaked objects at interpreter exit.
        with tempfile.TemporaryDirectory(prefix="daily-duckdb-") as directory:
            path = Path(directory, "daily.parquet")
            target = str(path).replace("'", "''")
            con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet)", {"start": start, "end": end})
            frame = pl.read_parquet(path).cast(DAILY_FRAME)
    return split_counts(frame)
