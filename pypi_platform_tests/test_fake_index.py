"""Tests of the fake upstream index itself: if these lie, every mirror test built on them lies too."""

from __future__ import annotations

import base64
import csv
import hashlib
import http.client
import io
import json
import tarfile
import threading
import time
import zipfile
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from packaging.utils import parse_sdist_filename, parse_wheel_filename
from pypi_simple import IndexPage, ProjectPage

from pypi_platform_testkit.dists import build_sdist, build_wheel, wheel_metadata
from pypi_platform_testkit.fake_index import JSON_TYPE, FakeIndex, Link, negotiate
from pypi_platform_tests.fixtures import upstream

# Bound here too so this file runs with --noconftest (the shared conftest star-imports the same fixtures).
fake_index = upstream.fake_index
fake_index_factory = upstream.fake_index_factory

HTML_FALLBACK = f"{JSON_TYPE}, text/html;q=0.1"


def test_wheel_is_well_formed_and_deterministic():
    name, data = build_wheel("My.Pkg", "1.0", requires=["attrs>=22"], requires_python=">=3.9")
    assert name == "my_pkg-1.0-py3-none-any.whl"
    assert str(parse_wheel_filename(name)[0]) == "my-pkg"
    assert build_wheel("My.Pkg", "1.0", requires=["attrs>=22"], requires_python=">=3.9")[1] == data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        rows = list(csv.reader(io.StringIO(zf.read("my_pkg-1.0.dist-info/RECORD").decode())))
        assert {r[0] for r in rows} == set(zf.namelist())
        for path, digest, size in rows:
            if path.endswith("RECORD"):
                continue
            content = zf.read(path)
            b64 = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (f"sha256={b64}", len(content))
        assert zf.read("my_pkg/__init__.py") == b'__version__ = "1.0"\n'
    meta = wheel_metadata(data).decode()
    assert "Requires-Dist: attrs>=22" in meta and "Requires-Python: >=3.9" in meta
    win = build_wheel("my-pkg", "1.0", platform_tag="cp311-cp311-win_amd64")[0]
    assert str(next(iter(parse_wheel_filename(win)[3]))) == "cp311-cp311-win_amd64"


def test_sdist_is_well_formed_and_deterministic():
    name, data = build_sdist("My.Pkg", "1.0.0")
    assert name == "my_pkg-1.0.0.tar.gz" and build_sdist("My.Pkg", "1.0.0")[1] == data
    assert str(parse_sdist_filename(name)[1]) == "1.0.0"
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        assert set(tf.getnames()) == {
            f"my_pkg-1.0.0/{p}" for p in ("PKG-INFO", "pyproject.toml", "my_pkg/__init__.py")
        }
        assert b"Name: My.Pkg" in tf.extractfile("my_pkg-1.0.0/PKG-INFO").read()


def test_negotiation():
    assert negotiate(None) == "text/html"
    assert negotiate(HTML_FALLBACK) == JSON_TYPE
    assert negotiate(f"text/html, {JSON_TYPE}") == "text/html"  # equal q: earlier wins
    assert negotiate(f"{JSON_TYPE};q=0.5, text/html") == "text/html"
    assert negotiate("application/vnd.pypi.simple.latest+json") == JSON_TYPE


