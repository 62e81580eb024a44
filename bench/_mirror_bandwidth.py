"""A bandwidth-bound cold sync: ours and bandersnatch fill fresh mirrors through one throttled link.

The upstream is a FakeIndex whose every answer waits `--bandwidth-latency-ms` (one round trip per request) and
whose every body goes through one `Link` of `--bandwidth-rate` MB/s shared by all connections, as a real link is.
It holds `--bandwidth-files` release files (a wheel and an sdist per project, one release each) of a heavy-tailed
size mix: log-normal around a median of tens of KB, cut to 4 KB .. 50 MB, so most files are small and a few
dozen large ones carry most of the bytes. Each tool syncs it cold into a fresh mirror (and ours into a fresh
database), verifying every file by sha256 as it always does; then both mirrors must hold exactly the upstream's
files and sidecars, byte for byte. Printed for each tool: seconds, bytes over the link, achieved MB/s and its
share of the link (goal for ours: >= 90 %), CPU seconds (so a CPU-bound run shows), requests by kind.

Run alone (`.venv/bin/python bench/_mirror_bandwidth.py --help`) or through `bench/mirror_scale --part
bandwidth`, which adds these options to its own parser; every option is prefixed so the two never clash.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.machinery
import importlib.util
import io
import math
import os
import random
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOAL = 0.90  # our share of the link's throughput
MIN_SIZE, MAX_SIZE = 4_000, 50_000_000
SIDES = ("bandersnatch", "ours")
_POOL = 64 << 20  # random bytes every payload is cut from: incompressible, and cheap to make 2 GB of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument_group("bandwidth-bound cold sync").add_argument
    add(
        "--bandwidth-files",
        type=int,
        default=2000,
        help="release files upstream, two a project (default 2000)",
    )
    add(
        "--bandwidth-median-kb",
        type=float,
        default=60.0,
        help="median file size in KB (default 60); sizes are log-normal, cut to 4 KB .. 50 MB",
    )
    add("--bandwidth-sigma", type=float, default=2.4, help="log-normal sigma of the sizes (default 2.4)")
    add(
        "--bandwidth-rate",
        type=float,
        default=25.0,
        help="the link's MB/s, shared by every connection (default 25); 0 = unthrottled, to find the CPU's ceiling",
    )
    add("--bandwidth-latency-ms", type=float, default=20.0, help="delay before every answer (default 20)")
    add("--bandwidth-workers", type=int, default=10, help="our engine's workers (default 10, its default)")
    add(
        "--bandwidth-bandersnatch-workers",
        type=int,
        default=3,
        help="bandersnatch's (default 3, its default)",
    )
    add(
        "--bandwidth-repeat",
        type=int,
        default=1,
        help="cold syncs of each tool; medians reported (default 1)",
    )
    add("--bandwidth-only", choices=SIDES, help="run one tool only")
    add("--bandwidth-seed", type=int, default=20261207, help="seed of the sizes and contents")
    add("--bandwidth-keep", action="store_true", help="keep the scratch directory (mirrors, logs)")


def _peer_bench():
    """bench/mirror_vs_bandersnatch, whose way of running and checking both tools this benchmark shares."""
    path = HERE / "mirror_vs_bandersnatch"
    spec = importlib.util.spec_from_loader(
        "mirror_vs_bandersnatch", importlib.machinery.SourceFileLoader("mirror_vs_bandersnatch", str(path))
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def file_sizes(count: int, median: float, sigma: float, seed: int) -> list[int]:
    """`count` sizes at the log-normal's quantiles (so the total does not depend on the seed), shuffled."""
    normal = statistics.NormalDist()
    sizes = [
        min(MAX_SIZE, max(MIN_SIZE, round(median * math.exp(sigma * normal.inv_cdf((i + 0.5) / count)))))
        for i in range(count)
    ]
    random.Random(seed).shuffle(sizes)
    return sizes


def _payload(pool: bytes, rng: random.Random, size: int) -> bytes:
    start = rng.randrange(len(pool) - size + 1)  # sizes stop at MAX_SIZE, below the pool's
    return pool[start : start + size]


