"""In-tree build backend: setuptools, with Cython added to the build requirements only when .pyx sources exist."""

from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403

ROOT = Path(__file__).resolve().parent.parent


def get_requires_for_build_wheel(config_settings=None):
    extra = ["cython>=3"] if any(ROOT.glob("src/**/*.pyx")) else []
    return _setuptools.get_requires_for_build_wheel(config_settings) + extra


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    (ROOT / "src" / "fastgeom" / "_build_info.py").write_text("BUILT_WITH_CYTHON = True\n")
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
