"""A package's score: correlated within a file, then the worst files, never a plain sum.

Aura summed every detection, so the biggest benign packages ranked highest (REFERENCE.md §5.8). Here:
- In a file, a threat counts in full and the capabilities beside it add to it (a webhook URL next to a network
  call is worse than either). Capabilities alone are ordinary code and count nothing, except at install time,
  and except two pairs in one file that make a threat: reading where credentials live next to a way out
  (network or a process) is exfiltration, and running computed code next to a network call is remote code.
- Install-time code (setup.py, build hooks, ``.pth`` files) weighs 1.5 times: it runs before anyone reads it;
  there, capabilities count on their own (a setup.py that opens sockets is the classic payload).
- Tests, docs and examples weigh half: they are scanned (GuardDog v2 skipped them, and payloads hid there) but
  rarely run by an installer.
- Anomalies (archive tricks, parse failures, binaries) count once per rule for the whole package (half under
  tests: test fixtures hold odd files on purpose), and in full inside a file that also holds a threat (a parse
  failure is how a payload hides from an AST).
- A package that reads two or more kinds of credential store (SSH keys, cloud credentials, browser data,
  wallets) has a stealer's profile wherever it sends them: an honest client reads its own kind only.
- The package takes its worst file, plus a quarter of the second and a tenth of the third, capped at 100.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable

from pypi_platform.lib.scanner.findings import Finding

MAX_SCORE = 100.0
INSTALL_WEIGHT = 1.5
TEST_WEIGHT = 0.5
_INSTALL_FILES = {"setup.py", "hatch_build.py", "pdm_build.py", "build_backend.py"}
_TEST_DIRS = {"test", "tests", "testing", "docs", "doc", "examples", "example"}
_RUNNERS_UP = (0.25, 0.1)
_NETWORK = {"network.connection", "network.raw-ip-url", "network.paste-or-webhook-url"}
# (capabilities, what makes them a threat when it sits in the same file)
# At install time a capability counts on its own, at this score where it differs from the rule's: setup.py
# files eval a version string far more often than they run fetched code.
_INSTALL_SCORES = {"exec.dynamic-code": 20}
STEALER_SCORE = 80.0
_CREDENTIAL_STORES = {
    "ssh": (".ssh/",),
    "cloud": (".aws/", ".kube/", "gcloud", ".azure/"),
    "browser": ("Login Data", "Local State", "Cookies"),
    "wallet": ("wallet.dat",),
    "system": ("/etc/shadow",),
}
_THREATENING_PAIRS = (
    ({"credentials.sensitive-path"}, _NETWORK | {"process.spawn"}),
    ({"exec.dynamic-code"}, _NETWORK),
)


def context(path: str) -> str:
    """ "install", "test" or "code": how likely a member is to run when the package is installed."""
    member = path.rsplit("!", 1)[-1]  # the innermost archive's member path
    name = posixpath.basename(member)
    depth = member.count("/")
    if name.endswith(".pth") or (name in _INSTALL_FILES and depth <= 1):
        return "install"
    parts = set(member.lower().split("/")[:-1])
    if parts & _TEST_DIRS or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return "test"
    return "code"


def file_score(findings: list[Finding], where: str) -> float:
    """The score of one member's findings in context `where`."""
    threats, capabilities, anomalies = 0, {}, 0
    for finding in findings:
        if finding.kind == "threat":
            threats = max(threats, finding.score)
        elif finding.kind == "capability":
            capabilities[finding.rule] = finding.score
        else:
            anomalies = max(anomalies, finding.score)
    if where == "install":
        capabilities = {rule: _INSTALL_SCORES.get(rule, score) for rule, score in capabilities.items()}
    capability_sum = sum(capabilities.values())
    rules = capabilities.keys() | {finding.rule for finding in findings if finding.kind == "threat"}
    for sources, partners in _THREATENING_PAIRS:
        if rules & sources and rules & partners:
            threats = max(threats, *(capabilities[rule] for rule in rules & sources))
    if where == "install":
        score = (threats + capability_sum + (anomalies if threats else 0)) * INSTALL_WEIGHT
    elif threats:
        score = threats + capability_sum + anomalies
        if where == "test":
            score *= TEST_WEIGHT
    else:
        score = 0.0
    return min(MAX_SCORE, float(score))


def package_score(findings: Iterable[tuple[str, Finding]]) -> float:
    """The score of a package from its (release file name, finding) pairs."""
    by_member: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    anomaly_by_rule: dict[str, float] = {}
    for filename, finding in findings:
        by_member[filename, finding.path].append(finding)
        if finding.kind == "anomaly":
            weighted = finding.score * (TEST_WEIGHT if context(finding.path) == "test" else 1.0)
            anomaly_by_rule[finding.rule] = max(weighted, anomaly_by_rule.get(finding.rule, 0.0))
    scores = [file_score(members, context(path)) for (_, path), members in by_member.items()]
    if len(_credential_stores(f for members in by_member.values() for f in members)) >= 2:
        scores.append(STEALER_SCORE)
    scores += anomaly_by_rule.values()
    return combine(scores)


def _credential_stores(findings: Iterable[Finding]) -> set[str]:
    stores = set()
    for finding in findings:
        if finding.rule == "credentials.sensitive-path" and context(finding.path) != "test":
            stores.update(
                store
                for store, marks in _CREDENTIAL_STORES.items()
                if any(m in finding.evidence for m in marks)
            )
    return stores


def combine(scores: Iterable[float]) -> float:
    worst = sorted(scores, reverse=True)
    total = worst[0] if worst else 0.0
    for weight, score in zip(_RUNNERS_UP, worst[1:], strict=False):
        total += weight * score
    return round(min(MAX_SCORE, total), 1)
