"""A wallet library: creates and opens keystores in a directory the caller chooses."""

import json
import os
from pathlib import Path

from eth_account import Account


class Keystore:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def create(self, password):
        account = Account.create()
        encrypted = Account.encrypt(account.key, password)
        path = self.directory / f"UTC--{account.address}.json"
        path.write_text(json.dumps(encrypted))
        os.chmod(path, 0o600)
        return account.address

    def open(self, address, password):
        path = next(self.directory.glob(f"UTC--{address}*.json"))
        return Account.from_key(Account.decrypt(json.loads(path.read_text()), password))
