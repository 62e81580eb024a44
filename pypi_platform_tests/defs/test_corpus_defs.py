"""The corpus in Dagster: shards filled in upload order from a real mirror on S3 and PostgreSQL, indexed, parsed."""

import hashlib
import io
import subprocess
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import psycopg
import pytest
from polars.testing import assert_frame_equal

from pypi_platform.definitions import defs as load_definitions
from pypi_platform.defs.corpus.assets import SHARDS, STATS_ROOT, corpus_index, corpus_shard, corpus_stats
from pypi_platform.defs.corpus.sensors import corpus_sensor
from pypi_platform.defs.io_managers import PolarsParquetIOManager
from pypi_platform.defs.resources import CorpusResource, ObjectStoreResource, PostgresResource
from pypi_platform.lib.corpus.index import index_key
from pypi_platform.lib.corpus.index import write_parquet as index_parquet
from pypi_platform_testkit.dists import build_sdist, build_wheel
from pypi_platform_tests.lib.mirror.helpers import sync

ALPHA = (
    'def greet(name: str) -> str:\n    return f"hello {name}"\n\nif (n := 3) > 2:\n    print(greet("x"))\n'
)
BETA = (
    "async def fetch(command):\n"
    "    match command:\n"
    "        case 'go':\n"
    "            return await command\n"
    "        case _:\n"
    "            return None\n"
)
BROKEN = "def broken(:\n"
TIMES = {
    "alpha": datetime(2026, 1, 10, tzinfo=UTC),
    "beta": datetime(2026, 2, 10, tzinfo=UTC),
    "broken": datetime(2026, 3, 1, tzinfo=UTC),
    "lost": datetime(2026, 3, 5, tzinfo=UTC),
}


@pytest.fixture
def mirrored(fake_index, s3_store, database, tmp_path):
    """Five release files: alpha's wheel and sdist, beta's sdist (one unparseable module), a corrupt archive and
    a wheel whose bytes the store no longer has (returned, to be put back)."""
    for build in (build_wheel, build_sdist):
        fake_index.add_file(
            "alpha", *build("alpha", "1.0", modules={"alpha/__init__.py": ALPHA}), upload_time=TIMES["alpha"]
        )
    fake_index.add_file(
        "beta",
        *build_sdist("beta", "2.0", modules={"beta/__init__.py": BETA, "beta/old.py": BROKEN}),
        upload_time=TIMES["beta"],
    )
    fake_index.add_file(
        "broken", "broken-1.0.tar.gz", b"this is not a tar archive", upload_time=TIMES["broken"]
    )
    fake_index.add_file("lost", *build_wheel("lost", "1.0"), upload_time=TIMES["lost"])
    report = sync(
        fake_index.url, s3_store, database, tmp_path / "work", package_types=frozenset({"wheel", "sdist"})
    )
    assert report.projects_failed == 0
    with psycopg.connect(database) as conn:
        (lost_key,) = conn.execute("SELECT object_key FROM mirror.files WHERE project = 'lost'").fetchone()
    lost = (lost_key, s3_store.get_bytes(lost_key))
    s3_store.delete([lost_key])
    return s3_store, lost


def _resources(store, s3_endpoint, database, home: Path, capacity: int = 2) -> dict:
    object_store = ObjectStoreResource(url=store.url, endpoint_url=s3_endpoint)
    return {
        "object_store": object_store,
        "parquet_io_manager": PolarsParquetIOManager(object_store=object_store),
        "postgres": PostgresResource(dsn=database),
        "corpus": CorpusResource(
            shards_dir=str(home / "corpus"),
            cache_dir=str(home / "cache"),
            shard_capacity=capacity,
            batch_files=10,
            workers=2,
        ),
    }


