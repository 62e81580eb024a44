"""The mirror sync against the fake index: what it publishes, what it skips, what it removes."""

import hashlib
import json
from datetime import timedelta

import psycopg
import pytest

from pypi_platform.lib.config import MirrorFilters
from pypi_platform.lib.mirror import sync as sync_module
from pypi_platform.lib.mirror.pages import WEB
from pypi_platform.lib.mirror.runner import run_mirror_sync
from pypi_platform.lib.mirror.state import MirrorState
from pypi_platform_tests.lib.mirror.helpers import (
    FAST_RETRY,
    assert_every_link_present,
    last_run_root_serial,
    page_html,
    page_json,
    published_filenames,
    root_projects,
    sync,
)


@pytest.fixture
def populated(fake_index_factory):
    def make(flavour: str = "pep691", **options):
        index = fake_index_factory(flavour, **options)
        index.add_release("Alpha.Pkg", "1.0")
        index.add_release("Alpha.Pkg", "1.1", requires_python=">=3.8")
        index.add_release("beta", "0.1", requires=["alpha-pkg>=1.0"])
        index.add_release("beta", "0.2rc1", sdist=False)
        index.add_release("gamma", "2.0", wheel=False)
        return index

    return make


@pytest.mark.parametrize("flavour", ["pep691", "html"])
def test_cold_sync_publishes_verified_files_pages_and_state(
    populated, object_store, database, tmp_path, flavour
):
    index = populated(flavour)
    report = sync(index.url, object_store, database, tmp_path)

    assert report.failures == {}
    assert report.projects_changed == 3
    assert report.files_fetched > report.projects_changed  # release files plus their sidecars
    assert set(root_projects(object_store)) == {"alpha-pkg", "beta", "gamma"}
    for project in ("alpha-pkg", "beta", "gamma"):
        assert published_filenames(object_store, project) == {f.filename for f in index.files(project)}
        for upstream_file in index.files(project):
            entry = next(
                e
                for e in page_json(object_store, project)["files"]
                if e["filename"] == upstream_file.filename
            )
            key = f"{WEB}/simple/{project}/{entry['url']}"
            data = object_store.get_bytes(key.replace(f"simple/{project}/../../", ""))
            assert hashlib.sha256(data).hexdigest() == upstream_file.sha256 == entry["hashes"]["sha256"]
    assert assert_every_link_present(object_store) > 0
    state = MirrorState(database)
    try:
        stored = state.projects()
    finally:
        state.close()
    assert {name: project.status for name, project in stored.items()} == dict.fromkeys(stored, "ok")
    # The PEP 691 flavour gives serials; the HTML proxy's serials come from its JSON API.
    assert stored["beta"].serial == index.project_serial("beta")


def test_pages_carry_requires_python_sidecars_yank_reasons_and_pep440_versions(
    populated, local_store, database, tmp_path
):
    index = populated()
    index.add_release("beta", "0.10")
    index.yank("beta", index.files("beta")[0].filename, "broken build")
    sync(index.url, local_store, database, tmp_path)

    document = page_json(local_store, "beta")
    assert document["meta"]["_last-serial"] == index.project_serial("beta")
    assert isinstance(document["meta"]["_last-serial"], int)
    assert document["versions"] == ["0.1", "0.2rc1", "0.10"]  # PEP 440 order, not text order
    yanked = [entry for entry in document["files"] if entry["yanked"]]
    assert [entry["yanked"] for entry in yanked] == ["broken build"]
    wheels = [entry for entry in document["files"] if entry["filename"].endswith(".whl")]
    assert wheels and all(entry["core-metadata"]["sha256"] for entry in wheels)
    html = page_html(local_store, "alpha-pkg")
    assert 'data-requires-python="&gt;=3.8"' in html
    assert "data-core-metadata=" in html
    root = json.loads(local_store.get_bytes(f"{WEB}/simple/index.v1_json"))
    assert root["meta"]["_last-serial"] == max(root_projects(local_store).values())


@pytest.mark.parametrize("allowlist", [None, frozenset({"alpha-pkg", "beta", "gamma"})])
def test_second_sync_with_nothing_changed_fetches_nothing(
    populated, local_store, database, tmp_path, allowlist
):
    index = populated()
    sync(index.url, local_store, database, tmp_path, allowlist=allowlist)
    index.reset_requests()

    report = sync(index.url, local_store, database, tmp_path, allowlist=allowlist)

    assert (report.projects_changed, report.files_fetched, report.bytes_fetched) == (0, 0, 0)
    assert index.count("/packages/") == 0
    assert index.count("/pypi/") == 0
    if allowlist is None:  # the root's serials answer for every project: no page requested at all
        assert index.count("/simple/") == 1
    else:  # one cheap page request per project, answered by its serial header
        assert index.count("/simple/") == 3


