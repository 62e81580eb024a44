"""The published datasets in Dagster: built from a real mirror on S3 and PostgreSQL, read back through latest.json."""

import gzip
import hashlib
import io
import json
import tarfile
from datetime import date

import dagster as dg
import polars as pl
import psycopg
import pytest

from pypi_platform.defs.datasets.assets import (
    dependency_list,
    download_stats_30d,
    package_list,
    reverse_dependencies,
)
from pypi_platform.defs.datasets.checks import reverse_dependencies_match_dependency_list
from pypi_platform.defs.datasets.io_manager import PublishedDatasetIOManager
from pypi_platform.defs.datasets.publication import (
    INDEX_KEY,
    dataset_bundle,
    dataset_checksums,
    dataset_checksums_match_store,
)
from pypi_platform.defs.resources import ObjectStoreResource, PostgresResource
from pypi_platform.lib.downloads.schema import DAILY_FRAME
from pypi_platform.lib.downloads.tables import LoadInfo, replace_day
from pypi_platform.lib.publish import DatasetFile, publish, read_file, read_latest
from pypi_platform_tests.lib.mirror.helpers import sync

ASSETS = [
    package_list,
    dependency_list,
    reverse_dependencies,
    download_stats_30d,
    dataset_checksums,
    dataset_bundle,
]
CHECKS = [reverse_dependencies_match_dependency_list, dataset_checksums_match_store]


@pytest.fixture
def mirrored(fake_index, s3_store, database, tmp_path):
    """A mirror of six projects with real wheels, one of them with only an sdist that the filters skip."""
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("Beta", "2.0", requires=["alpha>=1.0", 'requests[socks]; extra == "net"'])
    fake_index.add_release("gamma", "1.0", requires=["Beta", 'gamma[fast]; extra == "all"'])
    fake_index.add_release("delta", "1.0", requires=["epsilon"])
    fake_index.add_release("epsilon", "1.0", requires=["delta<2"])
    fake_index.add_release("broken", "1.0", requires=["alpha", "not a requirement!"])
    fake_index.add_release("sdist-only", "1.0", wheel=False)
    report = sync(fake_index.url, s3_store, database, tmp_path, package_types=frozenset({"wheel"}))
    assert report.projects_failed == 0
    with psycopg.connect(database) as conn:
        for day, count in ((date(2024, 3, 1), 10), (date(2024, 3, 2), 5)):
            frame = pl.DataFrame(
                {
                    "dimension": ["overall"] * 4,
                    "package": ["alpha", "beta", "alpha", "beta"],
                    "category": ["without_mirrors", "without_mirrors", "with_mirrors", "with_mirrors"],
                    "downloads": [count, 3 * count, count + 1, 3 * count + 1],
                },
                schema=DAILY_FRAME,
            )
            replace_day(conn, day, frame, LoadInfo(source="test", semantics="corrected"))
    return s3_store


def _resources(store, s3_endpoint, database) -> dict:
    object_store = ObjectStoreResource(url=store.url, endpoint_url=s3_endpoint)
    return {
        "object_store": object_store,
        "postgres": PostgresResource(dsn=database),
        "dataset_io_manager": PublishedDatasetIOManager(object_store=object_store),
    }


def _gunzip_lines(store, manifest: dict, name: str) -> list[str]:
    return gzip.decompress(read_file(store, manifest, name)).decode().splitlines()


