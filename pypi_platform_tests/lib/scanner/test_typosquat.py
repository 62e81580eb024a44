"""Typosquatting: one edit, a swap, separators or a py/python affix away from a popular name; not popular itself."""

import pytest

from pypi_platform.lib.scanner.typosquat import PopularNames, typosquat_findings

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
