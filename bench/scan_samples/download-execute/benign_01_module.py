"""Fetch a pinned release of a command-line tool, check its sha256, make it executable and run it."""

import hashlib
import os
import stat
import subprocess
import urllib.request
from pathlib import Path

VERSION = "0.9.4"
URL = f"https://github.com/example-org/protoc-lite/releases/download/v{VERSION}/protoc-lite-linux-x86_64"
SHA256 = "3f1c5a0e8f7d6b2a9c4e1d0b7a6f5e4d3c2b1a09f8e7d6c5b4a3928170655443"
CACHE = Path.home() / ".cache" / "protoc-lite" / VERSION


def ensure_tool():
    binary = CACHE / "protoc-lite"
    if not binary.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        data = urllib.request.urlopen(URL, timeout=60).read()
        if hashlib.sha256(data).hexdigest() != SHA256:
            raise RuntimeError("protoc-lite download does not match its pinned sha256")
        binary.write_bytes(data)
        binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    return binary


def compile_protos(sources, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    return subprocess.run([str(ensure_tool()), f"--python_out={out_dir}", *sources], check=True)