def _run_shard(instance, resources: dict, number: int, **kwargs) -> dg.ExecuteInProcessResult:
    name = f"pypi-mirror-{number}"
    instance.add_dynamic_partitions(SHARDS.name, [name])
    return dg.materialize(
        [corpus_shard, corpus_index], partition_key=name, instance=instance, resources=resources, **kwargs
    )


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    materialization = events[-1].step_materialization_data.materialization
    return {key: value.value for key, value in materialization.metadata.items()}


def _files(database: str) -> dict[str, tuple]:
    with psycopg.connect(database) as conn:
        rows = conn.execute("SELECT filename, shard, position, status, reason, commit_id FROM corpus.files")
        return {filename: rest for filename, *rest in rows}


def _git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repository, capture_output=True, text=True, check=True).stdout


def _build_all(store, s3_endpoint, database, home: Path) -> dict:
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(store, s3_endpoint, database, home)
    assert _run_shard(instance, resources, 1).success
    with pytest.raises(dg.Failure, match="pypi-mirror-1 is the last shard"):
        _run_shard(instance, resources, 3)  # shards open in order only
    result = _run_shard(instance, resources, 2)
    assert result.success
    return _metadata(result, "corpus_shard")


def test_shards_fill_in_upload_order_and_a_rebuild_gives_the_same_commits(
    mirrored, s3_endpoint, database, tmp_path
):
    store, (lost_key, lost_bytes) = mirrored
    second = _build_all(store, s3_endpoint, database, tmp_path / "first")
    assert second["shard_files"] == 2 and second["shard_closed"]
    assert second["files_skipped"]["broken-1.0.tar.gz"].startswith("corrupt-archive")
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(store, s3_endpoint, database, tmp_path / "first")
    third = _metadata(_run_shard(instance, resources, 3), "corpus_shard")
    assert "lost-1.0-py3-none-any.whl" in third["files_failed"]  # recorded, holds no place, planned again
    assert third["shard_files"] == 0 and third["pending_files"] == 1

    files = _files(database)
    placed = {name: row for name, row in files.items() if row[0] is not None}
    assert [name for name, _ in sorted(placed.items(), key=lambda item: item[1][:2])] == [
        "alpha-1.0-py3-none-any.whl",
        "alpha-1.0.tar.gz",
        "beta-2.0.tar.gz",
        "broken-1.0.tar.gz",
    ]
    assert files["lost-1.0-py3-none-any.whl"][2] == "failed"

    # The store has the file again: the open shard takes it, and the closed ones are left alone.
    store.put_bytes(lost_key, lost_bytes)
    for number in (1, 2):
        assert _metadata(_run_shard(instance, resources, number), "corpus_shard")["files_committed"] == 0
    third = _metadata(_run_shard(instance, resources, 3), "corpus_shard")
    assert third["files_committed"] == 1 and third["pending_files"] == 0
    first_commits = {name: row[4] for name, row in _files(database).items()}

    # From scratch, from the same mirror: the same commit for every file.
    with psycopg.connect(database) as conn:
        conn.execute("DELETE FROM corpus.files")
        conn.execute("DELETE FROM corpus.shards")
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(store, s3_endpoint, database, tmp_path / "again")
    for number in (1, 2, 3):
        assert _run_shard(instance, resources, number).success
    assert {name: row[4] for name, row in _files(database).items()} == first_commits
    for number in (1, 2, 3):
        heads = [
            _git(home / "corpus" / f"pypi-mirror-{number}.git", "rev-parse", "HEAD")
            for home in (tmp_path / "first", tmp_path / "again")
        ]
        assert heads[0] == heads[1]


