"""The shapes of the published datasets, shared by the builders, the publisher, the checks and the tests.

Project and dependency names are PEP 503-normalized everywhere. Each dataset is published twice: in the format
Aura's consumers read (``AURA_FILES``) and as Parquet in the schema below.
"""

from __future__ import annotations

import polars as pl

from pypi_platform.lib.mirror.reads import MIRRORED_PROJECTS

# package_list: every mirrored project, one row each, sorted by name: the mirror's own rows.
PACKAGE_LIST = MIRRORED_PROJECTS

# dependency_list: one row per requirement of the latest release of every mirrored project, plus one row per
# release (requirement null) or requirement that could not be read, with the reason in ``problem``.
DEPENDENCY_LIST = pl.Schema(
    {
        "project": pl.String,  # the depending project, normalized
        "version": pl.String,  # its latest release
        "requirement": pl.String,  # the Requires-Dist string as written; null for a release-level problem
        "name": pl.String,  # the dependency, normalized; null when the requirement did not parse
        "specifier": pl.String,  # e.g. ">=1.0,<2"; "" when none
        "extras": pl.List(pl.String),  # extras of the dependency asked for, e.g. ["socks"]
        "marker": pl.String,  # the environment marker as packaging prints it; null when none
        "extra": pl.String,  # the extra of the depending project this requirement sits behind, if any
        "source": pl.String,  # where the metadata came from: "sidecar", "wheel", "sdist"; null if none
        "problem": pl.String,  # null for a good edge; otherwise "<kind>: <detail>"
    }
)

# Kinds of ``problem``. A row with a problem is never an edge of reverse_dependencies.
PROBLEM_NO_FILES = "no-files"  # every file of the latest release was skipped by the mirror's filters
PROBLEM_NO_METADATA = "no-metadata"  # no sidecar, and no METADATA/PKG-INFO in any file
PROBLEM_INVALID_METADATA = "invalid-metadata"  # not parseable as core metadata
PROBLEM_INVALID_REQUIREMENT = "invalid-requirement"  # packaging rejected the Requires-Dist string
PROBLEM_SELF_DEPENDENCY = "self-dependency"  # e.g. foo[all] requiring foo[extra]: kept, but not an edge

# reverse_dependencies: every project that is mirrored or depended upon, with the sorted, distinct projects
# that depend on it (an empty list when none do).
REVERSE_DEPENDENCIES = pl.Schema({"name": pl.String, "dependents": pl.List(pl.String)})

# download_stats_30d: downloads without mirrors over the 30 days ending ``window_end``, most downloaded first.
DOWNLOAD_STATS = pl.Schema(
    {"package_name": pl.String, "downloads": pl.Int64, "window_start": pl.Date, "window_end": pl.Date}
)

# The file each dataset publishes in Aura's format, and the bundle's member for it.
AURA_FILES = {
    "package_list": "pypi_package_list.gz",
    "dependency_list": "dependency_list.gz",
    "reverse_dependencies": "reverse_dependencies.gz",
    "download_stats_30d": "pypi_download_stats.gz",
}
BUNDLE_MEMBERS = {
    "reverse_dependencies": "reverse_dependencies.json",
    "download_stats_30d": "pypi_stats.json",
}
