"""A package's score: correlated within a file, weighed by where the file sits, then the worst files.

Aura summed every detection, so the biggest benign packages ranked highest. Here:
- In a file, a threat counts in full and the capabilities beside it add to it (a webhook URL next to a network
  call is worse than either). Two pairs of capabilities in one file make a threat: reading where credentials
  live next to a way out (network or a process) is exfiltration, and running computed code next to a network
  call is remote code.
- Capabilities alone count only where they are suspicious. At install time (setup.py, build hooks, ``.pth``
  files, an in-tree build backend) a network call counts in full, since fetching during an install is the
  classic payload, while the rest of what build scripts do every day (compilers, version files, a version
  string evaluated) stays below the flag together. At import time (code at a module's top level, which runs
  when the package is imported) network and process calls count, below the flag alone.
- Where a member sits weighs every finding in it (``CONTEXT_WEIGHTS``): install time 1.5; tests, docs, examples,
  vendored copies of other projects and data files half. A threat still flags from any of them when it is
  strong enough (decode-and-exec in a test is 50), a raw IP in a test fixture no longer does.
- Anomalies (archive tricks, parse failures, binaries) count once per rule for the whole package, weighed by
  context, at their ``ANOMALY_ALONE`` score when nothing else in their file is a threat, and in full beside a
  threat (a parse failure is how a payload hides from an AST).
- A package that reads two or more kinds of credential store (SSH keys, cloud credentials, browser data,
  wallets) has a stealer's profile wherever it sends them: an honest client reads its own kind only.
- The package takes its worst part, plus a quarter of the second and a tenth of the third, capped at 100.

``explain`` returns the parts a score was built from, so that every published score can be recomputed by hand
from its record: each part names its file, context, rules and points.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from pypi_platform.lib.scans.archive import TAR_SUFFIXES
from pypi_platform.lib.scans.config_rules import backend_members
from pypi_platform.lib.scans.findings import RULES, Finding

MAX_SCORE = 100.0
FLAG_SCORE = 30.0  # a package at or above this is flagged for a person to look at
STEALER_SCORE = 80.0
RUNNERS_UP = (0.25, 0.1)

# Contexts, from the member's path: how likely its code is to run on a user's machine when installed.
INSTALL, CODE, TEST, DOCS, EXAMPLE, VENDORED, DATA = (
    "install", "code", "test", "docs", "example", "vendored", "data",
)  # fmt: skip
CONTEXT_WEIGHTS = {INSTALL: 1.5, CODE: 1.0, TEST: 0.5, DOCS: 0.5, EXAMPLE: 0.5, VENDORED: 0.5, DATA: 0.5}

_INSTALL_FILES = {"setup.py", "hatch_build.py", "pdm_build.py", "build_backend.py"}
_TEST_DIRS = {"test", "tests", "testing", "testdata", "test_data", "fixtures", "cassettes", "conftest"}
_DOCS_DIRS = {"doc", "docs", "docs_src", "documentation", "sphinx", "man"}
_EXAMPLE_DIRS = {"example", "examples", "sample", "samples", "demo", "demos", "tutorial", "tutorials"}
_EXAMPLE_DIRS |= {"benchmark", "benchmarks", "bench", "notebooks", "cookbook", "recipes"}
_VENDORED_DIRS = {"third_party", "thirdparty", "third-party", "extern", "_extern", "externals", "_externals"}
_VENDORED_MARK = "vendor"  # vendor, _vendor, vendored, _vendored, vendored-meson, ...
_CODE_SUFFIXES = (
    ".py",
    ".pyw",
    ".pyi",
    ".pyx",
    ".pxd",
    ".pth",
    ".sh",
    ".bash",
    ".ps1",
    ".bat",
    ".cmd",
    ".js",
)
_CODE_SUFFIXES += (".vbs", ".exe", ".dll", ".so", ".dylib", ".bin", ".whl", ".zip", ".egg", ".tar.gz", ".tgz")
_PYTHON_SUFFIXES = (".py", ".pyw", ".pth")
_DOCS_SUFFIXES = (".md", ".rst", ".txt", ".ipynb", ".html", ".htm", ".tex")
_PACKAGING_FILES = {
    "pyproject.toml",
    "setup.cfg",
    "pkg-info",
    "metadata",
    "record",
    "wheel",
    "entry_points.txt",
}

# Ways out: every network rule (connections, URLs to raw addresses, webhooks, paste sites, tunnels, ...).
_NETWORK = {rule for rule in RULES if rule.startswith(("network.", "exfiltration."))}
# A screenshot or the clipboard next to a way out is spying. A credential path next to a network call is how
# every SSH and cloud client works, and eval next to a socket how every REPL and web framework does; the upload
# that carries credentials out (exfiltration.send) and the exec of fetched code (dropper.download-and-run) are
# reported by the rules as threats of their own.
_THREATENING_PAIRS = (({"spyware.clipboard", "spyware.screenshot"}, _NETWORK),)
# Capabilities that count alone at install time, at these points before the install weight; what is not
# named here counts at its rule's score. The everyday ones are capped together below the flag.
_INSTALL_EVERYDAY = {"process.spawn", "file.write", "exec.dynamic-code", "exec.dynamic-import"}
_INSTALL_EVERYDAY |= {"exec.native-library", "install.cmdclass-override", "credentials.client-config"}
_INSTALL_EVERYDAY_CAP = 15.0
_INSTALL_SCORES = {"network.connection": 30.0}  # a download while installing: flagged on its own
# Capabilities that count alone at import time (top-level code of a module), at these points: they rank a
# package above the noise, but alone below the flag (test servers and CLI scripts connect at their top level
# too); what a beacon sends at import (host data, a literal IP) is a threat of its own.
_IMPORT_SCORES = {"network.connection": 20.0, "process.spawn": 15.0}
# Anomalies whose file holds no threat count at these points at most: an in-tree symbolic link, a Python 2
# file, a launcher binary or a test key are worth a look, not a flag, unless something else in the package is.
ANOMALY_ALONE = {
    "parse.failed": 15.0,
    "archive.link": 15.0,
    "archive.oversize-member": 10.0,  # wheels carry large native libraries; such a member is only unread
    "archive.total-size": 10.0,
    "binary.executable-in-sdist": 20.0,
    "secret.private-key": 20.0,
    "secret.aws-access-key": 20.0,
    "secret.github-token": 20.0,
    "secret.package-index-token": 20.0,
    "secret.slack-token": 20.0,
    "obfuscation.high-entropy-literal": 15.0,
}
# Alone in tests, docs, examples, vendored code or data, an anomaly is a fixture (a malformed archive kept to
# test an unpacker) more often than a trick: at most this much.
_REDUCED_ANOMALY_CAP = 15.0
_CREDENTIAL_STORES = {
    "ssh": (".ssh/",),
    "cloud": (".aws/", ".kube/", "gcloud", ".azure/"),
    "browser": (
        "Login Data",
        "Local State",
        "Cookies",
        "Web Data",
        "logins.json",
        "key4.db",
        "cookies.sqlite",
    ),
    "wallet": ("wallet.dat", "Exodus", "Electrum", "Ethereum", "Atomic", "nkbihfbeogaeaoehlefnkodbefgpgknn"),
    "chat": ("leveldb", "tdata"),
    "system": ("/etc/shadow",),
}
# SSH keys and cloud credentials together are what every deployment tool reads (cluster launchers, CI helpers);
# a stealer's profile also takes a store no honest tool of that kind reads.
_STEALER_STORES = {"browser", "wallet", "chat", "system"}


def context(path: str, install_members: frozenset[str] = frozenset()) -> str:
    """Where a member sits (``CONTEXT_WEIGHTS``'s keys), from its path relative to the release file.

    A nested archive's path is "outer/path.whl!inner/path": the outer path keeps its context (a test wheel
    inside an sdist holds test code), the innermost path decides whether the member runs at install.
    `install_members` are members the package declares as install-time code (an in-tree build backend).
    """
    member = path.rsplit("!", 1)[-1]
    name = posixpath.basename(member).lower()
    if path in install_members:
        return INSTALL
    directories = [part for piece in path.lower().split("!") for part in piece.split("/")[:-1]]
    # The first directory of an sdist is "name-version"; of a wheel, the package itself.
    if _is_test_dir_chain(directories) or _is_test_file(name):
        return TEST
    if name.endswith(".pth") or (name in _INSTALL_FILES and member.count("/") <= 1):
        return INSTALL
    found = set(directories)
    if found & _DOCS_DIRS:
        return DOCS
    if found & _EXAMPLE_DIRS:
        return EXAMPLE
    if found & _VENDORED_DIRS or any(_VENDORED_MARK in part for part in found):
        return VENDORED
    if name in _PACKAGING_FILES:
        return CODE
    if name.endswith(_DOCS_SUFFIXES):
        return DOCS
    if not name.endswith(_CODE_SUFFIXES) and "." in name:
        return DATA
    return CODE


def _is_test_dir_chain(directories: list[str]) -> bool:
    return any(
        part in _TEST_DIRS
        or part.startswith(("test_", "tests_"))
        or part.endswith(("_test", "_tests"))
        or "_test_" in part
        for part in directories
    )


def _is_test_file(name: str) -> bool:
    return name.startswith("test_") or name.endswith(("_test.py", "_tests.py")) or name == "conftest.py"


@dataclass(frozen=True)
class Part:
    """One term of a package score: a member's correlated findings, an anomaly, or the stealer profile."""

    source: str  # "file" | "anomaly" | "stealer"
    score: float
    file: str = ""  # the release file
    path: str = ""  # the member
    context: str = ""
    rules: tuple[str, ...] = ()
    threat: bool = False  # a threat (or a pair of capabilities that makes one) is in it
    counts: float = 0.0  # the share of `score` in the package's score

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "score": round(self.score, 1),
            "counts": self.counts,
            "file": self.file,
            "path": self.path,
            "context": self.context,
            "rules": list(self.rules),
            "threat": self.threat,
        }