def test_the_index_matches_the_archives_and_plain_git_reads_the_shard(
    mirrored, s3_endpoint, database, tmp_path
):
    store, _ = mirrored
    _build_all(store, s3_endpoint, database, tmp_path)
    repository = tmp_path / "corpus" / "pypi-mirror-1.git"
    index = pl.read_parquet(io.BytesIO(store.get_bytes(index_key("pypi-mirror-1"))))
    assert index["repository"].unique().to_list() == [1]

    with psycopg.connect(database) as conn:
        key = conn.execute(
            "SELECT object_key FROM mirror.files WHERE filename = 'alpha-1.0.tar.gz'"
        ).fetchone()[0]
    with tarfile.open(fileobj=io.BytesIO(store.get_bytes(key))) as archive:
        members = {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}
    rows = index.filter(pl.col("project_release") == "alpha-1.0.tar.gz")
    assert sorted(rows["archive_path"].to_list()) == sorted(members)
    head = _git(repository, "rev-parse", "HEAD").strip()
    for row in rows.iter_rows(named=True):
        content = members[row["archive_path"]]
        assert row["hash"] == hashlib.sha1(b"blob %d\0" % len(content) + content).digest()
        assert row["size"] == len(content) and row["lines"] == content.count(b"\n")
        assert row["path"] == f"packages/alpha/alpha-1.0.tar.gz/{row['archive_path']}"
        assert row["skip_reason"] == ""
        assert row["uploaded_on"] == TIMES["alpha"].replace(tzinfo=None)
        shown = subprocess.run(
            ["git", "cat-file", "-p", f"{head}:{row['path']}"], cwd=repository, capture_output=True
        )
        assert shown.stdout == content

    wheel = index.filter(pl.col("project_release") == "alpha-1.0-py3-none-any.whl")
    with zipfile.ZipFile(io.BytesIO(_mirror_bytes(store, database, "alpha-1.0-py3-none-any.whl"))) as archive:
        assert sorted(wheel["archive_path"].to_list()) == sorted(archive.namelist())

    log = _git(repository, "log", "--format=%at %s").splitlines()
    assert len(log) == 2  # one commit per distribution file
    assert all(line.split()[0] == str(int(TIMES["alpha"].timestamp())) for line in log)
    fsck = subprocess.run(["git", "fsck", "--full"], cwd=repository, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repository), str(clone)], check=True)
    assert (clone / "packages/alpha/alpha-1.0.tar.gz/alpha-1.0/alpha/__init__.py").read_text() == ALPHA

    second = pl.read_parquet(io.BytesIO(store.get_bytes(index_key("pypi-mirror-2"))))
    broken = second.filter(pl.col("project_release") == "broken-1.0.tar.gz")
    assert broken.select("archive_path", "skip_reason").rows() == [("", "corrupt-archive")]


