"""The results and the printed report of bench/scan_realworld: who flags what, and why we flag each project."""

from __future__ import annotations

import posixpath
from collections import Counter, defaultdict

TOP_MEMBERS = 3  # members shown per flagged project (all with --details)
TOP_DETECTIONS = 4  # detections shown per member (all with --details)
EVIDENCE_CHARS = 100


def score_limit() -> float:
    """The score at which the scanner flags a package (its records' ``flagged``)."""
    from pypi_platform.lib.scans.scoring import FLAG_SCORE

    return FLAG_SCORE


def member_scores(record: dict) -> list[dict] | str:
    """Each member's score on its own (its detections alone through ``package_score``), highest first.

    Explains a package score: it is the worst member's, plus a quarter of the second and a tenth of the third."""
    from dataclasses import fields

    from pypi_platform.lib.scans.findings import Finding
    from pypi_platform.lib.scans.scoring import package_score

    names = [f.name for f in fields(Finding)]
    by_member: dict[tuple[str, str], list] = defaultdict(list)
    try:
        for d in record.get("detections") or ():
            by_member[d["file"], d["path"]].append(Finding(**{n: d[n] for n in names if n in d}))
    except TypeError as exc:  # the record's fields and Finding's have drifted apart: say so, go on
        return f"not computed: {exc}"
    rows = [
        {"file": file, "path": path, "score": package_score((file, f) for f in findings)}
        for (file, path), findings in by_member.items()
    ]
    return sorted(rows, key=lambda r: -r["score"])


def flagged(record: dict | None, limit: float) -> bool:
    """Flagged: no score (the scan failed), or the record's verdict (a score at the limit or above, where a
    threat in a test, docs, an example, vendored code or data counts half)."""
    if not record or record.get("score") is None:
        return True
    return record.get("flagged", record["score"] >= limit)


def strictly_flagged(record: dict | None, limit: float) -> bool:
    """The stricter count: also any threat-kind detection, wherever it sits and whatever its weight."""
    return flagged(record, limit) or any(d["kind"] == "threat" for d in record["detections"])


def project_results(projects, entries: dict, ours: dict, guarddog: dict | None) -> list[dict]:
    limit = score_limit()
    import _realworld_guarddog as guarddog_

    results = []
    for project in projects:
        entry = entries[project.name]
        row = {
            "project": project.name, "rank": project.rank, "version": entry["version"], "files": entry["files"],
            "fetch_errors": entry["errors"], "ours": None, "guarddog": None,
        }  # fmt: skip
        outcome = ours["records"].get(project.name)
        if outcome:
            record = outcome["record"]
            row["ours"] = {
                **outcome,
                "flagged": flagged(record if outcome["status"] == "ok" else None, limit),
                "strictly_flagged": strictly_flagged(record if outcome["status"] == "ok" else None, limit),
            }
        if guarddog and entry["files"]:
            per_file = {f["filename"]: guarddog["verdicts"].get(f["sha256"]) for f in entry["files"]}
            if all(per_file.values()):
                row["guarddog"] = {**guarddog_.project_verdict(list(per_file.values())), "files": per_file}
        results.append(row)
    return results


