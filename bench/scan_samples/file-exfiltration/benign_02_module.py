"""An SSH connection helper that uses the user's own key, as paramiko's clients do."""

import os

import paramiko

DEFAULT_KEYS = ("~/.ssh/id_ed25519", "~/.ssh/id_rsa")


def connect(host, user=None, key_filename=None):
    client = paramiko.SSHClient()
    client.load_system_host_keys()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    keys = [key_filename] if key_filename else [os.path.expanduser(k) for k in DEFAULT_KEYS]
    client.connect(host, username=user, key_filename=[k for k in keys if os.path.exists(k)])
    return client


def push(host, local, remote):
    with connect(host) as client, client.open_sftp() as sftp:
        sftp.put(local, remote)
