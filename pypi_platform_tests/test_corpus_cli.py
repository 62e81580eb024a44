"""`python -m pypi_platform.corpus`: opening the next shard as the sensor would, and extracting files by path.

Opening runs against a real mirror (fake index, S3, PostgreSQL) and a Dagster instance; extracting against shards
written by the shard writer under ``$PYPI_PLATFORM_HOME/corpus``.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from pypi_platform import corpus as corpus_cli
from pypi_platform.defs.corpus.assets import SHARDS
from pypi_platform.defs.corpus.sensors import corpus_sensor
from pypi_platform.defs.resources import PostgresResource
from pypi_platform.lib.corpus.shard import DistributionCommit, ShardFile, ShardWriter
from pypi_platform_testkit.dists import build_sdist, build_wheel
from pypi_platform_tests.lib.mirror.helpers import sync

SETUP = b"from setuptools import setup\nsetup(name='alpha')\n"
VENDORED = b"# vendored\n"
INIT = b"import ctypes\n"
BINARY = b"\xff\xfe\x00\x01"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """PYPI_PLATFORM_HOME with two shards: alpha's sdist in the first, beta's wheel in the second."""
    for number, (project, filename, files) in enumerate(
        [
            (
                "alpha",
                "alpha-1.0.tar.gz",
                [
                    ShardFile("alpha-1.0/setup.py", SETUP),
                    ShardFile("alpha-1.0/vendor/x/setup.py", VENDORED),
                    ShardFile("alpha-1.0/alpha/__init__.py", INIT),
                ],
            ),
            (
                "beta",
                "beta-1.0-py3-none-any.whl",
                [ShardFile("beta/__init__.py", INIT), ShardFile("beta/b", BINARY)],
            ),
        ],
        start=1,
    ):
        writer = ShardWriter(tmp_path / "corpus" / f"pypi-mirror-{number}.git")
        writer.append(
            DistributionCommit(project, "1.0", filename, datetime(2026, 1, number, tzinfo=UTC), files)
        )
        writer.flush()
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path))
    return tmp_path


def test_extract_out_keeps_paths_and_the_glob_star_stays_in_one_segment(home, capsys):
    out = home / "setup-files"
    assert corpus_cli.main(["extract", "--glob", "packages/*/*/*/setup.py", "--out", str(out)]) == 0
    written = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert written == {"packages/alpha/alpha-1.0.tar.gz/alpha-1.0/setup.py": SETUP}  # not the vendored one
    assert "1 matching files (1 unique blobs), 1 written into" in capsys.readouterr().err

    assert corpus_cli.main(["extract", "--glob", "packages/**/setup.py", "--out", str(home / "all")]) == 0
    assert len([p for p in (home / "all").rglob("setup.py")]) == 2


def test_extract_jsonl_streams_exact_bytes_and_unique_keeps_one_per_blob(home, capsys):
    assert (
        corpus_cli.main(["extract", "--glob", "packages/**", "--regex", r"import\s+ctypes", "--jsonl"]) == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted((line["shard"], line["path"]) for line in lines) == [
        ("pypi-mirror-1", "packages/alpha/alpha-1.0.tar.gz/alpha-1.0/alpha/__init__.py"),
        ("pypi-mirror-2", "packages/beta/beta-1.0-py3-none-any.whl/beta/__init__.py"),
    ]
    assert (
        corpus_cli.main(["extract", "--glob", "packages/beta/**", "--jsonl", "--unique", "--shard", "2"]) == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["path"].rsplit("/", 1)[1]: line["encoding"] for line in lines} == {
        "__init__.py": "utf-8",
        "b": "base64",
    }


def test_extract_refusals_are_named_and_exit_1(home, capsys):
    out = home / "out"
    out.mkdir()
    (out / "packages").symlink_to(home / "corpus")  # a link into somewhere else than the output
    assert corpus_cli.main(["extract", "--glob", "packages/beta/**", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "refused pypi-mirror-2:packages/beta/beta-1.0-py3-none-any.whl/beta/__init__.py" in err
    assert "2 refused" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["extract", "--glob", "packages//x", "--jsonl"], "--glob: 'packages//x' has an empty path segment"),
        (
            ["extract", "--glob", "*", "--regex", "(", "--jsonl"],
            "--regex: missing ), unterminated subpattern",
        ),
        (["open-shard"], "DAGSTER_HOME is not set"),
    ],
)
def test_bad_arguments_are_named(home, monkeypatch, capsys, argv, message):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(SystemExit):
        corpus_cli.main(argv)
    assert message in capsys.readouterr().err


def test_extract_names_a_missing_shard(home):
    with pytest.raises(SystemExit, match=r"no such shard.*pypi-mirror-9"):
        corpus_cli.main(["extract", "--glob", "*", "--shard", "9", "--jsonl"])


@pytest.fixture
def mirror_env(fake_index, s3_store, s3_endpoint, database, tmp_path, monkeypatch) -> str:
    """Three mirrored files, and the environment a deployment gives the CLI (shards of two files)."""
    for name, build in (("alpha", build_wheel), ("beta", build_sdist), ("gamma", build_wheel)):
        fake_index.add_file(name, *build(name, "1.0"))
    report = sync(
        fake_index.url, s3_store, database, tmp_path / "work", package_types=frozenset({"wheel", "sdist"})
    )
    assert report.projects_failed == 0
    for variable, value in {
        "PYPI_PLATFORM_HOME": str(tmp_path / "home"),
        "PYPI_PLATFORM_STORAGE_URL": s3_store.url,
        "PYPI_PLATFORM_S3_ENDPOINT_URL": s3_endpoint,
        "PYPI_PLATFORM_DATABASE_URL": database,
        "PYPI_PLATFORM_CORPUS_SHARD_CAPACITY": "2",
    }.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("PYPI_PLATFORM_MIRROR_PROJECTS", raising=False)
    return database


def test_open_shard_adds_the_partition_the_sensor_would_and_runs_it(mirror_env, capsys):
    instance = dg.DagsterInstance.ephemeral()

    def sensor_partition() -> str:
        context = dg.build_sensor_context(
            instance=instance, resources={"postgres": PostgresResource(dsn=mirror_env)}
        )
        return corpus_sensor(context).run_requests[0].partition_key

    assert corpus_cli.main(["open-shard"], instance=instance) == 0
    assert instance.get_dynamic_partitions(SHARDS.name) == ["pypi-mirror-1"] == [sensor_partition()]
    assert capsys.readouterr().err.splitlines() == [
        "pypi-mirror-1 added as a partition of corpus_shard",
        "3 mirrored files wait for the corpus",
    ]
    assert corpus_cli.main(["open-shard"], instance=instance) == 0
    assert "pypi-mirror-1 is already a partition" in capsys.readouterr().err

    # --run fills the open shard (two files: full, closed); the next call opens the one after it.
    assert corpus_cli.main(["open-shard", "--run"], instance=instance) == 0
    assert "corpus_shard_job for pypi-mirror-1: succeeded" in capsys.readouterr().err
    with psycopg.connect(mirror_env) as conn:
        assert conn.execute("SELECT number, files, closed_at IS NOT NULL FROM corpus.shards").fetchall() == [
            (1, 2, True)
        ]
    assert corpus_cli.main(["open-shard"], instance=instance) == 0
    assert "pypi-mirror-2 added" in capsys.readouterr().err
    assert instance.get_dynamic_partitions(SHARDS.name) == ["pypi-mirror-1", "pypi-mirror-2"]
    assert sensor_partition() == "pypi-mirror-2"