def test_pep691_flavour_serves_parsable_pages(fake_index: FakeIndex):
    whl, sdist = fake_index.add_release("Demo.Pkg", "1.0", requires_python=">=3.8")
    fake_index.add_release("demo-pkg", "2.0rc1", sdist=False)
    fake_index.yank("demo-pkg", sdist.filename, "broken build")
    fake_index.add_release("other", "0.1", wheel=False)
    with httpx.Client() as client:
        root = client.get(fake_index.url, headers={"Accept": HTML_FALLBACK})
        assert root.headers["content-type"] == JSON_TYPE
        assert root.json()["meta"]["_last-serial"] == fake_index.serial == 5
        assert {p["name"]: p["_last-serial"] for p in root.json()["projects"]} == {"Demo.Pkg": 4, "other": 5}
        assert client.get(fake_index.url, headers={"If-None-Match": root.headers["etag"]}).status_code == 200
        again = client.get(
            fake_index.url, headers={"Accept": HTML_FALLBACK, "If-None-Match": root.headers["etag"]}
        )
        assert again.status_code == 304 and again.content == b""
        assert IndexPage.from_html(client.get(fake_index.url).text).projects == ["Demo.Pkg", "other"]

        moved = client.get(fake_index.base_url + "/simple/Demo_Pkg/")
        assert moved.status_code == 301 and moved.headers["location"] == "/simple/demo-pkg/"
        assert client.get(fake_index.base_url + "/simple/nope/").status_code == 404

        page_url = fake_index.project_url("demo.pkg")
        as_json = client.get(page_url, headers={"Accept": HTML_FALLBACK})
        assert as_json.headers["x-pypi-last-serial"] == "4"
        assert as_json.json()["versions"] == ["1.0", "2.0rc1"]
        as_html = client.get(page_url, headers={"Accept": "text/html"})
        for page in (
            ProjectPage.from_json_data(as_json.json(), page_url),
            ProjectPage.from_html("demo-pkg", as_html.text, page_url),
        ):
            by_name = {p.filename: p for p in page.packages}
            assert by_name[whl.filename].digests == {"sha256": whl.sha256}
            assert by_name[whl.filename].metadata_digests == {"sha256": whl.metadata_sha256}
            assert by_name[whl.filename].requires_python == ">=3.8" and not by_name[whl.filename].is_yanked
            assert (
                by_name[sdist.filename].yanked_reason == "broken build"
                and not by_name[sdist.filename].has_metadata
            )
        sidecar = client.get(by_name[whl.filename].url + ".metadata").content
        assert hashlib.sha256(sidecar).hexdigest() == whl.metadata_sha256

        api = client.get(fake_index.json_url("Demo.Pkg"))
        doc = api.json()
        assert api.headers["x-pypi-last-serial"] == str(doc["last_serial"]) == "4"
        assert doc["info"]["version"] == "1.0" and set(doc["releases"]) == {"1.0", "2.0rc1"}
        files = {f["filename"]: f for f in doc["releases"]["1.0"]}
        assert files[sdist.filename]["yanked_reason"] == "broken build"
        assert files[whl.filename]["core-metadata"] == {"sha256": whl.metadata_sha256}
        assert client.get(files[whl.filename]["url"]).content == whl.content


def test_html_flavour_behaves_like_the_proxy(fake_index_factory):
    index = fake_index_factory("html")
    (whl,) = index.add_release("demo", "1.0", sdist=False)
    with httpx.Client() as client:
        root = client.get(index.url, headers={"Accept": JSON_TYPE})
        assert root.headers["content-type"] == "text/html" and "x-pypi-last-serial" not in root.headers
        assert "etag" not in root.headers
        page = client.get(index.project_url("demo"), headers={"Accept": JSON_TYPE})
        assert "data-core-metadata" not in page.text
        (link,) = ProjectPage.from_html("demo", page.text).packages
        doc = client.get(index.json_url("demo")).json()
        assert doc["last_serial"] == 1 and doc["urls"][0]["core-metadata"] == {"sha256": whl.metadata_sha256}
        resolved = urljoin(index.json_url("demo"), doc["urls"][0]["url"])
        assert "/packages/packages/" in resolved and client.get(resolved).status_code == 404
        collapsed = resolved.replace("/packages/packages/", "/packages/")
        assert client.get(collapsed).status_code == 404  # the proxy host does not serve files
        fixed = urljoin(link.url, urlsplit(collapsed).path)  # the file host seen on the simple page
        assert client.get(link.url).content == whl.content == client.get(fixed).content

    plain = fake_index_factory("html", json_api=False, validators=True)
    plain.add_release("demo", "1.0")
    with httpx.Client() as client:
        assert client.get(plain.json_url("demo")).status_code == 404
        first = client.get(plain.url)
        assert first.headers["etag"] and first.headers["last-modified"]
        assert (
            client.get(plain.url, headers={"If-Modified-Since": first.headers["last-modified"]}).status_code
            == 304
        )


