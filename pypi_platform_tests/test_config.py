"""The configuration contract: defaults, and a clear error naming the variable for every bad value."""

import pytest
from pypi_simple import PYPI_SIMPLE_ENDPOINT

from pypi_platform.lib.config import ConfigError, current_settings, load_settings


def test_defaults_are_embedded(tmp_path):
    settings = load_settings({}, cwd=tmp_path)
    assert settings.home == tmp_path / ".pypi_platform"
    assert settings.storage_url == (tmp_path / ".pypi_platform" / "storage").as_uri()
    assert settings.database_url is None
    assert settings.upstream_url == PYPI_SIMPLE_ENDPOINT
    assert settings.filters.allowlist is None and settings.filters.keep_releases == 0


def test_allowlist_from_names_and_from_a_requirements_style_file(tmp_path):
    listing = tmp_path / "projects.txt"
    listing.write_text("# comment\nZope.Interface>=5\n\nsix  # inline\n")
    assert load_settings({"PYPI_PLATFORM_MIRROR_PROJECTS": "Foo_Bar, six"}).filters.allowlist == {
        "foo-bar",
        "six",
    }
    assert load_settings({"PYPI_PLATFORM_MIRROR_PROJECTS": f"@{listing}"}).filters.allowlist == {
        "zope-interface",
        "six",
    }


def test_sizes_booleans_and_lists_parse():
    filters = load_settings(
        {
            "PYPI_PLATFORM_MIRROR_MAX_FILE_SIZE": "50M",
            "PYPI_PLATFORM_MIRROR_PRERELEASES": "off",
            "PYPI_PLATFORM_MIRROR_PACKAGE_TYPES": "sdist,wheel",
            "PYPI_PLATFORM_MIRROR_EXCLUDE_PLATFORMS": "win*, macosx*",
        }
    ).filters
    assert filters.max_file_size == 50 * 1024**2
    assert filters.prereleases is False
    assert filters.package_types == {"sdist", "wheel"}
    assert filters.exclude_platforms == ("win*", "macosx*")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PYPI_PLATFORM_MIRROR_PROJECTS", "good,not a name!"),
        ("PYPI_PLATFORM_MIRROR_PROJECTS", "@/nonexistent/projects.txt"),
        ("PYPI_PLATFORM_MIRROR_BLOCKLIST", "-leading-dash"),
        ("PYPI_PLATFORM_MIRROR_KEEP_RELEASES", "-1"),
        ("PYPI_PLATFORM_MIRROR_KEEP_RELEASES", "latest"),
        ("PYPI_PLATFORM_MIRROR_PRERELEASES", "maybe"),
        ("PYPI_PLATFORM_MIRROR_PACKAGE_TYPES", "sdist,tarball"),
        ("PYPI_PLATFORM_MIRROR_MAX_FILE_SIZE", "big"),
        ("PYPI_PLATFORM_MIRROR_WORKERS", "0"),
        ("PYPI_PLATFORM_STORAGE_URL", "ftp://host/dir"),
        ("PYPI_PLATFORM_STORAGE_URL", "s3:///no-bucket"),
        ("PYPI_PLATFORM_S3_ENDPOINT_URL", "localhost:9000"),
        ("PYPI_PLATFORM_S3_TIMEOUT_SECONDS", "soon"),
        ("PYPI_PLATFORM_S3_TIMEOUT_SECONDS", "0"),
        ("PYPI_PLATFORM_S3_MAX_ATTEMPTS", "0"),
        ("PYPI_PLATFORM_DATABASE_URL", "mysql://db"),
        ("PYPI_PLATFORM_UPSTREAM_URL", "not a url"),
        ("PYPI_PLATFORM_DOWNLOADS_SEMANTICS", "generous"),
        ("PYPI_PLATFORM_DOWNLOADS_START", "yesterday"),
        ("PYPI_PLATFORM_DOWNLOADS_RETENTION_DAYS", "-5"),
        ("PYPI_PLATFORM_BIGQUERY_TABLE", "drop table; --"),
        ("PYPI_PLATFORM_BIGQUERY_MAX_BYTES", "a lot"),
        ("PYPI_PLATFORM_SCAN_WORKERS", "0"),
        ("PYPI_PLATFORM_SCAN_TIMEOUT", "0"),
        ("PYPI_PLATFORM_SCAN_MEMORY", "lots"),
        ("PYPI_PLATFORM_SCAN_MAX_FAILED_SHARE", "1.5"),
        ("PYPI_PLATFORM_SCAN_START", "monday"),
        ("PYPI_PLATFORM_SCAN_POPULAR_DOWNLOADS", "0"),
    ],
)
def test_invalid_value_fails_naming_the_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})


def test_relative_file_storage_url_is_refused_naming_the_variable():
    # file://relative/dir parses as host "relative", path "/dir": it would pass as absolute and fail later.
    for url in ("file://relative/dir", "file://data", "file:relative/dir"):
        with pytest.raises(ConfigError, match=r"PYPI_PLATFORM_STORAGE_URL must be an absolute file:///dir"):
            load_settings({"PYPI_PLATFORM_STORAGE_URL": url})
    assert (
        load_settings({"PYPI_PLATFORM_STORAGE_URL": "file:///srv/store/"}).storage_url == "file:///srv/store"
    )
    assert load_settings({"PYPI_PLATFORM_STORAGE_URL": "file://localhost/srv"}).storage_url.endswith("/srv")


