"""Findings of the scanner: a stable rule id, its severity and score, a path relative to the release file."""

from __future__ import annotations

from dataclasses import dataclass

# Rule id -> (severity, score). Ids are stable: consumers key on them across ruleset versions.
RULES: dict[str, tuple[str, int]] = {
    "archive.absolute-path": ("high", 50),
    "archive.parent-path": ("high", 50),
    "archive.link": ("medium", 30),
    "archive.special-file": ("high", 50),
    "archive.setuid": ("medium", 30),
    "archive.oversize-member": ("medium", 20),
    "archive.total-size": ("medium", 20),
    "archive.too-many-members": ("medium", 20),
    "archive.bomb": ("high", 60),
    "archive.overlapping-entries": ("high", 60),
    "archive.nested-too-deep": ("low", 10),
    "archive.corrupt": ("low", 10),
    "archive.unknown-format": ("low", 10),
    "secret.aws-access-key": ("critical", 100),
    "secret.github-token": ("critical", 100),
    "secret.package-index-token": ("critical", 100),
    "secret.slack-token": ("high", 80),
    "secret.private-key": ("critical", 100),
    "credentials.sensitive-path": ("high", 50),
    "network.raw-ip-url": ("medium", 30),
    "network.paste-or-webhook-url": ("high", 50),
    "text.bidi-or-invisible": ("high", 50),
    "obfuscation.long-encoded-literal": ("medium", 30),
}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    score: int
    path: str  # relative to the release file, never a path on the scanning machine
    line: int | None = None
    evidence: str = ""

    @classmethod
    def of(cls, rule: str, path: str, *, line: int | None = None, evidence: str = "") -> Finding:
        severity, score = RULES[rule]
        return cls(rule, severity, score, path, line, evidence)
