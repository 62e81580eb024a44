"""Release and file filters, and that a filter change applies to what is already mirrored."""

from datetime import UTC, datetime

import psycopg

from pypi_platform.lib.config import MirrorFilters
from pypi_platform.lib.mirror.filters import latest_version, select_files, sort_versions
from pypi_platform.lib.mirror.upstream import UpstreamFile
from pypi_platform_tests.lib.mirror.helpers import published_filenames, sync


def _file(filename: str, version: str, packagetype: str = "wheel", size: int = 100, yanked: bool = False):
    return UpstreamFile(
        filename=filename, url=f"http://127.0.0.1/{filename}", version=version, packagetype=packagetype,
        sha256="0" * 64, size=size, yanked=yanked, upload_time=datetime(2024, 1, 1, tzinfo=UTC),
    )  # fmt: skip


FILES = [
    _file("p-1.0.tar.gz", "1.0", "sdist"),
    _file("p-1.0-py3-none-any.whl", "1.0"),
    _file("p-2.0-cp311-cp311-win_amd64.whl", "2.0"),
    _file("p-2.0-cp311-cp311-manylinux_2_17_x86_64.whl", "2.0", size=5000),
    _file("p-3.0b1-py3-none-any.whl", "3.0b1"),
    _file("p-2.1-py3-none-any.whl", "2.1", yanked=True),
]


def _names(filters: MirrorFilters) -> set[str]:
    return {f.filename for f in select_files(FILES, filters)}


def test_keep_newest_releases_counts_releases_and_skips_yanked_only_ones():
    assert _names(MirrorFilters(keep_releases=1)) == {"p-3.0b1-py3-none-any.whl"}
    assert _names(MirrorFilters(keep_releases=1, prereleases=False)) == {
        "p-2.0-cp311-cp311-win_amd64.whl",
        "p-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    }


def test_package_type_platform_and_size_filters():
    assert _names(MirrorFilters(package_types=frozenset({"sdist"}))) == {"p-1.0.tar.gz"}
    without_windows = _names(MirrorFilters(exclude_platforms=("win*",)))
    assert "p-2.0-cp311-cp311-win_amd64.whl" not in without_windows
    assert {"p-1.0-py3-none-any.whl", "p-1.0.tar.gz"} <= without_windows
    assert "p-2.0-cp311-cp311-manylinux_2_17_x86_64.whl" not in _names(MirrorFilters(max_file_size=1000))


def test_latest_version_is_the_newest_final_release_not_yanked():
    assert latest_version(FILES) == "2.0"  # 3.0b1 is a pre-release, 2.1 is yanked
    assert latest_version([f for f in FILES if f.version == "3.0b1"]) == "3.0b1"  # only pre-releases
    assert latest_version([f for f in FILES if f.version == "2.1"]) == "2.1"  # only yanked ones
    assert latest_version([]) is None


def test_state_keeps_the_upstream_latest_release_even_when_the_filters_skip_it(
    fake_index, local_store, database, tmp_path
):
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("alpha", "2.0")
    sync(fake_index.url, local_store, database, tmp_path, package_types=frozenset({"bdist_wheel"}))
    sync(fake_index.url, local_store, database, tmp_path, package_types=frozenset({"sdist"}))
    with psycopg.connect(database) as conn:
        (latest,) = conn.execute("SELECT latest_version FROM mirror.projects WHERE name = 'alpha'").fetchone()
    assert latest == "2.0"


def test_versions_sort_in_pep440_order_with_invalid_ones_first():
    assert sort_versions({"1.10", "1.9", "1.10rc1", "not a version"}) == [
        "not a version",
        "1.9",
        "1.10rc1",
        "1.10",
    ]


def test_changing_filters_applies_to_projects_already_mirrored(fake_index, local_store, database, tmp_path):
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("alpha", "2.0")
    sync(fake_index.url, local_store, database, tmp_path)
    assert published_filenames(local_store, "alpha") == {f.filename for f in fake_index.files("alpha")}

    report = sync(fake_index.url, local_store, database, tmp_path, keep_releases=1)

    assert report.files_fetched == 0
    assert published_filenames(local_store, "alpha") == {"alpha-2.0.tar.gz", "alpha-2.0-py3-none-any.whl"}


def test_blocklist_removes_a_project_already_mirrored(fake_index, local_store, database, tmp_path):
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("beta", "1.0")
    sync(fake_index.url, local_store, database, tmp_path)

    report = sync(fake_index.url, local_store, database, tmp_path, blocklist=frozenset({"beta"}))

    assert report.projects_removed == 1
    assert not local_store.exists("mirror/web/simple/beta/index.html")
