"""pip installs from the published mirror, over a file URL and over plain HTTP, dependencies included."""

import functools
import os
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pypi_platform.lib.mirror.pages import WEB
from pypi_platform_tests.lib.mirror.helpers import sync


@pytest.fixture
def mirrored(fake_index, local_store, database, tmp_path):
    fake_index.add_release("alpha-lib", "1.0")
    fake_index.add_release("alpha-lib", "1.1")
    fake_index.add_release("beta-app", "2.0", requires=["alpha-lib>=1.1"])
    assert sync(fake_index.url, local_store, database, tmp_path / "work").failures == {}
    return local_store


@pytest.fixture
def http_mirror(mirrored):
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(mirrored.local_path(WEB)))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    server.shutdown()


def _pip_install(index_url: str, target, *requirements: str) -> None:
    # Only our index: no configuration file, no extra index, no local wheel directory.
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": ""}
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-cache-dir",
        "--disable-pip-version-check",
    ]
    command += ["--only-binary", ":all:", "--index-url", index_url, "--target", str(target), *requirements]
    subprocess.run(command, check=True, env=env, timeout=120)


def _imported_versions(target) -> str:
    code = "import alpha_lib, beta_app; print(alpha_lib.__version__, beta_app.__version__)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_pip_installs_from_a_file_url(mirrored, tmp_path):
    _pip_install(mirrored.uri(f"{WEB}/simple") + "/", tmp_path / "site", "beta-app")
    assert _imported_versions(tmp_path / "site") == "1.1 2.0"


def test_pip_installs_over_http_from_a_static_server(http_mirror, tmp_path):
    _pip_install(http_mirror, tmp_path / "site", "beta-app")
    assert _imported_versions(tmp_path / "site") == "1.1 2.0"