def print_report(results: list[dict], ours: dict, guarddog: dict | None, first: int, details: bool) -> float:
    """Print the shares, every flagged project and the causes; return our flagged share over scanned projects."""
    limit = score_limit()
    scanned = [r for r in results if r["ours"]]
    head = scanned[:first]
    unfetched = [r for r in results if not r["files"]]
    print(f"\nflagged (ours): the record's verdict, a score >= {limit:g} (a threat in tests, docs, examples, "
          "vendored code or data counts half), or a failed scan. "
          "flagged (GuardDog): a file labelled suspicious or high_risk.")  # fmt: skip
    header = (
        f"{'engine':<9} {'version':<32} {'projects':>8} {'flagged':>8} {'share':>7}   {f'first {first}':>14}"
    )
    print(header + "   seconds")
    print("-" * (len(header) + 30))
    ours_n = sum(r["ours"]["flagged"] for r in scanned)
    share = ours_n / len(scanned) if scanned else 0.0
    print(
        f"{'ours':<9} {ours['version']:<32} {len(scanned):>8} {ours_n:>8} {share:>7.1%}   "
        f"{_share(head, lambda r: r['ours']['flagged']):>14}   {ours['seconds']:.1f} wall "
        f"({ours['in_call']:.1f} in scan_packages)"
    )
    if guarddog:
        both = [r for r in scanned if r["guarddog"]]
        n = sum(r["guarddog"]["flagged"] for r in both)
        print(
            f"{'guarddog':<9} {guarddog['version']:<32} {len(both):>8} {n:>8} {n / max(len(both), 1):>7.1%}   "
            f"{_share([r for r in head if r['guarddog']], lambda r: r['guarddog']['flagged']):>14}   "
            f"{guarddog['file_seconds']:.1f} summed over {len(guarddog['verdicts'])} file processes "
            f"(this run: {guarddog['scanned_now']} files in {guarddog['wall_now']:.1f} wall)"
        )
        risky = sum(r["guarddog"]["any_risk"] for r in both)
        failed = sum(r["guarddog"]["failed"] for r in both)
        print(f"guarddog: a risk score above 0 (its 'low' label too) on {risky} of {len(both)} "
              f"({risky / max(len(both), 1):.1%}); a GuardDog process failed on {failed} projects")  # fmt: skip
        ours_on_both = sum(r["ours"]["flagged"] for r in both)
        print(f"ours on the projects GuardDog scanned: {ours_on_both} of {len(both)}")
    strict = sum(r["ours"].get("strictly_flagged", r["ours"]["flagged"]) for r in scanned)
    print(f"ours, strictly (also any threat-kind detection, wherever it sits): {strict} of {len(scanned)} "
          f"({strict / max(len(scanned), 1):.1%})")  # fmt: skip
    print(f"ours: {sum(r['ours']['status'] != 'ok' for r in scanned)} scans failed (counted as flagged)")
    if unfetched:
        print(f"\nnot scanned, no file fetched ({len(unfetched)}): "
              + "; ".join(f"{r['project']}: {', '.join(r['fetch_errors'])}" for r in unfetched))  # fmt: skip
    partial = [r for r in results if r["files"] and r["fetch_errors"]]
    if partial:
        print(f"\nscanned with one file only ({len(partial)}): "
              + "; ".join(f"{r['project']}: {', '.join(r['fetch_errors'])}" for r in partial))  # fmt: skip

    flagged_rows = [r for r in scanned if r["ours"]["flagged"]]
    print(f"\nflagged by ours ({len(flagged_rows)}), best rank first:")
    for row in flagged_rows:
        _print_flagged(row, limit, details)
    print_causes(flagged_rows, limit)
    return share


def _share(rows: list[dict], test) -> str:
    if not rows:
        return "-"
    n = sum(bool(test(r)) for r in rows)
    return f"{n}/{len(rows)} {n / len(rows):.0%}"


def _print_flagged(row: dict, limit: float, details: bool) -> None:
    ours = row["ours"]
    record = ours["record"]
    gd = row["guarddog"]
    verdict = f"guarddog: {'/'.join(gd['labels'])}" if gd else "guarddog: -"
    files = ", ".join(f"{f['packagetype']} {f['score']}" for f in record["files"])
    print(f"\n#{row['rank']} {row['project']} {row['version']}: score {record['score']} ({files}); {verdict}")
    if ours["status"] != "ok":
        print(f"    scan {ours['status']}: {ours['error'][:200]}")
        return
    parts = record.get("score_parts") or []  # the scanner's own account of its score, where it gives one
    for part in parts if details else parts[:TOP_MEMBERS]:
        where = part.get("path") or part.get("source", "?")
        print(f"    score part {part.get('score')} x{part.get('counts')} [{part.get('context', '-')}] {where}: "
              f"{', '.join(part.get('rules') or ())}")  # fmt: skip
    for member, detections in explanation(record, ours["member_scores"], limit, details):
        where = f"{member['file']}: {member['path'] or '(package)'}"
        # The scanner's own context of the member (how it was weighted), and where it sits when that differs.
        weighed, sits = detections[0].get("context", "?"), place(member["path"])
        label = weighed if _same_place(weighed, sits) else f"{weighed}; in {sits}"
        print(f"    member score {member['score']:>5} [{label}] {where}")
        shown = detections if details else detections[:TOP_DETECTIONS]
        for d in shown:
            line = f":{d['line']}" if d.get("line") else ""
            print(f"      {d['rule']:<36} {d['kind']:<10} {d['severity']:<8} {d['score']:>3}  "
                  f"line{line or ' -'}  {trim(d['evidence'])}")  # fmt: skip
        if len(detections) > len(shown):
            print(f"      ... {len(detections) - len(shown)} more in this member")


