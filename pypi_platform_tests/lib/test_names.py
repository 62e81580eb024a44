"""The one package-name rule that configuration, the API and the dashboard apply."""

import pytest

from pypi_platform.lib.names import ALL_PACKAGES, MAX_NAME_LENGTH, InvalidProjectName, normalize, project_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Django", "django"),
        ("zope.interface", "zope-interface"),
        ("Foo__Bar-.baz", "foo-bar-baz"),
        ("a", "a"),
    ],
)
def test_a_valid_name_is_normalized(raw, expected):
    assert project_name(raw) == expected


@pytest.mark.parametrize(
    "raw", ["-leading", "trailing.", "six' OR 1=1--", "a b", "a/b", "six\n", "", "__all__"]
)
def test_an_invalid_name_is_refused_with_the_rule_stated(raw):
    with pytest.raises(InvalidProjectName, match="is not a valid package name: letters, digits"):
        project_name(raw)


def test_an_overlong_name_is_refused_with_its_length():
    with pytest.raises(InvalidProjectName, match=f"at most {MAX_NAME_LENGTH} characters; this one has 129"):
        project_name("a" * 129)
    assert project_name("a" * MAX_NAME_LENGTH) == "a" * MAX_NAME_LENGTH


def test_the_row_of_all_packages_keeps_its_name_when_normalized():
    assert normalize(ALL_PACKAGES) == ALL_PACKAGES
    assert normalize("Requests_OAuthlib") == "requests-oauthlib"