def test_faults_fire_then_stop(fake_index: FakeIndex):
    (whl,) = fake_index.add_release("demo", "1.0", sdist=False)
    url = fake_index.project_url("demo")
    fake_index.faults.fail("/simple/demo/", status=503, times=2)
    fake_index.faults.corrupt("demo", whl.filename)
    fake_index.faults.missing_metadata("demo", whl.filename)
    with httpx.Client() as client:
        assert [client.get(url).status_code for _ in range(3)] == [503, 503, 200]
        assert fake_index.count("/simple/demo/") == 3
        fake_index.faults.stale("demo", times=1)
        assert [client.get(url).headers["x-pypi-last-serial"] for _ in range(2)] == ["0", "1"]
        file_url = fake_index.file_url("demo", whl.filename)
        body = client.get(file_url).content
        assert len(body) == whl.size and hashlib.sha256(body).hexdigest() != whl.sha256
        assert client.get(file_url + ".metadata").status_code == 404
        assert f'data-core-metadata="sha256={whl.metadata_sha256}"' in client.get(url).text

        fake_index.faults.malformed("demo")
        with pytest.raises(json.JSONDecodeError):
            client.get(url, headers={"Accept": JSON_TYPE}).json()

        fake_index.faults.drop("/simple/", times=1)
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(fake_index.url)
        assert client.get(fake_index.url).status_code == 200

        fake_index.faults.hang("/simple/", 5, times=1)
        with pytest.raises(httpx.ReadTimeout):
            client.get(fake_index.url, timeout=0.2)

    fake_index.faults.clear()
    fake_index.faults.empty_page("demo")
    fake_index.reset_requests()
    assert httpx.get(url, headers={"Accept": JSON_TYPE}).json()["files"] == []
    assert fake_index.count("/packages/") == 0 and fake_index.requests[0].headers["Accept"] == JSON_TYPE


def test_keep_alive_and_head(fake_index: FakeIndex):
    fake_index.add_release("demo", "1.0")
    conn = http.client.HTTPConnection("127.0.0.1", int(fake_index.base_url.rsplit(":", 1)[1]), timeout=5)
    try:
        for method in ("HEAD", "GET", "GET"):  # one socket: fails if any answer lacks Content-Length
            conn.request(method, "/simple/demo/")
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200 and (body == b"") == (method == "HEAD")
    finally:
        conn.close()


def test_link_is_shared_by_every_connection(fake_index_factory):
    rate = 4_000_000
    index = fake_index_factory(link=Link(rate))
    files = [
        index.add_file("big", f"big-1.0.{n}.tar.gz", bytes([n]) * 1_000_000, metadata=False) for n in (1, 2)
    ]
    urls = [index.file_url("big", f.filename) for f in files]
    bodies: dict[str, bytes] = {}

    def fetch(url: str) -> None:
        bodies[url] = httpx.get(url, timeout=10).content

    started = time.perf_counter()
    fetch(urls[0])
    alone = time.perf_counter() - started
    started = time.perf_counter()
    threads = [threading.Thread(target=fetch, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    together = time.perf_counter() - started
    # One connection gets the whole rate (0.25 s a file); two share it (0.5 s for both, not 0.25 each).
    assert 0.24 <= alone < 0.45 <= together
    assert [bodies[url] for url in urls] == [f.content for f in files]
    assert index.link.bytes_sent == 3_000_000


def test_latency_delays_every_answer(fake_index: FakeIndex):
    fake_index.add_release("demo", "1.0")
    fake_index.latency_seconds = 0.2  # settable on a running index, after an untimed warm-up
    with httpx.Client() as client:
        for url in (fake_index.url, fake_index.project_url("demo")):
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            assert time.perf_counter() - started >= 0.2


@pytest.mark.parametrize(
    "make",
    [
        lambda: Link(0),
        lambda: Link(-1_000_000),
        lambda: Link(float("nan")),
        lambda: Link(1_000_000, burst_seconds=-0.01),
        lambda: FakeIndex(latency_seconds=-0.02),
    ],
    ids=["zero rate", "negative rate", "nan rate", "negative burst", "negative latency"],
)
def test_link_and_latency_refuse_bad_settings(make):
    with pytest.raises(ValueError):
        make()
