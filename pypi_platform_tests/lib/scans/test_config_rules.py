"""Packaging configuration: an in-tree build backend is install-time code; a broken pyproject.toml is a finding."""

from pypi_platform.lib.scans.config_rules import backend_members, config_findings
from pypi_platform.lib.scans.release import scan_release_file
from pypi_platform_tests.lib.scans.test_archive import _member, _tar_gz

IN_TREE = """\
[project]
name = "demo"

[build-system]
requires = []
backend-path = ["."]
build-backend = "backend"
"""


def test_install_in_tree_backend_names_the_backend_module():
    (finding,) = config_findings("demo-1.0/pyproject.toml", IN_TREE)
    assert finding.rule == "install.in-tree-backend" and finding.line == 6
    assert finding.evidence.startswith("backend-path ['.'], build-backend 'backend'")
    assert backend_members(finding) == ["demo-1.0/backend.py", "demo-1.0/backend/__init__.py"]


def test_a_dotted_backend_with_an_object_under_a_subdirectory():
    text = '[build-system]\nbackend-path = ["_build"]\nbuild-backend = "tools.hooks:backend"\n'
    (finding,) = config_findings("demo-1.0/pyproject.toml", text)
    assert backend_members(finding) == [
        "demo-1.0/_build/tools/hooks.py",
        "demo-1.0/_build/tools/hooks/__init__.py",
    ]


def test_an_ordinary_build_system_and_other_files_give_nothing():
    ordinary = '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    assert config_findings("demo-1.0/pyproject.toml", ordinary) == []
    assert config_findings("demo-1.0/docs/conf.toml", IN_TREE) == []
    assert config_findings("demo-1.0/pyproject.toml", "[tool.ruff]\nline-length = 110\n") == []


def test_config_malformed_pyproject_is_a_finding_not_a_crash():
    (finding,) = config_findings("demo-1.0/pyproject.toml", "[build-system\nbackend-path = [\n")
    assert finding.rule == "config.malformed-pyproject" and finding.severity == "low"


def test_odd_backend_values_are_reported_without_members():
    text = "[build-system]\nbackend-path = 3\n"
    (finding,) = config_findings("pyproject.toml", text)
    assert finding.rule == "install.in-tree-backend" and backend_members(finding) == []


def test_release_scan_reports_the_in_tree_backend_of_an_sdist():
    data = _tar_gz(
        (_member("demo-1.0/pyproject.toml"), IN_TREE.encode()),
        (_member("demo-1.0/backend.py"), b"def build_wheel(*args):\n    return 'demo.whl'\n"),
    )
    result = scan_release_file("demo-1.0.tar.gz", data, "sdist")
    assert [(f.rule, f.path) for f in result.findings] == [
        ("install.in-tree-backend", "demo-1.0/pyproject.toml")
    ]


HATCH_HOOK = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.hooks.custom]
path = "tools/build_hook.py"

[tool.hatch.build.targets.wheel.hooks.custom]
"""


def test_install_in_tree_backend_for_hatch_custom_build_hooks():
    general, wheel = config_findings("demo-1.0/pyproject.toml", HATCH_HOOK)
    assert (general.rule, general.line, wheel.line) == ("install.in-tree-backend", 5, 8)
    assert backend_members(general) == ["demo-1.0/tools/build_hook.py"]
    assert backend_members(wheel) == ["demo-1.0/hatch_build.py"]  # the file hatchling runs by default


def test_install_in_tree_backend_for_the_pdm_backends_custom_hook():
    text = '[build-system]\nbuild-backend = "pdm.backend"\n\n[tool.pdm.build]\ncustom-hook = "build.py"\n'
    (finding,) = config_findings("demo-1.0/pyproject.toml", text)
    assert finding.line == 5 and backend_members(finding) == ["demo-1.0/build.py"]


def test_hatch_plugins_and_hooks_under_another_backend_give_nothing():
    plugin = '[build-system]\nbuild-backend = "hatchling.build"\n\n[tool.hatch.build.hooks.vcs]\nversion-file = "v.py"\n'
    assert config_findings("demo-1.0/pyproject.toml", plugin) == []
    other = HATCH_HOOK.replace("hatchling.build", "setuptools.build_meta")
    assert config_findings("demo-1.0/pyproject.toml", other) == []
