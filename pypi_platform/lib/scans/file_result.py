"""What the scan of one release file gives, in the form a worker sends back and a result cache keeps.

Apart from the rules (``release.py``), so that the process that builds records, and starts the workers, reads
results without importing every rule module first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pypi_platform.lib.scans.findings import RULESET_VERSION, Finding
from pypi_platform.lib.scans.parsing import GRAMMAR

# A result depends only on the file's bytes, the ruleset and the grammar of the Python that parsed it (a 3.11
# parser cannot read what a 3.13 one can): the key a result is cached under, beside the file's sha256.
RESULT_VERSION = f"{RULESET_VERSION}+python{GRAMMAR}"


@dataclass
class FileResult:
    findings: list[Finding] = field(default_factory=list)
    coverage: Counter = field(default_factory=Counter)

    def to_json(self) -> dict:
        return {
            "findings": [[f.rule, f.path, f.line, f.evidence, f.at_import] for f in self.findings],
            "coverage": dict(self.coverage),
        }

    @classmethod
    def from_json(cls, value: dict) -> FileResult:
        findings = [
            Finding.of(rule, path, line=line, evidence=evidence, at_import=bool(rest and rest[0]))
            for rule, path, line, evidence, *rest in value["findings"]
        ]
        return cls(findings, Counter(value["coverage"]))