@pytest.mark.parametrize("validators", [False, True])
def test_html_only_index_detects_change_by_page_hash_or_validators(
    fake_index_factory, local_store, database, tmp_path, validators
):
    index = fake_index_factory("html", validators=validators)
    index.add_release("alpha", "1.0")
    index.add_release("beta", "1.0")
    sync(index.url, local_store, database, tmp_path)
    index.reset_requests()

    assert sync(index.url, local_store, database, tmp_path).projects_changed == 0
    assert index.count("/pypi/") == 0
    if validators:
        assert all(
            r.headers.get("If-None-Match") for r in index.requests if r.path.startswith("/simple/alpha")
        )

    index.add_release("beta", "1.1")
    report = sync(index.url, local_store, database, tmp_path)
    assert report.projects_changed == 1
    assert "beta-1.1.tar.gz" in published_filenames(local_store, "beta")


def test_new_release_fetches_only_the_new_files(populated, local_store, database, tmp_path):
    index = populated()
    sync(index.url, local_store, database, tmp_path)
    index.reset_requests()
    new_files = index.add_release("gamma", "2.1")

    report = sync(index.url, local_store, database, tmp_path)

    assert report.projects_changed == 1
    fetched = {r.path.rsplit("/", 1)[-1] for r in index.requests if r.path.startswith("/packages/")}
    assert fetched == {f.filename for f in new_files} | {
        f"{f.filename}.metadata" for f in new_files if f.metadata
    }


def test_project_removed_upstream_leaves_the_index_and_its_files_after_the_grace_period(
    populated, local_store, database, tmp_path
):
    index = populated()
    sync(index.url, local_store, database, tmp_path)
    gamma_file = page_json(local_store, "gamma")["files"][0]["url"].replace("../../", f"{WEB}/")
    index.remove_project("gamma")

    report = sync(index.url, local_store, database, tmp_path)
    assert report.projects_removed == 1
    assert "gamma" not in root_projects(local_store)
    assert not local_store.exists(f"{WEB}/simple/gamma/index.html")
    assert not local_store.exists(f"{WEB}/json/gamma")
    assert local_store.exists(gamma_file), "blobs stay for the grace period"

    report = sync(index.url, local_store, database, tmp_path, delete_grace=timedelta(0))
    assert report.blobs_deleted >= 1
    assert not local_store.exists(gamma_file)
    assert_every_link_present(local_store)


def test_removals_deleted_in_many_batches_at_once_leave_no_page_or_file(
    populated, local_store, database, tmp_path, monkeypatch
):
    index = populated()
    sync(index.url, local_store, database, tmp_path)
    files = [
        entry["url"].replace("../../", f"{WEB}/")
        for name in ("beta", "gamma")
        for entry in page_json(local_store, name)["files"]
    ]
    index.remove_project("beta")
    index.remove_project("gamma")
    # Two keys a batch: the ten pages and JSON documents, and then the files, go in several batches at once.
    monkeypatch.setattr(sync_module, "DELETE_BATCH", 2)

    report = sync(index.url, local_store, database, tmp_path)
    assert report.projects_removed == 2
    pages = [
        key for prefix in ("simple", "json", "pypi") for key in local_store.list_keys(f"{WEB}/{prefix}/")
    ]
    assert [key for key in pages if "/beta" in key or "/gamma" in key] == []
    assert all(local_store.exists(key) for key in files), "blobs stay for the grace period"

    report = sync(index.url, local_store, database, tmp_path, delete_grace=timedelta(0))
    assert report.blobs_deleted > len(files)  # sidecars too
    assert not any(local_store.exists(key) for key in files)
    assert set(root_projects(local_store)) == {"alpha-pkg"}
    assert_every_link_present(local_store)


def test_file_removed_upstream_leaves_the_page(populated, local_store, database, tmp_path):
    index = populated()
    sync(index.url, local_store, database, tmp_path)
    removed = index.files("alpha-pkg")[0].filename
    index.remove_file("alpha-pkg", removed)

    sync(index.url, local_store, database, tmp_path)

    assert removed not in published_filenames(local_store, "alpha-pkg")
    assert published_filenames(local_store, "alpha-pkg")


