"""The corpus from the command line.

    python -m pypi_platform.corpus open-shard [--run]
    python -m pypi_platform.corpus extract --glob 'packages/**/setup.py' [--regex 'import\\s+os'] \\
        [--shard 1 --shard 2] [--unique] (--out DIR | --jsonl)

``open-shard`` adds the shard new files go to (the open one, or the next when the last is full) as a partition
of ``corpus_shard`` on the Dagster instance of ``DAGSTER_HOME``, as ``corpus_sensor`` does; ``--run`` then runs
``corpus_shard_job`` for it there, so the run shows in the UI.

``extract`` reads shards from ``$PYPI_PLATFORM_HOME/corpus`` (all of them unless ``--shard`` names some). The
pattern follows the shell and ``.gitignore``: ``*`` stays within one path segment, ``**`` crosses them.
``--out`` writes each matching file's exact bytes at its path in the shard under DIR, refusing (and naming) any
that would land outside DIR; ``--jsonl`` streams one JSON object per file, its bytes as UTF-8 text or, when they
are not UTF-8, as base64 (``encoding`` says which). ``--unique`` produces each blob once, at its first path.
A summary goes to standard error; the exit status is 1 when a file was refused.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from contextlib import nullcontext
from pathlib import Path

import psycopg

from pypi_platform.lib import postgres
from pypi_platform.lib.config import ConfigError, Settings, load_settings
from pypi_platform.lib.corpus.extract import extract, glob_regex
from pypi_platform.lib.corpus.state import (
    next_shard_number,
    pending_count,
    shard_name,
    shard_name_of,
    shard_number,
    shard_path,
    shards,
)


def main(argv: list[str] | None = None, instance=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pypi_platform.corpus",
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[2:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    opening = commands.add_parser(
        "open-shard", help="add the shard new files go to as a partition on the Dagster instance"
    )
    opening.add_argument("--run", action="store_true", help="then run corpus_shard_job for it")
    command = commands.add_parser(
        "extract", help="files matching a path pattern and optionally a content regex"
    )
    command.add_argument(
        "--glob",
        required=True,
        help="pattern over the path in the shard's tree: * within a segment, ** across segments",
    )
    command.add_argument(
        "--regex", help="a regular expression the content must match (searched in the bytes)"
    )
    command.add_argument(
        "--shard", type=int, action="append", help="a shard number (repeatable; default: all)"
    )
    command.add_argument("--unique", action="store_true", help="each blob once, at the first path found")
    target = command.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--out", type=Path, help="directory to write each file into, at its path in the shard"
    )
    target.add_argument("--jsonl", action="store_true", help="stream JSON lines to standard output")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        parser.error(str(error))
    if args.command == "open-shard":
        if instance is None and not os.environ.get("DAGSTER_HOME"):
            parser.error("DAGSTER_HOME is not set: the partition is added to that instance")
        return _open_shard(settings, instance, run=args.run)
    return _extract(parser, args, settings.home / "corpus")


def _open_shard(settings: Settings, instance, *, run: bool) -> int:
    import dagster as dg  # only here: extracting needs no Dagster

    from pypi_platform.defs.corpus.assets import SHARDS
    from pypi_platform.defs.corpus.schedules import SHARD_JOB

    dsn = postgres.ensure_database(settings.database_url, str(settings.embedded_postgres_dir))
    with psycopg.connect(dsn) as conn:
        known = shards(conn)
        pending = pending_count(conn)
    name = shard_name(next_shard_number(known))
    # An instance handed in (a test's) stays open for its owner; the one of DAGSTER_HOME is closed here.
    with nullcontext(instance) if instance is not None else dg.DagsterInstance.get() as dagster_instance:
        if dagster_instance.has_dynamic_partition(SHARDS.name, name):
            print(f"{name} is already a partition of corpus_shard", file=sys.stderr)
        else:
            dagster_instance.add_dynamic_partitions(SHARDS.name, [name])
            print(f"{name} added as a partition of corpus_shard", file=sys.stderr)
        print(f"{pending} mirrored files wait for the corpus", file=sys.stderr)
        if not run:
            return 0
        from pypi_platform.definitions import defs as load_definitions  # the code location: settings read now

        result = (
            load_definitions()
            .resolve_job_def(SHARD_JOB)
            .execute_in_process(instance=dagster_instance, partition_key=name, raise_on_error=False)
        )
    print(
        f"{SHARD_JOB} for {name}: {'succeeded' if result.success else 'failed'} (run {result.run_id})",
        file=sys.stderr,
    )
    return 0 if result.success else 1


def _extract(parser: argparse.ArgumentParser, args: argparse.Namespace, shards_dir: Path) -> int:
    try:
        glob_regex(args.glob)
    except ValueError as error:
        parser.error(f"--glob: {error}")
    try:
        content = re.compile(args.regex.encode()) if args.regex else None
    except re.error as error:
        parser.error(f"--regex: {error}")
    repositories = _repositories(shards_dir, args.shard)
    if not repositories:
        print(f"no shard under {shards_dir}", file=sys.stderr)
        return 1
    report = extract(
        repositories,
        args.glob,
        content,
        out_dir=args.out,
        stream=None if args.out else sys.stdout,
        unique=args.unique,
    )
    for path, reason in report.refused.items():
        print(f"refused {path}: {reason}", file=sys.stderr)
    where = f" written into {args.out}" if args.out else " streamed"
    refused = f", {len(report.refused)} refused" if report.refused else ""
    print(
        f"{report.matches} matching files ({report.unique} unique blobs), {report.produced}{where}{refused}"
        f" from {len(repositories)} shards",
        file=sys.stderr,
    )
    return 1 if report.refused else 0


def _repositories(shards_dir: Path, numbers: list[int] | None) -> list[Path]:
    if numbers:
        missing = [n for n in numbers if not shard_path(shards_dir, n).is_dir()]
        if missing:
            raise SystemExit(f"no such shard under {shards_dir}: {', '.join(shard_name(n) for n in missing)}")
        return [shard_path(shards_dir, n) for n in numbers]
    found = []
    for path in shards_dir.glob("*.git") if shards_dir.is_dir() else ():
        try:
            found.append((shard_number(shard_name_of(path)), path))
        except ValueError:
            continue
    return [path for _, path in sorted(found)]


if __name__ == "__main__":
    sys.exit(main())
