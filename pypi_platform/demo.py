"""``make demo``: mirror a small allowlist, load a week of download statistics, publish the datasets, scan
the mirror and pack it into a corpus shard, on the embedded defaults.

The terminal shows one line per stage (a progress bar for the download days and the scan's buckets), then
what each stage made. Dagster's event log of every run, and whatever else the runs write to stderr, goes to
``$PYPI_PLATFORM_HOME/demo.log``; the runs themselves are on the instance of ``DAGSTER_HOME``, for ``make
ui``.
The stages and their lines live in ``demo_stages.py``, imported once the log is open: importing them (Dagster,
the embedded PostgreSQL server's package) warns on some machines, and a warning belongs in the log.

``python -m pypi_platform.demo --instance-yaml PATH`` writes the demo instance's dagster.yaml (``make`` does).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

import yaml

from pypi_platform.lib.config import load_settings

DOWNLOAD_DAYS = 7
LOG_NAME = "demo.log"
# The first day the demo loaded, kept under PYPI_PLATFORM_HOME: the Makefile exports it as
# PYPI_PLATFORM_DOWNLOADS_START for the demo and `make ui`, so the daily partitions start where the data does.
DOWNLOADS_START_FILE = "demo-downloads-start"
START_VARIABLE = "PYPI_PLATFORM_DOWNLOADS_START"
INSTANCE_HEADER = """\
# The demo's Dagster instance, written by `make` from the repository's dagster.yaml: the same run queue,
# limits, pools, retries and run monitoring. Only the storage differs: runs, events and schedules stay in
# SQLite under DAGSTER_HOME instead of a PostgreSQL server with credentials. Edit dagster.yaml, not this file.
"""


def demo_instance_yaml(production: str) -> str:
    """The demo instance's dagster.yaml: the production one (whose text is ``production``) without storage."""
    config = yaml.safe_load(production)
    del config["storage"]
    return INSTANCE_HEADER + yaml.safe_dump(config, sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pypi_platform.demo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--instance-yaml", type=Path, help="write the demo instance's dagster.yaml here and exit"
    )
    args = parser.parse_args(argv)
    if args.instance_yaml:
        production = Path(__file__).resolve().parent.parent / "dagster.yaml"
        args.instance_yaml.write_text(demo_instance_yaml(production.read_text()))
        return 0
    first, last = _download_window(load_settings().home)
    settings = load_settings()  # again: the window may have set the downloads start
    log_path = settings.home / LOG_NAME
    print(f"Dagster's event log of this demo: {log_path}")
    with _event_log(log_path) as (log, errors):
        from pypi_platform.demo_stages import run_demo

        done = run_demo(settings, first, last, log, errors)
    if not done:
        print(
            f"\nThe demo stopped; the event log is {log_path}, and `make ui` shows the runs.", file=sys.stderr
        )
        return 1
    print(f"\nDagster's event log of these runs: {log_path}; `make ui` shows the runs and their assets.")
    return 0


def _download_window(home: Path) -> tuple[date, date]:
    """The days to load, the last DOWNLOAD_DAYS up to yesterday; the first of them becomes the partitions'
    start (recorded for `make ui`) unless a start is set already, by a run before this one or by the user."""
    last = datetime.now(UTC).date() - timedelta(days=1)
    first = last - timedelta(days=DOWNLOAD_DAYS - 1)
    if not os.environ.get(START_VARIABLE):
        home.mkdir(parents=True, exist_ok=True)
        (home / DOWNLOADS_START_FILE).write_text(f"{first.isoformat()}\n")
        os.environ[START_VARIABLE] = first.isoformat()
    return max(first, load_settings().downloads.start_date), last


@contextmanager
def _event_log(path: Path) -> Iterator[tuple[TextIO, TextIO]]:
    """Open the event log, and point this process's stderr at it while the runs go: the runs that the scan
    command starts log to Dagster's console logger, on stderr, and worker processes warn there too. Yields the
    log for the demo's own runs and a stream on the terminal's stderr, for the demo's messages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    terminal = os.dup(2)
    with open(path, "w", buffering=1) as log, os.fdopen(os.dup(terminal), "w", buffering=1) as errors:
        os.dup2(log.fileno(), 2)
        try:
            yield log, errors
        finally:
            sys.stderr.flush()
            os.dup2(terminal, 2)
            os.close(terminal)


if __name__ == "__main__":
    sys.exit(main())