def file_score(findings: list[Finding], where: str) -> float:
    """The score of one member's findings in context `where` (anomalies included only beside a threat)."""
    return _file_score(findings, where)[0]


def _file_score(findings: list[Finding], where: str) -> tuple[float, bool]:
    """The score, and whether a threat (or a threatening pair of capabilities) made it."""
    threats, capabilities, anomalies = 0.0, {}, 0.0
    for finding in findings:
        if finding.kind == "threat":
            threats = max(threats, finding.score)
        elif finding.kind == "capability":
            capabilities[finding.rule] = float(finding.score)
        else:
            anomalies = max(anomalies, finding.score)
    rules = capabilities.keys() | {finding.rule for finding in findings if finding.kind == "threat"}
    for sources, partners in _THREATENING_PAIRS:
        if rules & sources and rules & partners:
            threats = max(threats, *(capabilities[rule] for rule in rules & sources))
    if threats and CONTEXT_WEIGHTS[where] < 1:
        # In a test, an example or vendored code the connections and processes around a threat are its
        # scaffolding (a test server, a fixture): the threat counts, weighed, and nothing adds to it.
        score = threats
    elif threats:
        score = threats + sum(capabilities.values()) + anomalies
    elif where == INSTALL:
        everyday = sum(score for rule, score in capabilities.items() if rule in _INSTALL_EVERYDAY)
        rest = sum(
            _INSTALL_SCORES.get(rule, score)
            for rule, score in capabilities.items()
            if rule not in _INSTALL_EVERYDAY
        )
        score = rest + min(everyday, _INSTALL_EVERYDAY_CAP)
    else:
        score = _import_time_score(findings) if where == CODE else 0.0
    return min(MAX_SCORE, score * CONTEXT_WEIGHTS[where]), threats > 0


