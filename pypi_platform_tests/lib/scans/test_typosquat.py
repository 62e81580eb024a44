"""Typosquatting: one edit, a swap, separators or a py/python affix away from a popular name; not popular itself."""

import pytest

from pypi_platform.lib.scans.typosquat import PopularNames, typosquat_findings

POPULAR = PopularNames(
    ["requests", "numpy", "Django", "python-dateutil", "beautifulsoup4", "six", "boto3", "boto"]
)


@pytest.mark.parametrize(
    ("name", "imitated"),
    [
        ("reqeusts", "requests"),  # neighbours swapped
        ("requestss", "requests"),  # one letter added
        ("reuests", "requests"),  # one letter dropped
        ("numpu", "numpy"),  # one letter changed
        ("Dj_ango", "django"),  # PEP 503 normalisation, then one edit
        ("pythondateutil", "python-dateutil"),  # separators only
        ("python-numpy", "numpy"),
        ("requests-py", "requests"),
        ("beautifulsoup", "beautifulsoup4"),
    ],
)
def test_lookalikes_name_the_project_they_imitate(name, imitated):
    [finding] = typosquat_findings(name, POPULAR)
    assert finding.rule == "metadata.typosquat"
    assert imitated in finding.evidence


@pytest.mark.parametrize("name", ["requests", "Boto", "boto3", "sax", "flask", "numpy-financial-tools"])
def test_popular_short_and_unrelated_names_are_left_alone(name):
    assert typosquat_findings(name, POPULAR) == []


def test_without_download_statistics_nothing_is_flagged():
    assert typosquat_findings("reqeusts", PopularNames([])) == []


# --- what "popular" means, and saying when the check could not run -------------------------------------------
def test_popular_means_a_download_threshold_not_a_rank():
    # A mirror whose statistics hold few projects: its small names are not worth imitating, its big one is.
    downloads = [("requests", 50_000_000), ("tinylib", 40), ("otherlib", 12)]
    popular = PopularNames.from_downloads(downloads, min_downloads=1_000_000)
    assert popular.names == {"requests"}
    assert popular.lookalike("reqeusts") == "requests"
    assert popular.lookalike("tinylip") is None


def test_the_most_downloaded_are_kept_when_too_many_pass_the_threshold():
    downloads = [(f"project-{index:03d}", 2_000_000 + index) for index in range(20)]
    popular = PopularNames.from_downloads(downloads, min_downloads=1_000_000, max_names=5)
    assert popular.names == {f"project-{index:03d}" for index in range(15, 20)}


def test_without_download_statistics_the_check_says_it_did_not_run():
    status = PopularNames.from_downloads(None, min_downloads=1_000_000).status()
    assert status == {
        "checked": False,
        "popular_names": 0,
        "basis": "not checked: no download statistics were available",
    }
    assert PopularNames([]).status()["checked"] is False


def test_statistics_with_no_popular_name_say_so():
    status = PopularNames.from_downloads([("tinylib", 40)], min_downloads=1_000_000).status()
    assert status["checked"] is False and "1,000,000" in status["basis"]


def test_a_checked_status_names_its_basis():
    status = PopularNames.from_downloads([("requests", 5_000_000)], min_downloads=1_000_000).status()
    assert status == {
        "checked": True,
        "popular_names": 1,
        "basis": "1 projects with at least 1,000,000 downloads in 30 days",
    }