def _same_place(context: str, where: str) -> bool:
    return context.rstrip("s") == where.rstrip("s") or (context, where) in {("code", "package")}


def explanation(record: dict, members, limit: float, details: bool) -> list[tuple[dict, list[dict]]]:
    """The members that make a project flagged, each with its detections (threats first, then by score)."""
    by_member = defaultdict(list)
    for d in record["detections"]:
        by_member[d["file"], d["path"]].append(d)
    if isinstance(members, str):  # member scores could not be computed: every member, unscored
        members = [{"file": f, "path": p, "score": float("nan")} for f, p in by_member]
    chosen = members if details else members[:TOP_MEMBERS]
    keys = {(m["file"], m["path"]) for m in chosen}
    chosen += [
        m for m in members
        if (m["file"], m["path"]) not in keys and any(d["kind"] == "threat" for d in by_member[m["file"], m["path"]])
    ][: None if details else TOP_MEMBERS]  # fmt: skip
    order = {"threat": 0, "capability": 1, "anomaly": 2}
    return [
        (m, sorted(by_member[m["file"], m["path"]], key=lambda d: (order.get(d["kind"], 3), -d["score"])))
        for m in chosen
    ]


def causes(row: dict, limit: float) -> list[tuple[str, str]]:
    """(rule, place) pairs behind one flag: every threat, and the rules of members scoring past the limit."""
    ours = row["ours"]
    if ours["status"] != "ok":
        return [(f"scan {ours['status']}", "-")]
    record, members = ours["record"], ours["member_scores"]
    found = {(d["rule"], place(d["path"])) for d in record["detections"] if d["kind"] == "threat"}
    if not isinstance(members, str) and record["score"] >= limit:
        # No member may reach the limit alone when the runners-up add up to it: then the top three count.
        heavy = {(m["file"], m["path"]) for m in members if m["score"] >= limit} or {
            (m["file"], m["path"]) for m in members[:3]
        }
        found |= {
            (d["rule"], place(d["path"])) for d in record["detections"] if (d["file"], d["path"]) in heavy
        }
    return sorted(found)


def print_causes(rows: list[dict], limit: float) -> None:
    """Per rule: how many flagged projects it is behind, where those detections sit, which projects."""
    projects: dict[str, set] = defaultdict(set)
    places: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        for rule, where in causes(row, limit):
            projects[rule].add(row["project"])
            places[rule][where] += 1
    if not projects:
        return
    print(
        "\nbehind our flags (every threat, and the rules of each member scoring past the limit; 'at' counts "
        "projects per place, where a member sits by its path):"
    )
    for rule in sorted(projects, key=lambda r: (-len(projects[r]), r)):
        where = ", ".join(f"{p} {n}" for p, n in places[rule].most_common())
        names = sorted(projects[rule])
        print(f"  {rule:<36} {len(names):>3} projects; at: {where}; "
              + ", ".join(names[:8]) + (" ..." if len(names) > 8 else ""))  # fmt: skip


_PLACES = (
    (
        "vendored",
        ("vendor", "_vendor", "vendored", "third_party", "thirdparty", "extern", "_extern", "externals"),
    ),
    ("tests", ("test", "tests", "testing", "test_data", "testdata", "fixtures")),
    ("docs", ("doc", "docs", "docs_src", "documentation", "sphinx")),
    ("examples", ("example", "examples", "samples", "demo", "demos", "benchmarks", "bench")),
)


def place(path: str) -> str:
    """Where a member sits, for grouping causes: install, vendored, tests, docs, examples, code or package."""
    if not path:
        return "package"
    member = path.rsplit("!", 1)[-1]
    name = posixpath.basename(member)
    dirs = [p.lower() for p in path.replace("!", "/").split("/")[:-1]]
    if name.endswith(".pth") or (
        name in ("setup.py", "pyproject.toml", "setup.cfg") and member.count("/") <= 1
    ):
        return "install"
    for label, marks in _PLACES:
        if any(
            d in marks or (label == "tests" and (d.startswith("test_") or d.endswith("_test"))) for d in dirs
        ):
            return label
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return "tests"
    return "code"


def trim(evidence: str) -> str:
    shown = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in (evidence or ""))
    return shown if len(shown) <= EVIDENCE_CHARS else shown[: EVIDENCE_CHARS - 1] + "…"