def test_check_budget_rotates_through_projects_of_an_index_without_serials(
    fake_index_factory, local_store, database, tmp_path
):
    index = fake_index_factory("html")
    names = [f"project-{number}" for number in range(5)]
    for name in names:
        index.add_release(name, "1.0", wheel=False)
    sync(index.url, local_store, database, tmp_path)
    new_sdists = {name: index.add_release(name, "2.0", wheel=False)[0].filename for name in names}

    updated: list[str] = []
    for _ in range(3):
        index.reset_requests()
        report = run_mirror_sync(
            upstream_url=index.url, store=local_store, dsn=database, filters=MirrorFilters(),
            work_dir=tmp_path, retry=FAST_RETRY, check_budget=2,
        )  # fmt: skip
        assert (report.projects_checked, report.projects_deferred) == (2, 3)
        assert sum(request.path.startswith("/simple/project-") for request in index.requests) == 2
        updated += [
            n for n in names if n not in updated and new_sdists[n] in published_filenames(local_store, n)
        ]
    assert sorted(updated) == names, "three runs of two checks each reach all five projects"


def test_root_serial_unchanged_since_a_complete_sync_reads_no_project(
    populated, local_store, database, tmp_path
):
    index = populated()
    sync(index.url, local_store, database, tmp_path)
    assert last_run_root_serial(database) == index.serial
    # Make the state disagree with the root about beta: a sync that compared serials would fetch its page.
    with psycopg.connect(database) as conn:
        conn.execute("UPDATE mirror.projects SET serial = serial - 1 WHERE name = 'beta'")
    index.reset_requests()

    report = sync(index.url, local_store, database, tmp_path)

    assert [request.path for request in index.requests] == ["/simple/"]
    assert (report.projects_checked, report.projects_changed, report.files_fetched) == (3, 0, 0)
    assert last_run_root_serial(database) == index.serial, "the next run may skip as well"

    index.add_release("gamma", "2.1")  # the index's serial moves: every project's serial is compared again
    index.reset_requests()
    report = sync(index.url, local_store, database, tmp_path)
    assert report.projects_changed == 1
    assert {r.path for r in index.requests if r.path.startswith("/simple/")} == {
        "/simple/",
        "/simple/beta/",
        "/simple/gamma/",
    }


def test_with_the_root_serial_unchanged_only_the_projects_that_failed_are_tried_again(
    populated, local_store, database, tmp_path
):
    index = populated()
    index.faults.fail("/simple/beta/", status=503, times=None)
    assert set(sync(index.url, local_store, database, tmp_path).failures) == {"beta"}
    assert last_run_root_serial(database) == index.serial, "checked in full: beta is marked failed"
    index.faults.clear()
    index.reset_requests()

    report = sync(index.url, local_store, database, tmp_path)  # the root's serial has not moved

    pages = [request.path for request in index.requests if request.path.startswith("/simple/")]
    assert pages == ["/simple/", "/simple/beta/"]
    assert (report.failures, report.projects_changed, report.projects_checked) == ({}, 1, 3)
    assert "beta" in root_projects(local_store)
    assert last_run_root_serial(database) == index.serial


def test_changed_filters_are_not_covered_by_an_earlier_complete_sync(
    populated, local_store, database, tmp_path
):
    index = populated()
    sync(index.url, local_store, database, tmp_path)

    report = sync(index.url, local_store, database, tmp_path, package_types=frozenset({"sdist"}))

    assert report.projects_changed == 3  # every project is published again under the new filters
    assert all(f.endswith(".tar.gz") for f in published_filenames(local_store, "alpha-pkg"))


def test_a_root_without_a_serial_header_is_read_whole_each_run(
    fake_index_factory, local_store, database, tmp_path
):
    index = fake_index_factory("html")
    index.add_release("alpha", "1.0")
    sync(index.url, local_store, database, tmp_path)
    assert last_run_root_serial(database) is None
    index.reset_requests()

    sync(index.url, local_store, database, tmp_path)

    assert {r.path for r in index.requests} == {"/simple/", "/simple/alpha/"}


def test_a_root_answering_5xx_before_its_headers_is_retried_and_still_skips(
    populated, local_store, database, tmp_path
):
    index = populated()
    sync(index.url, local_store, database, tmp_path)
    index.faults.fail("/simple/", status=503, times=1)
    index.reset_requests()

    report = sync(index.url, local_store, database, tmp_path)

    assert [request.path for request in index.requests] == ["/simple/", "/simple/"]
    assert (report.projects_checked, report.projects_changed, report.failures) == (3, 0, {})
