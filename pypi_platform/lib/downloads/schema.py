"""The shapes the downloads domain passes around.

``FILE_DOWNLOADS`` mirrors the public BigQuery table of download logs, leaf for leaf, for the
columns we read and those the sample writes; local Parquet sources must match it. ``DAILY_FRAME`` is what one
day's aggregation returns, from BigQuery SQL or from polars alike: one row per (dimension, package, category).
"""

from __future__ import annotations

import polars as pl

INSTALLER = pl.Struct({"name": pl.String, "version": pl.String})
SYSTEM = pl.Struct({"name": pl.String, "release": pl.String})
IMPLEMENTATION = pl.Struct({"name": pl.String, "version": pl.String})
DETAILS = pl.Struct(
    {
        "installer": INSTALLER,
        "python": pl.String,
        "implementation": IMPLEMENTATION,
        "system": SYSTEM,
        "cpu": pl.String,
        "ci": pl.Boolean,
    }
)
FILE = pl.Struct({"filename": pl.String, "project": pl.String, "version": pl.String, "type": pl.String})

FILE_DOWNLOADS = pl.Schema(
    {
        "timestamp": pl.Datetime("us", "UTC"),
        "country_code": pl.String,
        "url": pl.String,
        "project": pl.String,
        "file": FILE,
        "details": DETAILS,
        "tls_protocol": pl.String,
        "tls_cipher": pl.String,
    }
)

# The leaves a daily aggregation reads; nothing else is scanned (nested fields bill per leaf on BigQuery).
LEAVES_READ = (
    "timestamp",
    "country_code",
    "file.project",
    "file.version",
    "details.installer.name",
    "details.python",
    "details.system.name",
    "details.ci",
)

DIMENSIONS = ("overall", "python_major", "python_minor", "system", "installer", "country", "version", "ci")

DAILY_FRAME = pl.Schema(
    {"dimension": pl.String, "package": pl.String, "category": pl.String, "downloads": pl.Int64}
)

# pypistats.org counts exactly these installers as mirrors.
PYPISTATS_MIRRORS = ("bandersnatch", "z3c.pypimirror", "Artifactory", "devpi")
# Our corrected definition also counts the other proxy and mirror tools.
CORRECTED_MIRRORS = (*PYPISTATS_MIRRORS, "Nexus", "pep381client")
