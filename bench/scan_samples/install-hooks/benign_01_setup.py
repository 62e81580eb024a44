import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.command.egg_info import egg_info

HERE = Path(__file__).parent


def git_revision():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


class OptionalBuildExt(build_ext):
    """Fall back to pure Python when no compiler is available."""

    def run(self):
        try:
            super().run()
        except Exception as exc:
            print(f"warning: C extension not built ({exc}); using the pure-Python fallback", file=sys.stderr)


class BuildPyWithVersion(build_py):
    def run(self):
        (HERE / "fastparse" / "_revision.py").write_text(f'REVISION = "{git_revision()}"\n')
        super().run()


class EggInfoWithRevision(egg_info):
    def run(self):
        self.tag_build = f"+g{git_revision()}" if "--dev" in sys.argv else self.tag_build
        super().run()


setup(
    name="fastparse",
    version="2.4.0",
    packages=["fastparse"],
    ext_modules=[Extension("fastparse._speedups", ["src/_speedups.c"], optional=True)],
    cmdclass={"build_ext": OptionalBuildExt, "build_py": BuildPyWithVersion, "egg_info": EggInfoWithRevision},
)