def test_datasets_publish_in_aura_format_and_read_back_through_latest(mirrored, s3_endpoint, database):
    store = mirrored
    result = dg.materialize(ASSETS + CHECKS, resources=_resources(store, s3_endpoint, database))
    assert result.success
    checks = {evaluation.check_name: evaluation.passed for evaluation in result.get_asset_check_evaluations()}
    assert checks and all(checks.values()), checks

    dependency_metadata = result.asset_materializations_for_node("dependency_list")[0].metadata
    assert dependency_metadata["mutual_dependency_pairs"].value == [
        ["delta", "epsilon"]
    ]  # the cycle, recorded

    index = json.loads(store.get_bytes(INDEX_KEY))
    manifests = index["datasets"]
    assert index["not_published"] == []

    names = ["alpha", "beta", "broken", "delta", "epsilon", "gamma", "sdist-only"]
    assert _gunzip_lines(store, manifests["package_list"], "pypi_package_list.gz") == names

    edges = [
        json.loads(line) for line in _gunzip_lines(store, manifests["dependency_list"], "dependency_list.gz")
    ]
    good = {(e["project"], e["name"], e["specifier"], e["extra"]) for e in edges if e["problem"] is None}
    assert good == {
        ("beta", "alpha", ">=1.0", None),
        ("beta", "requests", "", "net"),
        ("gamma", "beta", "", None),
        ("delta", "epsilon", "", None),
        ("epsilon", "delta", "<2", None),
        ("broken", "alpha", "", None),
    }
    problems = {(e["project"], e["problem"].split(":")[0]) for e in edges if e["problem"] is not None}
    assert problems == {
        ("gamma", "self-dependency"),
        ("broken", "invalid-requirement"),
        ("sdist-only", "no-files"),
    }

    (document,) = _gunzip_lines(store, manifests["reverse_dependencies"], "reverse_dependencies.gz")
    assert json.loads(document) == {
        "alpha": ["beta", "broken"],
        "beta": ["gamma"],
        "broken": [],
        "delta": ["epsilon"],
        "epsilon": ["delta"],
        "gamma": [],
        "requests": ["beta"],
        "sdist-only": [],
    }

    stats = _gunzip_lines(store, manifests["download_stats_30d"], "pypi_download_stats.gz")
    assert [json.loads(line) for line in stats] == [
        {"package_name": "beta", "downloads": 45},
        {"package_name": "alpha", "downloads": 15},
    ]
    assert manifests["download_stats_30d"]["metadata"]["window_end"] == "2024-03-02"

    # Every published file matches both checksum files, md5sum style.
    checksums = manifests["dataset_checksums"]
    md5_lines = read_file(store, checksums, "md5_checksums.txt").decode().splitlines()
    files = {name: entry for m in manifests.values() for name, entry in m["files"].items()}
    assert len(md5_lines) == 8  # four datasets, each in Aura's format and as Parquet
    for line in md5_lines:
        digest, name = line.split("  ")
        assert hashlib.md5(store.get_bytes(files[name]["key"])).hexdigest() == digest

    bundle = read_file(store, manifests["dataset_bundle"], "aura_dataset.tgz")
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        members = {member.name: member for member in tar.getmembers()}
        assert all(member.isreg() and "/" not in name for name, member in members.items())
        assert json.loads(tar.extractfile("reverse_dependencies.json").read())["alpha"] == ["beta", "broken"]
        assert tar.extractfile("pypi_stats.json").read().decode().splitlines() == stats
    assert {"md5_checksums.txt", "sha256_checksums.txt", "pypi_package_list.gz"} <= set(members)


def test_a_package_list_that_shrinks_by_more_than_5_percent_is_held_back(
    mirrored, fake_index, s3_endpoint, database, tmp_path
):
    store = mirrored
    resources = _resources(store, s3_endpoint, database)
    assert dg.materialize([package_list], resources=resources).success
    before = read_latest(store, "package_list")

    sync(fake_index.url, store, database, tmp_path, blocklist=frozenset({"delta"}))  # 7 -> 6 projects: -14 %
    result = dg.materialize([package_list], resources=resources, raise_on_error=False)

    checks = {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}
    assert not checks["not_shrinking"].passed
    assert "6 projects against 7" in checks["not_shrinking"].description
    assert read_latest(store, "package_list")["version"] == before["version"], "latest.json did not move"