def build_wheel(name: str, payload: bytes) -> tuple[str, bytes]:
    """A well-formed pure wheel whose package carries `payload` stored (random bytes do not deflate)."""
    from pypi_platform_testkit.dists import _record_digest, core_metadata, normalize_dist_name

    dist = normalize_dist_name(name)
    info = f"{dist}-1.0.0.dist-info"
    members = [
        (f"{dist}/__init__.py", b'__version__ = "1.0.0"\n'),
        (f"{dist}/_data.bin", payload),
        (f"{info}/METADATA", core_metadata(name, "1.0.0")),
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n",
        ),
    ]
    record = "".join(f"{path},{_record_digest(data)},{len(data)}\n" for path, data in members)
    members.append((f"{info}/RECORD", (record + f"{info}/RECORD,,\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in members:
            entry = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_STORED
            archive.writestr(entry, data)
    return f"{dist}-1.0.0-py3-none-any.whl", buffer.getvalue()


def build_sdist(name: str, payload: bytes) -> tuple[str, bytes]:
    from pypi_platform_testkit.dists import core_metadata, normalize_dist_name

    stem = f"{normalize_dist_name(name)}-1.0.0"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, data in (("PKG-INFO", core_metadata(name, "1.0.0")), ("data.bin", payload)):
            entry = tarfile.TarInfo(f"{stem}/{path}")
            entry.size, entry.mtime, entry.mode = len(data), 315532800, 0o644
            archive.addfile(entry, io.BytesIO(data))
    return f"{stem}.tar.gz", gzip.compress(buffer.getvalue(), compresslevel=0, mtime=0)


def start_upstream(args):
    """A started FakeIndex holding the files, without latency or link yet (the set-up is not throttled)."""
    from _fake_upstream import Upstream

    from pypi_platform_testkit.fake_index import FakeIndex

    rng = random.Random(args.bandwidth_seed)
    pool = rng.randbytes(_POOL)
    sizes = file_sizes(
        args.bandwidth_files, args.bandwidth_median_kb * 1000, args.bandwidth_sigma, args.bandwidth_seed
    )
    index = FakeIndex("pep691")
    names, expected, served = [], set(), {}
    for number in range(0, len(sizes), 2):
        name = f"bandwidth-{number // 2:05d}"
        names.append(name)
        for build, size in zip((build_wheel, build_sdist), sizes[number : number + 2], strict=False):
            # The archive's own bytes are a few hundred; the payload makes up the rest of the drawn size.
            f = index.add_file(name, *build(name, _payload(pool, rng, max(size - 600, 1))))
            served[f.path] = f.size
            if f.metadata is not None:
                served[f.path + ".metadata"] = len(f.metadata)
            expected.add(f.path.removeprefix("/packages/"))
    index.start()
    return Upstream(index, names, expected, served, root_bytes=0)


def verify_tree(label: str, packages: Path, upstream) -> list[str]:
    """Every file and sidecar a mirror holds has the upstream's exact bytes (sha256 against the index's)."""
    problems = []
    index = upstream.index
    by_path = {f.path.removeprefix("/packages/"): f for name in upstream.names for f in index.files(name)}
    for path in sorted(upstream.expected):
        f = by_path[path]
        for suffix, digest in (("", f.sha256), (".metadata", f.metadata_sha256)):
            local = packages / (path + suffix)
            if digest is None or not local.exists():
                continue  # which files are present is compare_trees' question
            sha = hashlib.sha256()
            with local.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    sha.update(chunk)
            if sha.hexdigest() != digest:
                problems.append(f"{label}: {path}{suffix} differs from the upstream's bytes")
    return problems


def sync_once(args, peer, exe: Path, upstream, server_dsn: str, run: Path, side: str, attempt: int) -> dict:
    from _bandersnatch import write_config
    from _fake_upstream import take_traffic

    from pypi_platform_testkit.fake_index import Link

    index = upstream.index
    take_traffic(upstream)
    index.link = Link(args.bandwidth_rate * 1e6) if args.bandwidth_rate else Link(float("inf"))
    cpu_upstream = time.process_time()
    if side == "bandersnatch":
        config = run / "bandersnatch.conf"
        write_config(
            config,
            directory=run / "bandersnatch",
            master=index.base_url,
            names=upstream.names,
            workers=args.bandwidth_bandersnatch_workers,
            compare="hash",
        )
        result = peer.run_bandersnatch(exe, config, run / "bandersnatch", index.serial)
        result["packages"] = run / "bandersnatch" / "web" / "packages"
    else:
        spec = {
            "url": index.url,
            "store": str(run / "store"),
            "work": str(run / "work"),
            "names": upstream.names,
            "workers": args.bandwidth_workers,
            "dsn": peer.fresh_database(server_dsn, f"bandwidth{attempt}"),
        }
        result = peer.run_ours(spec, run / "ours.log")
        result["packages"] = run / "store" / "mirror" / "web" / "packages"
    result["cpu_upstream"] = time.process_time() - cpu_upstream
    result["link_bytes"] = index.link.bytes_sent
    result["traffic"] = take_traffic(upstream)
    return result


def measure(args, peer, exe: Path, upstream, server_dsn: str, scratch: Path) -> tuple[dict, list[str]]:
    sides = [args.bandwidth_only] if args.bandwidth_only else list(SIDES)
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    problems: list[str] = []
    for attempt in range(args.bandwidth_repeat):
        trees = {}
        for side in sides if attempt % 2 == 0 else sides[::-1]:  # neither always meets the warmer machine
            run = scratch / f"run{attempt}" / side
            run.mkdir(parents=True)
            result = sync_once(args, peer, exe, upstream, server_dsn, run, side, attempt)
            runs[side].append(result)
            trees[side] = peer.packages_tree(result["packages"])
            problems += verify_tree(f"repeat {attempt + 1} {side}", result["packages"], upstream)
            print(
                f"repeat {attempt + 1}/{args.bandwidth_repeat} {side}: {result['wall']:.1f} s, "
                f"{result['link_bytes'] / 1e6:,.0f} MB over the link",
                flush=True,
            )
        label = f"repeat {attempt + 1}"
        if len(trees) == 2:
            problems += peer.compare_trees(label, trees["bandersnatch"], trees["ours"], upstream.expected)
        else:  # one tool alone: it must still hold exactly the upstream's files
            files = {p for p in next(iter(trees.values())) if not p.endswith(".metadata")}
            problems += [f"{label}: lacks {p}" for p in sorted(upstream.expected - files)][:20]
        if not args.bandwidth_keep:
            shutil.rmtree(scratch / f"run{attempt}", ignore_errors=True)  # gigabytes per repeat
    return runs, problems


def report(args, version: str, runs: dict, problems: list[str]) -> None:
    from _fake_upstream import KINDS

    peer_table = _peer_bench().table
    rate = args.bandwidth_rate
    rows: list[list[object]] = [
        [
            "tool",
            "workers",
            "seconds",
            "MB over link",
            "MB/s",
            "share",
            "goal",
            "cpu s",
            "cores busy",
            "index cpu s",
        ]
    ]
    for side, results in runs.items():
        wall = statistics.median(r["wall"] for r in results)
        moved = statistics.median(r["link_bytes"] for r in results) / 1e6
        share = moved / wall / rate if rate else float("nan")
        cpu = statistics.median(r["cpu"] for r in results)
        workers = args.bandwidth_workers if side == "ours" else args.bandwidth_bandersnatch_workers
        goal = ""
        if side == "ours" and rate:
            goal = f">= {GOAL:.0%} {'met' if share >= GOAL else 'MISSED'}"
        rows.append(
            [
                f"{side} {version}" if side == "bandersnatch" else side,
                workers,
                wall,
                f"{moved:,.1f}",
                moved / wall,
                f"{share:.1%}" if rate else "-",
                goal,
                cpu,
                cpu / wall,
                statistics.median(r["cpu_upstream"] for r in results),
            ]
        )
    link = f"a {rate:g} MB/s" if rate else "an unthrottled"
    print(
        f"\ncold sync through {link} link, "
        f"{args.bandwidth_latency_ms:g} ms before every answer; medians of {args.bandwidth_repeat}\n"
    )
    peer_table(rows)
    print(
        "seconds: the tool's whole process (start-up and imports included); MB over the link: every body the"
        "\nindex sent (files, sidecars, pages, JSON); share = MB/s / the link's rate; cpu s: the tool's user +"
        "\nsystem seconds (cores busy = cpu s / seconds, of 2); index cpu s: the fake index's, serving"
    )
    rows = [["tool", *KINDS, "file MB"]]
    for side, results in runs.items():
        seen = results[-1]["traffic"]
        rows.append([side, *(seen[kind] for kind in KINDS), seen["bytes"] / 1e6])
    print("\nrequests to the upstream (last repeat); file MB: release files + sidecars\n")
    peer_table(rows)
    if "ours" in runs:
        r = runs["ours"][-1]["report"]
        print(
            f"ours in run(): {r['engine_seconds']:.1f} s; files fetched {r['files_fetched']}, bytes {r['bytes_fetched']:,}"
        )
    print(
        "\neach mirror holds exactly the upstream's files and sidecars, every one with the upstream's sha256: "
        + ("yes" if not problems else "NO")
    )
    for problem in problems[:20]:
        print("  " + problem)


def run(args: argparse.Namespace) -> int:
    if (
        min(
            args.bandwidth_files,
            args.bandwidth_workers,
            args.bandwidth_bandersnatch_workers,
            args.bandwidth_repeat,
        )
        < 1
    ):
        sys.exit("--bandwidth-files, the worker counts and --bandwidth-repeat must be at least 1")
    if args.bandwidth_rate < 0 or args.bandwidth_latency_ms < 0:
        sys.exit("--bandwidth-rate and --bandwidth-latency-ms cannot be negative")
    for path in (str(HERE), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    from _bandersnatch import ensure_bandersnatch

    from pypi_platform.lib.postgres import release_embedded_server, start_embedded_server

    peer = _peer_bench()
    exe, version = ensure_bandersnatch(peer.BANDERSNATCH_VENV)
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min; 2 cores)")
    clock = time.perf_counter()
    upstream = start_upstream(args)
    sizes = sorted(size for path, size in upstream.sizes.items() if not path.endswith(".metadata"))
    quartiles = statistics.quantiles(sizes, n=100)
    print(
        f"upstream {upstream.index.url}: {len(upstream.names)} projects, {len(sizes)} files, "
        f"{sum(sizes) / 1e9:.2f} GB (median {quartiles[49] / 1e3:.0f} KB, p90 {quartiles[89] / 1e6:.2f} MB, "
        f"p99 {quartiles[98] / 1e6:.1f} MB, largest {sizes[-1] / 1e6:.1f} MB; the largest 10 % hold "
        f"{sum(sizes[len(sizes) * 9 // 10 :]) / sum(sizes):.0%} of the bytes); built in "
        f"{time.perf_counter() - clock:.0f} s, not timed"
    )
    rate = (
        f"{args.bandwidth_rate:g} MB/s ({args.bandwidth_rate * 8:g} Mbit/s)"
        if args.bandwidth_rate
        else "none"
    )
    print(
        f"link: {rate}, shared by every connection; latency {args.bandwidth_latency_ms:g} ms before every answer"
    )
    upstream.index.latency_seconds = args.bandwidth_latency_ms / 1000
    scratch = Path(tempfile.mkdtemp(prefix="mirror-bandwidth-", dir=ROOT / ".bench"))
    try:
        server_dsn = start_embedded_server(scratch / "pgdata", cleanup=True)
        runs, problems = measure(args, peer, exe, upstream, server_dsn, scratch)
    finally:
        upstream.index.stop()
        release_embedded_server(scratch / "pgdata")
        if args.bandwidth_keep:
            print(f"scratch directory kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    report(args, version, runs, problems)
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