def test_s3_timeouts_default_to_tens_of_seconds_and_parse():
    defaults = load_settings({}).s3_timeouts
    assert 10 <= defaults.worst_case_seconds <= 60  # botocore's own defaults wait minutes
    timeouts = load_settings(
        {"PYPI_PLATFORM_S3_TIMEOUT_SECONDS": "2.5", "PYPI_PLATFORM_S3_MAX_ATTEMPTS": "2"}
    ).s3_timeouts
    assert (timeouts.seconds, timeouts.max_attempts, timeouts.worst_case_seconds) == (2.5, 2, 5.0)


def test_invalid_line_in_allowlist_file_names_the_line(tmp_path):
    listing = tmp_path / "projects.txt"
    listing.write_text("six\nnot valid!\n")
    with pytest.raises(ConfigError, match=r"PYPI_PLATFORM_MIRROR_PROJECTS: line 2"):
        load_settings({"PYPI_PLATFORM_MIRROR_PROJECTS": f"@{listing}"})


def test_download_settings_parse_with_decimal_bigquery_sizes():
    downloads = load_settings(
        {
            "PYPI_PLATFORM_DOWNLOADS_SEMANTICS": "pypistats",
            "PYPI_PLATFORM_DOWNLOADS_START": "2025-03-01",
            "PYPI_PLATFORM_DOWNLOADS_RETENTION_DAYS": "0",
            "PYPI_PLATFORM_BIGQUERY_TABLE": "my-project.logs.file_downloads",
            "PYPI_PLATFORM_BIGQUERY_MAX_BYTES": "50GB",
        }
    ).downloads
    assert (downloads.semantics, downloads.start_date.isoformat(), downloads.retention_days) == (
        "pypistats",
        "2025-03-01",
        0,
    )
    assert downloads.bigquery_table == "my-project.logs.file_downloads"
    assert downloads.bigquery_max_bytes == 50 * 10**9
    assert load_settings({"PYPI_PLATFORM_BIGQUERY_MAX_BYTES": "1GiB"}).downloads.bigquery_max_bytes == 2**30
    assert load_settings({}).downloads.bigquery_max_bytes == 200 * 10**9


def test_scan_settings_parse():
    scans = load_settings(
        {
            "PYPI_PLATFORM_SCAN_WORKERS": "8",
            "PYPI_PLATFORM_SCAN_TIMEOUT": "90",
            "PYPI_PLATFORM_SCAN_MEMORY": "1G",
            "PYPI_PLATFORM_SCAN_CACHE_SIZE": "200G",
            "PYPI_PLATFORM_SCAN_MAX_FAILED_SHARE": "0.05",
            "PYPI_PLATFORM_SCAN_START": "2026-06-01",
            "PYPI_PLATFORM_SCAN_POPULAR_DOWNLOADS": "50000",
        }
    ).scans
    assert scans.popular_downloads == 50_000
    assert load_settings({}).scans.popular_downloads == 1_000_000
    assert (scans.workers, scans.timeout_seconds, scans.memory_bytes) == (8, 90.0, 2**30)
    assert (scans.cache_max_bytes, scans.max_failed_share) == (200 * 2**30, 0.05)
    assert scans.start_date.isoformat() == "2026-06-01"


def test_settings_are_parsed_once_per_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path / "one"))
    first = current_settings()
    assert current_settings() is first, "every module of a code location gets the same settings"
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path / "two"))
    assert current_settings().home == tmp_path / "two"
    monkeypatch.setenv("PYPI_PLATFORM_API_RATE", "inf")
    with pytest.raises(ConfigError, match="PYPI_PLATFORM_API_RATE must be a finite, non-negative number"):
        current_settings()


def test_the_mirror_resource_carries_the_parsed_filters_unchanged(tmp_path):
    from pypi_platform.defs.resources import build_resources

    settings = load_settings(
        {
            "PYPI_PLATFORM_MIRROR_PROJECTS": "Beta,alpha",
            "PYPI_PLATFORM_MIRROR_BLOCKLIST": "evil",
            "PYPI_PLATFORM_MIRROR_KEEP_RELEASES": "2",
            "PYPI_PLATFORM_MIRROR_PRERELEASES": "false",
            "PYPI_PLATFORM_MIRROR_PACKAGE_TYPES": "wheel",
            "PYPI_PLATFORM_MIRROR_EXCLUDE_PLATFORMS": "win*,macosx*",
            "PYPI_PLATFORM_MIRROR_MAX_FILE_SIZE": "5MB",
        },
        cwd=tmp_path,
    )
    mirror = build_resources(settings)["mirror_upstream"]

    assert mirror.allowlist == ["alpha", "beta"] and mirror.exclude_platforms == ["win*", "macosx*"]
    assert mirror.filters() == settings.filters
