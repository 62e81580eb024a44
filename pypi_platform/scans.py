"""A scan of one date from the command line: every name bucket, then the published dataset, then a summary.

    python -m pypi_platform.scans run [--date 2026-12-07] [--bucket 07 ...] [--top 10]

``make scan DATE=2026-12-07`` runs the same with the demo's settings. Scan dates are weeks starting on Monday
(the partitions of ``global_scan``): any date names its week. Each bucket is one run of ``global_scan_job`` on
the Dagster instance of ``DAGSTER_HOME``, so the runs show in the UI as the schedule's would, and per-file
results are cached, so running a date again costs only what changed. ``scan_dataset`` publishes the date once
all 64 buckets have finished; a bucket that failed is named and the command exits 1 after the others ran.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import zstandard

from pypi_platform.defs.scans.assets import SCANS_INDEX
from pypi_platform.lib.config import ConfigError, Settings, load_settings
from pypi_platform.lib.publish import read_file
from pypi_platform.lib.scans.state import BUCKETS
from pypi_platform.lib.storage import ObjectNotFound, open_store

_KIND_ORDER = {"threat": 0, "anomaly": 1, "capability": 2}


def scan_week(day: date) -> date:
    """The scan date (a Monday) of the week holding `day`."""
    return day - timedelta(days=day.weekday())


def run_scan(
    definitions: dg.Definitions,
    instance: dg.DagsterInstance,
    scan_date: date,
    buckets: list[int] | None = None,
    *,
    publish: bool = True,
) -> list[str]:
    """Run the bucket runs of `scan_date` (all of them by default), then publish it; the failures, by name."""
    failures = []
    week = scan_date.isoformat()
    for bucket in buckets if buckets is not None else range(BUCKETS):
        key = dg.MultiPartitionKey({"date": week, "bucket": f"{bucket:02d}"})
        if not _execute(definitions, instance, "global_scan_job", key):
            failures.append(f"bucket {bucket:02d}")
    if publish and not failures and not _execute(definitions, instance, "scan_dataset_job", week):
        failures.append("scan_dataset")
    return failures


def _execute(definitions: dg.Definitions, instance: dg.DagsterInstance, job: str, partition_key) -> bool:
    result = definitions.resolve_job_def(job).execute_in_process(
        instance=instance, partition_key=partition_key, raise_on_error=False
    )
    return result.success


def report(settings: Settings, top: int = 5, out=None) -> None:
    """The newest published scan: its records by status, how many are flagged, the highest with their reasons."""
    out = out or sys.stdout
    store = open_store(
        settings.storage_url, endpoint_url=settings.s3_endpoint_url, timeouts=settings.s3_timeouts
    )
    try:
        manifest = json.loads(store.get_bytes(SCANS_INDEX))
    except ObjectNotFound:
        print("no scan has been published yet", file=out)
        return
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(read_file(store, manifest, "dataset.zst"))
    records = [json.loads(line) for line in raw.splitlines()]
    statuses = Counter(record["status"] for record in records)
    flagged = [r for r in records if r.get("flagged")]
    print(
        f"Scanned {len(records)} projects ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}), "
        f"{len(flagged)} flagged; published under "
        f"{store.uri(SCANS_INDEX).rsplit('/', 1)[0]}/{manifest['dataset']}/",
        file=out,
    )
    ranked = sorted((r for r in records if r["status"] == "ok"), key=lambda r: (-r["score"], r["name"]))
    print("Highest scores, with their strongest findings:", file=out)
    for record in ranked[:top]:
        mark = "flagged" if record.get("flagged") else ""
        print(f"  {record['score']:5.1f}  {record['name']} {record['version']}  {mark}", file=out)
        # Threats first: they drive the score; capabilities alone are what ordinary code does.
        strongest = sorted(
            record["detections"], key=lambda d: (_KIND_ORDER[d["kind"]], -d["score"] * d.get("weight", 1))
        )
        for detection in strongest[:3]:
            where = f"{detection['path']}:{detection['line']}" if detection["line"] else detection["path"]
            print(
                f"         {detection['rule']:34} {detection['context']:8} {where}  {detection['evidence'][:60]}",
                file=out,
            )


def main(argv: list[str] | None = None, instance: dg.DagsterInstance | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pypi_platform.scans", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="scan one date: every bucket, then publish the dataset")
    run.add_argument("--date", type=date.fromisoformat, help="a day of the week to scan (default: today)")
    run.add_argument(
        "--bucket", type=_bucket, action="append", help=f"one name bucket, 00-{BUCKETS - 1:02d} (repeatable)"
    )
    run.add_argument("--top", type=int, default=10, help="how many of the highest scores to print")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        parser.error(str(error))
    scan_date = scan_week(args.date or datetime.now(UTC).date())
    first = scan_week(settings.scans.start_date)
    if not first <= scan_date <= scan_week(datetime.now(UTC).date()):
        parser.error(f"--date: scan dates run from {first} (PYPI_PLATFORM_SCAN_START) to this week")
    if instance is None and not os.environ.get("DAGSTER_HOME"):
        parser.error("DAGSTER_HOME is not set: the runs are recorded on that instance (make scan sets it)")
    from pypi_platform.definitions import defs as load_definitions  # the code location: settings read now

    definitions = load_definitions()
    buckets = sorted(set(args.bucket)) if args.bucket else None
    every = buckets is None or len(buckets) == BUCKETS
    what = "all 64 buckets" if every else f"buckets {', '.join(f'{b:02d}' for b in buckets)}"
    print(f"Scanning {what} of scan date {scan_date}...", file=sys.stderr)
    # An instance handed in (a test's) stays open for its owner; the one of DAGSTER_HOME is closed here.
    owned = nullcontext(instance) if instance is not None else dg.DagsterInstance.get()
    with owned as dagster_instance:
        failures = run_scan(definitions, dagster_instance, scan_date, buckets, publish=every)
    if failures:
        print(f"failed: {', '.join(failures)}; the runs and their logs are in the UI", file=sys.stderr)
        return 1
    if every:
        report(settings, args.top)
    else:
        print("Not published: only a full date publishes its dataset.", file=sys.stderr)
    return 0


def _bucket(value: str) -> int:
    bucket = int(value)
    if not 0 <= bucket < BUCKETS:
        raise argparse.ArgumentTypeError(f"a bucket is 00 to {BUCKETS - 1:02d}, got {value}")
    return bucket


if __name__ == "__main__":
    sys.exit(main())
