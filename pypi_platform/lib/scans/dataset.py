"""The published scan, in the layout of Aura's global-scan bundle plus a Parquet table of findings.

Every input package has exactly one line in ``dataset.zst``, scanned or not: its status says which (ok,
no-files, error, timeout, oom, crash, fetch-error), so a reader can tell "nothing found" from "not looked at".
Paths in records are relative to the release file; nothing names a directory of the machine that scanned.

The findings table (``findings_frame``, the product of each ``global_scan`` bucket and, all buckets together,
the published ``findings.parquet``) has one row per finding, with the package's status, score and flag on
every row. A package with no finding, or whose scan failed, is one row whose finding columns (``rule`` and
the rest) are null. One table rather than a second one of packages: a bucket is then one frame for the IO
manager and one file to open, it still lists every package the bucket scanned as ``dataset.zst`` does, and
``rule.is_not_null()`` leaves just the findings.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Protocol

import polars as pl
import zstandard

from pypi_platform.lib.frames import parquet_bytes
from pypi_platform.lib.publish import DatasetFile, checksum_text
from pypi_platform.lib.scans.batch import SCHEMA_VERSION
from pypi_platform.lib.scans.findings import RULESET_VERSION
from pypi_platform.lib.scans.parsing import GRAMMAR
from pypi_platform.lib.scans.state import StoredOutcome

FINDINGS = pl.Schema(
    {
        "name": pl.String,
        "version": pl.String,
        "status": pl.String,
        "package_score": pl.Float64,  # null unless status is ok
        "flagged": pl.Boolean,
        "error": pl.String,  # null unless the scan failed
        # The finding: all null on a package's one row when it has none.
        "file": pl.String,
        "file_sha256": pl.String,
        "path": pl.String,
        "line": pl.Int64,
        "rule": pl.String,
        "kind": pl.String,
        "severity": pl.String,
        "score": pl.Int64,
        "context": pl.String,
        "evidence": pl.String,
        "fingerprint": pl.String,
    }
)
JOBLOG_HEADER = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tStatus\tCommand\n"
# Exit values in the manner of GNU parallel and timeout(1), so joblog readers can filter on them as before.
_EXIT = {"ok": (0, 0), "no-files": (0, 0), "timeout": (124, 9), "oom": (137, 9), "crash": (139, 11)}
_ZSTD_LEVEL = 10


class Outcome(Protocol):
    """A package's scan outcome: a fresh one (``PackageOutcome``) or one read back (``StoredOutcome``)."""

    name: str
    version: str | None
    status: str
    record: dict


def scan_files(
    scan_date: date,
    outcomes: Sequence[StoredOutcome],
    input_packages: Sequence[str],
    host: str,
    findings: pl.DataFrame,
) -> list[DatasetFile]:
    """The bundle's files, checksums last; `outcomes` sorted by name, `findings` the rows of every bucket."""
    statuses = Counter(o.status for o in outcomes)
    files = [
        DatasetFile("dataset.zst", _dataset_zst(outcomes), len(outcomes)),
        DatasetFile("joblog.txt", _joblog(outcomes, host), len(outcomes)),
        DatasetFile("input_packages.txt", _lines(sorted(input_packages)), len(input_packages)),
        DatasetFile("package_list.txt", _lines(o.name for o in outcomes if o.status == "ok"), statuses["ok"]),
        DatasetFile("findings.parquet", parquet_bytes(findings), findings.height),
        DatasetFile(
            "README.txt",
            _readme(
                scan_date,
                len(input_packages),
                statuses,
                findings["rule"].is_not_null().sum(),
                _typosquatting(outcomes),
            ),
        ),
    ]
    files.append(
        DatasetFile(
            "checksums.md5.txt",
            checksum_text({f.name: hashlib.md5(f.data, usedforsecurity=False).hexdigest() for f in files}),
        )
    )
    files.append(
        DatasetFile(
            "checksums.sha256.txt",
            checksum_text({f.name: hashlib.sha256(f.data).hexdigest() for f in files[:-1]}),
        )
    )
    return files


def findings_frame(outcomes: Iterable[Outcome]) -> pl.DataFrame:
    """One row per finding of each package, or one row with null finding columns when it has none; by name."""
    rows = []
    for outcome in sorted(outcomes, key=lambda o: o.name):
        record = outcome.record
        package = (
            outcome.name,
            outcome.version,
            outcome.status,
            record.get("score"),
            bool(record.get("flagged")),
            record.get("error") or None,
        )
        sha256_of = {f["filename"]: f["sha256"] for f in record.get("files", [])}
        detections = record.get("detections", [])
        for d in detections:
            rows.append(
                (
                    *package,
                    d["file"],
                    sha256_of.get(d["file"]),
                    d["path"],
                    d["line"],
                    d["rule"],
                    d["kind"],
                    d["severity"],
                    d["score"],
                    d["context"],
                    d["evidence"],
                    d["fingerprint"],
                )
            )
        if not detections:
            rows.append((*package, *[None] * (len(FINDINGS) - len(package))))
    return pl.DataFrame(rows, schema=FINDINGS, orient="row")


