"""Helpers for the tests of the syntax-tree rules: scan a snippet, get (rule, line) pairs or the rules."""

import textwrap

from pypi_platform.lib.scans.findings import RULES
from pypi_platform.lib.scans.python_rules import python_findings

SEVERITIES = ("low", "medium", "high", "critical")


def scan(source: str, path: str = "pkg-1.0/pkg/mod.py"):
    return python_findings(path, textwrap.dedent(source).encode())


def found(source: str, path: str = "pkg-1.0/pkg/mod.py") -> list[tuple[str, int | None]]:
    return [(finding.rule, finding.line) for finding in scan(source, path)]


def rules(source: str, path: str = "pkg-1.0/pkg/mod.py") -> set[str]:
    return {rule for rule, _ in found(source, path)}


def worst_severity(source: str, path: str = "pkg-1.0/pkg/mod.py") -> str:
    """The highest severity among the findings, or "none"."""
    levels = [SEVERITIES.index(RULES[rule].severity) for rule in rules(source, path)]
    return SEVERITIES[max(levels)] if levels else "none"


def below_medium(source: str, path: str = "pkg-1.0/pkg/mod.py") -> bool:
    return worst_severity(source, path) in ("none", "low")
