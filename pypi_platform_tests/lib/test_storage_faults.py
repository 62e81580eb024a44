"""An S3 endpoint that fails: a clear ``StoreUnavailable`` naming the endpoint, within the configured time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from pypi_platform.defs.resources import ObjectStoreResource
from pypi_platform.lib.storage import StoreUnavailable

# Signing needs credentials, though no request is ever answered; never ask an instance-metadata endpoint.
_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An endpoint on 127.0.0.1 that accepts connections and never answers (nor closes them)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@pytest.fixture
def refusing_endpoint() -> str:
    """An endpoint on 127.0.0.1 where nothing listens: every connection is refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.usefixtures("fake_credentials")
def test_s3_endpoint_that_never_answers_fails_within_the_configured_timeout(silent_endpoint: str) -> None:
    resource = ObjectStoreResource(
        url="s3://bucket/prefix", endpoint_url=silent_endpoint, timeout_seconds=0.5, max_attempts=2
    )
    store = resource.get_store()
    for call in (
        lambda: store.size("a/key"),
        lambda: store.get_bytes("a/key"),
        lambda: store.put_bytes("a/key", b"x"),
        lambda: list(store.list_keys("a/")),
    ):
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as raised:
            call()
        elapsed = time.monotonic() - started
        # Two attempts of 0.5 s each, plus standard mode's back-off of at most 1 s between them; an upload
        # first waits up to 1 s for "100 Continue" in each attempt, then sends its body anyway.
        assert 1.0 <= elapsed < 2 * (0.5 + 1) + 1, elapsed
        message = str(raised.value)
        assert silent_endpoint in message and "s3://bucket/prefix" in message
        assert "PYPI_PLATFORM_S3_TIMEOUT_SECONDS" in message and "2 attempts" in message


@pytest.mark.usefixtures("fake_credentials")
def test_s3_endpoint_that_refuses_fails_naming_it(refusing_endpoint: str) -> None:
    store = ObjectStoreResource(
        url="s3://bucket", endpoint_url=refusing_endpoint, timeout_seconds=1, max_attempts=1
    ).get_store()
    with pytest.raises(StoreUnavailable, match=f"at {refusing_endpoint} did not answer"):
        store.size("a/key")


def test_the_resource_takes_its_timeouts_from_the_settings(tmp_path) -> None:
    from pypi_platform.defs.resources import build_resources
    from pypi_platform.lib.config import load_settings

    settings = load_settings(
        {"PYPI_PLATFORM_S3_TIMEOUT_SECONDS": "4", "PYPI_PLATFORM_S3_MAX_ATTEMPTS": "2"}, cwd=tmp_path
    )
    store = build_resources(settings)["object_store"]
    assert (store.timeout_seconds, store.max_attempts) == (4.0, 2)
