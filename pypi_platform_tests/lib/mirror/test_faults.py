"""Bad input and upstream faults: each is survived, recorded with its reason, and never stops other projects."""

import psycopg
import pytest

from pypi_platform_tests.lib.mirror.helpers import (
    assert_every_link_present,
    last_run_root_serial,
    page_html,
    page_json,
    published_filenames,
    root_projects,
    sync,
)


@pytest.fixture
def index(fake_index):
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("beta", "1.0")
    fake_index.add_release("gamma", "1.0")
    return fake_index


def _status(dsn: str) -> dict[str, tuple[str, str | None]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT name, status, error FROM mirror.projects").fetchall()
    return {name: (status, error) for name, status, error in rows}


def test_upstream_5xx_is_retried_with_backoff(index, local_store, database, tmp_path):
    index.faults.fail("/simple/alpha/", status=503, times=2)
    index.faults.fail(index.files("beta")[0].path, status=500, times=2)

    report = sync(index.url, local_store, database, tmp_path)

    assert report.failures == {}
    assert published_filenames(local_store, "beta") == {f.filename for f in index.files("beta")}


def test_timeout_is_retried(index, local_store, database, tmp_path):
    index.faults.hang(index.files("alpha")[0].path, seconds=2.0, times=1)

    report = sync(index.url, local_store, database, tmp_path, timeout=0.5)

    assert report.failures == {}
    assert published_filenames(local_store, "alpha") == {f.filename for f in index.files("alpha")}


def test_dropped_connection_is_retried(index, local_store, database, tmp_path):
    index.faults.drop(index.files("gamma")[0].path, times=1, partial=True)
    index.faults.drop("/simple/gamma/", times=1, partial=False)

    report = sync(index.url, local_store, database, tmp_path)

    assert report.failures == {}
    assert_every_link_present(local_store)


def test_persistent_5xx_fails_only_that_project_and_it_is_retried_next_run(
    index, local_store, database, tmp_path
):
    index.faults.fail("/simple/beta/", status=503, times=None)

    report = sync(index.url, local_store, database, tmp_path)

    assert set(report.failures) == {"beta"}
    assert "503" in report.failures["beta"]
    assert set(root_projects(local_store)) == {"alpha", "gamma"}
    assert _status(database)["beta"][0] == "failed"

    index.faults.clear()
    report = sync(index.url, local_store, database, tmp_path)
    assert report.failures == {}
    assert set(root_projects(local_store)) == {"alpha", "beta", "gamma"}
    assert _status(database)["beta"] == ("ok", None)


def test_hash_mismatch_rejects_the_file_and_fails_its_project_with_the_reason(
    index, local_store, database, tmp_path
):
    corrupted = index.files("alpha")[0]
    index.faults.corrupt("alpha", corrupted.filename)

    report = sync(index.url, local_store, database, tmp_path)

    assert set(report.failures) == {"alpha"}
    assert corrupted.filename in report.failures["alpha"] and "sha256" in report.failures["alpha"]
    assert _status(database)["alpha"][0] == "failed"
    assert not local_store.exists("mirror/web/simple/alpha/index.html"), "no page may link an unverified file"
    assert {"beta", "gamma"} <= set(root_projects(local_store))
    assert not any(
        "corrupt" in key or key.endswith(corrupted.filename) for key in local_store.list_keys("mirror")
    )


def test_missing_metadata_sidecar_is_left_out_not_fatal(index, local_store, database, tmp_path):
    wheel = next(f for f in index.files("beta") if f.filename.endswith(".whl"))
    index.faults.missing_metadata("beta", wheel.filename)

    report = sync(index.url, local_store, database, tmp_path)

    assert report.failures == {}
    assert any(wheel.filename in warning for warning in report.warnings)
    entry = next(e for e in page_json(local_store, "beta")["files"] if e["filename"] == wheel.filename)
    assert "core-metadata" not in entry and "data-dist-info-metadata" not in entry
    assert "data-core-metadata" not in page_html(local_store, "beta")
    assert_every_link_present(local_store)


def test_project_that_404s_is_removed(index, local_store, database, tmp_path):
    sync(index.url, local_store, database, tmp_path, allowlist=frozenset({"alpha", "beta"}))
    index.remove_project("beta")

    report = sync(index.url, local_store, database, tmp_path, allowlist=frozenset({"alpha", "beta"}))

    assert report.projects_removed == 1
    assert set(root_projects(local_store)) == {"alpha"}
    assert _status(database)["beta"][0] == "removed"


@pytest.mark.parametrize("flavour", ["pep691", "html"])
def test_malformed_page_fails_only_that_project(fake_index_factory, local_store, database, tmp_path, flavour):
    index = fake_index_factory(flavour)
    index.add_release("alpha", "1.0")
    index.add_release("beta", "1.0")
    index.faults.malformed("beta")

    report = sync(index.url, local_store, database, tmp_path)

    assert set(report.failures) == {"beta"}
    assert "alpha" in root_projects(local_store)


def test_stale_page_is_retried_then_accepted(index, local_store, database, tmp_path):
    sync(index.url, local_store, database, tmp_path)
    index.add_release("alpha", "1.1")
    index.faults.stale("alpha", times=1)

    report = sync(index.url, local_store, database, tmp_path)

    assert report.failures == {}
    assert "alpha-1.1.tar.gz" in published_filenames(local_store, "alpha")


def test_page_that_stays_stale_fails_the_project_and_keeps_its_serial(index, local_store, database, tmp_path):
    sync(index.url, local_store, database, tmp_path)
    before = page_json(local_store, "alpha")["meta"]["_last-serial"]
    index.add_release("alpha", "1.1")
    index.faults.stale("alpha", times=None)

    report = sync(index.url, local_store, database, tmp_path)

    assert "stale" in report.failures["alpha"]
    assert page_json(local_store, "alpha")["meta"]["_last-serial"] == before


def test_empty_page_without_a_newer_serial_keeps_the_published_page(
    fake_index_factory, local_store, database, tmp_path
):
    index = fake_index_factory("html")
    index.add_release("alpha", "1.0")
    sync(index.url, local_store, database, tmp_path)
    index.faults.empty_page("alpha")

    report = sync(index.url, local_store, database, tmp_path)

    assert "no files" in report.failures["alpha"]
    assert published_filenames(local_store, "alpha") == {f.filename for f in index.files("alpha")}


def test_empty_page_with_a_newer_serial_is_believed(index, local_store, database, tmp_path):
    sync(index.url, local_store, database, tmp_path)
    for upstream_file in index.files("alpha"):
        index.remove_file("alpha", upstream_file.filename)

    report = sync(index.url, local_store, database, tmp_path)

    assert report.failures == {}
    assert published_filenames(local_store, "alpha") == set()


def test_root_that_suddenly_drops_most_projects_removes_none(fake_index, local_store, database, tmp_path):
    names = [f"project-{number}" for number in range(12)]
    for name in names:
        fake_index.add_release(name, "1.0", sdist=False)
    sync(fake_index.url, local_store, database, tmp_path)
    for name in names[:10]:
        fake_index.remove_project(name)

    report = sync(fake_index.url, local_store, database, tmp_path)

    assert report.projects_removed == 0
    assert set(root_projects(local_store)) == set(names)
    assert last_run_root_serial(database) is None, "not complete: a later run looks at the root again"
