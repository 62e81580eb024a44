"""Every rule id the syntax-tree modules can report has a severity, a score and a kind in the catalogue."""

import ast
import re
from pathlib import Path

import pytest

from pypi_platform.lib.scans import findings

MODULES = [
    "python_rules",
    "rules_code",
    "rules_system",
    "rules_install",
    "behaviours_network",
    "behaviours_exfiltration",
    "behaviours_spyware",
    "behaviours_persistence",
    "credential_stores",
    "sends",
]
RULE_ID = re.compile(
    r"(?:backdoor|network|exfiltration|spyware|credentials|dropper|process|injection|exec|persistence|install"
    r"|obfuscation|file|parse)\.[a-z0-9-]+"
)


@pytest.mark.parametrize("module", MODULES)
def test_every_rule_id_a_python_module_names_is_in_the_catalogue(module):
    path = Path(findings.__file__).with_name(f"{module}.py")
    names = {
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and RULE_ID.fullmatch(node.value)
    }
    assert names, module
    assert names <= findings.RULES.keys(), names - findings.RULES.keys()
