"""Statements that mean more beside others in the same file: the send of a file that steals.

A ``requests.post`` is ordinary code; in a module that opens the browser's password store, hooks the keyboard or
serialises the environment, it is the statement that carries the loot out, and the one an analyst wants to see
(with its endpoint). Scoring already correlates a file's findings into one score; this reports the send itself.

Collecting threats make any network call in their file a send. Collecting capabilities (a screenshot, the
clipboard, a credential or wallet path) only do so for calls that upload (post, put, send, sendmail, an FTP
store, urlopen with data): an SSH client that reads its user's key and opens a connection is not exfiltration.
"""

from __future__ import annotations

import re

from pypi_platform.lib.scans.findings import Finding

_COLLECTING_THREATS = {
    "credentials.browser-data",
    "credentials.token-theft",
    "credentials.environment-dump",
    "spyware.keylogger",
    "spyware.clipboard-hijack",
}
_COLLECTING_CAPABILITIES = {"spyware.screenshot", "spyware.clipboard", "credentials.sensitive-path"}
_SENDS = {"network.connection"}
_UPLOAD = re.compile(
    r"\.(?:post|put|patch|send|sendall|sendto|sendmail|send_message|storbinary|upload\w*)\s*\(|data\s*=|files\s*="
)


def correlated_findings(path: str, findings: list[Finding]) -> list[Finding]:
    """``exfiltration.send`` at each network call of a file that also collects what a stealer collects."""
    rules = {finding.rule for finding in findings}
    threats = rules & _COLLECTING_THREATS
    capabilities = rules & _COLLECTING_CAPABILITIES
    if not threats and not capabilities:
        return []
    collected = ", ".join(sorted(threats | capabilities))
    sends = []
    for finding in findings:
        if finding.rule not in _SENDS or finding.line is None:
            continue
        if threats or _UPLOAD.search(finding.evidence):
            sends.append(
                Finding.of(
                    "exfiltration.send",
                    path,
                    line=finding.line,
                    evidence=f"{finding.evidence[:80]} (beside {collected})",
                    at_import=finding.at_import,
                )
            )
    return sends
