"""The upstream both mirrors sync in bench/mirror_vs_bandersnatch: a FakeIndex filled with real dists.

Projects look like the 40 of bandersnatch's published baseline: pure Python, a wheel and an sdist
per release, ~150 KB per file of incompressible content, the latest releases adding up to ~12.3 MB.
"""

from __future__ import annotations

import base64
import random
import statistics
import urllib.request
from collections import Counter
from dataclasses import dataclass

VERSIONS = ("1.0.0", "1.1.0", "2.0.0")
KINDS = ("root", "pages", "json", "files", "sidecars")  # what a request to the upstream asks for
DEFLATED_BASE64 = 1.034  # archive size / random bytes carried, for base64 text in a deflated archive


@dataclass
class Upstream:
    index: object  # a started FakeIndex subclass
    names: list[str]  # every project, all of them in the allowlist
    expected: set[str]  # paths under packages/ of the latest releases' files: what both mirrors must hold
    sizes: dict[str, int]  # URL path -> size, for every file and sidecar
    root_bytes: int  # size of the root index (the larger of its JSON and HTML forms)


def module_text(rng: random.Random, size: int) -> str:
    """A Python module carrying `size` random bytes as base64: deflate cannot shrink it below ~size."""
    text = base64.b64encode(rng.randbytes(size)).decode()
    lines = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    return f'"""Generated payload."""\n\nDATA = """\n{lines}\n"""\n'


def start_upstream(
    projects: int, root_extra: int, megabytes: float, seed: int, latency_ms: float
) -> Upstream:
    from pypi_platform_testkit.dists import build_sdist, build_wheel, normalize_dist_name
    from pypi_platform_testkit.fake_index import FakeIndex

    rng = random.Random(seed)
    # Padding names in the root, in no allowlist, model the cost of a root as large as the real one.
    index = FakeIndex("pep691", extra_root_names=root_extra)
    # Sizes vary per project (0.4x to 1.6x the mean) yet the latest releases add up to `megabytes`.
    weights = [rng.uniform(0.4, 1.6) for _ in range(projects)]
    mean_file = megabytes * 1e6 / (2 * projects) / statistics.mean(weights) / DEFLATED_BASE64
    names, expected, sizes = [], set(), {}
    for number, weight in enumerate(weights):
        name = f"benchpkg-{number:03d}"
        names.append(name)
        package = normalize_dist_name(name)
        for version in VERSIONS:
            modules = {
                f"{package}/__init__.py": f'__version__ = "{version}"\n',
                f"{package}/_data.py": module_text(rng, int(mean_file * weight)),
            }
            for build in (build_wheel, build_sdist):
                f = index.add_file(name, *build(name, version, modules=modules))
                sizes[f.path] = f.size
                if f.metadata is not None:  # FakeIndex offers a PEP 658 sidecar for every wheel
                    sizes[f.path + ".metadata"] = len(f.metadata)
                if version == VERSIONS[-1]:
                    expected.add(f.path.removeprefix("/packages/"))
    index.start()
    root_bytes = 0
    for accept in ("application/vnd.pypi.simple.v1+json", "text/html"):  # render (and cache) the root untimed
        with urllib.request.urlopen(urllib.request.Request(index.url, headers={"Accept": accept})) as answer:
            root_bytes = max(root_bytes, len(answer.read()))
    if latency_ms:
        index.faults.hang("/", latency_ms / 1000, times=None)  # every request waits before its answer
    return Upstream(index, names, expected, sizes, root_bytes)


def request_kind(path: str) -> str:
    if path in ("/simple", "/simple/"):  # bandersnatch asks for /simple and follows the redirect
        return "root"
    if path.startswith("/packages/"):
        return "sidecars" if path.endswith(".metadata") else "files"
    return {"simple": "pages", "pypi": "json"}.get(path.split("/")[1], "other")


def take_traffic(upstream: Upstream) -> Counter:
    """What the upstream was asked for since the last call, by kind; bytes of release files and sidecars."""
    requests = upstream.index.requests
    upstream.index.reset_requests()
    seen = Counter(request_kind(request.path) for request in requests)
    seen["bytes"] = sum(upstream.sizes.get(request.path, 0) for request in requests)
    return seen
