"""Judging the scanner's records of the labelled corpus, and the report ``bench/scan_eval`` prints.

A labelled statement counts as reported when a detection of severity medium, high or critical has its line
within the statement's lines, in the release member the sample file became (sdist or wheel, either counts).
A malicious sample is flagged when its package scores FLAG_SCORE or more or holds a threat-kind detection. A
benign look-alike fails when any detection in its own members reaches medium (and, worse, high).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field

from pypi_platform.lib.scans.scoring import FLAG_SCORE  # the scanner's own line for "flagged"

from corpus import Label, Sample, behaviours, labels

REPORTED = {"medium", "high", "critical"}
HIGH = {"high", "critical"}
GOAL_RECALL = 0.95


@dataclass
class Tally:
    labels: int = 0
    reported: int = 0
    malicious: int = 0
    flagged: int = 0
    lookalikes: int = 0
    at_medium: int = 0
    at_high: int = 0
    misses: list[str] = field(default_factory=list)


def in_member(detection: dict, member: str) -> bool:
    """Whether a detection is about `member`: the sdist's "name-version/" prefix and any outer archive aside."""
    path = (detection.get("path") or "").rsplit("!", 1)[-1]
    return path == member or path.endswith("/" + member)


def flagged(record: dict | None) -> bool:
    """A score at FLAG_SCORE or above, a threat-kind detection, or the record's own verdict where it has one."""
    if not record:
        return False
    return (
        bool(record.get("flagged"))
        or (record.get("score") or 0.0) >= FLAG_SCORE
        or any(d["kind"] == "threat" for d in record["detections"])
    )


def _describe(detections: list[dict]) -> str:
    seen = sorted({f"{d['rule']} ({d['severity']}) at line {d['line']}" for d in detections})
    return "; ".join(seen) or "nothing"


def _label_hits(label: Label, record: dict | None) -> tuple[bool, list[dict]]:
    """Whether the label is reported, and the detections in its member (what was found instead, if not)."""
    detections = [d for d in (record or {}).get("detections", ()) if in_member(d, label.member)]
    near = [d for d in detections if d["line"] is not None and label.first <= d["line"] <= label.last]
    return any(d["severity"] in REPORTED for d in near), near or detections


def report(corpus: list[Sample], records: dict[str, dict | None], elapsed: float, out=sys.stdout) -> bool:
    """Print the corpus figures; True when every goal holds."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    unflagged, noisy = [], []
    for sample in corpus:
        tally, record = tallies[sample.behaviour], records.get(sample.name)
        if sample.label == "malicious":
            tally.malicious += 1
            tally.flagged += flagged(record)
            if not flagged(record):
                unflagged.append((sample, record))
            for label in labels(sample):
                tally.labels += 1
                hit, found = _label_hits(label, record)
                tally.reported += hit
                if not hit:
                    where = f"{label.sample}:{label.first}" + (
                        f"-{label.last}" if label.last > label.first else ""
                    )
                    tally.misses.append(f"{where} `{label.text[:70]}`: found {_describe(found)}")
        else:
            tally.lookalikes += 1
            members = {sample.member(path) for path in sample.files}
            own = [
                d
                for d in (record or {}).get("detections", ())
                if any(in_member(d, member) for member in members)
            ]
            medium = [d for d in own if d["severity"] in REPORTED]
            tally.at_medium += bool(medium)
            tally.at_high += any(d["severity"] in HIGH for d in own)
            if medium:
                noisy.append((sample, medium))

    total = Tally()
    for tally in tallies.values():
        for name in ("labels", "reported", "malicious", "flagged", "lookalikes", "at_medium", "at_high"):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
    files = sum(len(s.files) for s in corpus)
    python = ".".join(map(str, sys.version_info[:3]))
    print(
        f"\nlabelled corpus: {len(tallies)} behaviours, {total.malicious} malicious samples and "
        f"{total.lookalikes} benign look-alikes ({files} files), {total.labels} labelled statements; "
        f"scanned in {elapsed:.1f} s; statements located with Python {python}'s grammar\n",
        file=out,
    )
    head = f"{'behaviour':<26} {'labels':>6} {'medium+':>7} {'recall':>7} {'flagged':>9} {'look-alikes':>11}"
    print(f"{head} {'medium+':>7} {'high':>5}", file=out)
    for behaviour in behaviours():
        t = tallies.get(behaviour)
        if t is None:
            continue
        recall = f"{t.reported / t.labels:.0%}" if t.labels else "-"
        print(
            f"{behaviour:<26} {t.labels:>6} {t.reported:>7} {recall:>7} {f'{t.flagged}/{t.malicious}':>9} "
            f"{t.lookalikes:>11} {t.at_medium:>7} {t.at_high:>5}",
            file=out,
        )
    recall = total.reported / total.labels if total.labels else 0.0
    print(
        f"{'all':<26} {total.labels:>6} {total.reported:>7} {recall:>7.1%} "
        f"{f'{total.flagged}/{total.malicious}':>9} {total.lookalikes:>11} {total.at_medium:>7} {total.at_high:>5}",
        file=out,
    )

    goals = [
        (
            f"statements reported at medium or above: {recall:.1%} (goal >= {GOAL_RECALL:.0%})",
            recall >= GOAL_RECALL,
        ),
        (
            f"malicious samples flagged: {total.flagged}/{total.malicious} (goal: all)",
            total.flagged == total.malicious,
        ),
        (f"look-alikes at high or above: {total.at_high} (goal: 0)", total.at_high == 0),
    ]
    print(file=out)
    for text, met in goals:
        print(f"goal {'met' if met else 'NOT met'}: {text}", file=out)
    print(f"look-alikes at medium or above: {total.at_medium} of {total.lookalikes}", file=out)

    if any(t.misses for t in tallies.values()):
        print("\nlabelled statements not reported at medium or above:", file=out)
        for behaviour in behaviours():
            for miss in tallies[behaviour].misses if behaviour in tallies else ():
                print(f"  {miss}", file=out)
    if unflagged:
        print("\nmalicious samples not flagged:", file=out)
        for sample, record in unflagged:
            score = (record or {}).get("score")
            print(
                f"  {sample.name}: score {score}; {_describe((record or {}).get('detections', []))}", file=out
            )
    if noisy:
        print("\nbenign look-alikes reaching medium or above:", file=out)
        for sample, medium in noisy:
            print(f"  {sample.name}: {_describe(medium)}", file=out)
    return all(met for _, met in goals)
