"""Identifiers disguised as other identifiers, read from the raw source (the syntax tree holds them normalised)."""

import ast

from pypi_platform.lib.scans import identifiers
from pypi_platform.lib.scans.identifiers import disguise
from pypi_platform_tests.lib.scans.python_scan import found, rules

FULL_WIDTH_EXEC = "\uff45\uff58\uff45\uff43"
BOLD_EVAL = "\U0001d41e\U0001d42f\U0001d41a\U0001d425"
CYRILLIC_O = "\u043e"


def test_obfuscation_homoglyph_identifier_full_width_and_mathematical_letters():
    source = f"{FULL_WIDTH_EXEC}(code)\n{BOLD_EVAL}(code)\n"
    assert [line for rule, line in found(source) if rule == "obfuscation.homoglyph-identifier"] == [1, 2]
    assert disguise(FULL_WIDTH_EXEC) == "exec" and disguise(BOLD_EVAL) == "eval"


def test_obfuscation_homoglyph_identifier_mixed_scripts():
    source = f"{CYRILLIC_O}s = __import__('os')\n{CYRILLIC_O}s.system('id')\n"
    assert [line for rule, line in found(source) if rule == "obfuscation.homoglyph-identifier"] == [1, 2]


def test_other_scripts_in_names_strings_and_comments_are_quiet():
    source = f"""
    # {CYRILLIC_O}s in a comment, {FULL_WIDTH_EXEC} too
    greeting = '{FULL_WIDTH_EXEC} {CYRILLIC_O}s'
    \u043f\u0440\u0438\u0432\u0435\u0442 = 1
    \u540d\u524d = '\u6f22\u5b57'
    caf\u00e9 = 2
    """
    assert rules(source) == set()


def test_obfuscation_homoglyph_identifier_all_cyrillic_spelling_of_exec():
    cyrillic_exec = "\u0435\u0445\u0435\u0441"  # four Cyrillic letters drawn as "exec"
    source = f"""
    class Check:
        def __init__(self):
            self.{cyrillic_exec} = __builtins__["exec"]

        def run(self, code):
            self.{cyrillic_exec}(code)
    """
    assert [line for rule, line in found(source) if rule == "obfuscation.homoglyph-identifier"] == [4, 7]
    assert disguise(cyrillic_exec) == "exec"


def test_cyrillic_words_that_spell_no_powerful_name_are_quiet():
    # the first reads as "cop", the second has a letter no Latin one looks like: ordinary Russian names
    source = "\u0441\u043e\u0440 = 1\n\u0432\u0435\u0441 = 2\n"
    assert rules(source) == set()


def test_a_mathematical_letter_as_an_ordinary_variable_name_is_quiet():
    # a formatter's test fixture: a script letter a, which reads as a name Python gives no meaning to
    script_a = "\U0001d4ea"
    assert disguise(script_a) is None
    assert rules(f"{script_a} = 1\nprint({script_a}.real)\n") == set()


def test_disguised_words_only_inside_string_literals_are_known_quiet_without_the_tokenizer(monkeypatch):
    table = f'TABLE = ["{CYRILLIC_O}s", """\n{FULL_WIDTH_EXEC}\n"""]\n'
    monkeypatch.setattr(identifiers.tokenize, "generate_tokens", None)  # the fast path must not need it
    assert identifiers.homoglyph_identifiers(table.encode(), literals(table)) == []


def test_a_disguised_name_beside_string_literals_is_still_found_and_f_strings_are_left_to_the_tokenizer():
    beside = f'TABLE = ["{CYRILLIC_O}s"]\n{CYRILLIC_O}s = __import__("os")\n'
    assert [line for line, _, _ in identifiers.homoglyph_identifiers(beside.encode(), literals(beside))] == [
        2
    ]
    # the braces of an f-string hold code: the shortcut never vouches for them
    in_fstring = f'x = f"{{{FULL_WIDTH_EXEC}(code)}}"\n'
    candidates = {FULL_WIDTH_EXEC}
    assert not identifiers._all_inside_string_literals(in_fstring, candidates, literals(in_fstring))


def test_words_holding_a_suspect_are_the_matches_of_the_plain_word_regex():
    import random
    import re

    # Suspects that are word characters (Cyrillic, full-width, superscript) and some that are not (a circled
    # letter, the Greek ano teleia and numeral sign), beside ASCII words, separators and harmless non-ASCII.
    alphabet = [*"ab_1 .\n", CYRILLIC_O, *"\u24c2\u0387\u0375\uff45\u00b9\u0301\u00e9\u4e2d"]
    picker = random.Random(15)
    for _ in range(3000):
        text = "".join(picker.choice(alphabet) for _ in range(picker.randint(0, 40)))
        suspects = "".join(sorted(c for c in set(text) if not c.isascii() and identifiers._could_disguise(c)))
        if suspects:
            expected = set(re.findall(rf"\w*[{re.escape(suspects)}]\w*", text))
            assert identifiers._words_holding(text, suspects) == expected, text


def unicode_literals(tree: ast.AST) -> list[ast.Constant]:
    """The oracle, by ast.walk: string literals holding non-ASCII text, less the text parts of f-strings."""
    parts = {
        id(value)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for value in node.values
        if isinstance(value, ast.Constant)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and not node.value.isascii()
        and id(node) not in parts
    ]


def test_the_rules_walk_collects_the_same_unicode_literals_as_a_walk_of_the_tree():
    from pypi_platform.lib.scans.python_rules import _FileScan

    source = (
        f'A = "{CYRILLIC_O}s"\nB = b"ascii"\nC = "plain"\n'
        f'D = f"{FULL_WIDTH_EXEC} {{x!r:{{"{CYRILLIC_O}"}}}} {{"{BOLD_EVAL}"}}"\n'
        f'def f(a="{FULL_WIDTH_EXEC}"):\n    return {{"{CYRILLIC_O}": [1]}}\n'
    )
    tree = ast.parse(source)
    scan = _FileScan("m.py", source.encode())
    scan._walk(tree, 10_000)
    expected = unicode_literals(tree)
    assert {id(node) for node in scan.unicode_literals} == {id(node) for node in expected}
    # not the f-string's own text; its expressions, the default and the key are code holding plain literals
    values = [f"{CYRILLIC_O}s", CYRILLIC_O, BOLD_EVAL, FULL_WIDTH_EXEC, CYRILLIC_O]
    assert sorted(node.value for node in expected) == sorted(values)


def literals(source: str) -> list[ast.Constant]:
    return unicode_literals(ast.parse(source))
