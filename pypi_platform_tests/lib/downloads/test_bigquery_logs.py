"""The BigQuery path of a day: dry run first, the cap enforced, and the same numbers as the local path.

There is no BigQuery to run here, so a stand-in client takes the real job configurations of the BigQuery library:
its dry run reports a chosen byte count and its queries run the very SQL we send, transpiled to DuckDB, over a
local sample in the table's schema.
"""

from datetime import date
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest

from pypi_platform.lib.downloads.bigquery_sql import to_duckdb
from pypi_platform.lib.downloads.logs import BigQueryLogs, CostCapExceeded, ParquetLogs
from pypi_platform.lib.downloads.sample import write_sample

DAY = date(2024, 5, 2)
CAP = 10**9


class DuckDBStandIn:
    def __init__(self, files: list, dry_run_bytes: int) -> None:
        self.files, self.dry_run_bytes = files, dry_run_bytes
        self.jobs: list = []

    def query(self, sql: str, job_config):
        self.jobs.append(job_config)
        if job_config.dry_run:
            return SimpleNamespace(total_bytes_processed=self.dry_run_bytes)
        parameters = {parameter.name: parameter.value for parameter in job_config.query_parameters}
        table = duckdb.connect().sql(to_duckdb(sql, self.files), params=parameters).to_arrow_table()
        return SimpleNamespace(
            result=lambda: SimpleNamespace(to_arrow=lambda: table),
            total_bytes_billed=self.dry_run_bytes,
            cache_hit=False,
        )


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    directory = tmp_path_factory.mktemp("logs")
    return write_sample(directory, DAY, DAY + date.resolution, projects=["six", "idna"], rows_per_day=5_000)


def test_the_bigquery_path_gives_the_local_numbers_under_the_cap(sample):
    client = DuckDBStandIn(sample, dry_run_bytes=CAP // 2)

    remote = BigQueryLogs(client, "project.dataset.file_downloads", "corrected", CAP).aggregate(DAY)
    local = ParquetLogs(sample[0].parent, "corrected").aggregate(DAY)

    order = ["dimension", "package", "category"]
    assert remote.frame.sort(order).equals(local.frame.sort(order))
    assert remote.result.rows_in_window == local.result.rows_in_window > 0
    assert (remote.bytes_estimated, remote.bytes_billed) == (CAP // 2, CAP // 2)
    dry_run, run = client.jobs
    assert dry_run.dry_run and not dry_run.use_query_cache
    assert run.maximum_bytes_billed == CAP and run.labels["asset"] == "daily_downloads"


def test_a_query_over_the_byte_cap_is_never_run_and_says_bytes_and_cap(sample):
    client = DuckDBStandIn(sample, dry_run_bytes=CAP + 1)

    with pytest.raises(
        CostCapExceeded, match=r"would scan 1,000,000,001 bytes, over the cap of 1,000,000,000"
    ):
        BigQueryLogs(client, "project.dataset.file_downloads", "corrected", CAP).aggregate(DAY)

    assert [job.dry_run for job in client.jobs] == [True]


def test_an_invalid_table_name_is_refused_before_any_query():
    with pytest.raises(ValueError, match=r"project\.dataset\.table"):
        BigQueryLogs(DuckDBStandIn([], 0), "x`; DROP TABLE y; --", "corrected", CAP)


def test_local_frames_keep_their_schema(sample):
    frame = ParquetLogs(sample[0].parent, "pypistats").aggregate(DAY).frame
    assert frame.schema == pl.Schema(
        {"dimension": pl.String, "package": pl.String, "category": pl.String, "downloads": pl.Int64}
    )
