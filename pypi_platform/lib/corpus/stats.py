"""Ecosystem statistics from the corpus: language features by month, and pyproject.toml against setup.py.

Every unique Python blob is parsed once per parser (results kept in ``corpus.blob_features``), then the results
fan out through the index to the files, releases and projects that hold the blob. Every figure names its unit:
``projects`` and ``releases`` count distinct projects and releases uploaded in the month with at least one file
that uses the feature, over ``*_with_python``, those with any Python file at all. Files the parser rejected are
counted under their status, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl
import psycopg

from pypi_platform.lib.corpus.features import PARSER, BlobFeatures, features_of_blobs

STATUS_PREFIX = "status:"  # the parse statuses appear beside the features, as pseudo-features


def unique_python_blobs(index: pl.DataFrame) -> pl.DataFrame:
    """(hash, repository) of every committed ``.py`` blob, at the shard where it was first uploaded."""
    return (
        _python_files(index)
        .sort("uploaded_on")
        .unique(subset="hash", keep="first", maintain_order=True)
        .select("hash", "repository")
    )


def known_features(conn: psycopg.Connection, oids: Iterable[bytes], parser: str = PARSER) -> set[bytes]:
    rows = conn.execute(
        "SELECT oid FROM corpus.blob_features WHERE parser = %s AND oid = ANY(%s)", (parser, list(oids))
    ).fetchall()
    return {bytes(oid) for (oid,) in rows}


def save_features(conn: psycopg.Connection, results: Iterable[BlobFeatures], parser: str = PARSER) -> int:
    saved = 0
    with (
        conn.transaction(),
        conn.cursor() as cursor,
        cursor.copy("COPY corpus.blob_features (oid, parser, status, features, lines) FROM STDIN") as copy,
    ):
        for result in results:
            copy.write_row((result.oid, parser, result.status, sorted(result.features), result.lines))
            saved += 1
    return saved


def parse_new_blobs(
    conn: psycopg.Connection,
    blobs: pl.DataFrame,
    repository_of: Callable[[int], Path],
    workers: int,
    batch: int = 2_000,
) -> int:
    """Parse the blobs no earlier run has parsed with this parser, a shard at a time; returns how many."""
    parsed = 0
    for (shard,), group in blobs.group_by(["repository"], maintain_order=True):
        oids = group["hash"].to_list()
        for start in range(0, len(oids), batch):
            chunk = oids[start : start + batch]
            known = known_features(conn, chunk)
            todo = [oid for oid in chunk if oid not in known]
            if todo:
                parsed += save_features(conn, features_of_blobs(repository_of(shard), todo, workers=workers))
    return parsed


def blob_features(conn: psycopg.Connection, oids: Iterable[bytes], parser: str = PARSER) -> pl.DataFrame:
    rows = conn.execute(
        "SELECT oid, status, features, lines FROM corpus.blob_features WHERE parser = %s AND oid = ANY(%s)",
        (parser, list(oids)),
    ).fetchall()
    return pl.DataFrame(
        [(bytes(oid), status, list(features), lines) for oid, status, features, lines in rows],
        schema={"hash": pl.Binary, "status": pl.String, "features": pl.List(pl.String), "lines": pl.Int64},
        orient="row",
    )


def features_monthly(index: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    """Per upload month and feature: projects and releases using it, over those with any Python file."""
    files = _python_files(index).with_columns(month=pl.col("uploaded_on").dt.truncate("1mo").dt.date())
    files = files.select("month", "project_name", "project_version", "hash")
    totals = files.group_by("month").agg(
        projects_with_python=pl.col("project_name").n_unique(),
        releases_with_python=pl.struct("project_name", "project_version").n_unique(),
    )
    flags = features.select(
        "hash",
        pl.concat_list(pl.col("features"), pl.lit(STATUS_PREFIX) + pl.col("status")).alias("feature"),
    ).explode("feature")
    used = (
        files.join(flags, on="hash", how="inner")
        .group_by("month", "feature")
        .agg(
            projects=pl.col("project_name").n_unique(),
            releases=pl.struct("project_name", "project_version").n_unique(),
        )
    )
    return (
        used.join(totals, on="month", how="left")
        .with_columns(
            project_share=pl.col("projects") / pl.col("projects_with_python"),
            release_share=pl.col("releases") / pl.col("releases_with_python"),
        )
        .sort("month", "feature")
    )


_BUILD_FILE = r"^[^/]+/(pyproject\.toml|setup\.py)$"  # at the top of an sdist, beside PKG-INFO


def build_files_monthly(index: pl.DataFrame) -> pl.DataFrame:
    """Per upload month, sdists (release files) with pyproject.toml only, setup.py only, both, or neither."""
    sdists = index.filter(pl.col("packagetype") == "sdist")
    found = (
        sdists.filter(pl.col("archive_path").str.contains(_BUILD_FILE))
        .with_columns(kind=pl.col("archive_path").str.extract(_BUILD_FILE, 1))
        .group_by("project_release")
        .agg(
            pyproject=(pl.col("kind") == "pyproject.toml").any(),
            setup_py=(pl.col("kind") == "setup.py").any(),
        )
    )
    releases = (
        sdists.group_by("project_release")
        .agg(month=pl.col("uploaded_on").first().dt.truncate("1mo").dt.date())
        .join(found, on="project_release", how="left")
        .with_columns(pl.col("pyproject").fill_null(False), pl.col("setup_py").fill_null(False))
    )
    return (
        releases.group_by("month")
        .agg(
            sdists=pl.len(),
            pyproject_only=(pl.col("pyproject") & ~pl.col("setup_py")).sum(),
            setup_py_only=(~pl.col("pyproject") & pl.col("setup_py")).sum(),
            both=(pl.col("pyproject") & pl.col("setup_py")).sum(),
            neither=(~pl.col("pyproject") & ~pl.col("setup_py")).sum(),
        )
        .sort("month")
    )


def parse_statuses(features: pl.DataFrame) -> pl.DataFrame:
    """Unique blobs and their lines by parse status: how much of the corpus the figures rest on."""
    return (
        features.group_by("status")
        .agg(blobs=pl.len(), lines=pl.col("lines").sum())
        .with_columns(parser=pl.lit(PARSER))
        .sort("status")
    )


def _python_files(index: pl.DataFrame) -> pl.DataFrame:
    return index.filter(pl.col("path").str.ends_with(".py") & (pl.col("skip_reason") == ""))