def _import_time_score(findings: list[Finding]) -> float:
    """The strongest import-time capability, not their sum: a module that connects and spawns at its top level
    is a CLI script or a test server more often than a payload."""
    return max(
        (_IMPORT_SCORES[f.rule] for f in findings if f.at_import and f.rule in _IMPORT_SCORES), default=0.0
    )


def explain(findings: Iterable[tuple[str, Finding]]) -> tuple[float, list[Part]]:
    """The score of a package from its (release file name, finding) pairs, and the parts it was built from,
    highest first (the first counts in full, then ``RUNNERS_UP``)."""
    pairs = list(findings)
    install_members = _declared_install_members(pairs)
    by_member: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for filename, finding in pairs:
        by_member[filename, finding.path].append(finding)
    parts: list[Part] = []
    anomalies: dict[str, Part] = {}
    for (filename, path), members in by_member.items():
        where = context(path, install_members) if path else CODE
        score, threatened = _file_score(members, where)
        if score:
            rules = tuple(sorted({f.rule for f in members if f.kind != "anomaly" or threatened}))
            parts.append(Part("file", score, filename, path, where, rules, threatened))
        if threatened:
            continue  # its anomalies counted in full inside the file's score
        for finding in members:
            if finding.kind != "anomaly":
                continue
            points = min(finding.score, ANOMALY_ALONE.get(finding.rule, finding.score))
            if CONTEXT_WEIGHTS[where] < 1:
                points = min(points * CONTEXT_WEIGHTS[where], _REDUCED_ANOMALY_CAP)
            if finding.rule not in anomalies or anomalies[finding.rule].score < points:
                anomalies[finding.rule] = Part("anomaly", points, filename, path, where, (finding.rule,))
    parts = _once_per_member(parts) + list(anomalies.values())
    stores = _credential_stores(pairs, install_members)
    if len(stores) >= 2 and _STEALER_STORES.intersection(stores):
        stealer = Part(
            "stealer", STEALER_SCORE, context=",".join(stores), rules=("credentials.sensitive-path",)
        )
        parts.append(replace(stealer, threat=True))
    parts.sort(key=lambda part: (-part.score, not part.threat))
    return _combined(parts)


