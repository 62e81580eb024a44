"""What `make demo` writes where: a line per stage on the terminal, the runs' events in the log, the start of
the daily partitions recorded for `make ui`."""

import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from pypi_platform import demo
from pypi_platform.demo_stages import Demo, EventLog, Line, event_logger


@dg.asset
def fine() -> int:
    return 1


@dg.asset
def broken() -> int:
    raise RuntimeError("the upstream said no")


def _demo(log: io.StringIO, errors: io.StringIO, instance: dg.DagsterInstance) -> Demo:
    events = EventLog(log)
    definitions = dg.Definitions(
        assets=[fine, broken],
        jobs=[dg.define_asset_job("fine_job", [fine]), dg.define_asset_job("broken_job", [broken])],
        loggers={"demo_event_log": event_logger(events)},
    )
    return Demo(definitions, instance, events, errors)


def test_a_stage_is_one_line_and_its_runs_events_go_to_the_log(capsys: pytest.CaptureFixture) -> None:
    log, errors = io.StringIO(), io.StringIO()
    with dg.DagsterInstance.ephemeral() as instance:
        runner = _demo(log, errors, instance)
        with Line("scan", "scanning", total=4, unit="buckets") as line:
            for _ in range(4):
                assert runner.run("fine_job", line) is not None
                line.advance()

    out = capsys.readouterr().out
    assert out.count("\n") == 1  # not a terminal: the stage is written once, when it ends
    assert out.startswith("scan       [##############################] 4/4 buckets  ")
    assert errors.getvalue() == ""
    assert log.getvalue().count("RUN_SUCCESS") == 4 and " - DEBUG - " in log.getvalue()


def test_a_failed_run_stops_its_stage_naming_the_job(capsys: pytest.CaptureFixture) -> None:
    log, errors = io.StringIO(), io.StringIO()
    with dg.DagsterInstance.ephemeral() as instance:
        runner = _demo(log, errors, instance)
        with Line("mirror", "syncing") as line:
            assert runner.run("broken_job", line) is None

    assert "mirror     syncing  failed after" in capsys.readouterr().out
    assert errors.getvalue() == "broken_job failed; its error is in the event log and in `make ui`.\n"
    assert "the upstream said no" in log.getvalue()


def test_the_watch_sees_the_records_of_the_runs() -> None:
    events = EventLog(io.StringIO())
    seen = []
    events.watch = seen.append
    record = logging.LogRecord("dagster", logging.INFO, __file__, 1, "2026-12-01: 5 rows", None, None)
    record.dagster_meta = {"step_key": "daily_downloads", "orig_message": "2026-12-01: 5 rows"}
    events.emit(record)
    assert seen == [record.dagster_meta]


def test_the_first_demo_records_the_start_of_the_daily_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYPI_PLATFORM_HOME", str(tmp_path))
    monkeypatch.delenv(demo.START_VARIABLE, raising=False)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)

    first, last = demo._download_window(tmp_path)
    assert (first, last) == (yesterday - timedelta(days=demo.DOWNLOAD_DAYS - 1), yesterday)
    assert (tmp_path / demo.DOWNLOADS_START_FILE).read_text() == f"{first.isoformat()}\n"

    # A later demo (the Makefile exports the recorded day) keeps that start and loads the latest days.
    older = first - timedelta(days=30)
    monkeypatch.setenv(demo.START_VARIABLE, older.isoformat())
    (tmp_path / demo.DOWNLOADS_START_FILE).unlink()
    assert demo._download_window(tmp_path) == (first, last)
    assert not (tmp_path / demo.DOWNLOADS_START_FILE).exists()


def test_the_instance_file_is_written_from_the_repository_dagster_yaml(tmp_path: Path) -> None:
    target = tmp_path / "dagster.yaml"
    assert demo.main(["--instance-yaml", str(target)]) == 0
    production = (Path(demo.__file__).resolve().parent.parent / "dagster.yaml").read_text()
    assert target.read_text() == demo.demo_instance_yaml(production)
    assert "storage" not in target.read_text().split("concurrency:")[1]
