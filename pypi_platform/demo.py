"""``make demo``: mirror a small allowlist, load a week of download statistics, publish the datasets, scan
the mirror and pack it into a corpus shard, on the embedded defaults."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta

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

DOWNLOAD_DAYS = 7


def main() -> int:
    settings = load_settings()
    definitions = load_definitions()
    # The persistent instance under DAGSTER_HOME, so `make ui` shows these runs afterwards.
    with dg.DagsterInstance.get() as instance:
        mirror = _run(definitions, instance, "mirror_sync_job")
        if mirror is None:
            return 1
        _report_mirror(settings, mirror)
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        first = yesterday - timedelta(days=DOWNLOAD_DAYS - 1)
        tags = {
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": yesterday.isoformat(),
        }
        if _run(definitions, instance, "daily_downloads_job", tags) is None:
            return 1
        if _run(definitions, instance, "recent_downloads_job") is None:
            return 1
        # The hourly datasets first, then the download counts, which publish the checksums and bundle again.
        for job in ("datasets_hourly_job", "download_stats_job"):
            if _run(definitions, instance, job) is None:
                return 1
        if not _scan(definitions, instance):
            return 1
        corpus = _corpus(definitions, instance)
        if corpus is None:
            return 1
    _report_downloads(settings, first, yesterday)
    _report_datasets(settings)
    report_scan(settings)
    _report_corpus(settings, *corpus)
    _report_dashboard(settings, yesterday)
    _report_notebook(settings, yesterday, scan_week(datetime.now(UTC).date()), corpus[0])
    return 0


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
    print(f"  PYPI_PLATFORM_HOME={settings.home} DAGSTER_HOME={dagster_home} .venv/bin/python")
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


def _corpus(definitions: dg.Definitions, instance: dg.DagsterInstance):
    """Every mirrored file into the open shard (as the sensor would run it), then the language statistics."""
    print("\nPacking the mirror into the corpus...")
    with psycopg.connect(_dsn(load_settings())) as conn:
        known = corpus_state.shards(conn)
    number = corpus_state.next_shard_number(known)
    name = corpus_state.shard_name(number)
    instance.add_dynamic_partitions(SHARDS.name, [name])
    shard = _run(definitions, instance, "corpus_shard_job", partition_key=name)
    if shard is None:
        return None
    stats = _run(definitions, instance, "corpus_stats_job")
    if stats is None:
        return None
    return name, _materialized(shard, "corpus_shard"), _materialized(stats, "corpus_stats")


def _scan(definitions: dg.Definitions, instance: dg.DagsterInstance) -> bool:
    """This week's scan, as ``python -m pypi_platform.scans run`` does it: every bucket, then the dataset."""
    week = scan_week(datetime.now(UTC).date())
    print(f"\nScanning the mirror for scan date {week} ({BUCKETS} bucket runs)...")
    failures = run_scan(definitions, instance, week)
    if failures:
        print(
            f"the scan failed ({', '.join(failures)}); `make ui` shows the runs and their logs.",
            file=sys.stderr,
        )
    return not failures


def _run(
    definitions: dg.Definitions,
    instance: dg.DagsterInstance,
    job_name: str,
    tags: dict | None = None,
    partition_key: str | None = None,
):
    result = definitions.resolve_job_def(job_name).execute_in_process(
        instance=instance, tags=tags or {}, partition_key=partition_key, raise_on_error=False
    )
    if not result.success:
        print(f"{job_name} failed; `make ui` shows the run and its logs.", file=sys.stderr)
        return None
    return result


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
    metadata = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key == dg.AssetKey("mirror"):
            metadata = {key: value.value for key, value in materialization.metadata.items()}
    store = open_store(settings.storage_url, endpoint_url=settings.s3_endpoint_url)
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
    else:
        print(f"Serve {simple} over HTTP (any static server) and point pip's --index-url at it.")


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
    store = open_store(settings.storage_url, endpoint_url=settings.s3_endpoint_url)
    index = json.loads(store.get_bytes(INDEX_KEY))
    print()
    print(f"Published the datasets; the index of their latest versions is {store.uri(INDEX_KEY)}")
    for dataset, manifest in sorted(index["datasets"].items()):
        for name, entry in sorted(manifest["files"].items()):
            rows = f"{entry['rows']:>8,} rows" if entry["rows"] is not None else " " * 13
            print(f"  {dataset:22} {name:28} {rows}  {store.uri(entry['key'])}")


if __name__ == "__main__":
    sys.exit(main())
