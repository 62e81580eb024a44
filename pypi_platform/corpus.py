"""The corpus from the command line.

    python -m pypi_platform.corpus extract --glob 'packages/*/setup.py' [--regex 'import\\s+os'] \\
        [--shard 1 --shard 2] (--out DIR | --jsonl)

Shards are read from ``$PYPI_PLATFORM_HOME/corpus`` (all of them unless ``--shard`` names some). ``--out``
writes each unique matching blob once, named by its git blob id; ``--jsonl`` streams them to standard output.
A summary goes to standard error.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from pypi_platform.lib.config import ConfigError, load_settings
from pypi_platform.lib.corpus.extract import extract
from pypi_platform.lib.corpus.state import shard_name, shard_name_of, shard_number, shard_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pypi_platform.corpus", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser(
        "extract", help="files matching a path pattern and optionally a content regex"
    )
    command.add_argument(
        "--glob", required=True, help="shell-style pattern over the path in the shard's tree"
    )
    command.add_argument(
        "--regex", help="a regular expression the content must match (searched in the bytes)"
    )
    command.add_argument(
        "--shard", type=int, action="append", help="a shard number (repeatable; default: all)"
    )
    target = command.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="directory to write each unique blob into, named by its id")
    target.add_argument("--jsonl", action="store_true", help="stream JSON lines to standard output")
    args = parser.parse_args(argv)
    try:
        shards_dir = load_settings().home / "corpus"
    except ConfigError as error:
        parser.error(str(error))
    try:
        content = re.compile(args.regex.encode()) if args.regex else None
    except re.error as error:
        parser.error(f"--regex: {error}")
    repositories = _repositories(shards_dir, args.shard)
    if not repositories:
        print(f"no shard under {shards_dir}", file=sys.stderr)
        return 1
    report = extract(
        repositories, args.glob, content, out_dir=args.out, stream=None if args.out else sys.stdout
    )
    where = f" into {args.out}" if args.out else ""
    print(
        f"{report.matches} matching files, {report.unique} unique blobs{where} from {len(repositories)} shards",
        file=sys.stderr,
    )
    return 0


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