def test_checksums_check_fails_when_a_published_file_changes_in_the_store(mirrored, s3_endpoint, database):
    store = mirrored
    resources = _resources(store, s3_endpoint, database)
    assert dg.materialize(ASSETS + CHECKS, resources=resources).success
    key = read_latest(store, "package_list")["files"]["pypi_package_list.gz"]["key"]
    store.put_bytes(key, gzip.compress(b"tampered\n"))

    result = dg.materialize(
        [dataset_checksums, dataset_checksums_match_store],
        resources=resources,
        selection=dg.AssetSelection.checks(dataset_checksums_match_store),
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert "pypi_package_list.gz" in evaluation.description


def test_reverse_dependencies_check_finds_an_edge_missing_and_one_invented(mirrored, s3_endpoint, database):
    store = mirrored
    resources = _resources(store, s3_endpoint, database)
    assert dg.materialize([*ASSETS[:3], CHECKS[0]], resources=resources).success
    wrong = pl.DataFrame(
        {
            "name": ["alpha", "beta"],
            "dependents": [["beta"], ["gamma", "delta"]],
        },  # broken->alpha lost, delta invented
        schema={"name": pl.String, "dependents": pl.List(pl.String)},
    )
    buffer = io.BytesIO()
    wrong.write_parquet(buffer)
    publish(
        store,
        "reverse_dependencies",
        "tampered",
        [DatasetFile("reverse_dependencies.parquet", buffer.getvalue())],
    )

    result = dg.materialize(
        [dependency_list, reverse_dependencies, reverse_dependencies_match_dependency_list],
        resources=resources,
        selection=dg.AssetSelection.checks(reverse_dependencies_match_dependency_list),
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["only_in_reverse"].value == 1
    assert evaluation.metadata["missing_in_reverse"].value > 0


def test_the_datasets_graph_hangs_off_the_mirror_and_the_downloads(definitions):
    dg.Definitions.validate_loadable(definitions)
    graph = definitions.resolve_asset_graph()
    snapshot = {
        key.to_user_string(): sorted(p.to_user_string() for p in graph.get(key).parent_keys)
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name == "datasets"
    }
    assert snapshot == {
        "package_list": ["mirror"],
        "dependency_list": ["mirror"],
        "reverse_dependencies": ["dependency_list"],
        "download_stats_30d": ["recent_downloads"],
        "dataset_checksums": [
            "dependency_list",
            "download_stats_30d",
            "package_list",
            "reverse_dependencies",
        ],
        "dataset_bundle": ["dataset_checksums"],
    }
    hourly = graph.get(dg.AssetKey("package_list")).freshness_policy
    assert hourly.fail_window.to_timedelta().total_seconds() == 2 * 3600  # stale after two hours
    for job in ("datasets_hourly_job", "download_stats_job"):
        assert definitions.resolve_job_def(job) is not None


def test_a_dataset_frame_returned_without_a_version_is_refused_with_what_to_do(
    s3_store, s3_endpoint, database
):
    @dg.asset(name="package_list", io_manager_key="dataset_io_manager")
    def bare() -> pl.DataFrame:
        return pl.DataFrame({"name": ["alpha"]})

    result = dg.materialize(
        [bare], resources=_resources(s3_store, s3_endpoint, database), raise_on_error=False
    )

    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert "publication_metadata" in str(failure.step_failure_data.error.cause)
    assert read_latest(s3_store, "package_list") is None, "nothing was published"


def test_reading_a_dataset_never_published_fails_by_name_unless_the_reader_allows_it(
    s3_store, s3_endpoint, database
):
    upstream = dg.AssetSpec("download_stats_30d")

    @dg.asset(ins={"download_stats_30d": dg.AssetIn()})
    def strict(download_stats_30d: pl.DataFrame) -> None:
        raise AssertionError("never reached")

    @dg.asset(ins={"download_stats_30d": dg.AssetIn(metadata={"allow_missing": True})})
    def lenient(download_stats_30d: pl.DataFrame | None) -> None:
        assert download_stats_30d is None

    resources = _resources(s3_store, s3_endpoint, database)
    specs = [upstream.with_io_manager_key("dataset_io_manager")]
    failed = dg.materialize([*specs, strict], resources=resources, raise_on_error=False)
    (failure,) = [event for event in failed.all_events if event.is_step_failure]
    assert "download_stats_30d has not been published yet" in str(failure.step_failure_data.error)
    assert dg.materialize([*specs, lenient], resources=resources).success