def test_the_io_manager_stores_the_index_where_it_always_was_and_a_notebook_loads_it(
    mirrored, s3_endpoint, database, tmp_path, monkeypatch
):
    store, _ = mirrored
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(store, s3_endpoint, database, tmp_path)
    result = _run_shard(instance, resources, 1)
    metadata = _metadata(result, "corpus_index")
    stored = store.get_bytes(index_key("pypi-mirror-1"))
    index = pl.read_parquet(io.BytesIO(stored))
    # Byte for byte what the corpus's own writer makes of the frame: zstd at the index's level.
    assert stored == index_parquet(index)
    assert metadata["uri"] == store.uri(index_key("pypi-mirror-1"))
    assert metadata["dagster/row_count"] == index.height and metadata["bytes"] == len(stored)
    assert metadata["release_files"] == 2
    assert result.get_asset_check_evaluations()[0].passed
    assert not store.exists("assets/corpus_index/pypi-mirror-1.parquet")

    # What a notebook user does: the project's own definitions, configured by the environment.
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path / "notebook"))
    monkeypatch.setenv("PYPI_PLATFORM_STORAGE_URL", store.url)
    monkeypatch.setenv("PYPI_PLATFORM_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("PYPI_PLATFORM_DATABASE_URL", database)
    monkeypatch.delenv("PYPI_PLATFORM_MIRROR_PROJECTS", raising=False)
    loaded = load_definitions().load_asset_value(
        "corpus_index", partition_key="pypi-mirror-1", instance=instance
    )
    assert_frame_equal(loaded, index)
    assert loaded["project_release"].unique().sort().to_list() == [
        "alpha-1.0-py3-none-any.whl",
        "alpha-1.0.tar.gz",
    ]


def _mirror_bytes(store, database: str, filename: str) -> bytes:
    with psycopg.connect(database) as conn:
        key = conn.execute("SELECT object_key FROM mirror.files WHERE filename = %s", (filename,)).fetchone()[
            0
        ]
    return store.get_bytes(key)


def test_stats_parse_each_blob_once_and_count_features_by_month(mirrored, s3_endpoint, database, tmp_path):
    store, _ = mirrored
    _build_all(store, s3_endpoint, database, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    # The third shard is opened but never indexed: it is left out, and the stats are built from the others.
    instance.add_dynamic_partitions(SHARDS.name, ["pypi-mirror-1", "pypi-mirror-2", "pypi-mirror-3"])
    resources = _resources(store, s3_endpoint, database, tmp_path)
    first = dg.materialize(
        [corpus_index, corpus_stats], selection=["corpus_stats"], instance=instance, resources=resources
    )
    metadata = _metadata(first, "corpus_stats")
    assert metadata["shards"] == 2
    assert metadata["blobs_parsed_now"] == metadata["unique_python_blobs"] > 0
    assert metadata["statuses"]["syntax-error"] == 1  # beta/old.py: counted, not dropped

    monthly = pl.read_parquet(io.BytesIO(store.get_bytes(f"{STATS_ROOT}/features_monthly.parquet")))
    by_month = {}
    for row in monthly.iter_rows(named=True):
        by_month.setdefault(row["month"].isoformat()[:7], set()).add(row["feature"])
    assert {"fstring", "walrus", "annotations"} <= by_month["2026-01"]
    assert {"match", "async", "status:syntax-error"} <= by_month["2026-02"]
    assert "match" not in by_month["2026-01"]

    build_files = pl.read_parquet(io.BytesIO(store.get_bytes(f"{STATS_ROOT}/build_files_monthly.parquet")))
    assert build_files.filter(pl.col("month").dt.month() == 1).row(0, named=True)["sdists"] == 1

    again = dg.materialize(
        [corpus_index, corpus_stats], selection=["corpus_stats"], instance=instance, resources=resources
    )
    assert _metadata(again, "corpus_stats")["blobs_parsed_now"] == 0  # once per unique blob


def test_stats_before_any_shard_is_indexed_publish_empty_tables(s3_store, s3_endpoint, database, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SHARDS.name, ["pypi-mirror-1"])  # opened by the sensor, not yet indexed
    resources = _resources(s3_store, s3_endpoint, database, tmp_path)

    result = dg.materialize(
        [corpus_index, corpus_stats], selection=["corpus_stats"], instance=instance, resources=resources
    )

    metadata = _metadata(result, "corpus_stats")
    assert metadata["shards"] == 0 and metadata["unique_python_blobs"] == 0
    monthly = pl.read_parquet(io.BytesIO(s3_store.get_bytes(f"{STATS_ROOT}/features_monthly.parquet")))
    assert monthly.is_empty()


def test_the_corpus_sensor_runs_the_open_shard_and_opens_the_next_when_it_is_full(
    mirrored, s3_endpoint, database, tmp_path
):
    store, _ = mirrored
    instance = dg.DagsterInstance.ephemeral()
    resources = _resources(store, s3_endpoint, database, tmp_path)

    def evaluate() -> dg.SensorResult:
        context = dg.build_sensor_context(instance=instance, resources={"postgres": resources["postgres"]})
        return corpus_sensor(context)

    first = evaluate()
    assert [r.partition_key for r in first.run_requests] == ["pypi-mirror-1"]
    assert first.dynamic_partitions_requests[0].partition_keys == ["pypi-mirror-1"]
    assert _run_shard(instance, resources, 1).success  # capacity 2: full and closed
    second = evaluate()
    assert [r.partition_key for r in second.run_requests] == ["pypi-mirror-2"]
    assert second.dynamic_partitions_requests[0].partition_keys == ["pypi-mirror-2"]
