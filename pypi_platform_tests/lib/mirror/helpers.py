"""Shared steps of the mirror tests: run a sync against the fake index, read what it published."""

from __future__ import annotations

import json
import posixpath
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import psycopg

from pypi_platform.lib.config import MirrorFilters
from pypi_platform.lib.mirror.http import RetryPolicy
from pypi_platform.lib.mirror.pages import WEB
from pypi_platform.lib.mirror.runner import run_mirror_sync
from pypi_platform.lib.mirror.sync import SyncReport
from pypi_platform.lib.storage import ObjectStore

FAST_RETRY = RetryPolicy(attempts=3, backoff_seconds=0.01, max_backoff_seconds=0.05)
_HREF = re.compile(r'href="([^"#]+)')


def sync(
    index_url: str,
    store: ObjectStore,
    dsn: str,
    work_dir: Path,
    *,
    timeout: float = 5.0,
    delete_grace: timedelta = timedelta(hours=24),
    **filters: object,
) -> SyncReport:
    return run_mirror_sync(
        upstream_url=index_url,
        store=store,
        dsn=dsn,
        filters=MirrorFilters(**filters),
        work_dir=work_dir,
        workers=4,
        retry=FAST_RETRY,
        timeout_seconds=timeout,
        delete_grace=delete_grace,
    )


def page_json(store: ObjectStore, project: str) -> dict:
    return json.loads(store.get_bytes(f"{WEB}/simple/{project}/index.v1_json"))


def page_html(store: ObjectStore, project: str) -> str:
    return store.get_bytes(f"{WEB}/simple/{project}/index.html").decode()


def published_filenames(store: ObjectStore, project: str) -> set[str]:
    return {entry["filename"] for entry in page_json(store, project)["files"]}


def root_projects(store: ObjectStore) -> dict[str, int | None]:
    root = json.loads(store.get_bytes(f"{WEB}/simple/index.v1_json"))
    return {entry["name"]: entry.get("_last-serial") for entry in root["projects"]}


def assert_every_link_present(store: ObjectStore) -> int:
    """Every file any published HTML or JSON page links exists in the store; returns how many were checked."""
    checked = 0
    for key in store.list_keys(f"{WEB}/simple"):
        if key.endswith("/index.html") and key.count("/") == 4:
            base = posixpath.dirname(key)
            links = _HREF.findall(store.get_bytes(key).decode())
        elif key.endswith("/index.v1_json") and key.count("/") == 4:
            base = posixpath.dirname(key)
            document = json.loads(store.get_bytes(key))
            links = [entry["url"] for entry in document["files"]]
            links += [entry["url"] + ".metadata" for entry in document["files"] if entry.get("core-metadata")]
        else:
            continue
        for link in links:
            target = posixpath.normpath(posixpath.join(base, unquote(link)))
            assert store.exists(target), f"{key} links {link}, which is not in the store"
            checked += 1
    return checked


def last_run_root_serial(dsn: str) -> int | None:
    """The root serial the latest sync run recorded as complete (None: it was not)."""
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT root_serial FROM mirror.sync_runs ORDER BY id DESC LIMIT 1").fetchone()[0]