def _combined(parts: list[Part]) -> tuple[float, list[Part]]:
    """The worst part in full, then the next threats at ``RUNNERS_UP``: weak signals that are not threats (a
    build step, a launcher binary, a symbolic link) never add up to a flag together."""
    shares = iter(RUNNERS_UP)
    counted = []
    for index, part in enumerate(parts):
        adds = part.threat and CONTEXT_WEIGHTS.get(part.context, 1.0) >= 1  # many test vectors are one signal
        share = 1.0 if index == 0 else next(shares, 0.0) if adds else 0.0
        counted.append(replace(part, counts=share))
    total = sum(part.score * part.counts for part in counted)
    return round(min(MAX_SCORE, total), 1), counted


def _once_per_member(parts: list[Part]) -> list[Part]:
    """The same member in the sdist and in a wheel is one file: it counts once, at its higher score."""
    kept: dict[tuple[str, tuple[str, ...]], Part] = {}
    for part in parts:
        key = (_member_key(part.file, part.path), part.rules)
        if key not in kept or kept[key].score < part.score:
            kept[key] = part
    return list(kept.values())


def _member_key(filename: str, path: str) -> str:
    """A member's path as a wheel names it: an sdist's "name-version/" and "src/" dropped."""
    _, slash, rest = path.partition("/")
    if slash and filename.lower().endswith((*TAR_SUFFIXES, ".zip")):
        path = rest
    return path.removeprefix("src/")


def package_score(findings: Iterable[tuple[str, Finding]]) -> float:
    """The score of a package from its (release file name, finding) pairs."""
    return explain(findings)[0]


def _declared_install_members(pairs: list[tuple[str, Finding]]) -> frozenset[str]:
    """Members that a package's own build configuration runs at install time (an in-tree PEP 517 backend)."""
    return frozenset(
        member
        for _, finding in pairs
        if finding.rule == "install.in-tree-backend"
        for member in backend_members(finding)
    )


def _credential_stores(pairs: list[tuple[str, Finding]], install_members: frozenset[str]) -> list[str]:
    stores = set()
    for _, finding in pairs:
        # Python code that runs, not a web bundle or a test: minified JavaScript names every path there is.
        if (
            finding.rule == "credentials.sensitive-path"
            and finding.path.lower().endswith(_PYTHON_SUFFIXES)
            and context(finding.path, install_members) in (CODE, INSTALL)
        ):
            stores.update(
                store
                for store, marks in _CREDENTIAL_STORES.items()
                if any(m in finding.evidence for m in marks)
            )
    return sorted(stores)


def flagged(score: float | None) -> bool:
    return score is not None and score >= FLAG_SCORE
