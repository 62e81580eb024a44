"""The scanner against its evaluation set (``scanner_evalset.py``), scanned once through ``scan_packages``.

Every planted pattern is found at its path, every benign package stays under ``BENIGN_SCORE_LIMIT`` with no
threat, and every hostile archive gets a record and writes nothing: the scan runs with its working directory,
HOME and TMPDIR pointed at empty temporary directories, and every hostile member name carries a marker unique
to this run, so a file a scanner extracted, wherever it landed, can be looked for by name.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

from pypi_platform_testkit.scanner_evalset import (
    BENIGN_SCORE_LIMIT,
    TOP_NAMES,
    build_evalset,
    found,
    threats,
    write_inputs,
)

MARKER = f"evalset-{uuid.uuid4().hex[:10]}"
CASES = {case.name: case for case in build_evalset(MARKER)}
RECORDED_STATUSES = {"ok", "error", "timeout", "oom", "crash"}
# Gaps of the scanner this set found, reported to the rules' owners; strict, so a fix shows up as XPASS.
KNOWN_GAPS: dict[str, str] = {}


def _names(kind: str) -> list:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[name]))
        if name in KNOWN_GAPS
        else name
        for name, case in CASES.items()
        if getattr(case, kind)
    ]


def _found_rules(record: dict) -> list[tuple[str, str]]:
    return sorted({(d["rule"], d["path"]) for d in record["detections"]})


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("scan-eval")
    dirs = {"root": root, **{name: root / name for name in ("inputs", "cwd", "home", "tmp")}}
    for name in ("inputs", "cwd", "home", "tmp"):
        dirs[name].mkdir()
    return dirs


@pytest.fixture(scope="module")
def outcomes(sandbox):
    from pypi_platform.lib.scans.batch import scan_packages

    packages = write_inputs(tuple(CASES.values()), sandbox["inputs"])
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(sandbox["cwd"])
        patch.setenv("HOME", str(sandbox["home"]))
        patch.setenv("TMPDIR", str(sandbox["tmp"]))
        patch.setattr(tempfile, "tempdir", None)  # recomputed from TMPDIR, in this process and in the workers
        scanned = scan_packages(packages, workers=2, timeout=120, top_names=TOP_NAMES)
        return {outcome.name: outcome for outcome in scanned}


def test_every_package_gets_an_outcome_with_a_record(outcomes):
    assert sorted(outcomes) == sorted(CASES)
    assert all(outcome.record is not None for outcome in outcomes.values())


@pytest.mark.parametrize("name", _names("planted"))
def test_every_planted_pattern_is_found_at_its_path(outcomes, name):
    outcome, case = outcomes[name], CASES[name]
    assert outcome.status == "ok", outcome.error
    missing = [(e.rule, e.path) for e in case.expected if not found(outcome.record, e)]
    assert not missing, f"not found: {missing}; found: {_found_rules(outcome.record)}"


@pytest.mark.parametrize("name", _names("benign"))
def test_benign_packages_score_low_with_no_threat(outcomes, name):
    outcome = outcomes[name]
    assert outcome.status == "ok", outcome.error
    flagged = [(d["rule"], d["path"], d["evidence"]) for d in threats(outcome.record)]
    assert not flagged, f"threats in a benign package: {flagged}"
    assert outcome.record["score"] < BENIGN_SCORE_LIMIT, _found_rules(outcome.record)


def test_every_hostile_archive_gets_a_record_and_a_status(outcomes):
    hostile = [name for name, case in CASES.items() if case.adversarial]
    statuses = {name: outcomes[name].status for name in hostile}
    assert {name: status for name, status in statuses.items() if status not in RECORDED_STATUSES} == {}
    assert all(outcomes[name].record["name"] == name for name in hostile)


@pytest.mark.parametrize("name", _names("adversarial"))
def test_hostile_archives_show_their_anomalies(outcomes, name):
    outcome, case = outcomes[name], CASES[name]
    assert outcome.status in RECORDED_STATUSES, outcome
    missing = [(e.rule, e.path) for e in case.expected if not found(outcome.record, e)]
    assert not missing, f"{outcome.status}; not found: {missing}; found: {_found_rules(outcome.record)}"


def _entries(directory: Path, recursive: bool = False) -> list[str]:
    try:
        if recursive:
            return [str(path) for path in directory.rglob("*")]
        return [entry.name for entry in os.scandir(directory)]
    except OSError:
        return []


def test_nothing_is_written_outside_a_temporary_directory(outcomes, sandbox):
    assert len(outcomes) == len(CASES)
    assert _entries(sandbox["cwd"]) == [], "the scan's working directory stays empty"
    assert _entries(sandbox["home"]) == [], "HOME stays empty"
    # Where an extracted hostile member would land: the sandbox, the scan's temp dir, the parents a '..'
    # climbs to, the system temp dir an absolute '/tmp/...' names, a followed link's target, and the root.
    watched = [sandbox["cwd"].parent, sandbox["cwd"].parent.parent, sandbox["cwd"].parent.parent.parent]
    watched += [Path(tempfile.gettempdir()), Path("/tmp"), Path("/"), Path.home()]
    written = [entry for entry in _entries(sandbox["root"], recursive=True) if MARKER in entry]
    written += [f"{place}/{entry}" for place in watched for entry in _entries(place) if MARKER in entry]
    assert written == []
