"""Compile the translation catalogues into the wheel at build time."""

import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        root = Path(self.root)
        for po in root.glob("src/tidy_docs/locale/*/LC_MESSAGES/*.po"):
            subprocess.run(["msgfmt", "-o", str(po.with_suffix(".mo")), str(po)], check=True)
            build_data["artifacts"].append(str(po.with_suffix(".mo").relative_to(root)))
