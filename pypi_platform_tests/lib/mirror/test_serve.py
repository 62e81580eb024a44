"""The mirror on S3 served to pip: ``python -m pypi_platform.mirror serve`` over a mirror synced into the local
S3 server, and a real ``pip download`` through it."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pypi_platform.lib.mirror.pages import WEB
from pypi_platform.lib.mirror.serve import HTML, JSON, resolve
from pypi_platform.lib.storage import ObjectStore
from pypi_platform_tests.lib.mirror.helpers import sync

PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
)


def test_s3_has_no_directory_index_so_the_server_maps_simple_urls_to_pages() -> None:
    assert resolve("/simple/", "text/html") == (f"{WEB}/simple/index.html", HTML)
    assert resolve("/simple/six/", "text/html") == (f"{WEB}/simple/six/index.html", HTML)
    assert resolve("/simple/six/", PIP_ACCEPT) == (f"{WEB}/simple/six/index.v1_json", JSON)
    assert resolve("/simple/Zope.Interface/", "") == "/simple/zope-interface/"
    assert resolve("/simple/six", "") == "/simple/six/"
    assert resolve("/simple", "") == "/simple/"
    key, _ = resolve("/packages/ab/cd/ef/six-1.0.tar.gz", "")
    assert key == f"{WEB}/packages/ab/cd/ef/six-1.0.tar.gz"
    for outside in ("/", "/json/six", "/simple/six/extra", "/packages/../simple/x"):
        with pytest.raises((KeyError, ValueError)):
            resolve(outside, "")


@pytest.fixture
def mirror_server(s3_store: ObjectStore, s3_endpoint: str, tmp_path: Path) -> Iterator[str]:
    """``python -m pypi_platform.mirror serve`` on a free port of 127.0.0.1, over ``s3_store``; its URL."""
    environment = {
        **os.environ,  # the fixtures' fake AWS credentials
        "PYPI_PLATFORM_STORAGE_URL": s3_store.url,
        "PYPI_PLATFORM_S3_ENDPOINT_URL": s3_endpoint,
        "PYPI_PLATFORM_HOME": str(tmp_path / "home"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "pypi_platform.mirror", "serve", "--port", "0"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = server.stdout.readline()
        assert first.startswith("Serving the mirror in s3://"), first
        yield first.split(" at ")[1].strip().removesuffix("/simple/")
    finally:
        server.terminate()
        server.wait(10)


def test_pip_downloads_from_a_mirror_on_s3_through_the_serve_command(
    fake_index, s3_store: ObjectStore, database: str, mirror_server: str, tmp_path: Path
) -> None:
    fake_index.add_release("sample-project", "1.0")
    fake_index.add_release("sample-project", "2.0")
    sync(fake_index.url, s3_store, database, tmp_path / "work")

    # S3 itself maps no directory URL to a page: the server does.
    with urllib.request.urlopen(f"{mirror_server}/simple/sample-project/") as answer:
        assert answer.headers["Content-Type"] == HTML and b"sample_project-2.0" in answer.read()

    dest = tmp_path / "downloads"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
         "--index-url", f"{mirror_server}/simple/", "--dest", str(dest), "sample-project"],
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INPUT": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (downloaded,) = dest.iterdir()
    expected = {f.filename: f.content for f in fake_index.files("sample-project") if "2.0" in f.filename}
    assert downloaded.name in expected and downloaded.read_bytes() == expected[downloaded.name]
