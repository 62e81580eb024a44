"""The scan bundle: its README says what the records hold, including whether typosquatting could be checked;
its findings table lists every package, a finding a row, a package without findings (or not scanned) a row."""

import hashlib
from datetime import UTC, date, datetime

import polars as pl

from pypi_platform.lib.scans.batch import LocalFile, PackageInput, failure_record, scan_packages
from pypi_platform.lib.scans.dataset import FINDINGS, findings_frame, scan_files, unmatched_packages
from pypi_platform.lib.scans.state import StoredOutcome
from pypi_platform.lib.scans.typosquat import PopularNames
from pypi_platform_testkit.dists import build_wheel


def _readme(tmp_path, popular: PopularNames) -> str:
    data = build_wheel("reqeusts", "1.0")[1]
    path = tmp_path / "reqeusts-1.0-py3-none-any.whl"
    path.write_bytes(data)
    package = PackageInput(
        "reqeusts",
        "1.0",
        (LocalFile(path.name, str(path), hashlib.sha256(data).hexdigest(), len(data), "wheel"),),
    )
    [outcome] = scan_packages([package], workers=1, timeout=60, top_names=popular)
    stored = StoredOutcome(
        outcome.name, outcome.version, outcome.status, datetime.now(UTC), 0.1, outcome.record
    )
    scanned = scan_files(date(2026, 12, 7), [stored], ["reqeusts"], "scanner", findings_frame([stored]))
    files = {f.name: f.data for f in scanned}
    return files["README.txt"].decode()


def test_the_readme_says_when_no_download_statistics_were_available(tmp_path):
    readme = _readme(tmp_path, PopularNames.from_downloads(None))
    assert "Typosquatting: not checked: no download statistics were available (1 records)" in readme


def test_the_readme_says_what_typosquats_were_checked_against(tmp_path):
    readme = _readme(tmp_path, PopularNames.from_downloads([("requests", 10**8)], min_downloads=10**6))
    assert "Typosquatting: checked against 1 projects with at least 1,000,000 downloads" in readme


def _stored(name: str, status: str, record: dict) -> StoredOutcome:
    return StoredOutcome(name, "1.0", status, datetime.now(UTC), 0.1, record)


def _outcomes(tmp_path) -> list[StoredOutcome]:
    """A typosquat (one finding), a package with no files, and one whose worker timed out."""
    data = build_wheel("reqeusts", "1.0")[1]
    path = tmp_path / "reqeusts-1.0-py3-none-any.whl"
    path.write_bytes(data)
    wheel = LocalFile(path.name, str(path), hashlib.sha256(data).hexdigest(), len(data), "wheel")
    popular = PopularNames.from_downloads([("requests", 10**8)], min_downloads=10**6)
    packages = [PackageInput("reqeusts", "1.0", (wheel,)), PackageInput("empty", "1.0", ())]
    outcomes = [
        _stored(o.name, o.status, o.record)
        for o in scan_packages(packages, workers=1, timeout=60, top_names=popular)
    ]
    slow = PackageInput("slow", "1.0", (wheel,))
    return [*outcomes, _stored("slow", "timeout", failure_record(slow, "timeout", "ran over 60 s"))]


def test_the_findings_table_has_a_row_for_every_finding_and_for_every_quiet_or_failed_package(tmp_path):
    findings = findings_frame(_outcomes(tmp_path))

    assert findings.schema == FINDINGS
    assert findings.select("name", "status", "rule", "flagged", "error").rows() == [
        ("empty", "no-files", None, False, None),
        ("reqeusts", "ok", "metadata.typosquat", True, None),
        ("slow", "timeout", None, False, "ran over 60 s"),
    ]
    assert findings.filter(pl.col("name") == "slow")["package_score"].to_list() == [None]


def test_the_readme_counts_findings_not_rows(tmp_path):
    outcomes = sorted(_outcomes(tmp_path), key=lambda o: o.name)
    names = [o.name for o in outcomes]
    files = {
        f.name: f for f in scan_files(date(2026, 12, 7), outcomes, names, "scanner", findings_frame(outcomes))
    }

    assert "Findings: 1\n" in files["README.txt"].data.decode()
    assert files["findings.parquet"].rows == 3


def test_packages_that_the_table_and_the_records_disagree_on_are_named(tmp_path):
    outcomes = _outcomes(tmp_path)
    findings = findings_frame(outcomes)
    assert unmatched_packages(findings, outcomes) == []

    rescanned = [o if o.name != "slow" else _stored("slow", "ok", o.record) for o in outcomes]
    missing = findings.filter(pl.col("name") != "empty")
    assert unmatched_packages(missing, rescanned) == ["empty", "slow"]
