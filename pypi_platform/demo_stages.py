"""What ``make demo`` runs, stage by stage, and what it prints of each stage's products (``demo.py`` is the
terminal side: the progress lines, the event log, the instance file)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TextIO

import dagster as dg
import psycopg

from pypi_platform.definitions import defs as load_definitions
from pypi_platform.defs.corpus.assets import SHARDS
from pypi_platform.defs.datasets.publication import INDEX_KEY
from pypi_platform.lib import postgres
from pypi_platform.lib.config import Settings, load_settings
from pypi_platform.lib.corpus import state as corpus_state
from pypi_platform.lib.downloads.reads import window_totals
from pypi_platform.lib.mirror.pages import WEB
from pypi_platform.lib.mirror.reads import mirrored_projects
from pypi_platform.lib.scans.state import BUCKETS, bucket_of
from pypi_platform.lib.storage import open_store
from pypi_platform.scans import report as report_scan
from pypi_platform.scans import run_scan, scan_week


def run_demo(settings: Settings, first: date, last: date, log: TextIO, errors: TextIO) -> bool:
    """Every stage, then the summaries; False when a run failed (named on ``errors``)."""
    events = EventLog(log)
    # The persistent instance under DAGSTER_HOME, so `make ui` shows these runs afterwards.
    with dg.DagsterInstance.get() as instance:
        definitions = dg.Definitions.merge(
            load_definitions(), dg.Definitions(loggers={"demo_event_log": event_logger(events)})
        )
        made = Demo(definitions, instance, events, errors).stages(settings, first, last)
    if made is None:
        return False
    mirror, corpus = made
    _report_mirror(settings, mirror)
    _report_downloads(settings, first, last)
    _report_datasets(settings)
    print()
    report_scan(settings)
    _report_corpus(settings, *corpus)
    _report_dashboard(settings, last)
    _report_notebook(settings, last, scan_week(datetime.now(UTC).date()), corpus[0])
    return True


class Demo:
    """The stages, each a line on the terminal; a failed run stops the demo, naming its job."""

    def __init__(
        self, definitions: dg.Definitions, instance: dg.DagsterInstance, events: EventLog, errors: TextIO
    ) -> None:
        self.definitions, self.instance, self.events, self.errors = definitions, instance, events, errors

    def stages(self, settings: Settings, first: date, last: date):
        with Line("mirror", f"syncing the allowlist from {settings.upstream_url}") as line:
            mirror = self.run("mirror_sync_job", line)
            if mirror is None:
                return None
            line.note = _mirror_note(mirror)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        with Line("downloads", "loading days of download statistics", total=len(days), unit="days") as line:
            labels = {day.isoformat() for day in days}

            def day_done(meta: dict) -> None:
                # The asset logs a line per day it aggregates (or fails), starting with the day.
                if meta["step_key"] == "daily_downloads" and meta["orig_message"][:10] in labels:
                    line.advance()

            self.events.watch = day_done
            range_tags = {
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            }
            loaded = self.run("daily_downloads_job", line, range_tags)
            self.events.watch = None
            if loaded is None or self.run("recent_downloads_job", line) is None:
                return None
        with Line("datasets", "publishing the datasets") as line:
            # The hourly datasets first, then the download counts, which publish the checksums and bundle again.
            for job in ("datasets_hourly_job", "download_stats_job"):
                if self.run(job, line) is None:
                    return None
        week = scan_week(datetime.now(UTC).date())
        with Line("scan", f"scanning the mirror for {week}", total=BUCKETS, unit="buckets") as line:
            # As `python -m pypi_platform.scans run` does it: every bucket, then the dataset, a run each.
            for bucket in range(BUCKETS):
                if run_scan(self.definitions, self.instance, week, [bucket], publish=False):
                    return self.failed(line, f"global_scan_job (bucket {bucket:02d})")
                line.advance()
            if run_scan(self.definitions, self.instance, week, [], publish=True):
                return self.failed(line, "scan_dataset_job")
        with Line("corpus", "packing the mirror into a corpus shard") as line:
            corpus = self.corpus(line)
            if corpus is None:
                return None
        return mirror, corpus

    def corpus(self, line: Line):
        """Every mirrored file into the open shard (as the sensor would run it), then the language statistics."""
        with psycopg.connect(_dsn(load_settings())) as conn:
            known = corpus_state.shards(conn)
        name = corpus_state.shard_name(corpus_state.next_shard_number(known))
        self.instance.add_dynamic_partitions(SHARDS.name, [name])
        shard = self.run("corpus_shard_job", line, partition_key=name)
        if shard is None:
            return None
        stats = self.run("corpus_stats_job", line)
        if stats is None:
            return None
        return name, _materialized(shard, "corpus_shard"), _materialized(stats, "corpus_stats")

    def run(self, job_name: str, line: Line, tags: dict | None = None, partition_key: str | None = None):
        result = self.definitions.resolve_job_def(job_name).execute_in_process(
            instance=self.instance,
            tags=tags or {},
            partition_key=partition_key,
            run_config={"loggers": {"demo_event_log": {}}},
            raise_on_error=False,
        )
        return result if result.success else self.failed(line, job_name)

    def failed(self, line: Line, what: str) -> None:
        line.failed = True
        print(f"{what} failed; its error is in the event log and in `make ui`.", file=self.errors)


class Line:
    """One stage on one line: on a terminal drawn again as the stage advances, elsewhere written once."""

    WIDTH = 30

    def __init__(self, label: str, doing: str, total: int | None = None, unit: str = "") -> None:
        self.label, self.doing, self.total, self.unit = label, doing, total, unit
        self.done, self.note, self.failed = 0, "", False
        self.live = sys.stdout.isatty()

    def __enter__(self) -> Line:
        self.started = time.monotonic()
        self.draw()
        return self

    def advance(self) -> None:
        self.done += 1
        self.draw()

    def draw(self, final: bool = False) -> None:
        if not (self.live or final):
            return
        if self.total:
            filled = self.WIDTH * min(self.done, self.total) // self.total
            text = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} {self.unit}"
        else:
            text = self.doing
        if final:
            took = time.monotonic() - self.started
            text += f"  failed after {took:.0f} s" if self.failed else f"  {took:.1f} s"
            text += f"  {self.note}" if self.note else ""
        # On a terminal, back to the line's start and clear what a longer line before left.
        line = f"\r{self.label:10} {text}\033[K" if self.live else f"{self.label:10} {text}"
        sys.stdout.write(line + ("\n" if final else ""))
        sys.stdout.flush()

    def __exit__(self, *exc: object) -> None:
        self.draw(final=True)


class EventLog(logging.Handler):
    """Dagster's log records of the demo's runs: each into the event log, and to ``watch`` when set."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(logging.DEBUG)
        self.stream, self.watch = stream, None
        self.setFormatter(logging.Formatter("%(asctime)s - dagster - %(levelname)s - %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream.write(self.format(record) + "\n")
        self.stream.flush()
        meta = getattr(record, "dagster_meta", None)
        watch: Callable[[dict], object] | None = self.watch
        if watch is not None and meta is not None:
            watch(meta)


def event_logger(events: EventLog) -> dg.LoggerDefinition:
    @dg.logger(description="Writes every event of the demo's runs to its event log file.")
    def demo_event_log(_context: dg.InitLoggerContext) -> logging.Logger:
        logger = logging.Logger("dagster", logging.DEBUG)
        logger.addHandler(events)
        return logger

    return demo_event_log


def _mirror_note(result: dg.ExecuteInProcessResult) -> str:
    metadata = _materialized(result, "mirror")
    return f"{metadata.get('projects_checked')} projects, {metadata.get('files_fetched')} files fetched"


def _report_dashboard(settings, last) -> None:
    """Where to read the loaded download statistics without Dagster."""
    with psycopg.connect(_dsn(settings)) as conn:
        names = [package for package, _ in window_totals(conn, last - timedelta(days=29), last)]
    shown = "python-dateutil" if "python-dateutil" in names else (names[0] if names else None)
    print()
    print("Download statistics for people: run `make serve`, then open")
    if shown is not None:
        print(f"  http://127.0.0.1:8000/packages/{shown}   (the dashboard)")
        print(f"  http://127.0.0.1:8000/api/packages/{shown}/overall   (the pypistats-compatible API)")
    else:
        print("  http://127.0.0.1:8000/")


def _report_notebook(settings: Settings, last, week, shard: str) -> None:
    """The lines of README's "Open any asset in a notebook", with partition keys this demo materialized."""
    with psycopg.connect(_dsn(settings)) as conn:
        names = mirrored_projects(conn)["name"].to_list()
    bucket = f"{bucket_of(names[0]):02d}" if names else "00"
    print()
    print(
        "Open the assets in a notebook (README: Open any asset in a notebook), with the variables `make ui` sets:"
    )
    dagster_home = os.environ.get("DAGSTER_HOME", str(settings.home / "dagster"))
    print(
        f"  PYPI_PLATFORM_HOME={settings.home} DAGSTER_HOME={dagster_home} "
        f"PYPI_PLATFORM_DOWNLOADS_START={settings.downloads.start_date} .venv/bin/python"
    )
    print("  >>> import dagster as dg; from pypi_platform.definitions import defs; definitions = defs()")
    print('  >>> definitions.load_asset_value("package_list")')
    print(f'  >>> definitions.load_asset_value("daily_downloads", partition_key="{last.isoformat()}")')
    print(
        '  >>> definitions.load_asset_value("global_scan", '
        f'partition_key=dg.MultiPartitionKey({{"date": "{week.isoformat()}", "bucket": "{bucket}"}}))'
    )
    print(
        f'  >>> definitions.load_asset_value("corpus_index", partition_key="{shard}", '
        "instance=dg.DagsterInstance.get())"
    )


def _materialized(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            materialization = event.step_materialization_data.materialization
            return {key: value.value for key, value in materialization.metadata.items()}
    return {}


def _report_corpus(settings: Settings, name: str, shard: dict, stats: dict) -> None:
    print()
    print(
        f"Corpus shard {name}: {shard['shard_files']} distribution files ({shard['files_committed']} new), "
        f"{shard['members_committed']} files committed, {shard['repository_bytes'] / 1e6:.1f} MB on disk at "
        f"{shard['repository']}"
    )
    print(f"  read it with: git --git-dir {shard['repository']} log --stat -3")
    print(
        f"Language features of {stats['unique_python_blobs']} unique Python files "
        f"(parsed now: {stats['blobs_parsed_now']}; {stats['parser']}; statuses {stats['statuses']}):"
    )
    for feature, blobs in stats["blobs_by_feature"].items():
        print(f"  {feature:20} {blobs}")


def _report_mirror(settings: Settings, result: dg.ExecuteInProcessResult) -> None:
    metadata = _materialized(result, "mirror")
    store = open_store(
        settings.storage_url, endpoint_url=settings.s3_endpoint_url, timeouts=settings.s3_timeouts
    )
    simple = store.uri(f"{WEB}/simple") + "/"
    print()
    print(
        f"Mirrored {metadata.get('projects_checked')} projects from {settings.upstream_url}: "
        f"{metadata.get('projects_changed')} changed, {metadata.get('projects_failed')} failed, "
        f"{metadata.get('files_fetched')} files fetched."
    )
    print(f"The mirror is at {store.uri(WEB)}/")
    if store.local_path(WEB) is not None:
        print("Install from it with:")
        print(f"  pip install --index-url {simple} python-dateutil")
    else:  # an object store maps no directory to its index.html and keeps its objects private
        print("Serve it to pip with (then leave it running):")
        print("  .venv/bin/python -m pypi_platform.mirror serve        # on 127.0.0.1:8080")
        print("  pip install --index-url http://127.0.0.1:8080/simple/ python-dateutil")


def _dsn(settings: Settings) -> str:
    return postgres.ensure_database(
        settings.database_url, None if settings.database_url else str(settings.embedded_postgres_dir)
    )


def _report_downloads(settings: Settings, first, last) -> None:
    with psycopg.connect(_dsn(settings)) as conn:
        top = window_totals(conn, last, last)[:10]
    source = settings.downloads.source or "a generated sample"
    print()
    print(
        f"Loaded download statistics for {first} .. {last} from {source} into PostgreSQL schema `downloads`."
    )
    print(f"Top packages on {last} (without mirrors):")
    for rank, (package, downloads) in enumerate(top, start=1):
        print(f"  {rank:2}. {package:30} {downloads:>10,}")


def _report_datasets(settings: Settings) -> None:
    store = open_store(
        settings.storage_url, endpoint_url=settings.s3_endpoint_url, timeouts=settings.s3_timeouts
    )
    index = json.loads(store.get_bytes(INDEX_KEY))
    print()
    print(f"Published the datasets; the index of their latest versions is {store.uri(INDEX_KEY)}")
    for dataset, manifest in sorted(index["datasets"].items()):
        for name, entry in sorted(manifest["files"].items()):
            rows = f"{entry['rows']:>8,} rows" if entry["rows"] is not None else " " * 13
            print(f"  {dataset:22} {name:28} {rows}  {store.uri(entry['key'])}")
