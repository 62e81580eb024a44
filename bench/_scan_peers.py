"""The peers of bench/scan_throughput: GuardDog and bandit, each in its own venv, run through their CLIs.

Their command lines are the only stable interface either offers (bandit has no stable Python API), so every
package is one subprocess, timed as a whole: interpreter start-up and imports count, as they do for a user.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PYTHONS = [Path(f"/root/.pyenv/versions/{v}/bin/python{v[:-2]}") for v in ("3.12.1", "3.13.0")]
PEERS = ("guarddog", "bandit")
# Seconds for one package: a peer that hangs is a failure on that package, not of the run.
PEER_TIMEOUT = 600.0


@dataclass(frozen=True)
class PeerResult:
    """One peer process on one package."""

    seconds: float  # wall time of the timed call
    ok: bool
    summary: str  # GuardDog: its risk score and issue count; bandit: its issue count; or the error
    flagged: bool | None = None  # did it report anything on the package (None when it failed)
    locations: tuple[tuple[str, str], ...] = ()  # (its rule or test id, member path inside the sdist)
    risk: float = 0.0  # GuardDog's risk score (0-10)


def ensure_peer(venv: Path, peer: str) -> tuple[Path, str]:
    """The `peer` command in `venv`, installed there (latest release) on first use; its version."""
    exe = venv / "bin" / peer
    if not exe.exists():
        python = next((str(p) for p in PYTHONS if p.exists()), None) or shutil.which("python3.12")
        if python is None:
            sys.exit(
                f"{peer} gets its own Python >= 3.12 venv; none found (tried pyenv 3.12.1 / 3.13.0, python3.12)"
            )
        print(f"creating {venv} with {python} and installing {peer} into it (set-up, not timed)", flush=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", peer], check=True)
    probe = [
        str(venv / "bin" / "python"),
        "-c",
        f"from importlib.metadata import version; print(version({peer!r}))",
    ]
    return exe, subprocess.run(probe, check=True, capture_output=True, text=True).stdout.strip()


def guarddog_command(exe: Path, archive: Path) -> list[str]:
    """GuardDog's scan of a local archive: it extracts the archive itself (into its own temp dir)."""
    return [str(exe), "pypi", "scan", str(archive), "--output-format", "json"]


def bandit_command(exe: Path, directory: Path) -> list[str]:
    """bandit over an extracted sdist: recursive, JSON, quiet; its default profile (every plugin)."""
    return [str(exe), "-r", str(directory), "-f", "json", "-q"]


def run_guarddog(exe: Path, archive: Path) -> PeerResult:
    started = time.perf_counter()
    proc = _run(guarddog_command(exe, archive))
    seconds = time.perf_counter() - started
    if proc is None:
        return PeerResult(seconds, False, f"timed out after {PEER_TIMEOUT:.0f} s")
    report = _json_object(proc.stdout)
    if proc.returncode != 0 or report is None:
        return PeerResult(seconds, False, f"exit {proc.returncode}: {_tail(proc.stderr or proc.stdout)}")
    risk = report.get("risk_score")
    score = float(risk.get("score") or 0) if isinstance(risk, dict) else 0.0
    return PeerResult(seconds, True, *guarddog_summary(report), guarddog_locations(report), score)


def guarddog_locations(report: dict) -> tuple[tuple[str, str], ...]:
    """(rule, member path) of every source-code finding; GuardDog's locations read "top/dir/file.py:line"."""
    pairs = set()
    for rule, findings in (report.get("results") or {}).items():
        if isinstance(findings, list):
            for finding in findings:
                location = finding.get("location", "") if isinstance(finding, dict) else ""
                if location:
                    pairs.add((rule, location.rsplit(":", 1)[0] if location[-1:].isdigit() else location))
    return tuple(sorted(pairs))


def guarddog_summary(report: dict) -> tuple[str, bool]:
    """A summary such as "risk 6.1 (medium), 3 issues", and whether GuardDog called the package risky.

    GuardDog 3 reports ``risk_score`` (score 0-10 and a label); 2.x only ``issues``. Either counts."""
    issues = report.get("issues") or 0
    risk = report.get("risk_score")
    if isinstance(risk, dict) and "score" in risk:
        score = float(risk.get("score") or 0)
        label = risk.get("label", "?")
        return f"risk {score:.1f} ({label}), {issues} issues", score > 0 or bool(issues)
    return f"{issues} issues", bool(issues)


def run_bandit(exe: Path, directory: Path) -> PeerResult:
    started = time.perf_counter()
    proc = _run(bandit_command(exe, directory))
    seconds = time.perf_counter() - started
    if proc is None:
        return PeerResult(seconds, False, f"timed out after {PEER_TIMEOUT:.0f} s")
    report = _json_object(proc.stdout)
    # Exit 1 means "issues found"; anything else, or no JSON, is a failure.
    if proc.returncode not in (0, 1) or report is None:
        return PeerResult(seconds, False, f"exit {proc.returncode}: {_tail(proc.stderr or proc.stdout)}")
    results = report.get("results") or []
    errors = report.get("errors") or []
    summary = f"{len(results)} issues" + (f", {len(errors)} files skipped" if errors else "")
    locations = tuple(sorted({
        (f"{r.get('test_id')} {r.get('test_name')}", _relative(r.get("filename", ""), directory)) for r in results
    }))  # fmt: skip
    return PeerResult(seconds, True, summary, bool(results), locations)


def _relative(filename: str, directory: Path) -> str:
    try:
        return Path(filename).relative_to(directory).as_posix()
    except ValueError:
        return filename


def fresh_guarddog_cache(venv: Path, cache: Path) -> None:
    """GuardDog's bundled popular-name lists, copied to `cache` and stamped as downloaded now.

    GuardDog refreshes them over the network at every start once they are 30 days old; a fresh stamp is the
    state of a machine that ran it recently, and keeps that refresh out of the timing."""
    bundled = next(venv.glob("lib/python*/site-packages/guarddog/analyzer/metadata/resources"))
    cache.mkdir(parents=True, exist_ok=True)
    for source in bundled.glob("top_*.json"):
        data = json.loads(source.read_text())
        data["downloaded_timestamp"] = int(time.time())
        (cache / source.name).write_text(json.dumps(data))


def _run(command: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=PEER_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return None


def _json_object(text: str) -> dict | None:
    """The JSON document a peer printed; tolerates log lines before it."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        value = json.loads(text[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _tail(text: str, limit: int = 300) -> str:
    text = " ".join(text.strip().split())
    return text if len(text) <= limit else "…" + text[-limit:]
