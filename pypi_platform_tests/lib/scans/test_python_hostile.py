"""Hostile input against the folder, the exec scanner and the identifier check: budgets run out, nothing raises,
and what was found before the budget ran out stands."""

import zlib

from pypi_platform.lib.scans.python_rules import python_findings


def _rules(source: str | bytes) -> list[tuple[str, int | None]]:
    data = source.encode() if isinstance(source, str) else source
    return [(finding.rule, finding.line) for finding in python_findings("pkg/x.py", data)]


def test_many_foldable_concatenations_exhaust_the_file_budget_without_error():
    source = "import os\nos.system('id')\n" + "".join(f"x{i} = 'a' + 'b' + 'c{i}'\n" for i in range(20_000))
    assert _rules(source) == [("process.spawn", 2)]


def test_a_long_chain_of_names_is_cut_at_the_fold_depth():
    lines = ["a0 = 'sy'"] + [f"a{i} = a{i - 1} + ''" for i in range(1, 2_000)]
    source = "import os\n" + "\n".join(lines) + "\ngetattr(os, a1999 + 'stem')('id')\n"
    assert _rules(source) == []  # too deep to fold: the attribute stays unknown


def test_a_huge_list_of_character_codes_runs_out_of_steps_and_is_still_decode_and_exec():
    codes = ", ".join(["112"] * 200_000)
    assert _rules(f"exec(''.join(chr(c) for c in [{codes}]))\n") == [("obfuscation.decode-and-exec", 1)]


def test_code_handed_to_exec_that_breaks_the_parser_is_skipped():
    deep = "(" * 300 + "1" + ")" * 300
    source = f"import base64\nexec({deep!r})\nexec(base64.b64decode(payload))\n"
    assert _rules(source) == [("obfuscation.decode-and-exec", 3)]


def test_a_compressed_bomb_handed_to_exec_is_cut_at_the_value_cap():
    bomb = zlib.compress(b"#" * 50_000_000)
    source = f"import zlib\nexec(zlib.decompress({bomb!r}))\n"
    assert _rules(source) == [("obfuscation.decode-and-exec", 2)]


def test_many_disguised_identifiers_are_reported_up_to_a_cap():
    name = "\uff45\uff58\uff45\uff43"
    source = "".join(f"{name}('x{i}')\n" for i in range(500))
    found = [rule for rule, _ in _rules(source) if rule == "obfuscation.homoglyph-identifier"]
    assert 0 < len(found) <= 20
