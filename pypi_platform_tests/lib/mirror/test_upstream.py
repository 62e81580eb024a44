"""Reading upstream pages: both flavours, odd but valid inputs, and inputs that must fail their project."""

import json

import pytest

from pypi_platform.lib.mirror.pages import file_key
from pypi_platform.lib.mirror.upstream import (
    JSON_CONTENT_TYPE,
    PageError,
    PageResponse,
    canonical_file_url,
    parse_project_page,
)

DIGEST = "ab" * 32


def _json_page(files: list[dict], name: str = "demo") -> PageResponse:
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": files}).encode()
    return PageResponse(200, body, JSON_CONTENT_TYPE, "http://127.0.0.1/simple/demo/")


def test_json_page_resolves_relative_urls_and_reads_every_field():
    page = _json_page(
        [
            {
                "filename": "demo-1.0-py3-none-any.whl",
                "url": "../../packages/ab/cd/" + "e" * 60 + "/demo-1.0-py3-none-any.whl",
                "hashes": {"sha256": DIGEST.upper()},
                "requires-python": ">=3.9",
                "yanked": "bad build",
                "core-metadata": {"sha256": DIGEST},
                "size": 1234,
                "upload-time": "2024-05-01T10:00:00.123456Z",
            },
            {
                "filename": "demo-0.9.tar.gz",
                "url": "demo-0.9.tar.gz",
                "hashes": {"sha256": DIGEST},
                "yanked": True,
            },
        ]
    )
    display, (wheel, sdist) = parse_project_page("demo", page)
    assert display == "demo"
    assert wheel.url.startswith("http://127.0.0.1/packages/ab/cd/")
    assert (wheel.version, wheel.packagetype, wheel.sha256) == ("1.0", "wheel", DIGEST)
    assert (wheel.yanked, wheel.yanked_reason, wheel.metadata_sha256, wheel.size) == (
        True,
        "bad build",
        DIGEST,
        1234,
    )
    assert wheel.upload_time.isoformat() == "2024-05-01T10:00:00.123456+00:00"
    assert (sdist.version, sdist.packagetype, sdist.yanked, sdist.yanked_reason) == (
        "0.9",
        "sdist",
        True,
        None,
    )
    assert sdist.metadata_sha256 is None


def test_legacy_file_names_get_their_version_from_pypi_simple():
    page = _json_page([{"filename": "demo-0.1-py2.7.egg", "url": "x", "hashes": {"sha256": DIGEST}}])
    (egg,) = parse_project_page("demo", page)[1]
    assert (egg.version, egg.packagetype) == ("0.1", "egg")


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"files": "nope"}',
        b'{"files": [{"url": "x", "hashes": {}}]}',
        b'{"files": [{"filename": "demo-1.0.tar.gz", "hashes": {}}]}',
        b"[]",
    ],
)
def test_malformed_json_page_is_a_page_error(body):
    with pytest.raises(PageError, match="cannot be parsed"):
        parse_project_page(
            "demo", PageResponse(200, body, JSON_CONTENT_TYPE, "http://127.0.0.1/simple/demo/")
        )


def test_html_page_reads_upload_time_attribute_and_fragment_hash():
    body = (
        f'<html><body><a href="http://127.0.0.1/packages/demo-1.0.tar.gz#sha256={DIGEST}" '
        'data-upload-time="2024-05-01T10:00:00Z" data-requires-python="&gt;=3.8">demo-1.0.tar.gz</a></body></html>'
    ).encode()
    (sdist,) = parse_project_page(
        "demo", PageResponse(200, body, "text/html", "http://127.0.0.1/simple/demo/")
    )[1]
    assert (sdist.sha256, sdist.requires_python, sdist.version) == (DIGEST, ">=3.8", "1.0")
    assert sdist.upload_time.year == 2024


def test_doubled_packages_prefix_from_relative_json_urls_collapses():
    url = "http://127.0.0.1/packages/packages/ab/cd/" + "e" * 60 + "/demo-1.0.tar.gz"
    assert canonical_file_url(url) == "http://127.0.0.1/packages/ab/cd/" + "e" * 60 + "/demo-1.0.tar.gz"


@pytest.mark.parametrize("filename", ["../evil.tar.gz", "a/b.tar.gz", "..", "bad\x00name.whl"])
def test_unsafe_file_names_are_rejected(filename):
    with pytest.raises(ValueError, match="unsafe file name"):
        file_key("http://127.0.0.1/x", filename, DIGEST)


def test_files_without_the_upstream_hashed_path_are_stored_under_their_sha256():
    assert file_key("http://127.0.0.1/files/demo-1.0.tar.gz", "demo-1.0.tar.gz", DIGEST) == (
        f"mirror/web/packages/ab/ab/{DIGEST[4:]}/demo-1.0.tar.gz"
    )
