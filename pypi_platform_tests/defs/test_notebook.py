"""README's "Open any asset in a notebook", run as written: the project's definitions, configured by the
environment, materialize on the real components, then the README's snippet loads what they stored."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from pypi_platform.definitions import defs as load_definitions
from pypi_platform.lib.scans.state import bucket_of
from pypi_platform.scans import scan_week

README = Path(__file__).resolve().parents[2] / "README.md"
DAY = date(2024, 3, 1)


def readme_snippet() -> str:
    """The Python block of README's notebook section."""
    section = README.read_text().split("## Open any asset in a notebook", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_the_readme_snippet_loads_an_unpartitioned_a_daily_a_multi_and_a_dynamic_partitioned_asset(
    fake_index, platform_environment
):
    fake_index.add_release("alpha", "1.0")
    fake_index.add_release("beta", "2.0", requires=["alpha>=1.0"])
    platform_environment(PYPI_PLATFORM_UPSTREAM_URL=fake_index.url)
    definitions = load_definitions()
    instance = dg.DagsterInstance.get()  # persistent, as after `make demo`: the snippet opens it again

    def run(job: str, partition_key: str | None = None) -> None:
        result = definitions.resolve_job_def(job).execute_in_process(
            instance=instance, partition_key=partition_key, raise_on_error=False
        )
        assert result.success, f"{job} failed"

    week, bucket = scan_week(datetime.now(UTC).date()), bucket_of("alpha")
    run("mirror_sync_job")
    run("daily_downloads_job", DAY.isoformat())
    run("datasets_hourly_job")
    run("global_scan_job", dg.MultiPartitionKey({"date": week.isoformat(), "bucket": f"{bucket:02d}"}))
    instance.add_dynamic_partitions("corpus_shards", ["pypi-mirror-1"])
    run("corpus_shard_job", "pypi-mirror-1")

    # The snippet as written, with its example keys swapped for the ones materialized here.
    code = (
        readme_snippet()
        .replace('"2026-12-06"', f'"{DAY.isoformat()}"')
        .replace('"2026-11-30"', f'"{week.isoformat()}"')
        .replace('"07"', f'"{bucket:02d}"')
    )
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)

    assert sorted(namespace["packages"]["name"]) == ["alpha", "beta"]
    day = namespace["day"]
    assert day["date"].unique().to_list() == [DAY]
    assert {"overall", "installer", "country"} <= set(day["dimension"])
    assert day.filter(dimension="overall", package="alpha").height > 0, (
        "the sample downloads mirrored projects"
    )
    scanned = namespace["bucket"]
    assert isinstance(scanned, pl.DataFrame) and "alpha" in scanned["name"].to_list()
    index = namespace["index"]
    assert {"alpha-1.0-py3-none-any.whl", "beta-2.0-py3-none-any.whl"} <= set(index["project_release"])
