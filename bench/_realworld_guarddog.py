"""GuardDog on the files of bench/scan_realworld, one process per file, its verdicts cached on disk.

A GuardDog process costs seconds per file, most of it start-up, so each file's verdict is kept under
``<cache>/<guarddog version>/<sha256>.json``: a re-run scans only files it has not seen with that version.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _scan_peers as peers_

# GuardDog 3's labels, lowest first. "suspicious" (score 5 to 7) and "high_risk" (7 and up) are the ones it
# presents as worth a look; "low" is any score above 0.
RISKY_LABELS = ("suspicious", "high_risk")


def verdicts(tool: tuple[Path, str], files: list[dict], directory: Path, cache: Path, parallel: int) -> dict:
    """{sha256: verdict} for every file, scanning `parallel` at a time those not cached; with the run's figures.

    A verdict: ok, label, score (0-10), issues, rules (rule -> its findings), seconds (its own process)."""
    exe, version = tool
    where = cache / version
    where.mkdir(parents=True, exist_ok=True)
    # GuardDog refreshes its popular-name lists over the network when they are 30 days old, at every start;
    # a copy stamped now keeps that out of the figures (as bench/scan_throughput does).
    names_cache = cache / "top-packages"
    peers_.fresh_guarddog_cache(exe.parent.parent, names_cache)
    os.environ["GUARDDOG_TOP_PACKAGES_CACHE_LOCATION"] = str(names_cache)

    results, todo = {}, []
    for file in {f["sha256"]: f for f in files}.values():
        stored = where / f"{file['sha256']}.json"
        if stored.exists():
            results[file["sha256"]] = json.loads(stored.read_text())
        else:
            todo.append(file)
    started = time.perf_counter()
    if todo:
        print(
            f"guarddog {version}: scanning {len(todo)} files not cached, {parallel} at a time ...", flush=True
        )

        def scan(file: dict) -> tuple[str, dict]:
            verdict = _scan_file(exe, directory / file["filename"])
            if verdict["ok"] or not verdict["error"].startswith("timed out"):  # a time-out is tried again
                (where / f"{file['sha256']}.json").write_text(json.dumps(verdict, sort_keys=True))
            return file["sha256"], verdict

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for done, (sha256, verdict) in enumerate(pool.map(scan, todo), 1):
                results[sha256] = verdict
                if done % 50 == 0 or done == len(todo):
                    print(f"  guarddog {done}/{len(todo)} files", flush=True)
    return {
        "version": version,
        "verdicts": results,
        "scanned_now": len(todo),
        "wall_now": time.perf_counter() - started,
        "file_seconds": sum(v["seconds"] for v in results.values()),
    }


def _scan_file(exe: Path, archive: Path) -> dict:
    """GuardDog's verdict on one file, from its JSON report (every rule with a result, metadata ones too)."""
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            peers_.guarddog_command(exe, archive), capture_output=True, text=True,
            timeout=peers_.PEER_TIMEOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return _failed(time.perf_counter() - started, f"timed out after {peers_.PEER_TIMEOUT:.0f} s")
    seconds = time.perf_counter() - started
    text = proc.stdout
    try:
        report = json.loads(text[text.index("{") :])
    except ValueError:
        report = None
    if proc.returncode != 0 or not isinstance(report, dict):
        return _failed(seconds, f"exit {proc.returncode}: {(proc.stderr or proc.stdout)[-300:]}")
    risk = report.get("risk_score") if isinstance(report.get("risk_score"), dict) else {}
    rules = {}
    for rule, found in (report.get("results") or {}).items():
        if isinstance(found, list) and found:
            rules[rule] = [
                {"location": f.get("location", ""), "code": str(f.get("code", ""))[:160]}
                if isinstance(f, dict)
                else {"location": "", "code": str(f)[:160]}
                for f in found[:10]
            ] + ([{"location": "", "code": f"... {len(found) - 10} more"}] if len(found) > 10 else [])
        elif found:  # metadata rules report a message, not a list
            rules[rule] = [{"location": "", "code": str(found)[:160]}]
    return {
        "ok": True,
        "label": risk.get("label") or ("low" if report.get("issues") else "no_risks_detected"),
        "score": float(risk.get("score") or 0),
        "issues": int(report.get("issues") or 0),
        "rules": rules,
        "seconds": round(seconds, 3),
    }  # fmt: skip


def _failed(seconds: float, error: str) -> dict:
    return {"ok": False, "label": "failed", "score": 0.0, "issues": 0, "rules": {}, "seconds": round(seconds, 3),
            "error": " ".join(error.split())}  # fmt: skip


def project_verdict(file_verdicts: list[dict]) -> dict:
    """A project's GuardDog verdict from its files': flagged if any file is labelled suspicious or high risk."""
    ok = [v for v in file_verdicts if v["ok"]]
    return {
        "flagged": any(v["label"] in RISKY_LABELS for v in ok),
        # Any label above "no_risks_detected". Not "any issue": GuardDog 3 lists capabilities (a file read, an
        # outbound request) as issues of nearly every package while scoring them 0.
        "any_risk": any(v["score"] > 0 for v in ok),
        "failed": len(ok) < len(file_verdicts),
        "max_score": max((v["score"] for v in ok), default=None),
        "labels": [v["label"] for v in file_verdicts],
    }
