"""The scan bundle's README says what the records hold, including whether typosquatting could be checked."""

import hashlib
from datetime import UTC, date, datetime

from pypi_platform.lib.scans.batch import LocalFile, PackageInput, scan_packages
from pypi_platform.lib.scans.dataset import scan_files
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
    files = {f.name: f.data for f in scan_files(date(2026, 12, 7), [stored], ["reqeusts"], host="scanner")}
    return files["README.txt"].decode()


def test_the_readme_says_when_no_download_statistics_were_available(tmp_path):
    readme = _readme(tmp_path, PopularNames.from_downloads(None))
    assert "Typosquatting: not checked: no download statistics were available (1 records)" in readme


def test_the_readme_says_what_typosquats_were_checked_against(tmp_path):
    readme = _readme(tmp_path, PopularNames.from_downloads([("requests", 10**8)], min_downloads=10**6))
    assert "Typosquatting: checked against 1 projects with at least 1,000,000 downloads" in readme
