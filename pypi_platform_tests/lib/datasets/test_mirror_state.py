"""The requirements of the mirrored projects' latest releases, read incrementally."""

import psycopg

from pypi_platform.lib.datasets.metadata import release_dependencies
from pypi_platform.lib.datasets.mirror_state import dependency_list, refresh_dependencies
from pypi_platform.lib.mirror.reads import mirrored_projects
from pypi_platform_tests.lib.mirror.helpers import sync


def _refresh(conn, store):
    def read(project, version, files):
        read.calls.append(project)
        return release_dependencies(store, project, version, files)

    read.calls = []
    report = refresh_dependencies(conn, mirrored_projects(conn), read, workers=2)
    return report, sorted(read.calls)


def test_only_new_or_changed_releases_are_read_again(fake_index, local_store, database, tmp_path):
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("beta", "1.0", requires=["alpha"])
    sync(fake_index.url, local_store, database, tmp_path)
    with psycopg.connect(database) as conn:
        report, calls = _refresh(conn, local_store)
        assert (report.releases, report.read, calls) == (2, 2, ["alpha", "beta"])
        assert _refresh(conn, local_store)[1] == [], "nothing changed, nothing read"

        fake_index.add_release("beta", "2.0", requires=["alpha>=1", "gamma"])
        sync(fake_index.url, local_store, database, tmp_path)
        report, calls = _refresh(conn, local_store)
        assert calls == ["beta"]
        rows = dependency_list(conn)
        assert rows.select("project", "version", "name").rows() == [
            ("beta", "2.0", "alpha"),
            ("beta", "2.0", "gamma"),
        ]

        sync(fake_index.url, local_store, database, tmp_path, blocklist=frozenset({"beta"}))
        report, calls = _refresh(conn, local_store)
        assert (report.releases, report.forgotten, calls) == (1, 1, [])
        assert dependency_list(conn).is_empty()