def unmatched_packages(findings: pl.DataFrame, outcomes: Iterable[Outcome]) -> list[str]:
    """Packages whose version or status differ between a findings table and the outcomes, or that only one
    of them has: the table and the records were saved by different runs."""
    in_table = set(findings.select("name", "version", "status").unique().iter_rows())
    in_outcomes = {(o.name, o.version, o.status) for o in outcomes}
    return sorted({name for name, _, _ in in_table ^ in_outcomes})


def _dataset_zst(outcomes: Sequence[StoredOutcome]) -> bytes:
    lines = b"".join(
        json.dumps(o.record, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogateescape")
        + b"\n"
        for o in outcomes
    )
    return zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(lines)


def _joblog(outcomes: Sequence[StoredOutcome], host: str) -> bytes:
    ordered = sorted(outcomes, key=lambda o: o.started_at)
    lines = [JOBLOG_HEADER]
    for seq, o in enumerate(ordered, start=1):
        exitval, signal = _EXIT.get(o.status, (1, 0))
        size = sum(f["size"] for f in o.record.get("files", []))
        lines.append(
            f"{seq}\t{host}\t{o.started_at.timestamp():.3f}\t{o.duration:.3f}\t{size}\t0\t{exitval}\t{signal}"
            f"\t{o.status}\t{o.name}\n"
        )
    return "".join(lines).encode()


def _lines(names) -> bytes:
    return "".join(f"{name}\n" for name in names).encode()


def _typosquatting(outcomes: Sequence[StoredOutcome]) -> str:
    """What the scanned records say about the typosquatting check, e.g. that no statistics were available."""
    bases = Counter(
        ("checked against " if status["checked"] else "") + status["basis"]
        for o in outcomes
        if (status := o.record.get("typosquatting"))
    )
    if not bases:
        return "no project was scanned"
    return "; ".join(f"{basis} ({count:,} records)" for basis, count in sorted(bases.items()))


def _readme(scan_date: date, inputs: int, statuses: Counter, findings: int, typosquatting: str) -> bytes:
    status_lines = "".join(f"  {status}: {count:,}\n" for status, count in sorted(statuses.items()))
    return f"""pypi-platform security scan of {scan_date:%Y-%m-%d}
Static analysis of the latest release of every mirrored project: every release file of it (sdist and wheels),
read in memory and never executed. Schema version {SCHEMA_VERSION}, ruleset version {RULESET_VERSION}; Python
sources read with the Python {GRAMMAR} grammar (statements of a newer Python are reported as parse.newer-syntax).

Projects in the mirror at scan start: {inputs:,}
Records by status:
{status_lines}Findings: {findings:,}
Typosquatting: {typosquatting}

Files
  dataset.zst           zstd stream of JSON lines, one per input project: schema_version, ruleset_version,
                        python_grammar, name, version, status, files (filename, sha256, size, packagetype, score),
                        detections (rule, severity, score, kind, file, path, line, evidence, context,
                        weight, at_import, fingerprint), score (0-100, null unless status is ok),
                        flagged (score >= 30), score_parts (what the score is built from: each part's
                        file, path, context, rules, score and the share it counts at), typosquatting
                        (checked or not, against which popular names), coverage, error
  findings.parquet      every detection as a row, with the project's version, status, package_score,
                        flagged and error and the release file's sha256; a project without detections
                        (status ok with none, or not scanned to the end) is one row with a null rule
  joblog.txt            one line per project, tab-separated: Seq Host Starttime JobRuntime Send Receive
                        Exitval Signal Status Command (GNU parallel's columns, plus Status; Send = bytes)
  input_packages.txt    every project in the mirror when the scan started
  package_list.txt      the projects scanned to the end (status ok)
  checksums.md5.txt, checksums.sha256.txt   digests of the files above

Paths in detections are relative to the release file; "a.whl!inner.zip!x.py" names a member of a nested
archive. Scores correlate capability and threat within a file and weigh each file by where it sits
(install-time code 1.5; tests, docs, examples, vendored code and data 0.5); score_parts shows the sum. Read
the rule ids, not the score alone. Findings are leads for a human, not verdicts.

Licence: CC BY 4.0.
""".encode()
